#include <csignal>

#include "harness/outcome.h"
#include "tests/catch.h"

using namespace gilrace;

TEST_CASE("a clean exit with a pass result is a pass") {
  Evidence e;
  e.exit_code = 0;
  e.has_result = true;
  e.result_status = "pass";
  Classification c = classify(e);
  CHECK(c.outcome == Outcome::pass);
  CHECK(c.signature.empty());
}

TEST_CASE("SIGSEGV is a crash even when stderr mentions a fatal error") {
  Evidence e;
  e.signal = SIGSEGV;
  e.stderr_text = "Fatal Python error: Segmentation fault\n";
  e.stacks =
      "Native stack of the crashing thread (most recent call first):\n"
      "./gilrace(+0x1234)[0x55]\n"
      "./gilrace(_ZN7gilrace12_GLOBAL__N_113crash_handlerEi+0x10)[0x56]\n"
      "/lib/x86_64-linux-gnu/libc.so.6(+0x3c050)[0x7f]\n"
      "/usr/lib/libpython3.13t.so.1.0(PyGILState_Ensure+0x2a)[0x7f1]\n"
      "/usr/lib/libpython3.13t.so.1.0(PyGILState_Ensure+0x30)[0x7f1]\n"
      "./gilrace(_ZN7gilrace6worker3runERNS_7ContextE+0x99)[0x57]\n"
      "./gilrace(_ZN7gilrace9run_trialERKNS_18RegisteredScenarioERKNS_9TrialSpecEii+0x1)[0x58]\n";
  Classification c = classify(e);
  CHECK(c.outcome == Outcome::crash);
  CHECK(c.signature == "SIGSEGV in PyGILState_Ensure < gilrace::worker::run");
}

TEST_CASE("SIGABRT with a fatal error is fatal_error, with function and message") {
  Evidence e;
  e.signal = SIGABRT;
  e.stderr_text =
      "some output\nFatal Python error: PyGILState_Release: auto-releasing thread-state, but no "
      "thread-state for this thread\nPython runtime state: finalizing\n";
  Classification c = classify(e);
  CHECK(c.outcome == Outcome::fatal_error);
  CHECK(c.signature ==
        "Fatal Python error: PyGILState_Release: auto-releasing thread-state, but no thread-state "
        "for this thread");
}

TEST_CASE("a failed C assertion is an assertion, line numbers and paths dropped") {
  Evidence e;
  e.signal = SIGABRT;
  e.stderr_text =
      "gilrace: ../Python/pystate.c:2113: _PyThreadState_Attach: Assertion `!_Py_IsFinalizing()' "
      "failed.\n";
  Classification c = classify(e);
  CHECK(c.outcome == Outcome::assertion);
  CHECK(c.signature == "pystate.c: _PyThreadState_Attach: Assertion `!_Py_IsFinalizing()' failed");
}

TEST_CASE("CPython's own object assertion is an assertion too") {
  Evidence e;
  e.signal = SIGABRT;
  e.stderr_text =
      "Objects/unionobject.c:301: union_repr: Assertion \"PyTuple_Check(args)\" failed\n"
      "Fatal Python error: _PyObject_AssertFailed: _PyObject_AssertFailed\n";
  CHECK(classify(e).outcome == Outcome::assertion);
}

TEST_CASE("a ThreadSanitizer report is a sanitizer outcome without pid and addresses") {
  Evidence e;
  e.exit_code = kSanitizerExitCode;
  e.stderr_text =
      "==================\nWARNING: ThreadSanitizer: data race (pid=4242)\n  Write of size 8 at "
      "0x7b0400000010 by thread T2:\n";
  Classification c = classify(e);
  CHECK(c.outcome == Outcome::sanitizer);
  CHECK(c.signature == "WARNING: ThreadSanitizer: data race");
}

TEST_CASE("stall and timeout come from the supervisor's reason to kill") {
  Evidence stalled;
  stalled.stalled = true;
  stalled.signal = SIGKILL;
  CHECK(classify(stalled).outcome == Outcome::deadlock);
  Evidence slow;
  slow.timed_out = true;
  slow.signal = SIGKILL;
  CHECK(classify(slow).outcome == Outcome::timeout);
}

TEST_CASE("errors and skips come from the scenario's result") {
  Evidence e;
  e.exit_code = 3;
  e.has_result = true;
  e.result_status = "error";
  e.result_message = "Traceback (most recent call last):\n  File \"x\"\nKeyError: 'k'\n";
  Classification c = classify(e);
  CHECK(c.outcome == Outcome::error);
  CHECK(c.signature == "error: KeyError: 'k'");
  Evidence s;
  s.exit_code = 4;
  s.has_result = true;
  s.result_status = "skipped";
  s.result_message = "GIL is enabled";
  CHECK(classify(s).outcome == Outcome::skipped);
}

TEST_CASE("exiting without a result: non-zero is a crash, zero is an error") {
  Evidence e;
  e.exit_code = 7;
  Classification c = classify(e);
  CHECK(c.outcome == Outcome::crash);
  CHECK(c.signature == "exit code 7");
  Evidence z;
  z.exit_code = 0;
  CHECK(classify(z).outcome == Outcome::error);
}

TEST_CASE("outcome names are the stable ones") {
  for (auto o :
       {Outcome::pass, Outcome::crash, Outcome::fatal_error, Outcome::assertion, Outcome::sanitizer,
        Outcome::deadlock, Outcome::timeout, Outcome::error, Outcome::skipped})
    CHECK(outcome_from_name(outcome_name(o)) == o);
  CHECK(outcome_name(Outcome::fatal_error) == "fatal_error");
  CHECK_FALSE(outcome_from_name("flaky").has_value());
  CHECK_FALSE(is_failure(Outcome::pass));
  CHECK_FALSE(is_failure(Outcome::skipped));
  CHECK(is_failure(Outcome::error));
}
