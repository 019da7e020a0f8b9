// Control: an uncaught Python exception inside the scenario.
#include "gilrace/py.h"
#include "gilrace/scenario.h"

namespace gilrace {

class SelftestPyexc : public Scenario {
 public:
  static ScenarioInfo info() {
    return {.name = "selftest-pyexc",
            .summary = "control: Python code raises an uncaught exception (outcome error)",
            .control = true};
  }
  Result run(Context& ctx) override {
    ctx.heartbeat();
    py::run_code(
        "def deliberately_failing():\n"
        "    raise ValueError('gilrace selftest: deliberate exception')\n"
        "deliberately_failing()\n",
        "<selftest-pyexc>");
    return Result::pass();
  }
};
GILRACE_SCENARIO(SelftestPyexc);

}  // namespace gilrace
