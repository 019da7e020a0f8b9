// One trial: what to run (TrialSpec, CLI -> supervisor -> driver) and what
// happened (TrialResult, supervisor -> outcome -> stats -> report).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "harness/judge/outcome.h"

namespace gilrace {

struct TrialSpec {
  std::string scenario;
  std::string variant;
  std::uint64_t base_seed = 0;
  std::uint64_t trial = 0;
  int threads = 0;                            // 0: the scenario's default
  std::map<std::string, std::string> params;  // as given by the user
  int chaos = 0;                              // --chaos level, 0: off (harness/run/chaos.h)
  std::string plugin;                         // the plugin file of the scenario, "" if built in
};

// The hidden command line that makes a child run this trial.
std::vector<std::string> trial_args(const TrialSpec& spec);
// The line a person types to run it again in the foreground, with `program` as the
// binary (a path where the line is to be pasted under gdb).
std::string replay_command(const TrialSpec& spec, std::string_view program = "gilrace");

struct TrialResult {
  TrialSpec spec;
  std::uint64_t seed = 0;  // derived from spec
  Outcome outcome = Outcome::error;
  std::string signature;  // empty for pass and skipped
  std::string detail;     // message, traceback, first report line...
  double seconds = 0;
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::uint64_t progress = 0;
  std::map<std::string, std::uint64_t> probes;
  std::vector<std::pair<std::string, std::string>> notes;
  // Kept for artifacts, never written into events.
  std::string stdout_tail;
  std::string stderr_tail;
  std::string stacks;
  std::string sanitizer_log;  // the trial's ThreadSanitizer log files, when it wrote any
};

}  // namespace gilrace
