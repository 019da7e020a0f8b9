// Control: two native threads race on a plain int, no Python involved. Under a
// ThreadSanitizer build of gilrace every trial gives outcome sanitizer with one signature
// naming both functions; without ThreadSanitizer nothing could see the race, so the scenario
// requires it (Requirements::tsan) and is skipped, with that reason, elsewhere.
#include <thread>

#include "gilrace/scenario.h"

// Exported and not inlined, so the report names them. No atomics, no locks, no latch between
// the two threads: nothing orders the store before or after the load, so ThreadSanitizer
// reports the pair whichever thread runs first (its shadow memory keeps both accesses).
extern "C" __attribute__((noinline)) void gilrace_selftest_tsan_store(int* p, int v) {
  *p = v;
}

extern "C" __attribute__((noinline)) int gilrace_selftest_tsan_load(const int* p) {
  return *p;
}

namespace gilrace {

class SelftestTsanRace : public Scenario {
 public:
  static ScenarioInfo info() {
    return {.name = "selftest-tsan-race",
            .summary =
                "control: two native threads race on a plain int (outcome sanitizer "
                "under ThreadSanitizer; needs gilrace built with it)",
            .requires_ = {.tsan = true},
            .lifecycle = Lifecycle::scenario,  // never starts CPython
            .default_threads = 2,
            .control = true};
  }
  Result run(Context& ctx) override {
    ctx.heartbeat();
    int shared = 0;  // the race itself, on purpose
    int seen = 0;
    {
      std::jthread writer([&] { gilrace_selftest_tsan_store(&shared, 1); });
      std::jthread reader([&] { seen = gilrace_selftest_tsan_load(&shared); });
    }
    ctx.note("seen", std::to_string(seen));
    return Result::pass();
  }
};
GILRACE_SCENARIO(SelftestTsanRace);

}  // namespace gilrace
