#include <fmt/format.h>
#include <linux/perf_event.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "harness/base/parse.h"
#include "harness/base/seed.h"
#include "harness/cli/cli.h"
#include "harness/cli/commands.h"
#include "harness/run/chaos.h"
#include "harness/run/driver.h"
#include "harness/run/registry.h"
#include "harness/run/supervisor.h"

extern char** environ;

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
    if (spec.chaos)
      fmt::print(stderr,
                 "gilrace: chaos level {}: the same perturbation decisions, not the same schedule; "
                 "its timers send signal {} (under gdb: handle SIG{} nostop noprint)\n",
                 spec.chaos, chaos::signal_number(), chaos::signal_number());
    return run_trial(s, spec, -1, STDERR_FILENO);
  }
  return run_trial(s, spec, kMessageFd, kStacksFd);
}

// rr counts retired branches with a hardware performance counter; most VMs and
// containers expose none, and rr then dies with a page of text. Asking the kernel
// for one first turns that into one line. "" when a counter opens, else why not.
std::string hardware_counters_missing() {
  perf_event_attr attr{};
  attr.type = PERF_TYPE_HARDWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_HW_INSTRUCTIONS;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
  if (fd >= 0) {
    ::close(static_cast<int>(fd));
    return "";
  }
  return std::strerror(errno);
}

// The replay under gdb, for when rr cannot record.
std::string gdb_command(const TrialSpec& spec) {
  return "gdb --args " + replay_command(spec, self_executable());
}

// The same replay, recorded by rr: `rr replay` then steps through it backwards.
int cmd_replay_rr(const TrialArgs& a) {
  TrialSpec spec = make_spec(a);  // validates before rr starts
  std::string rr;
  for (const char* dir : {"/usr/bin/rr", "/usr/local/bin/rr"})
    if (::access(dir, X_OK) == 0) rr = dir;
  if (rr.empty()) throw UsageError("--rr needs rr, which is not installed (apt-get install rr)");
  if (std::string why = hardware_counters_missing(); !why.empty())
    throw UsageError(
        fmt::format("--rr: rr cannot record on this machine: no hardware performance counter "
                    "(perf_event_open: {}); replay under gdb instead: {}",
                    why, gdb_command(spec)));
  std::vector<std::string> args = {rr, "record", self_executable(), "replay"};
  for (const auto& arg : trial_args(spec)) args.push_back(arg);
  args.erase(args.begin() + 4);  // trial_args starts with the hidden "__trial"
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, rr.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
    throw UsageError("could not start rr");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code != 0)
    fmt::print(stderr,
               "gilrace: rr record exited with {}. If rr could not record at all (it cannot on "
               "AMD Zen CPUs in many VMs), replay under gdb instead: {}\n",
               code, gdb_command(spec));
  return code;
}

}  // namespace

Command add_replay_command(CLI::App& app) {
  auto a = std::make_shared<TrialArgs>();
  auto rr = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("replay", "Run one trial again in the foreground");
  add_trial_options(cmd, *a);
  cmd->add_flag("--rr", *rr, "Record the replay with rr (where rr works)");
  return {cmd, [a, rr] { return *rr ? cmd_replay_rr(*a) : cmd_trial(*a, true); }};
}

Command add_trial_command(CLI::App& app) {
  auto a = std::make_shared<TrialArgs>();
  auto* cmd = app.add_subcommand("__trial", "");
  cmd->group("");  // hidden
  add_trial_options(cmd, *a);
  return {cmd, [a] { return cmd_trial(*a, false); }};
}

}  // namespace gilrace
