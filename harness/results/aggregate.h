// Folds finished trials into per-group statistics and per-signature counts:
// a nightly run reports "3 distinct failures", not 400 lines.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/run/trial.h"

namespace gilrace {

struct SignatureStats {
  std::string id;  // short stable hash of outcome + signature
  std::string outcome;
  std::string signature;
  std::uint64_t count = 0;
  std::uint64_t first_trial = 0;
  std::uint64_t first_seed = 0;
  std::string replay;
  std::string detail;     // of the first occurrence
  std::string artifacts;  // folder of the first trial whose artifacts were written
  std::string stacks;     // the first occurrence's crash dump / stacks, first 8 KB
  // Set from a baseline (--baseline): a known failure, explained by `issue`.
  bool known = false;
  std::string issue;
};

// One declared probe of a group (ScenarioInfo::probes), or one a trial reported.
struct ProbeStats {
  std::uint64_t total = 0;       // hits, summed over trials
  std::uint64_t trials_hit = 0;  // trials with at least one hit
  std::string meaning;           // as declared; "" in reports written before declarations
  bool window = false;           // a hit proves this group's racy window was reached
};

struct GroupStats {
  std::string scenario;
  std::string variant;
  std::vector<std::string> references;
  std::string plugin;                         // the plugin file of the scenario, "" if built in
  std::map<std::string, std::string> params;  // as the user gave them
  int threads = 0;
  std::string skip_reason;
  std::uint64_t trials = 0;    // finished, not counting skipped
  std::uint64_t failures = 0;  // everything but pass and skipped
  std::map<std::string, std::uint64_t> outcomes;
  std::optional<std::uint64_t> first_failure_after;  // trials finished at the first failure
  std::optional<double> first_failure_seconds;       // since the run started
  double trial_seconds = 0;                          // summed
  std::map<std::string, ProbeStats> probes;
  std::vector<SignatureStats> signatures;  // in order of first appearance

  // Failures not explained by a known signature (all of them without a baseline).
  std::uint64_t new_failures() const;
  // Trials ran, none failed, and no declared window probe fired in any of them: the clean
  // result proves nothing. Never true for a skipped group or one without window probes.
  bool window_not_reached() const;
  bool declares_window() const;
  bool window_reached() const;                     // some window probe fired in some trial
  std::vector<std::string> window_probes() const;  // their names
  // "no trial hit its window probe (a, b): 20 clean trials prove nothing"
  std::string window_not_reached_text() const;
  std::string key() const { return scenario + "/" + variant; }
  nlohmann::json to_json(double confidence = 0.95) const;
  static GroupStats from_json(const nlohmann::json& j);
};

std::string signature_id(std::string_view outcome, std::string_view signature);

class Aggregate {
 public:
  GroupStats& group(const std::string& scenario, const std::string& variant);
  // Returns the signature the trial was counted under, or null for a pass.
  // A signature's first occurrence is its smallest trial index, whatever the
  // order trials finish in, so sharded and unsharded runs agree.
  SignatureStats* add(const TrialResult& t, double seconds_since_start);
  std::vector<GroupStats>& groups() { return groups_; }
  const std::vector<GroupStats>& groups() const { return groups_; }
  std::uint64_t trials() const;
  std::uint64_t failures() const;
  std::uint64_t distinct_signatures() const;
  std::uint64_t new_failures() const;

 private:
  std::vector<GroupStats> groups_;
};

}  // namespace gilrace
