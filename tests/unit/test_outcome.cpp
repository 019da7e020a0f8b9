#include <csignal>

#include "harness/judge/outcome.h"
#include "harness/run/registry.h"
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

TEST_CASE("a deadlock's signature names where each thread chose to wait") {
  const char* gdb =
      "Native stacks of all threads (gdb):\n"
      "Thread 3 (Thread 0x7f6d1991c6c0 (LWP 25864) \"gilrace\"):\n"
      "#0  futex_wait (private=0, expected=2, futex_word=0x7ffd2b966440) at futex-internal.h:146\n"
      "#1  __GI___lll_lock_wait (futex=futex@entry=0x7ffd2b966440, private=0) at "
      "lowlevellock.c:49\n"
      "#2  0x00007f6d1a2aa482 in lll_mutex_lock_optimized (mutex=0x7ffd2b966440) at x.c:48\n"
      "#3  ___pthread_mutex_lock (mutex=0x7ffd2b966440) at ./nptl/pthread_mutex_lock.c:93\n"
      "#4  0x0000562b1c45afe9 in __gthread_mutex_lock (__mutex=0x7ffd2b966440) at gthr.h:749\n"
      "#5  std::mutex::lock (this=0x7ffd2b966440) at std_mutex.h:100\n"
      "#6  gilrace_selftest_lock_second (m=m@entry=0x7ffd2b966440) at deadlock.cpp:10\n"
      "#7  0x0000562b1c45b2da in worker () at deadlock.cpp:28\n"
      "\n"
      "Thread 2 (Thread 0x7f6d1a11d6c0 (LWP 25863) \"gilrace\"):\n"
      "#0  futex_wait (private=0, expected=2, futex_word=0x7ffd2b966470) at futex-internal.h:146\n"
      "#1  0x00007f6d1a2aa482 in ___pthread_mutex_lock (mutex=0x7ffd2b966470) at x.c:93\n"
      "#2  gilrace_selftest_lock_second (m=m@entry=0x7ffd2b966470) at deadlock.cpp:10\n"
      "\n"
      "Thread 1 (Thread 0x7f6d1a6b1740 (LWP 25862) \"gilrace\"):\n"
      "#0  __futex_abstimed_wait_common64 (private=128, cancel=true) at futex-internal.c:57\n"
      "#1  0x00007f6d1a2a5f1b in __pthread_clockjoin_ex (threadid=140, thread_return=0x0) at "
      "j.c:105\n"
      "#2  0x00007f6d1a49e3c7 in std::thread::join() () from /lib/libstdc++.so.6\n"
      "#3  0x0000562b1c45b1b8 in gilrace::SelftestDeadlock::run (this=<optimized out>) at "
      "d.cpp:36\n";
  CHECK(deadlock_wait_sites(gdb) ==
        "gilrace::SelftestDeadlock::run | 2x gilrace_selftest_lock_second");
  Evidence e;
  e.stalled = true;
  e.signal = 9;
  e.stacks = std::string("Python stacks (faulthandler, on SIGUSR1):\n\n") + gdb;
  CHECK(classify(e).signature ==
        "deadlock: gilrace::SelftestDeadlock::run | 2x gilrace_selftest_lock_second");
}

TEST_CASE("crash frames start below the last signal trampoline") {
  // Captured on a 3.13 debug build, where libpython keeps its symbols: faulthandler's
  // handler runs first and re-raises the signal into ours, so the stack holds two
  // trampolines and faulthandler_fatal_error between them.
  const std::string stacks =
      "Native stack of the crashing thread (most recent call first):\n"
      "/b/gilrace(_ZN7gilrace12_GLOBAL__N_113crash_handlerEi.part.0)(+0xf518b)[0x55b996bb818b]\n"
      "/lib/x86_64-linux-gnu/libc.so.6(__restore_rt)(+0x3c050)[0x7f949925a050]\n"
      "/lib/x86_64-linux-gnu/libc.so.6(__pthread_kill_implementation)(+0x8aeec)[0x7f94992a8eec]\n"
      "/lib/x86_64-linux-gnu/libc.so.6(gsignal+0x12)[0x7f9499259fb2]\n"
      "/p/lib/libpython3.13d.so.1.0(faulthandler_fatal_error)(+0x2f66e5)[0x7f9499af66e5]\n"
      "/lib/x86_64-linux-gnu/libc.so.6(__restore_rt)(+0x3c050)[0x7f949925a050]\n"
      "/b/gilrace(gilrace_selftest_flaky_crash+0x0)[0x55b996c2d9b0]\n"
      "/b/gilrace(_ZN7gilrace13SelftestFlaky3runERNS_7ContextE+0x169)[0x55b996c2e089]\n"
      "/b/gilrace(_ZN7gilrace9run_trialERKNS_18RegisteredScenarioERKNS_9TrialSpecEii+0x52f)[0x1]\n"
      "/b/gilrace(_ZN7gilrace8cli_mainEiPPc+0x79c)[0x55b996b864cc]\n"
      "/lib/x86_64-linux-gnu/libc.so.6(__libc_start_main+0x85)[0x7f9499245305]\n";
  CHECK(top_frames(stacks, 3) == "gilrace_selftest_flaky_crash < gilrace::SelftestFlaky::run");
  CHECK(top_frames(stacks, 1) == "gilrace_selftest_flaky_crash");
}

TEST_CASE("crash frames start at the last frame a signal interrupted") {
  // gilrace's crash handler after faulthandler's, as the supervisor names it on a machine
  // with libc's debug information (__GI_ names) and a stripped libpython (faulthandler's
  // handler left anonymous).
  const std::string stacks =
      "gilrace: SIGSEGV (signal 11) on thread 4346\n"
      "Native stack of the crashing thread (most recent call first):\n"
      "/b/gilrace(_ZN7gilrace12_GLOBAL__N_113crash_handlerEi)(+0xf68c2)[0x563a0c57c8c2]\n"
      "/lib/libc.so.6(+0x3c050)[0x7f325d85a050]\n"
      "/lib/libc.so.6(__pthread_kill_implementation)(+0x8aeec)[0x7f325d8a8eec] interrupted\n"
      "/lib/libc.so.6(__GI_raise)(+0x3bfb2)[0x7f325d859fb2]\n"
      "/p/libpython3.11.so.1.0(+0x2f66e5)[0x7f9499af66e5]\n"
      "/lib/libc.so.6(+0x3c050)[0x7f325d85a050]\n"
      "/b/gilrace(gilrace_selftest_null_write)(+0x170370)[0x563d70613370] interrupted\n"
      "/b/gilrace(_ZN7gilrace12SelftestSegv3runERNS_7ContextE)(+0x1703b8)[0x563d706133b8]\n"
      "/b/"
      "gilrace(_ZN7gilrace9run_trialERKNS_18RegisteredScenarioERKNS_9TrialSpecEii)(+0xf8312)[0x1]\n"
      "/lib/libc.so.6(__libc_start_main_impl)(+0x27305)[0x7f21e2645305]\n"
      "\n"
      "gilrace: SIGSEGV inside the crash handler: default action\n";
  CHECK(top_frames(stacks, 3) == "gilrace_selftest_null_write < gilrace::SelftestSegv::run");
  // abort(): the frames above the program's own are libc's, by their internal names.
  const std::string abort =
      "Native stack of the crashing thread (most recent call first):\n"
      "/lib/libc.so.6(__pthread_kill_implementation)(+0x8aeec)[0x7f36e68a8eec] interrupted\n"
      "/lib/libc.so.6(__GI_raise)(+0x3bfb2)[0x7f36e6859fb2]\n"
      "/lib/libc.so.6(__GI_abort)(+0x26472)[0x7f36e6844472]\n"
      "/b/gilrace(_ZN7gilrace13SelftestAbort3runERNS_7ContextE)(+0x16d436)[0x55e18d914436]\n";
  CHECK(top_frames(abort, 3) == "gilrace::SelftestAbort::run");
}

TEST_CASE("a signature that names its outcome is shown once") {
  CHECK(outcome_and_signature("crash", "SIGSEGV in f") == "crash: SIGSEGV in f");
  CHECK(outcome_and_signature("deadlock", "deadlock: f | 2x g") == "deadlock: f | 2x g");
  CHECK(outcome_and_signature("timeout", "timeout") == "timeout");
}
