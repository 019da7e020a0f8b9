// What the commands share: the registry of subcommands, and the checks every
// command makes of what a person typed. Each command lives in its own
// cmd_NAME.cpp and adds itself to the CLI11 app through add_NAME_command().
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "harness/run/build_info.h"
#include "harness/run/registry.h"
#include "harness/run/trial.h"

namespace gilrace {

// A subcommand and what runs when it was chosen; returns the exit code.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_list_command(CLI::App& app);
Command add_info_command(CLI::App& app);
Command add_run_command(CLI::App& app, const std::vector<std::string>& argv);
Command add_replay_command(CLI::App& app);
Command add_trial_command(CLI::App& app);  // hidden: what a supervisor re-executes
Command add_merge_command(CLI::App& app, const std::vector<std::string>& argv);
Command add_baseline_command(CLI::App& app);
Command add_report_command(CLI::App& app);

struct TrialArgs {
  std::string scenario;
  std::string variant;
  std::string seed = "0";
  std::string trial = "0";
  std::string threads;
  std::vector<std::string> params;
  std::string chaos;  // --chaos[=LEVEL]
};

void add_trial_options(CLI::App* cmd, TrialArgs& a);
// --chaos[=LEVEL] of `run`, `replay` and the hidden trial command (harness/run/chaos.h).
void add_chaos_option(CLI::App* cmd, std::string& level);
// The level given: 0 (off) to chaos::kMaxLevel, else UsageError.
int parse_chaos_level(const std::string& text);
void add_trial_options(CLI::App* cmd, TrialArgs& a);  // --plugin included
void add_plugin_option(CLI::App* cmd);
const RegisteredScenario& need_scenario(const std::string& name);
void check_variant(const RegisteredScenario& s, const std::string& v);
// The user's params that this scenario declares (strict: any other is an error).
std::map<std::string, std::string> params_for(const RegisteredScenario& s,
                                              const std::map<std::string, std::string>& all,
                                              bool strict);
// The scenario's own check of its parameters, or "" (see ScenarioInfo::validate).
std::string invalid_params_reason(const RegisteredScenario& s,
                                  const std::map<std::string, std::string>& given);
TrialSpec make_spec(const TrialArgs& a);
// Refuses a build gilrace cannot test truthfully (mismatched libpython, half a sanitizer).
void preflight(const BuildInfo& b, bool allow_mixed);

}  // namespace gilrace
