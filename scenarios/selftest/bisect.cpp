// Control: fails with probabilities read from a file at each trial, so that a
// test can build a git history whose failure rate changes at a known commit
// and bisect it (tests/scripts/test-bisect.sh).
//
// The file (--param file=PATH) holds key=value lines, each a probability
// (missing keys are 0), each decided by its own draw from the trial's seed:
//   skip=P   the trial is skipped (outcome skipped), checked first
//   other=P  an unrelated failure: Py_FatalError (outcome fatal_error)
//   p=P      the target failure: SIGSEGV in gilrace_selftest_bisect_target (outcome crash)
// A missing or malformed file is the scenario's own failure (outcome error).
#include <Python.h>

#include <fstream>
#include <random>
#include <string>

#include "gilrace/scenario.h"

extern "C" __attribute__((noinline)) void gilrace_selftest_bisect_target(volatile int* p) {
  *p = 3;
}

namespace gilrace {

class SelftestBisect : public Scenario {
 public:
  static ScenarioInfo info() {
    return {.name = "selftest-bisect",
            .summary =
                "control: crashes with the probabilities in --param file=PATH "
                "(p=target crash, other=fatal error, skip=skipped)",
            .params = {{"file", "", "key=value file: p, other, skip (probabilities)"}},
            .control = true,
            .validate = [](const std::map<std::string, std::string>& params) -> std::string {
              auto it = params.find("file");
              return it == params.end() || it->second.empty() ? "give --param file=PATH" : "";
            }};
  }
  Result run(Context& ctx) override {
    ctx.heartbeat();
    std::ifstream in(ctx.param("file"));
    if (!in) throw ScenarioError("cannot read " + ctx.param("file"));
    double p = 0, other = 0, skip = 0;
    for (std::string line; std::getline(in, line);) {
      auto eq = line.find('=');
      if (line.empty() || line[0] == '#') continue;
      if (eq == std::string::npos) throw ScenarioError("not key=value: " + line);
      std::string key = line.substr(0, eq);
      double value = std::stod(line.substr(eq + 1));
      if (key == "p") p = value;
      if (key == "other") other = value;
      if (key == "skip") skip = value;
    }
    std::mt19937_64 rng(ctx.seed());
    std::uniform_real_distribution<double> draw(0.0, 1.0);
    double d_skip = draw(rng), d_other = draw(rng), d_target = draw(rng);
    if (d_skip < skip) return Result::skipped("the file says skip");
    if (d_other < other) Py_FatalError("gilrace selftest-bisect: unrelated failure");
    if (d_target < p) gilrace_selftest_bisect_target(nullptr);
    return Result::pass();
  }
};
GILRACE_SCENARIO(SelftestBisect);

}  // namespace gilrace
