// Control: a trial that does a little Python work and passes.
#include "gilrace/py.h"
#include "gilrace/scenario.h"

namespace gilrace {

class SelftestPass : public Scenario {
 public:
  static ScenarioInfo info() {
    return {.name = "selftest-pass",
            .summary = "control: evaluates a Python expression and passes",
            .control = true};
  }
  Result run(Context& ctx) override {
    py::Ref ns = py::run_code("x = sum(range(100))\n");
    ctx.heartbeat();
    return Result::pass();
  }
};
GILRACE_SCENARIO(SelftestPass);

}  // namespace gilrace
