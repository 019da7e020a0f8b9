#include "harness/results/aggregate.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "harness/base/seed.h"
#include "harness/results/stats.h"

namespace gilrace {

std::string signature_id(std::string_view outcome, std::string_view signature) {
  std::uint64_t h = fnv1a(signature, fnv1a(outcome));
  return fmt::format("{:08x}", static_cast<std::uint32_t>(h ^ (h >> 32)));
}

GroupStats& Aggregate::group(const std::string& scenario, const std::string& variant) {
  for (auto& g : groups_)
    if (g.scenario == scenario && g.variant == variant) return g;
  GroupStats& g = groups_.emplace_back();
  g.scenario = scenario;
  g.variant = variant;
  return g;
}

SignatureStats* Aggregate::add(const TrialResult& t, double seconds_since_start) {
  GroupStats& g = group(t.spec.scenario, t.spec.variant);
  std::string outcome(outcome_name(t.outcome));
  ++g.outcomes[outcome];
  if (t.outcome == Outcome::skipped) {
    if (g.skip_reason.empty()) g.skip_reason = t.detail;
    return nullptr;
  }
  ++g.trials;
  g.trial_seconds += t.seconds;
  for (const auto& [name, count] : t.probes) {
    g.probes[name].total += count;
    if (count) ++g.probes[name].trials_hit;
  }
  if (!is_failure(t.outcome)) return nullptr;
  ++g.failures;
  if (!g.first_failure_after) {
    g.first_failure_after = g.trials;
    g.first_failure_seconds = seconds_since_start;
  }
  std::string id = signature_id(outcome, t.signature);
  auto first_occurrence = [&](SignatureStats& s) {
    s.first_trial = t.spec.trial;
    s.first_seed = t.seed;
    s.replay = replay_command(t.spec);
    s.detail = t.detail.substr(0, 4000);
    s.stacks = t.stacks.substr(0, 8192);
  };
  for (auto& s : g.signatures) {
    if (s.id == id) {
      ++s.count;
      if (t.spec.trial < s.first_trial) first_occurrence(s);
      return &s;
    }
  }
  SignatureStats& s = g.signatures.emplace_back();
  s.id = id;
  s.outcome = outcome;
  s.signature = t.signature;
  s.count = 1;
  first_occurrence(s);
  return &s;
}

std::uint64_t GroupStats::new_failures() const {
  std::uint64_t known = 0;
  for (const auto& s : signatures)
    if (s.known) known += s.count;
  return failures > known ? failures - known : 0;
}

bool GroupStats::declares_window() const {
  return std::any_of(probes.begin(), probes.end(), [](const auto& p) { return p.second.window; });
}

bool GroupStats::window_reached() const {
  return std::any_of(probes.begin(), probes.end(),
                     [](const auto& p) { return p.second.window && p.second.trials_hit > 0; });
}

bool GroupStats::window_not_reached() const {
  return trials > 0 && failures == 0 && declares_window() && !window_reached();
}

std::vector<std::string> GroupStats::window_probes() const {
  std::vector<std::string> out;
  for (const auto& [name, p] : probes)
    if (p.window) out.push_back(name);
  return out;
}

std::string GroupStats::window_not_reached_text() const {
  std::vector<std::string> names = window_probes();
  return fmt::format("no trial hit its window probe{} ({}): {} clean trial{} prove nothing",
                     names.size() == 1 ? "" : "s", fmt::join(names, ", "), trials,
                     trials == 1 ? "" : "s");
}

std::uint64_t Aggregate::new_failures() const {
  std::uint64_t n = 0;
  for (const auto& g : groups_) n += g.new_failures();
  return n;
}

std::uint64_t Aggregate::trials() const {
  std::uint64_t n = 0;
  for (const auto& g : groups_) n += g.trials;
  return n;
}

std::uint64_t Aggregate::failures() const {
  std::uint64_t n = 0;
  for (const auto& g : groups_) n += g.failures;
  return n;
}

std::uint64_t Aggregate::distinct_signatures() const {
  std::uint64_t n = 0;
  for (const auto& g : groups_) n += g.signatures.size();
  return n;
}

nlohmann::json GroupStats::to_json(double confidence) const {
  nlohmann::json j;
  j["scenario"] = scenario;
  j["variant"] = variant;
  j["references"] = references;
  if (!plugin.empty()) j["plugin"] = plugin;
  j["params"] = params;
  j["threads"] = threads;
  if (!skip_reason.empty()) j["skip_reason"] = skip_reason;
  j["trials"] = trials;
  j["failures"] = failures;
  j["outcomes"] = outcomes;
  j["rate"] = trials ? static_cast<double>(failures) / static_cast<double>(trials) : 0.0;
  Interval ci = wilson_interval(failures, trials, confidence);
  j["ci_low"] = ci.low;
  j["ci_high"] = ci.high;
  j["confidence"] = confidence;
  if (failures == 0 && trials > 0) j["rate_upper_bound"] = clean_upper_bound(trials, confidence);
  j["rate_text"] = describe_rate(failures, trials, confidence);
  j["first_failure_after"] =
      first_failure_after ? nlohmann::json(*first_failure_after) : nlohmann::json();
  j["first_failure_seconds"] =
      first_failure_seconds ? nlohmann::json(*first_failure_seconds) : nlohmann::json();
  j["trial_seconds"] = trial_seconds;
  nlohmann::json probes_j = nlohmann::json::object();
  for (const auto& [name, p] : probes)
    probes_j[name] = {{"total", p.total},
                      {"trials_hit", p.trials_hit},
                      {"window", p.window},
                      {"meaning", p.meaning}};
  j["probes"] = probes_j;
  j["window_not_reached"] = window_not_reached();
  nlohmann::json sigs = nlohmann::json::array();
  for (const auto& s : signatures) {
    nlohmann::json sj = {
        {"id", s.id},         {"outcome", s.outcome},         {"signature", s.signature},
        {"count", s.count},   {"first_trial", s.first_trial}, {"first_seed", s.first_seed},
        {"replay", s.replay}, {"detail", s.detail},           {"artifacts", s.artifacts},
        {"stacks", s.stacks}};
    if (s.known) {
      sj["known"] = true;
      sj["issue"] = s.issue;
    }
    sigs.push_back(std::move(sj));
  }
  j["signatures"] = sigs;
  if (failures != new_failures()) j["new_failures"] = new_failures();
  return j;
}

GroupStats GroupStats::from_json(const nlohmann::json& j) {
  GroupStats g;
  g.scenario = j.value("scenario", "");
  g.variant = j.value("variant", "");
  g.references = j.value("references", std::vector<std::string>{});
  g.plugin = j.value("plugin", "");
  g.params = j.value("params", std::map<std::string, std::string>{});
  g.threads = j.value("threads", 0);
  g.skip_reason = j.value("skip_reason", "");
  g.trials = j.value("trials", std::uint64_t{0});
  g.failures = j.value("failures", std::uint64_t{0});
  g.outcomes = j.value("outcomes", std::map<std::string, std::uint64_t>{});
  if (j.contains("first_failure_after") && !j["first_failure_after"].is_null())
    g.first_failure_after = j["first_failure_after"].get<std::uint64_t>();
  if (j.contains("first_failure_seconds") && !j["first_failure_seconds"].is_null())
    g.first_failure_seconds = j["first_failure_seconds"].get<double>();
  g.trial_seconds = j.value("trial_seconds", 0.0);
  if (j.contains("probes"))
    for (const auto& [name, p] : j["probes"].items())
      g.probes[name] = {p.value("total", std::uint64_t{0}), p.value("trials_hit", std::uint64_t{0}),
                        p.value("meaning", ""), p.value("window", false)};
  if (j.contains("signatures"))
    for (const auto& sj : j["signatures"]) {
      SignatureStats& s = g.signatures.emplace_back();
      s.id = sj.value("id", "");
      s.outcome = sj.value("outcome", "");
      s.signature = sj.value("signature", "");
      s.count = sj.value("count", std::uint64_t{0});
      s.first_trial = sj.value("first_trial", std::uint64_t{0});
      s.first_seed = sj.value("first_seed", std::uint64_t{0});
      s.replay = sj.value("replay", "");
      s.detail = sj.value("detail", "");
      s.artifacts = sj.value("artifacts", "");
      s.stacks = sj.value("stacks", "");
      s.known = sj.value("known", false);
      s.issue = sj.value("issue", "");
    }
  return g;
}

}  // namespace gilrace
