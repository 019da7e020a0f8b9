#include "harness/driver.h"

#include <Python.h>
#include <execinfo.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "harness/embed.h"
#include "harness/messages.h"
#include "harness/py.h"
#include "harness/seed.h"

namespace gilrace {

namespace {

int g_crash_fd = -1;  // written once before any thread starts, read in the handler

void write_all(int fd, const char* s) {
  std::size_t left = std::strlen(s);
  while (left) {
    ssize_t n = ::write(fd, s, left);
    if (n <= 0) return;
    s += n;
    left -= static_cast<std::size_t>(n);
  }
}

// Async-signal-safe enough: backtrace() was primed at install time (it loads
// libgcc lazily), backtrace_symbols_fd does not allocate.
void crash_handler(int sig) {
  // Several threads can crash at once (every worker calling into a finalised
  // interpreter): the first one dumps and ends the process, the others wait for
  // that, or their dumps would interleave and the signature would change per trial.
  static std::atomic<bool> crashing{false};
  if (crashing.exchange(true))
    for (;;) pause();
  if (g_crash_fd >= 0) {
    write_all(g_crash_fd, "\nNative stack of the crashing thread (most recent call first):\n");
    void* frames[64];
    int n = backtrace(frames, 64);
    backtrace_symbols_fd(frames, n, g_crash_fd);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

// Installed before faulthandler, which chains to it after its Python dump.
void install_crash_handler(int fd) {
  g_crash_fd = fd;
  void* prime[2];
  backtrace(prime, 2);
  struct sigaction sa {};
  sa.sa_handler = crash_handler;
  sa.sa_flags = SA_NODEFER | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &sa, nullptr);
}

Result run_guarded(Scenario& scenario, Context& ctx) {
  try {
    scenario.before_init(ctx);
    if (ctx.info().lifecycle == Lifecycle::scenario) return scenario.run(ctx);
    ctx.init_python();
    Result r;
    try {
      r = scenario.run(ctx);
    } catch (const py::Error& e) {
      r = Result::error(e.what());
    }
    if (Py_FinalizeEx() < 0 && r.status == Result::Status::pass)
      r = Result::error("Py_FinalizeEx() failed (could not flush buffered data)");
    return r;
  } catch (const ScenarioSkip& e) {
    return Result::skipped(e.what());
  } catch (const std::exception& e) {
    return Result::error(e.what());
  }
}

std::string_view status_name(Result::Status s) {
  switch (s) {
    case Result::Status::pass:
      return "pass";
    case Result::Status::error:
      return "error";
    case Result::Status::skipped:
      return "skipped";
  }
  return "error";
}

}  // namespace

std::map<std::string, std::string> merged_params(const ScenarioInfo& info,
                                                 const std::map<std::string, std::string>& given) {
  std::map<std::string, std::string> out;
  for (const ParamSpec& p : info.params) out[p.name] = p.default_value;
  for (const auto& [k, v] : given) out[k] = v;
  return out;
}

int run_trial(const RegisteredScenario& sc, const TrialSpec& spec, int message_fd, int stacks_fd) {
  if (message_fd >= 0) {
    // A supervisor killed with SIGKILL cannot clean up: take the trial down with it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(kExitError);
  }
  install_crash_handler(stacks_fd);

  Context::Settings settings;
  settings.variant = spec.variant;
  settings.seed = derive_seed(spec.base_seed, spec.scenario, spec.variant, spec.trial);
  settings.trial = spec.trial;
  settings.threads = spec.threads > 0 ? spec.threads : sc.info.default_threads;
  settings.params = merged_params(sc.info, spec.params);
  settings.message_fd = message_fd;
  settings.stacks_fd = stacks_fd;
  Context ctx(sc.info, settings);
  ctx.flush();

  std::unique_ptr<Scenario> scenario = sc.make();
  Result r = run_guarded(*scenario, ctx);
  if (auto undeclared = ctx.undeclared_probes();
      !undeclared.empty() && r.status == Result::Status::pass)
    r = Result::error(fmt::format(
        "undeclared probe(s) {}: a scenario declares every probe it hits ({})",
        fmt::join(undeclared, ", "),
        sc.info.param_probes ? "ScenarioInfo::probes, or its probe parameters in `gilrace list`"
                             : "ScenarioInfo::probes"));

  ctx.flush();
  if (message_fd >= 0) {
    ctx.send_line(encode_result(status_name(r.status), r.message));
  } else {
    for (const auto& [name, count] : ctx.probe_counts())
      fmt::print(stderr, "gilrace: probe {} = {}\n", name, count);
    for (const auto& [k, v] : ctx.notes()) fmt::print(stderr, "gilrace: note {} = {}\n", k, v);
    fmt::print(stderr, "gilrace: result {}{}{}\n", status_name(r.status),
               r.message.empty() ? "" : ": ", r.message);
  }
  std::fflush(stdout);
  std::fflush(stderr);
  int code = r.status == Result::Status::pass    ? kExitPass
             : r.status == Result::Status::error ? kExitError
                                                 : kExitSkipped;
  // No static destructors, no atexit: threads a scenario left behind may still run.
  _exit(code);
}

}  // namespace gilrace
