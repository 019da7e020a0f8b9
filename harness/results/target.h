// Which failures count: the target of `run --bisect` and of `run --expect fail`.
//
// A trial that ended in `error` (the scenario's own failure), `timeout` (still
// making progress at the hard limit: slow, not stuck) or `skipped` reproduced
// nothing, so by default every other failure is the target. `--match` narrows it.
#pragma once

#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "harness/run/trial.h"

namespace gilrace {

class TargetMatcher {
 public:
  // Each pattern is an outcome name (crash, deadlock, ...), a signature id
  // (8 hex digits, as in the summary), or else an ECMAScript regular
  // expression searched in the signature; a failure matching any is a target.
  // No pattern: every failure but `error` and `timeout`.
  explicit TargetMatcher(const std::vector<std::string>& patterns = {});  // throws UsageError
  // Only failures are targets; `outcome` is an outcome name.
  bool is_target(std::string_view outcome, std::string_view signature) const;
  bool is_target(const TrialResult& t) const;
  std::string describe() const;  // "crash or /PyGILState_Ensure/"

 private:
  enum class Kind { outcome, id, regex };
  struct Pattern {
    Kind kind;
    std::string text;
    std::regex re;
  };
  std::vector<Pattern> patterns_;
};

}  // namespace gilrace
