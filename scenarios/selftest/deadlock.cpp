// Control: two native threads in a lock-order inversion; heartbeats stop.
#include <latch>
#include <mutex>
#include <thread>

#include "harness/py.h"
#include "harness/scenario.h"

// Exported so the native stacks name the waits.
extern "C" __attribute__((noinline)) void gilrace_selftest_lock_second(std::mutex* m) {
  m->lock();
}

namespace gilrace {

class SelftestDeadlock : public Scenario {
 public:
  static ScenarioInfo info() {
    return {
        .name = "selftest-deadlock",
        .summary = "control: two threads take two mutexes in opposite orders (outcome deadlock)",
        .control = true};
  }
  Result run(Context& ctx) override {
    std::mutex a, b;
    std::latch both_hold_first(2);
    auto worker = [&](std::mutex& first, std::mutex& second) {
      std::lock_guard hold(first);
      ctx.heartbeat();
      both_hold_first.arrive_and_wait();
      gilrace_selftest_lock_second(&second);  // never returns
      second.unlock();
    };
    py::Unlocked no_gil;  // the main thread only waits
    std::jthread t1(worker, std::ref(a), std::ref(b));
    std::jthread t2(worker, std::ref(b), std::ref(a));
    return Result::pass();  // unreachable in practice: the joins block forever
  }
};
GILRACE_SCENARIO(SelftestDeadlock);

}  // namespace gilrace
