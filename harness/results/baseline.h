// Known failure signatures: a nightly job fails on what is new, not on what an
// upstream issue already explains. A baseline file lists, per scenario and
// variant, the signatures that are known, each with the issue behind it:
//
//   {"format": "gilrace-baseline/1",
//    "signatures": [{"scenario": "finalize-ensure", "variant": "default",
//                    "id": "1a2b3c4d", "outcome": "crash",
//                    "signature": "SIGSEGV in take_gil < PyGILState_Ensure",
//                    "issue": "python/cpython#124619"}]}
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/results/aggregate.h"

namespace gilrace {

struct KnownSignature {
  std::string scenario;
  std::string variant;
  std::string id;
  std::string outcome;
  std::string signature;
  std::string issue;  // the upstream issue that explains it; "" until filled in
};

struct Baseline {
  std::string path;
  std::vector<KnownSignature> entries;
};

// Throws UsageError (one line) for an unreadable or malformed file, or an
// entry whose id does not match its outcome and signature text.
Baseline parse_baseline(const nlohmann::json& j, const std::string& name);
Baseline load_baseline(const std::string& path);

// Marks the signatures the baseline lists as known (with their issue) and
// returns what it matched: {"file", "entries", "known_signatures",
// "known_failures", "new_signatures", "new_failures", "unseen": [entries not
// seen in these groups], "without_issue": entries whose issue is empty}.
nlohmann::json apply_baseline(const Baseline& b, const std::vector<GroupStats*>& groups);

// Entries for every failure signature of these groups, in order.
std::vector<KnownSignature> known_from(const std::vector<const GroupStats*>& groups);
nlohmann::json baseline_json(const std::vector<KnownSignature>& entries);

}  // namespace gilrace
