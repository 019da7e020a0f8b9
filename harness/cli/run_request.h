// `gilrace run`, step one: what was typed (RunArgs, filled by CLI11) read and checked
// once into a plain RunRequest. Every later step (plan, run, decide, report) takes what it
// needs from the request and never goes back to the arguments.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/bisect/bisect.h"
#include "harness/results/baseline.h"
#include "harness/results/report.h"
#include "harness/results/target.h"
#include "harness/run/registry.h"
#include "harness/run/tsan_setup.h"

namespace gilrace {

struct RunArgs {
  std::vector<std::string> scenarios;
  bool all = false;
  std::string repeat, duration, jobs, timeout = "60s", stall = "10s", seed, threads, variant;
  std::vector<std::string> params;
  std::vector<std::string> match;  // the target of --bisect and --expect fail (results/target.h)
  std::string stop_after, expect = "pass", json, events, junit, artifacts, artifacts_cap = "3",
                          shard, confidence;  // confidence: 0.95, or 0.99 with --bisect
  bool no_native_stacks = false, allow_mixed = false;
  std::string baseline;  // known signatures: only new ones fail the run (results/baseline.h)
  std::vector<std::string> suppressions;  // ThreadSanitizer suppressions files of the user's
  bool tsan_halt = false;
  bool require_window = false;  // a window_not_reached group fails the run
  std::string chaos;            // --chaos[=LEVEL] (harness/run/chaos.h)
  CLI::Option *timeout_opt = nullptr, *stall_opt = nullptr;  // to tell a default from a choice
  BisectArgs bisect;
};

// Where the run's results go.
struct RunOutputs {
  std::string json, events, junit;
  std::string artifacts;  // the folder: --artifacts, or gilrace-artifacts/ beside the reports
  int artifacts_cap = 3;
};

struct RunRequest {
  RunMeta meta;  // repeat, duration, jobs, limits, seed, shard, expect, confidence, argv
  bool timeout_chosen = false, stall_chosen = false;  // else they grow under TSAN
  std::vector<const RegisteredScenario*> scenarios;   // named, or every non-control (--all)
  bool all = false;
  std::string variant;                        // as given: "", a name, or "all"
  int threads = 0;                            // 0: each scenario's default
  std::map<std::string, std::string> params;  // --param, each declared by a chosen scenario
  std::uint64_t stop_after = 0;
  std::vector<std::string> match;  // --match as given (also --bisect's target)
  TargetMatcher expect_target;     // what --expect fail counts: --match, or the default
  std::optional<Baseline> baseline;
  std::vector<tsan::SuppressionSource> suppressions;
  bool tsan_halt = false;
  bool native_stacks = true;
  bool allow_mixed_sanitizer = false;
  RunOutputs outputs;
  BisectPlan bisect;  // off without --bisect
};

// Throws UsageError, naming the option, for anything that cannot run.
RunRequest read_run_request(const RunArgs& a, const std::vector<std::string>& argv);

}  // namespace gilrace
