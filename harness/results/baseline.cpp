#include "harness/results/baseline.h"

#include <fmt/format.h>

#include "harness/base/parse.h"
#include "harness/results/json_file.h"

namespace gilrace {

using nlohmann::json;

Baseline parse_baseline(const json& j, const std::string& name) {
  if (!j.is_object() || !j.contains("signatures") || !j["signatures"].is_array())
    throw UsageError(fmt::format("{}: not a baseline (no \"signatures\" list)", name));
  if (j.contains("format") && j["format"] != "gilrace-baseline/1")
    throw UsageError(fmt::format("{}: unknown baseline format {}", name, j["format"].dump()));
  Baseline b;
  b.path = name;
  std::size_t n = 0;
  for (const auto& e : j["signatures"]) {
    ++n;
    auto field = [&](const char* k) -> std::string {
      if (!e.is_object() || !e.contains(k) || e[k].is_null()) return "";
      if (!e[k].is_string())
        throw UsageError(fmt::format("{}: entry {}: \"{}\" must be a string", name, n, k));
      return e[k].get<std::string>();
    };
    KnownSignature k;
    k.scenario = field("scenario");
    k.variant = field("variant");
    k.id = field("id");
    k.outcome = field("outcome");
    k.signature = field("signature");
    k.issue = field("issue");
    if (k.scenario.empty() || k.variant.empty())
      throw UsageError(fmt::format("{}: entry {} needs a scenario and a variant", name, n));
    bool has_text = !k.outcome.empty() && !k.signature.empty();
    if (k.id.empty() && !has_text)
      throw UsageError(fmt::format("{}: entry {} ({}) needs an id, or an outcome and a signature",
                                   name, n, k.scenario));
    if (has_text) {
      std::string id = signature_id(k.outcome, k.signature);
      if (k.id.empty()) k.id = id;
      if (k.id != id)
        throw UsageError(fmt::format(
            "{}: entry {} ({}): id {} does not match its outcome and signature (that is {})", name,
            n, k.scenario, k.id, id));
    }
    b.entries.push_back(std::move(k));
  }
  return b;
}

Baseline load_baseline(const std::string& path) {
  return parse_baseline(read_json_file(path, "--baseline " + path), path);
}

json apply_baseline(const Baseline& b, const std::vector<GroupStats*>& groups) {
  std::vector<bool> seen(b.entries.size(), false);
  std::uint64_t known_sigs = 0, known_failures = 0, new_sigs = 0, new_failures = 0;
  for (GroupStats* g : groups)
    for (auto& s : g->signatures) {
      s.known = false;  // this baseline decides, not the one an input was run with
      s.issue.clear();
      for (std::size_t i = 0; i < b.entries.size(); ++i) {
        const KnownSignature& k = b.entries[i];
        if (k.scenario == g->scenario && k.variant == g->variant && k.id == s.id) {
          s.known = true;
          s.issue = k.issue;
          seen[i] = true;
        }
      }
      (s.known ? known_sigs : new_sigs) += 1;
      (s.known ? known_failures : new_failures) += s.count;
    }
  json unseen = json::array();
  std::uint64_t without_issue = 0;
  for (std::size_t i = 0; i < b.entries.size(); ++i) {
    const KnownSignature& k = b.entries[i];
    if (k.issue.empty()) ++without_issue;
    if (!seen[i])
      unseen.push_back(
          {{"scenario", k.scenario}, {"variant", k.variant}, {"id", k.id}, {"issue", k.issue}});
  }
  return {{"file", b.path},
          {"entries", b.entries.size()},
          {"known_signatures", known_sigs},
          {"known_failures", known_failures},
          {"new_signatures", new_sigs},
          {"new_failures", new_failures},
          {"unseen", unseen},
          {"without_issue", without_issue}};
}

std::vector<KnownSignature> known_from(const std::vector<const GroupStats*>& groups) {
  std::vector<KnownSignature> out;
  for (const GroupStats* g : groups)
    for (const auto& s : g->signatures) {
      bool dup = false;
      for (const auto& k : out)
        dup |= k.scenario == g->scenario && k.variant == g->variant && k.id == s.id;
      if (!dup) out.push_back({g->scenario, g->variant, s.id, s.outcome, s.signature, s.issue});
    }
  return out;
}

json baseline_json(const std::vector<KnownSignature>& entries) {
  json sigs = json::array();
  for (const auto& k : entries)
    sigs.push_back({{"scenario", k.scenario},
                    {"variant", k.variant},
                    {"id", k.id},
                    {"outcome", k.outcome},
                    {"signature", k.signature},
                    {"issue", k.issue}});
  return {{"format", "gilrace-baseline/1"},
          {"about",
           "Known failure signatures: gilrace run/merge --baseline reports these as known and "
           "fails only on new ones. Fill in each \"issue\" with the upstream issue that explains "
           "it (e.g. python/cpython#124619)."},
          {"signatures", sigs}};
}

}  // namespace gilrace
