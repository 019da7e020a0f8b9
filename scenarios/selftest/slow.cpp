// Control: keeps making progress for longer than any sane hard timeout.
#include <chrono>
#include <thread>

#include "gilrace/py.h"
#include "gilrace/scenario.h"

namespace gilrace {

class SelftestSlow : public Scenario {
 public:
  static ScenarioInfo info() {
    return {
        .name = "selftest-slow",
        .summary =
            "control: heartbeats every 20 ms for --param seconds (outcome timeout, never deadlock)",
        .params = {{"seconds", "3600", "how long to keep going"}},
        .control = true};
  }
  Result run(Context& ctx) override {
    py::Unlocked no_gil;
    auto end = std::chrono::steady_clock::now() +
               std::chrono::duration<double>(ctx.param_double("seconds"));
    while (std::chrono::steady_clock::now() < end) {
      ctx.heartbeat();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Result::pass();
  }
};
GILRACE_SCENARIO(SelftestSlow);

}  // namespace gilrace
