// Control: unbounded recursion overflows a worker thread's stack. The crash handler
// runs on the thread's alternate signal stack (harness/run/signal_stack.h); without one the
// kernel kills the trial with no dump at all.
#include <cstdint>
#include <limits>
#include <thread>

#include "gilrace/py.h"
#include "gilrace/scenario.h"

// Exported so the crash signature names it. Each level hands its own buffer to the
// next, so every frame stays live and the compiler cannot turn the recursion into a
// loop; the limit is only known at run time, so it cannot prove it endless either.
extern "C" __attribute__((noinline)) std::uint64_t gilrace_selftest_recurse(volatile char* outer,
                                                                            std::uint64_t depth,
                                                                            std::uint64_t limit) {
  volatile char frame[256];
  frame[0] = static_cast<char>(outer[0] + 1);
  if (depth >= limit) return frame[0];
  return gilrace_selftest_recurse(frame, depth + 1, limit) + frame[0];
}

namespace gilrace {

class SelftestStackOverflow : public Scenario {
 public:
  static ScenarioInfo info() {
    return {.name = "selftest-stack-overflow",
            .summary =
                "control: endless recursion in a worker thread overflows its stack "
                "(outcome crash, SIGSEGV in gilrace_selftest_recurse)",
            .control = true};
  }
  Result run(Context& ctx) override {
    ctx.heartbeat();
    volatile std::uint64_t endless = std::numeric_limits<std::uint64_t>::max();
    volatile char start = 0;
    py::Unlocked no_gil;  // the main thread only waits
    std::jthread worker([&] { gilrace_selftest_recurse(&start, 0, endless); });
    return Result::error("a worker survived endless recursion");  // after the join: unreachable
  }
};
GILRACE_SCENARIO(SelftestStackOverflow);

}  // namespace gilrace
