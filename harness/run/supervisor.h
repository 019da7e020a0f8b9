// Schedules trials over -j child processes, watches them (pipes, heartbeats,
// hard and stall timeouts), captures stacks before killing a stalled one, and
// hands each finished trial to a sink. Never blocks on a child, never leaves
// one behind.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "harness/run/registry.h"
#include "harness/run/trial.h"

namespace gilrace {

// One scenario + variant + settings: the unit of statistics and reports.
struct Group {
  const RegisteredScenario* scenario = nullptr;
  std::string variant;
  int threads = 0;
  std::map<std::string, std::string> params;
  std::string skip_reason;  // non-empty: no trials are run
};

struct RunOptions {
  std::vector<Group> groups;
  std::uint64_t repeat = 0;  // trials per group; 0 with a duration: as many as fit
  double duration = 0;       // seconds; 0: no budget
  int jobs = 1;
  double timeout = 60;  // hard limit per trial, seconds
  double stall = 10;    // no heartbeat for this long: deadlock
  std::uint64_t base_seed = 0;
  int chaos = 0;                 // --chaos level of every trial, 0: off
  std::uint64_t stop_after = 0;  // stop launching after this many failures; 0: never
  int shard_index = 0;
  int shard_count = 1;
  bool native_stacks = true;      // gdb on a stall
  std::string gdb_python_helper;  // CPython's libpython.py for gdb, when the build has one
  std::map<std::string, std::string> environment;             // set in every child
  std::function<bool(const TrialResult&)> counts_as_failure;  // default: is_failure
  // ThreadSanitizer (sanitizer.h): when set, every child gets TSAN_OPTIONS=<tsan_options>
  // plus a log_path in its own folder under tsan_log_root, and what it wrote there comes
  // back as TrialResult::sanitizer_log (the user's TSAN_OPTIONS are already merged in).
  std::string tsan_options;
  std::string tsan_log_root;
};

class TrialSink {
 public:
  virtual ~TrialSink() = default;
  virtual void on_trial(const TrialResult& result) = 0;
  // Called about ten times a second while trials run (progress lines).
  virtual void on_tick(std::uint64_t /*running*/) {}
};

struct RunEnd {
  double wall_seconds = 0;
  bool interrupted = false;  // SIGINT / SIGTERM
  int interrupt_signal = 0;
  bool budget_exhausted = false;  // --duration ran out
  bool stopped_early = false;     // --stop-after reached
  std::uint64_t abandoned = 0;    // trials killed unfinished by an interrupt
  long peak_rss_kb = 0;           // the supervisor's own, children not included
};

RunEnd run_trials(const RunOptions& options, TrialSink& sink);

// The path of this executable, for re-executing it as a trial.
std::string self_executable();

}  // namespace gilrace
