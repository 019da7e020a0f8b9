// `gilrace run SCENARIO --bisect`: one step of `git bisect run`, with a verdict
// it can trust, and `--calibrate`, which measures the failure rate a step needs.
// `--bisect` (= `--bisect=regression`) looks for the commit that broke it,
// `--bisect=fix` for the commit that fixed it; the verdicts below name the
// regression direction, the fix direction's words and exit codes follow them.
//
// A step runs N trials of one scenario and variant, N chosen so that a build
// that shows the target failure in a fraction P of its trials shows it at least
// once with probability C: the least N with (1-P)^N <= 1-C. It stops launching
// at the first target failure.
//   bad  (exit 1)    a target failure happened;
//   good (exit 0)    N clean trials without one: any rate above
//                    1-(1-C)^(1/N) (which is <= P) is ruled out at confidence C;
//   with --bisect=fix, for `git bisect start --term-old=broken --term-new=fixed`:
//   broken (exit 0)  a target failure happened (the old term: still broken);
//   fixed (exit 1)   N clean trials without one (the new term), as for good;
//   skip (exit 125)  this build cannot answer: the scenario does not apply to it,
//                    or fewer than N clean trials (other failures under
//                    --other skip, trials the scenario skipped, a --duration cut),
//                    or N clean trials none of which hit a window probe the
//                    scenario declares (window_not_reached: they prove nothing).
// The target is what --match names (harness/results/target.h; by default every failure
// but `error` and `timeout`). Other failures are reported and count as --other says: skip (the
// default: the trial is not a clean trial), good (it is), or bad (it is a target).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/results/aggregate.h"
#include "harness/results/target.h"
#include "harness/run/trial.h"

namespace gilrace {

struct RunOptions;
struct RunReport;
struct RegisteredScenario;

// ---------------------------------------------------------------- arithmetic

// The least n such that a build failing in `rate` of its trials fails at least
// once in n trials with probability >= confidence: (1-rate)^n <= 1-confidence.
// rate in (0, 1], confidence in (0, 1).
std::uint64_t bisect_trials(double rate, double confidence);

// The rate a calibration saves: the lower end of the Wilson interval of
// failures/trials at `confidence`, so that a step errs towards more trials.
double calibrated_rate(std::uint64_t failures, std::uint64_t trials, double confidence);

// ---------------------------------------------------------------- the target

enum class OtherPolicy { skip, good, bad };
// Which question the bisect asks: the commit that broke it, or the one that fixed it.
enum class BisectDirection { regression, fix };
BisectDirection parse_bisect_direction(std::string_view text);  // throws UsageError
OtherPolicy parse_other_policy(std::string_view text);          // throws UsageError
std::string_view other_policy_name(OtherPolicy p);

// ---------------------------------------------------------------- verdict

// What one step's trials showed, split by the target.
struct BisectTally {
  std::uint64_t trials = 0;    // finished, not counting skipped ones
  std::uint64_t target = 0;    // target failures (every failure under --other bad)
  std::uint64_t other = 0;     // failures that are not the target
  std::uint64_t skipped = 0;   // trials the scenario skipped at run time
  bool window_missed = false;  // the scenario declares window probes and none fired
  std::uint64_t passes() const { return trials - target - other; }
};
BisectTally tally(const GroupStats& g, const TargetMatcher& m, OtherPolicy other);

struct Verdict {
  // clean: N clean trials (good; fixed), reproduced: a target failure (bad; broken).
  enum class Kind { clean, reproduced, skip, interrupted };
  Kind kind = Kind::skip;
  BisectDirection direction = BisectDirection::regression;
  int exit_code = 125;
  // For skip: not_applicable, other_failures, skipped_trials, too_few_trials,
  // window_not_reached.
  std::string reason;
  std::uint64_t needed = 0;
  BisectTally seen;
  std::uint64_t clean = 0;  // trials that count as evidence of a good build
  double confidence = 0.99;
  // reproduced: the Wilson interval of the target rate; clean: rate_high is the
  // rate ruled out (1-(1-C)^(1/clean)).
  double rate_low = 0;
  double rate_high = 1;

  // good, bad (fixed, broken with --bisect=fix), skip, interrupted
  std::string_view name() const;
  // "gilrace-verdict: good needed=13 trials=13 failures=0 other=0 rate<=0.2977 confidence=0.99"
  std::string line() const;
  nlohmann::json to_json() const;
};

Verdict decide_verdict(const BisectTally& t, std::uint64_t needed, double confidence,
                       OtherPolicy other, BisectDirection direction = BisectDirection::regression);

// ---------------------------------------------------------------- rate file

// key=value lines; `rate` is the one a step needs, the rest says where it came from.
struct RateRecord {
  double rate = 0;
  std::string scenario;
  std::string variant;
  std::string match;  // the --match patterns, joined by spaces; "" = default
  std::string other = "skip";
  std::map<std::string, std::string> params;
  int chaos = 0;               // the --chaos level it was measured at
  std::uint64_t failures = 0;  // measured: target failures / trials
  std::uint64_t trials = 0;
  double confidence = 0;
  std::string build;  // BuildInfo::flavour() and revision
  std::string measured_at;
};
std::string format_rate_file(const RateRecord& r);
RateRecord parse_rate_file(std::string_view text, const std::string& path);  // throws UsageError
RateRecord read_rate_file(const std::string& path);                          // throws UsageError

// ---------------------------------------------------------------- `run --bisect`

// The options `run` gains.
struct BisectArgs {
  std::string mode;  // "" (no --bisect), regression or fix
  bool on() const { return !mode.empty(); }
  bool calibrate = false;
  std::string rate;
  std::string rate_file;
  std::string other = "skip";
};
void add_bisect_options(CLI::App* run, BisectArgs& a);

// What else the run was asked for, to check it fits a bisect step.
struct BisectShape {
  std::vector<const RegisteredScenario*> scenarios;
  bool all = false;
  std::string variant;  // as given
  std::map<std::string, std::string> params;
  std::vector<std::string> match;  // --match, shared with --expect fail
  std::uint64_t repeat = 0;        // -n as given, 0 when not given
  double duration = 0;
  double confidence = 0.99;
  std::uint64_t stop_after = 0;  // --stop-after as given, 0 when not given
  bool shard = false;            // --shard given
  bool expect_fail = false;      // --expect fail
  int chaos = 0;                 // --chaos level: a rate holds only at the level it was measured at
};

class BisectPlan {
 public:
  bool on() const { return on_; }
  // Trials per step (or, calibrating, at most this many; 0: up to --duration).
  std::uint64_t repeat() const { return repeat_; }
  // Stop at the first target failure (calibrating: at the --stop-after'th).
  void configure(RunOptions& o) const;
  // The scenario does not apply to this build: prints the verdict, returns 125.
  int not_applicable(const std::string& scenario, const std::string& reason);
  // After the run: the verdict (or the calibration), into r.exit_code.
  void finish(RunReport& r);
  // The summary JSON with a "bisect" member.
  nlohmann::json annotate(nlohmann::json summary) const;
  // What to print after the summary; its last line is the machine-readable one.
  const std::string& text() const { return text_; }

 private:
  friend BisectPlan plan_bisect(const BisectArgs& a, const BisectShape& s);
  void finish_calibration(RunReport& r, const BisectTally& t);
  bool on_ = false;
  bool calibrate_ = false;
  std::uint64_t repeat_ = 0;
  std::uint64_t needed_ = 0;
  std::uint64_t calibration_stop_ = 20;
  double confidence_ = 0.99;
  BisectDirection direction_ = BisectDirection::regression;
  std::optional<double> rate_;
  std::string rate_source_;  // for the text: where the rate came from
  std::string rate_file_;
  std::string scenario_, variant_;
  std::map<std::string, std::string> params_;
  int chaos_ = 0;
  std::string match_text_;
  TargetMatcher matcher_;
  OtherPolicy other_ = OtherPolicy::skip;
  nlohmann::json json_;
  std::string text_;
};

// Checks the bisect options against the rest of the run (UsageError when they
// do not fit) and reads the rate file. Returns a plan that is off without --bisect.
BisectPlan plan_bisect(const BisectArgs& a, const BisectShape& s);

}  // namespace gilrace
