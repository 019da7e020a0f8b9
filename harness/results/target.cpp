#include "harness/results/target.h"

#include <fmt/format.h>

#include <algorithm>

#include "harness/base/parse.h"
#include "harness/judge/outcome.h"
#include "harness/results/aggregate.h"

namespace gilrace {

namespace {

bool is_signature_id(std::string_view s) {
  return s.size() == 8 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

}  // namespace

TargetMatcher::TargetMatcher(const std::vector<std::string>& patterns) {
  for (const auto& text : patterns) {
    if (text.empty()) throw UsageError("--match needs a value");
    if (auto o = outcome_from_name(text)) {
      if (!is_failure(*o))
        throw UsageError(fmt::format("--match {}: that outcome is not a failure", text));
      patterns_.push_back({Kind::outcome, text, {}});
    } else if (is_signature_id(text)) {
      std::string id = text;
      std::transform(id.begin(), id.end(), id.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      });
      patterns_.push_back({Kind::id, id, {}});
    } else {
      try {
        patterns_.push_back({Kind::regex, text, std::regex(text, std::regex::ECMAScript)});
      } catch (const std::regex_error& e) {
        throw UsageError(fmt::format(
            "--match '{}' is not an outcome name, a signature id or a regular expression: {}", text,
            e.what()));
      }
    }
  }
}

bool TargetMatcher::is_target(std::string_view outcome, std::string_view signature) const {
  auto o = outcome_from_name(outcome);
  if (!o || !is_failure(*o)) return false;
  if (patterns_.empty()) return *o != Outcome::error && *o != Outcome::timeout;
  for (const auto& p : patterns_) {
    switch (p.kind) {
      case Kind::outcome:
        if (p.text == outcome) return true;
        break;
      case Kind::id:
        if (signature_id(outcome, signature) == p.text) return true;
        break;
      case Kind::regex:
        if (std::regex_search(signature.begin(), signature.end(), p.re)) return true;
        break;
    }
  }
  return false;
}

bool TargetMatcher::is_target(const TrialResult& t) const {
  return is_target(outcome_name(t.outcome), t.signature);
}

std::string TargetMatcher::describe() const {
  if (patterns_.empty()) return "every failure but error and timeout";
  std::string out;
  for (const auto& p : patterns_) {
    if (!out.empty()) out += " or ";
    if (p.kind == Kind::outcome) out += p.text;
    if (p.kind == Kind::id) out += "signature " + p.text;
    if (p.kind == Kind::regex) out += "/" + p.text + "/";
  }
  return out;
}

}  // namespace gilrace
