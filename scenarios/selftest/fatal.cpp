// Control: a CPython fatal error.
#include <Python.h>

#include "gilrace/scenario.h"

namespace gilrace {

class SelftestFatal : public Scenario {
 public:
  static ScenarioInfo info() {
    return {.name = "selftest-fatal",
            .summary = "control: calls Py_FatalError (outcome fatal_error)",
            .control = true};
  }
  Result run(Context& ctx) override {
    ctx.heartbeat();
    Py_FatalError("gilrace selftest: deliberate fatal error");
  }
};
GILRACE_SCENARIO(SelftestFatal);

}  // namespace gilrace
