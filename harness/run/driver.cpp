#include "harness/run/driver.h"

#include <Python.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "gilrace/py.h"
#include "harness/base/seed.h"
#include "harness/run/chaos.h"
#include "harness/run/crash_handler.h"
#include "harness/run/embed.h"
#include "harness/run/messages.h"
#include "harness/run/registry.h"

namespace gilrace {

namespace {

// faulthandler.register(SIGUSR1) keeps the handler it replaces and puts it back when
// finalisation unregisters it. Were that the default action, a SIGUSR1 reaching the
// trial before CPython starts or after it ends would kill it; the supervisor sends
// none then (messages.h, `faulthandler`), and this closes the gap between its
// decision and the signal's arrival.
void absorb_stray_sigusr1() {
  struct sigaction sa {};
  sa.sa_handler = [](int) {};
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
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

int run_trial(const RegisteredScenario& sc, const TrialSpec& spec, int message_fd, int stacks_fd) {
  if (message_fd >= 0) {
    // A supervisor killed with SIGKILL cannot clean up: take the trial down with it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(kExitError);
  }
  install_crash_handler(stacks_fd);
  if (message_fd >= 0) absorb_stray_sigusr1();

  Context::Settings settings;
  settings.variant = spec.variant;
  settings.seed = derive_seed(spec.base_seed, spec.scenario, spec.variant, spec.trial);
  // Before any other thread starts: each one arms itself as it starts (signal_stack.cpp).
  chaos::start(spec.chaos, settings.seed);
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

  if (spec.chaos)
    for (const auto& [key, n] : chaos::counts()) ctx.note(key, std::to_string(n));
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
