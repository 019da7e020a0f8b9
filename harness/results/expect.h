// `run --expect fail`: decided from what ran, never from what was planned.
//
// Every group that applies to the build must show at least one target failure
// (harness/results/target.h: what --match names, by default every failure but `error`
// and `timeout`). A group the scenario skipped at run time (stderr-gil-deadlock
// `naive` on a free-threaded build), a group that ran no trial (a --duration
// cut, --stop-after reached in an earlier group) and a group with only other
// failures did not reproduce, and the run exits 1.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/results/aggregate.h"
#include "harness/results/target.h"

namespace gilrace {

struct ExpectedFailure {
  std::string key;  // scenario/variant
  std::uint64_t trials = 0;
  std::uint64_t target = 0;  // trials whose failure is the target
  std::uint64_t other = 0;   // failures that are not
  // Empty when it reproduced; else "skipped at run time: ...", "no trial ran",
  // "no target failure in 20 trials (2 other: error x2)".
  std::string why_not;
};

struct ExpectFailVerdict {
  std::string target;  // TargetMatcher::describe()
  std::vector<ExpectedFailure> groups;
  bool all_reproduced() const;  // false when no group ran
  std::string text() const;     // lines for the end of the summary
  nlohmann::json to_json() const;
};

// `ran` holds the groups that applied to the build when the run was planned.
ExpectFailVerdict judge_expect_fail(const std::vector<const GroupStats*>& ran,
                                    const TargetMatcher& m);

}  // namespace gilrace
