// Control: passes without reaching its racy window (unless asked to), so that the
// reports and --bisect can be tested for window_not_reached: a clean result whose
// window probe never fired proves nothing.
#include <random>

#include "gilrace/scenario.h"

namespace gilrace {

class SelftestNoWindow : public Scenario {
 public:
  static ScenarioInfo info() {
    return {.name = "selftest-no-window",
            .summary =
                "control: passes; its window probe fires with probability --param p "
                "(default 0: never), decided by the trial's seed",
            .params = {{"p", "0", "probability that a trial reaches the window"}},
            .control = true,
            .probes = {{"selftest_window", "the trial reached the (pretend) racy window", true},
                       {"selftest_ran", "the trial ran its body"}}};
  }
  Result run(Context& ctx) override {
    ctx.heartbeat();
    ctx.probe("selftest_ran").hit();
    Probe& window = ctx.probe("selftest_window");
    std::mt19937_64 rng(ctx.seed());
    if (std::uniform_real_distribution<double>(0.0, 1.0)(rng) < ctx.param_double("p")) window.hit();
    return Result::pass();
  }
};
GILRACE_SCENARIO(SelftestNoWindow);

}  // namespace gilrace
