#include "harness/run/registry.h"

#include <fmt/format.h>

#include <algorithm>

#include "harness/base/parse.h"
#include "harness/run/build_info.h"

namespace gilrace {

namespace {
// The one piece of global mutable state: filled by static initialisers and by the plugins
// the command line names (before the command runs), read-only after that.
std::vector<RegisteredScenario>& registry() {
  static std::vector<RegisteredScenario> r;
  return r;
}

// The plugin whose scenarios are registering now ("" for built-in ones).
std::string& loading_plugin() {
  static std::string path;
  return path;
}

}  // namespace

std::string version_text(unsigned hex) {
  unsigned major = (hex >> 24) & 0xff, minor = (hex >> 16) & 0xff, micro = (hex >> 8) & 0xff;
  unsigned level = (hex >> 4) & 0xf, serial = hex & 0xf;
  std::string text = fmt::format("{}.{}", major, minor);
  // Level 0 (below alpha) is how a bound says "from the first build of X.Y.Z on".
  if (level == 0) return micro ? fmt::format("{}.{}", text, micro) : text;
  text += fmt::format(".{}", micro);
  if (level == 0xA) return fmt::format("{}a{}", text, serial);
  if (level == 0xB) return fmt::format("{}b{}", text, serial);
  if (level == 0xC) return fmt::format("{}rc{}", text, serial);
  return text;
}

bool register_scenario(ScenarioInfo info, ScenarioFactory make) {
  if (info.variants.empty()) info.variants.push_back({"default", ""});
  auto& r = registry();
  if (!loading_plugin().empty())
    for (const auto& s : r)
      if (s.info.name == info.name)
        throw UsageError(fmt::format("--plugin {}: scenario {} is already registered{}",
                                     loading_plugin(), info.name,
                                     s.plugin.empty() ? " (built in)" : " by " + s.plugin));
  r.push_back({std::move(info), std::move(make), loading_plugin()});
  std::sort(r.begin(), r.end(),
            [](const auto& a, const auto& b) { return a.info.name < b.info.name; });
  return true;
}

void register_plugin_scenarios(const std::string& path, void (*entry)()) {
  loading_plugin() = path;
  try {
    entry();
  } catch (...) {
    loading_plugin().clear();
    throw;
  }
  loading_plugin().clear();
}

const std::vector<RegisteredScenario>& all_scenarios() {
  return registry();
}

const RegisteredScenario* find_scenario(std::string_view name) {
  for (const auto& s : registry())
    if (s.info.name == name) return &s;
  return nullptr;
}

std::map<std::string, std::string> merged_params(const ScenarioInfo& info,
                                                 const std::map<std::string, std::string>& given) {
  std::map<std::string, std::string> out;
  for (const ParamSpec& p : info.params) out[p.name] = p.default_value;
  for (const auto& [k, v] : given) out[k] = v;
  return out;
}

std::vector<ProbeSpec> declared_probes(const ScenarioInfo& info, std::string_view variant,
                                       const std::map<std::string, std::string>& params) {
  std::vector<ProbeSpec> out = info.probes;
  if (info.param_probes)
    for (ProbeSpec& p : info.param_probes(merged_params(info, params))) out.push_back(std::move(p));
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

namespace {
bool known_failure_applies(const KnownFailure& f, const BuildInfo& build) {
  if (f.since && build.hexversion < f.since) return false;
  if (f.fixed && build.hexversion >= f.fixed) return false;
  if (f.builds == GilMode::free_threaded_only && !build.free_threaded) return false;
  if (f.builds == GilMode::gil_only && build.free_threaded) return false;
  return !f.debug_only || build.debug;
}
}  // namespace

std::string expected_failure_reason(const Variant& v, const BuildInfo& build) {
  for (const KnownFailure& f : v.fails_on) {
    if (!known_failure_applies(f, build)) continue;
    if (v.naive)
      return fmt::format("naive: the buggy pattern, expected to fail on {} ({})", build.flavour(),
                         f.issue);
    std::string status = f.fixed ? "fixed in " + version_text(f.fixed) : "open upstream";
    return fmt::format("{}{} ({}): expected to fail on {}", f.issue,
                       f.debug_only ? ", an assertion of CPython's debug builds" : "", status,
                       build.flavour());
  }
  if (v.naive && v.fails_on.empty()) return "naive: the buggy pattern, expected to fail";
  return "";
}

}  // namespace gilrace
