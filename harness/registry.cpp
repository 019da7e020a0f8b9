#include <fmt/format.h>

#include <algorithm>

#include "harness/build_info.h"
#include "harness/scenario.h"

namespace gilrace {

namespace {
// The one piece of global mutable state: filled by static initialisers, read-only after main
// starts.
std::vector<RegisteredScenario>& registry() {
  static std::vector<RegisteredScenario> r;
  return r;
}

std::string version_text(unsigned hex) {
  return fmt::format("{}.{}", (hex >> 24) & 0xff, (hex >> 16) & 0xff);
}
}  // namespace

bool register_scenario(ScenarioInfo info, ScenarioFactory make) {
  if (info.variants.empty()) info.variants.push_back({"default", ""});
  auto& r = registry();
  r.push_back({std::move(info), std::move(make)});
  std::sort(r.begin(), r.end(),
            [](const auto& a, const auto& b) { return a.info.name < b.info.name; });
  return true;
}

const std::vector<RegisteredScenario>& all_scenarios() {
  return registry();
}

const RegisteredScenario* find_scenario(std::string_view name) {
  for (const auto& s : registry())
    if (s.info.name == name) return &s;
  return nullptr;
}

std::vector<ProbeSpec> declared_probes(const ScenarioInfo& info, std::string_view variant,
                                       const std::map<std::string, std::string>& params) {
  std::vector<ProbeSpec> out = info.probes;
  if (info.param_probes) {
    std::map<std::string, std::string> merged;
    for (const ParamSpec& p : info.params) merged[p.name] = p.default_value;
    for (const auto& [k, v] : params) merged[k] = v;
    for (ProbeSpec& p : info.param_probes(merged)) out.push_back(std::move(p));
  }
  for (ProbeSpec& p : out) {
    if (p.window && !p.window_in.empty())
      p.window = std::find(p.window_in.begin(), p.window_in.end(), variant) != p.window_in.end();
    p.window_in.clear();
  }
  return out;
}

std::string not_applicable_reason(const ScenarioInfo& info, const BuildInfo& build) {
  const Requirements& r = info.requires_;
  if (r.min_version && build.hexversion < r.min_version)
    return fmt::format("needs Python >= {}, this is {}", version_text(r.min_version),
                       build.version);
  if (r.max_version && build.hexversion >= r.max_version)
    return fmt::format("needs Python < {}, this is {}", version_text(r.max_version), build.version);
  if (r.gil == GilMode::free_threaded_only && !build.free_threaded)
    return fmt::format("needs a free-threaded build, this is {} with the GIL", build.version);
  if (r.gil == GilMode::gil_only && build.free_threaded)
    return fmt::format("needs a build with the GIL, this is {} free-threaded", build.version);
  if (r.debug && !build.debug)
    return fmt::format("needs a debug (--with-pydebug) build, this is {}", build.flavour());
  if (r.tsan && !build.gilrace_tsan)
    return "needs gilrace built with ThreadSanitizer (scripts/build-harness.sh --sanitizer thread)";
  return "";
}

std::string expected_failure_reason(const Variant& v, const BuildInfo& build) {
  if (v.naive) return "naive: the buggy pattern, expected to fail";
  if (v.fixed_in && build.hexversion < v.fixed_in)
    return fmt::format("reproduces a CPython bug fixed in {}: expected to fail on {}",
                       version_text(v.fixed_in), build.version);
  if (v.debug_asserts_before && build.debug && build.hexversion < v.debug_asserts_before)
    return fmt::format(
        "CPython's debug builds before {} fail an assertion here: expected to "
        "fail on {}",
        version_text(v.debug_asserts_before), build.flavour());
  return "";
}

}  // namespace gilrace
