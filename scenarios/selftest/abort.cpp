// Control: abort() without a Python fatal error.
#include <cstdlib>

#include "gilrace/scenario.h"

namespace gilrace {

class SelftestAbort : public Scenario {
 public:
  static ScenarioInfo info() {
    return {.name = "selftest-abort",
            .summary = "control: calls abort() (outcome crash, SIGABRT)",
            .control = true};
  }
  Result run(Context& ctx) override {
    ctx.heartbeat();
    std::abort();
  }
};
GILRACE_SCENARIO(SelftestAbort);

}  // namespace gilrace
