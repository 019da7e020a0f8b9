#include "harness/results/expect.h"

#include <fmt/format.h>

namespace gilrace {

ExpectFailVerdict judge_expect_fail(const std::vector<const GroupStats*>& ran,
                                    const TargetMatcher& m) {
  ExpectFailVerdict v;
  v.target = m.describe();
  for (const GroupStats* g : ran) {
    ExpectedFailure e;
    e.key = g->key();
    e.trials = g->trials;
    std::string others;
    for (const auto& s : g->signatures) {
      if (m.is_target(s.outcome, s.signature)) {
        e.target += s.count;
      } else {
        e.other += s.count;
        others += fmt::format("{}{} x{}", others.empty() ? "" : ", ", s.outcome, s.count);
      }
    }
    if (e.target == 0) {
      if (!g->skip_reason.empty())
        e.why_not = "skipped at run time: " + g->skip_reason;
      else if (g->trials == 0)
        e.why_not = "no trial ran";
      else if (e.other > 0)
        e.why_not =
            fmt::format("no target failure in {} trials ({} other: {})", e.trials, e.other, others);
      else
        e.why_not = fmt::format("no failure in {} trials", e.trials);
    }
    v.groups.push_back(std::move(e));
  }
  return v;
}

bool ExpectFailVerdict::all_reproduced() const {
  if (groups.empty()) return false;
  for (const auto& g : groups)
    if (!g.why_not.empty()) return false;
  return true;
}

std::string ExpectFailVerdict::text() const {
  std::string s = fmt::format("expected failures (target: {}):\n", target);
  if (groups.empty()) s += "  no scenario applies to this build\n";
  for (const auto& g : groups) {
    if (g.why_not.empty())
      s += fmt::format("  {}: reproduced in {}/{} trials\n", g.key, g.target, g.trials);
    else
      s += fmt::format("  {}: did not reproduce: {}\n", g.key, g.why_not);
  }
  s += fmt::format("expected failures: {}\n", all_reproduced() ? "every scenario reproduced"
                                                               : "some scenario did not reproduce");
  return s;
}

nlohmann::json ExpectFailVerdict::to_json() const {
  nlohmann::json groups_j = nlohmann::json::array();
  for (const auto& g : groups) {
    nlohmann::json j = {{"group", g.key},
                        {"reproduced", g.why_not.empty()},
                        {"trials", g.trials},
                        {"target_failures", g.target},
                        {"other_failures", g.other}};
    if (!g.why_not.empty()) j["why_not"] = g.why_not;
    groups_j.push_back(std::move(j));
  }
  return {{"target", target}, {"all_reproduced", all_reproduced()}, {"groups", groups_j}};
}

}  // namespace gilrace
