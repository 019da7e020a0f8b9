#include <fmt/format.h>
#include <unistd.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/driver.h"
#include "harness/parse.h"
#include "harness/seed.h"

namespace gilrace {

namespace {

int cmd_trial(const TrialArgs& a, bool foreground) {
  TrialSpec spec = make_spec(a);
  const RegisteredScenario& s = need_scenario(spec.scenario);
  if (foreground) {
    BuildInfo b = compile_time_build_info();
    std::string reason = not_applicable_reason(s.info, b);
    if (!reason.empty())
      throw UsageError(fmt::format("{} does not apply to this build: {}", s.info.name, reason));
    if (std::string why = invalid_params_reason(s, spec.params); !why.empty())
      throw UsageError(why);
    fmt::print(stderr, "gilrace: replaying {} (seed {})\n", replay_command(spec),
               derive_seed(spec.base_seed, spec.scenario, spec.variant, spec.trial));
    return run_trial(s, spec, -1, STDERR_FILENO);
  }
  return run_trial(s, spec, kMessageFd, kStacksFd);
}

}  // namespace

Command add_replay_command(CLI::App& app) {
  auto a = std::make_shared<TrialArgs>();
  auto* cmd = app.add_subcommand("replay", "Run one trial again in the foreground");
  add_trial_options(cmd, *a);
  return {cmd, [a] { return cmd_trial(*a, true); }};
}

Command add_trial_command(CLI::App& app) {
  auto a = std::make_shared<TrialArgs>();
  auto* cmd = app.add_subcommand("__trial", "");
  cmd->group("");  // hidden
  add_trial_options(cmd, *a);
  return {cmd, [a] { return cmd_trial(*a, false); }};
}

}  // namespace gilrace
