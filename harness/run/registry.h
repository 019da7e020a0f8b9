// The registry of scenarios, built-in and from plugins, and what the engine derives
// from a scenario's declaration. Internal: scenario authors use gilrace/scenario.h.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gilrace/scenario.h"

namespace gilrace {

struct BuildInfo;

struct RegisteredScenario {
  ScenarioInfo info;
  ScenarioFactory make;
  std::string plugin;  // the plugin file it came from, "" when built in
};

// Calls a plugin's gilrace_plugin_register, its scenarios tagged with `path`. Throws
// UsageError when one has the name of a scenario already registered.
void register_plugin_scenarios(const std::string& path, void (*entry)());

const std::vector<RegisteredScenario>& all_scenarios();
const RegisteredScenario* find_scenario(std::string_view name);

// "3.14", "3.13.8", "3.15.0a1", "3.14.0rc2": a PY_VERSION_HEX as people write it.
std::string version_text(unsigned hex);

// The scenario's declared parameter defaults, overridden by the user's `given`.
std::map<std::string, std::string> merged_params(const ScenarioInfo& info,
                                                 const std::map<std::string, std::string>& given);

// The probes a group of `variant` run with `params` reports, in declaration order, each
// `window` resolved for that variant (window_in then empty).
std::vector<ProbeSpec> declared_probes(const ScenarioInfo& info, std::string_view variant,
                                       const std::map<std::string, std::string>& params);

// Why a scenario does not apply to a build, or "" when it does.
std::string not_applicable_reason(const ScenarioInfo& info, const BuildInfo& build);

// Why a variant is expected to fail on a build (naive, or a known CPython bug of
// that version and flavour, naming its issue), or "" when it should pass.
std::string expected_failure_reason(const Variant& v, const BuildInfo& build);

}  // namespace gilrace
