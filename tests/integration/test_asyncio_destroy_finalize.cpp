// asyncio-destroy-finalize (zeroc-ice/ice#3824, #3840): the callback thread that completed the
// future takes the GIL back while the interpreter finalises. What CPython does to it decides
// the failure: pthread_exit (3.11, 3.12, 3.13.0-3.13.7) unwinds through RAII destructors that
// touch the C API without the GIL -> crash or fatal error; parking it (3.13.8+, 3.14,
// python/cpython#87135) turns the dealloc's join under the GIL into a deadlock.
//
// Measured on 2 shared cores (load average ~20): with the default window (window_ms=5) naive
// failed 97% of 200 trials on 3.11 (crash or fatal_error) and 97.5% on free-threaded 3.13.15
// (deadlock) — the misses are trials where the main thread took longer than 5 ms to reach
// finalisation; with natural timing (window_ms=0) 10% and 31%. With forced=1 (the callback stays
// out of the GIL until the main thread has entered Py_FinalizeEx) naive failed every trial, so
// the failing side uses forced=1. fixed passed 500/500 on both builds, window or not.
#include <string>

#include "tests/catch.h"
#include "tests/integration/support.h"
#include "tests/skip.h"

using namespace gilrace::test;

namespace {

const char* kScenario = "asyncio-destroy-finalize";

}  // namespace

TEST_CASE("asyncio-destroy-finalize fixed passes while the callback comes back mid-finalize") {
  // The default stall (10s): a pass must not be cut short on a loaded machine.
  Run r =
      run_gilrace({"run", kScenario, "--variant", "fixed", "-n", "20", "-j", "2", "--seed", "1"});
  CHECK(r.exit_code == 0);
  const auto& g = group(r.json, kScenario, "fixed");
  CHECK(outcome_count(g, "pass") == 20);
  // The window was reached: the main thread finalised while the callback was still out of the
  // GIL inside its call (measured: 495/500 trials on 3.11 and on free-threaded 3.13).
  CHECK(probe_trials(g, "finalize_with_callback_detached") >= 10);

  Run f = run_gilrace({"run", kScenario, "--variant", "fixed", "--param", "forced=1", "-n", "10",
                       "-j", "2", "--seed", "1"});
  CHECK(f.exit_code == 0);
  const auto& gf = group(f.json, kScenario, "fixed");
  CHECK(outcome_count(gf, "pass") == 10);
  CHECK(probe_trials(gf, "finalize_with_callback_detached") == 10);
}

TEST_CASE("asyncio-destroy-finalize naive fails the way this CPython ends the thread") {
  Run r = run_gilrace({"run", kScenario, "--variant", "naive", "--param", "forced=1", "-n", "4",
                       "-j", "2", "--stall", "5s", "--seed", "1"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, kScenario, "naive");
  CHECK(probe_trials(g, "finalize_with_callback_detached") == 4);
  if (parks_threads_at_finalization()) {
    // zeroc-ice#3840: the callback is parked in take_gil for ever, the dealloc joins it with
    // the GIL held.
    CHECK(outcome_count(g, "deadlock") == 4);
    CHECK(probe_trials(g, "callback_after_finalize_started") == 4);
    std::string stacks = stacks_of(g);
    if (contains(stacks, "native stacks: not captured"))
      GILRACE_SKIP("gdb could not attach here: the native stacks were not checked");
    CHECK(contains(stacks, "gilrace_asyncio_join_callback_holding_gil"));
    CHECK(contains(stacks, "PyThread_hang_thread"));
  } else {
    // zeroc-ice#3824: pthread_exit's forced unwind runs ~Ref (Py_XDECREF) and ~Gil
    // (PyGILState_Release) without the GIL.
    CHECK(outcome_count(g, "crash") + outcome_count(g, "fatal_error") == 4);
    CHECK(outcome_count(g, "deadlock") == 0);
  }
}
