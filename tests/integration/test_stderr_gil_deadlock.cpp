// stderr-gil-deadlock (PyO3/pyo3#4764): the output-lock / GIL inversion and its free-threaded
// stop-the-world form, each reproduced where it exists and passing where it is fixed.
//
// Measured (2 shared cores, --stall 3s): naive on 3.11 (GIL) deadlocks in ~6% of trials with
// natural timing and in every trial with forced=1; stw on free-threaded 3.13 deadlocks in
// every trial, natural or forced; fixed and stw-fixed passed every trial on both builds. So
// the tests use forced=1 for the failing side (certain) and natural timing for the passing
// side, where a failure would be a real regression; passing runs keep the default --stall so
// that a loaded machine cannot turn a slow trial into a "deadlock".
#include <string>

#include "tests/catch.h"
#include "tests/integration/support.h"
#include "tests/skip.h"

using namespace gilrace::test;

namespace {

const char* kScenario = "stderr-gil-deadlock";

bool gil_at_runtime() {
  return build().value("gil_enabled_at_runtime", true);
}

}  // namespace

TEST_CASE("stderr-gil-deadlock fixed passes, with natural timing and lined up") {
  Run r =
      run_gilrace({"run", kScenario, "--variant", "fixed", "-n", "20", "-j", "2", "--seed", "1"});
  CHECK(r.exit_code == 0);
  const auto& g = group(r.json, kScenario, "fixed");
  CHECK(outcome_count(g, "pass") == 20);

  // The same lineup that deadlocks naive every time: the warner takes the GIL while the
  // reporter has released it inside formatting — but the reporter holds no output lock then.
  Run f = run_gilrace({"run", kScenario, "--variant", "fixed", "--param", "forced=1", "-n", "10",
                       "-j", "2", "--seed", "1"});
  CHECK(f.exit_code == 0);
  const auto& gf = group(f.json, kScenario, "fixed");
  CHECK(outcome_count(gf, "pass") == 10);
  CHECK(probe_trials(gf, "formatting_released_gil") == 10);
}

TEST_CASE("stderr-gil-deadlock naive deadlocks on GIL builds, and the stacks name both waits") {
  Run r = run_gilrace({"run", kScenario, "--variant", "naive", "--param", "forced=1", "-n", "3",
                       "-j", "2", "--stall", "3s", "--seed", "1"});
  const auto& g = group(r.json, kScenario, "naive");
  if (!gil_at_runtime()) {
    // No GIL hand-off exists to invert: the scenario says so instead of passing.
    CHECK(outcome_count(g, "skipped") == 3);
    CHECK(contains(g.value("skip_reason", ""), "needs the GIL"));
    CHECK(r.exit_code == 0);
    return;
  }
  CHECK(r.exit_code == 1);
  CHECK(outcome_count(g, "deadlock") == 3);
  CHECK(probe_trials(g, "formatting_with_output_lock_held") == 3);
  CHECK(probe_trials(g, "gil_holder_blocked_on_output_lock") == 3);
  std::string stacks = stacks_of(g);
  if (contains(stacks, "native stacks: not captured"))
    GILRACE_SKIP("gdb could not attach here: the native stacks were not checked");
  // One thread waits for the output lock holding the GIL, the other for the GIL holding it.
  CHECK(contains(stacks, "gilrace_stderr_wait_output_lock"));
  CHECK(contains(stacks, "gilrace_stderr_wait_gil_in_display"));
  CHECK(contains(stacks, "PyEval_RestoreThread"));  // exported: named even in a stripped libpython
}

TEST_CASE("stderr-gil-deadlock stw deadlocks free-threaded, and the stacks show stop-the-world") {
  Run r = run_gilrace({"run", kScenario, "--variant", "stw", "--param", "forced=1", "-n", "3", "-j",
                       "2", "--stall", "3s", "--seed", "1"});
  const auto& g = group(r.json, kScenario, "stw");
  if (gil_at_runtime()) {
    CHECK(outcome_count(g, "skipped") == 3);
    CHECK(contains(g.value("skip_reason", ""), "needs the GIL off"));
    CHECK(r.exit_code == 0);
    return;
  }
  CHECK(r.exit_code == 1);
  CHECK(outcome_count(g, "deadlock") == 3);
  CHECK(probe_trials(g, "formatting_with_output_lock_held") == 3);
  CHECK(probe_trials(g, "attached_thread_blocked_on_output_lock") == 3);
  std::string stacks = stacks_of(g);
  if (contains(stacks, "native stacks: not captured"))
    GILRACE_SKIP("gdb could not attach here: the native stacks were not checked");
  // The holder of the output lock waits in a collection for the world to stop; the other
  // thread, attached, waits for the output lock and never reaches a safe point.
  CHECK(contains(stacks, "gilrace_stderr_collect_holding_output_lock"));
  CHECK(contains(stacks, "stop_the_world"));
  CHECK(contains(stacks, "gilrace_stderr_wait_output_lock"));
}

TEST_CASE("stderr-gil-deadlock stw-fixed passes on every build, natural and lined up") {
  Run r = run_gilrace(
      {"run", kScenario, "--variant", "stw-fixed", "-n", "10", "-j", "2", "--seed", "1"});
  CHECK(r.exit_code == 0);
  const auto& g = group(r.json, kScenario, "stw-fixed");
  CHECK(outcome_count(g, "pass") == 10);
  CHECK(probe_trials(g, "formatting_with_output_lock_held") == 10);

  Run f = run_gilrace({"run", kScenario, "--variant", "stw-fixed", "--param", "forced=1", "-n",
                       "10", "-j", "2", "--seed", "1"});
  CHECK(f.exit_code == 0);
  const auto& gf = group(f.json, kScenario, "stw-fixed");
  CHECK(outcome_count(gf, "pass") == 10);
  // The waiter found the lock held and detached instead of blocking attached.
  CHECK(probe_trials(gf, "attached_thread_blocked_on_output_lock") == 10);
}

// --expect fail is decided from what ran: the variant that skips itself at run time on this
// build did not reproduce, whatever was planned.
namespace {

void expect_fail_both_ways(const std::string& reproduces, const std::string& skips,
                           const std::string& why) {
  Run ok = run_gilrace({"run", kScenario, "--variant", reproduces, "--param", "forced=1", "-n", "2",
                        "-j", "2", "--stall", "3s", "--seed", "1", "--expect", "fail"});
  CHECK(ok.exit_code == 0);
  CHECK(outcome_count(group(ok.json, kScenario, reproduces), "deadlock") == 2);
  CHECK(contains(ok.out, "expected failures: every scenario reproduced"));

  Run skipped = run_gilrace({"run", kScenario, "--variant", skips, "--param", "forced=1", "-n", "2",
                             "-j", "2", "--seed", "1", "--expect", "fail"});
  CHECK(skipped.exit_code == 1);
  CHECK(outcome_count(group(skipped.json, kScenario, skips), "skipped") == 2);
  CHECK(contains(skipped.out, std::string(kScenario) + "/" + skips +
                                  ": did not reproduce: skipped at run time: " + skips + " " +
                                  why));
  CHECK(contains(skipped.out, "expected failures: some scenario did not reproduce"));
  CHECK(skipped.json["expect_fail"]["all_reproduced"] == false);
}

}  // namespace

TEST_CASE("--expect fail on a GIL build: naive reproduces, stw skips itself and did not") {
  if (!gil_at_runtime()) GILRACE_SKIP("the GIL is off in this build: see the free-threaded case");
  expect_fail_both_ways("naive", "stw", "needs the GIL off");
}

TEST_CASE(
    "--expect fail on a free-threaded build: stw reproduces, naive skips itself and did not") {
  if (gil_at_runtime()) GILRACE_SKIP("a GIL build: see the GIL case");
  expect_fail_both_ways("stw", "naive", "needs the GIL");
}
