// Control: a segmentation fault in a named native function.
#include "gilrace/scenario.h"

// Exported and not inlined, so the crash signature names it.
extern "C" __attribute__((noinline)) void gilrace_selftest_null_write(volatile int* p) {
  *p = 1;
}

namespace gilrace {

class SelftestSegv : public Scenario {
 public:
  static ScenarioInfo info() {
    return {.name = "selftest-segv",
            .summary = "control: writes through a null pointer (outcome crash, SIGSEGV)",
            .control = true};
  }
  Result run(Context& ctx) override {
    ctx.heartbeat();
    gilrace_selftest_null_write(nullptr);
    return Result::error("survived a null write");
  }
};
GILRACE_SCENARIO(SelftestSegv);

}  // namespace gilrace
