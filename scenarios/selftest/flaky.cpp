// Control: crashes with a seeded probability, for statistics and sharding tests.
#include <random>

#include "gilrace/scenario.h"

extern "C" __attribute__((noinline)) void gilrace_selftest_flaky_crash(volatile int* p) {
  *p = 2;
}

namespace gilrace {

class SelftestFlaky : public Scenario {
 public:
  static ScenarioInfo info() {
    return {
        .name = "selftest-flaky",
        .summary =
            "control: crashes (SIGSEGV) with probability --param p, decided by the trial's seed",
        .params = {{"p", "0.1", "probability of a crash"}},
        .control = true};
  }
  Result run(Context& ctx) override {
    ctx.heartbeat();
    std::mt19937_64 rng(ctx.seed());
    double draw = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    if (draw < ctx.param_double("p")) gilrace_selftest_flaky_crash(nullptr);
    return Result::pass();
  }
};
GILRACE_SCENARIO(SelftestFlaky);

}  // namespace gilrace
