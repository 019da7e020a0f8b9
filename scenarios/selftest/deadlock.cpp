// Control: two native threads in a lock-order inversion; heartbeats stop. With
// --param when=before_init or after_finalize, CPython is not running, faulthandler
// listens to no signal, and gdb alone takes the stacks.
#include <Python.h>

#include <latch>
#include <mutex>
#include <thread>

#include "gilrace/py.h"
#include "gilrace/scenario.h"

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
        .params = {{"when", "running",
                    "running: CPython is running; before_init: before it starts; "
                    "after_finalize: after Py_FinalizeEx"}},
        .lifecycle = Lifecycle::scenario,
        .control = true,
        .validate = [](const std::map<std::string, std::string>& params) -> std::string {
          const std::string& when = params.at("when");
          return when == "running" || when == "before_init" || when == "after_finalize"
                     ? ""
                     : "--param when must be running, before_init or after_finalize";
        }};
  }
  Result run(Context& ctx) override {
    const std::string when = ctx.param("when");
    if (when != "before_init") ctx.init_python();
    if (when == "after_finalize" && Py_FinalizeEx() < 0)
      return Result::error("Py_FinalizeEx() failed");
    if (when == "running") {
      py::Unlocked no_gil;  // the main thread only waits
      deadlock(ctx);
    } else {
      deadlock(ctx);
    }
    return Result::error("the deadlock resolved itself");
  }

 private:
  static void deadlock(Context& ctx) {
    std::mutex a, b;
    std::latch both_hold_first(2);
    auto worker = [&](std::mutex& first, std::mutex& second) {
      std::lock_guard hold(first);
      ctx.heartbeat();
      both_hold_first.arrive_and_wait();
      gilrace_selftest_lock_second(&second);  // never returns
      second.unlock();
    };
    std::jthread t1(worker, std::ref(a), std::ref(b));
    std::jthread t2(worker, std::ref(b), std::ref(a));
  }  // the joins block forever
};
GILRACE_SCENARIO(SelftestDeadlock);

}  // namespace gilrace
