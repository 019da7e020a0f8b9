// The control scenarios through the real binary: outcome, signature, counts, exit code.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "tests/catch.h"
#include "tests/integration/support.h"

using namespace gilrace::test;

namespace {

// The events of one scenario's trials.
std::vector<nlohmann::json> trials_of(const Run& r, const std::string& scenario) {
  std::vector<nlohmann::json> out;
  for (auto& e : read_jsonl(r.dir + "/events.jsonl"))
    if (e["type"] == "trial" && e["scenario"] == scenario) out.push_back(e);
  return out;
}

}  // namespace

TEST_CASE("selftest-pass passes and exits 0") {
  Run r = run_gilrace({"run", "selftest-pass", "-n", "10", "-j", "2", "--seed", "1"});
  CHECK(r.exit_code == 0);
  const auto& g = group(r.json, "selftest-pass");
  CHECK(g["trials"] == 10);
  CHECK(g["failures"] == 0);
  CHECK(outcome_count(g, "pass") == 10);
  CHECK(g["rate_text"] == "0/10: rate < 25.9% at 95%");
}

TEST_CASE("selftest-segv is a crash with one signature naming the function") {
  Run r = run_gilrace({"run", "selftest-segv", "-n", "20", "-j", "2", "--seed", "1"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, "selftest-segv");
  CHECK(outcome_count(g, "crash") == 20);
  REQUIRE(g["signatures"].size() == 1);
  CHECK(g["signatures"][0]["count"] == 20);
  std::string sig = g["signatures"][0]["signature"];
  CHECK(sig.rfind("SIGSEGV", 0) == 0);
  CHECK(sig.find("gilrace_selftest_null_write") != std::string::npos);
}

TEST_CASE("selftest-abort is a crash by SIGABRT, not a fatal error") {
  Run r = run_gilrace({"run", "selftest-abort", "-n", "3", "--seed", "1"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, "selftest-abort");
  CHECK(outcome_count(g, "crash") == 3);
  std::string sig = g["signatures"][0]["signature"];
  CHECK(sig.rfind("SIGABRT", 0) == 0);
}

TEST_CASE(
    "selftest-stack-overflow is a crash in the recursion, dumped from the worker's own thread") {
  // Without an alternate signal stack the kernel could not run the crash handler on the
  // overflowed thread: a bare SIGSEGV, no frames.
  Run r = run_gilrace(
      {"run", "selftest-stack-overflow", "-n", "3", "-j", "2", "--stall", "30s", "--seed", "1"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, "selftest-stack-overflow");
  CHECK(outcome_count(g, "crash") == 3);
  REQUIRE(g["signatures"].size() == 1);
  CHECK(g["signatures"][0]["signature"] == "SIGSEGV in gilrace_selftest_recurse");
  CHECK(r.seconds < 15);  // well before --stall
}

TEST_CASE("selftest-smashed-stack: a fault inside the crash handler is a crash at once") {
  // The handler's unwinder faults on the smashed frame, on the thread it is dumping: that
  // second fault must take the default action, not wait for the first one (a deadlock).
  Run r = run_gilrace(
      {"run", "selftest-smashed-stack", "-n", "3", "-j", "2", "--stall", "30s", "--seed", "1"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, "selftest-smashed-stack");
  CHECK(outcome_count(g, "crash") == 3);
  REQUIRE(g["signatures"].size() == 1);
  CHECK(g["signatures"][0]["signature"] ==
        "SIGSEGV in gilrace_selftest_smash_and_fault < gilrace_selftest_framed_caller");
  CHECK(r.seconds < 15);  // well before --stall
  std::string stacks = stacks_of(g);
  INFO(stacks);
  CHECK(stacks.find("gilrace: SIGSEGV (signal 11) on thread ") != std::string::npos);
  CHECK(stacks.find("gilrace: SIGSEGV inside the crash handler: default action") !=
        std::string::npos);
  for (const auto& e : trials_of(r, "selftest-smashed-stack")) CHECK(e["signal"] == 11);
}

TEST_CASE("selftest-fatal is a fatal_error with the function and message") {
  Run r = run_gilrace({"run", "selftest-fatal", "-n", "3", "--seed", "1"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, "selftest-fatal");
  CHECK(outcome_count(g, "fatal_error") == 3);
  std::string sig = g["signatures"][0]["signature"];
  CHECK(sig.find("Fatal Python error: ") == 0);
  CHECK(sig.find("gilrace selftest: deliberate fatal error") != std::string::npos);
}

TEST_CASE("selftest-pyexc is an error carrying the Python traceback") {
  Run r = run_gilrace({"run", "selftest-pyexc", "-n", "2", "--seed", "1"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, "selftest-pyexc");
  CHECK(outcome_count(g, "error") == 2);
  const auto& s = g["signatures"][0];
  CHECK(s["signature"] == "error: ValueError: gilrace selftest: deliberate exception");
  std::string detail = s["detail"];
  CHECK(detail.find("Traceback (most recent call last)") != std::string::npos);
  CHECK(detail.find("deliberately_failing") != std::string::npos);
}

TEST_CASE("selftest-deadlock is a deadlock whose stacks show both lock waits") {
  Run r = run_gilrace({"run", "selftest-deadlock", "-n", "1", "--stall", "2s", "--seed", "1"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, "selftest-deadlock");
  CHECK(outcome_count(g, "deadlock") == 1);
  CHECK(r.seconds < 2 + 25);  // gdb's attach is the slow part; bench.sh measures it properly
  // The stacks were taken before the kill: Python's from faulthandler, then every
  // native thread's from gdb, where both workers wait for their second mutex.
  const auto& sig = g["signatures"][0];
  CHECK(sig["signature"].get<std::string>().find("2x gilrace_selftest_lock_second") !=
        std::string::npos);
  std::string stacks = read_file(sig["artifacts"].get<std::string>() + "/stacks.txt");
  INFO(stacks);
  std::size_t python = stacks.find("Python stacks (faulthandler");
  std::size_t native = stacks.find("Native stacks of all threads (gdb)");
  REQUIRE(python != std::string::npos);
  REQUIRE(native != std::string::npos);
  CHECK(python < native);
  int waiting_threads = 0;
  for (std::size_t at = stacks.find("\nThread ", native); at != std::string::npos;) {
    std::size_t next = stacks.find("\nThread ", at + 1);
    std::string thread = stacks.substr(at, next == std::string::npos ? next : next - at);
    if (thread.find("gilrace_selftest_lock_second") != std::string::npos &&
        thread.find("futex") != std::string::npos)
      ++waiting_threads;
    at = next;
  }
  CHECK(waiting_threads == 2);
}

TEST_CASE("a trial stalled while CPython is not running is a deadlock with gdb's stacks") {
  // faulthandler listens to SIGUSR1 only while CPython runs; the default action of one
  // sent before or after would kill the trial before gdb could attach.
  for (std::string when : {"before_init", "after_finalize"}) {
    INFO(when);
    Run r = run_gilrace({"run", "selftest-deadlock", "-n", "1", "--stall", "2s", "--param",
                         "when=" + when, "--seed", "1"});
    CHECK(r.exit_code == 1);
    const auto& g = group(r.json, "selftest-deadlock");
    CHECK(outcome_count(g, "deadlock") == 1);
    CHECK(g["signatures"][0]["signature"].get<std::string>().find(
              "2x gilrace_selftest_lock_second") != std::string::npos);
    std::string stacks = stacks_of(g);
    INFO(stacks);
    CHECK(stacks.find("Python stacks: not asked for (faulthandler was not armed") !=
          std::string::npos);
    CHECK(stacks.find("Native stacks of all threads (gdb)") != std::string::npos);
    auto trials = trials_of(r, "selftest-deadlock");
    REQUIRE(trials.size() == 1);
    CHECK(trials[0]["signal"] == 9);  // the supervisor's SIGKILL, after the capture
  }
}

TEST_CASE("while gdb takes a deadlocked trial's stacks, the other trials are still watched") {
  // A gdb that takes 6 s to start makes the deadlocked trial's capture last at least that
  // long, from its stall at 2 s; the other trial's timeout at 4 s falls inside it.
  std::string bin = temp_dir("slow-gdb");
  std::string real_gdb;
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"})
    if (real_gdb.empty() && ::access((std::string(dir) + "/gdb").c_str(), X_OK) == 0)
      real_gdb = std::string(dir) + "/gdb";
  std::ofstream(bin + "/gdb") << "#!/bin/sh\nsleep 6\n"
                              << (real_gdb.empty() ? "" : "exec " + real_gdb + " \"$@\"\n");
  ::chmod((bin + "/gdb").c_str(), 0755);
  ScopedEnv path("PATH", bin + ":" + std::getenv("PATH"));
  Run r = run_gilrace({"run", "selftest-deadlock", "selftest-slow", "-n", "1", "-j", "2", "--stall",
                       "2s", "--timeout", "4s", "--seed", "1"});
  CHECK(r.exit_code == 1);
  auto deadlocked = trials_of(r, "selftest-deadlock");
  auto slow = trials_of(r, "selftest-slow");
  REQUIRE(deadlocked.size() == 1);
  REQUIRE(slow.size() == 1);
  CHECK(deadlocked[0]["outcome"] == "deadlock");
  CHECK(deadlocked[0]["seconds"].get<double>() >= 2 + 6);  // the capture did overlap
  CHECK(slow[0]["outcome"] == "timeout");
  double late = slow[0]["seconds"].get<double>() - 4;
  CHECK(late >= 0);
  CHECK(late < 3);  // bench.sh holds it to 1 s
}

TEST_CASE("selftest-slow is a timeout, never a deadlock") {
  Run r = run_gilrace(
      {"run", "selftest-slow", "-n", "2", "-j", "2", "--timeout", "2s", "--stall", "1s"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, "selftest-slow");
  CHECK(outcome_count(g, "timeout") == 2);
  CHECK(outcome_count(g, "deadlock") == 0);
}

TEST_CASE("selftest-flood passes and the supervisor keeps only a bounded tail") {
  // 2 trials at once, each writing 100 MB to stdout and 100 MB to stderr.
  Run r = run_gilrace({"run", "selftest-flood", "-n", "2", "-j", "2", "--param", "mb=100"});
  CHECK(r.exit_code == 0);
  CHECK(outcome_count(group(r.json, "selftest-flood"), "pass") == 2);
  // The supervisor's own peak RSS (getrusage) grows by no more than a few tails over a run
  // that writes 1 MB per stream: measured 13.9 MB for both on the system python3. Keeping the
  // output would need 400 MB.
  Run small = run_gilrace({"run", "selftest-flood", "-n", "2", "-j", "2", "--param", "mb=1"});
  CHECK(small.exit_code == 0);
  long flood_kb = r.json["run"]["supervisor_peak_rss_kb"];
  long small_kb = small.json["run"]["supervisor_peak_rss_kb"];
  INFO("peak RSS: " << flood_kb << " kB flooded, " << small_kb << " kB with 1 MB per stream");
  CHECK(small_kb > 0);
  CHECK(flood_kb < small_kb + 16 * 1024);
}

TEST_CASE("selftest-flaky fails about as often as asked, the same way for the same seed") {
  Run a = run_gilrace(
      {"run", "selftest-flaky", "-n", "100", "-j", "2", "--seed", "7", "--param", "p=0.3"});
  Run b = run_gilrace(
      {"run", "selftest-flaky", "-n", "100", "-j", "2", "--seed", "7", "--param", "p=0.3"});
  const auto& ga = group(a.json, "selftest-flaky");
  const auto& gb = group(b.json, "selftest-flaky");
  CHECK(ga["failures"] == gb["failures"]);
  std::uint64_t f = ga["failures"];
  CHECK(f >= 15);
  CHECK(f <= 45);
  CHECK(a.exit_code == 1);
}

TEST_CASE("selftest-no-window: a clean group that never reached its window proves nothing") {
  Run r = run_gilrace({"run", "selftest-no-window", "-n", "6", "-j", "2", "--seed", "1"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);  // only --require-window makes it fail
  const auto& g = group(r.json, "selftest-no-window");
  CHECK(g["failures"] == 0);
  CHECK(g["window_not_reached"] == true);
  // Every declared probe is reported, 0 hits included, with what it means.
  const auto& window = g["probes"]["selftest_window"];
  CHECK(window["total"] == 0);
  CHECK(window["trials_hit"] == 0);
  CHECK(window["window"] == true);
  CHECK(!window["meaning"].get<std::string>().empty());
  CHECK(g["probes"]["selftest_ran"]["trials_hit"] == 6);
  CHECK(g["probes"]["selftest_ran"]["window"] == false);
  CHECK(r.out.find("    probe selftest_window (window): hit in 0/6 trials (0 hits)\n") !=
        std::string::npos);
  CHECK(r.out.find("    probe selftest_ran: hit in 6/6 trials (6 hits)\n") != std::string::npos);
  CHECK(r.out.find("    window_not_reached: no trial hit its window probe (selftest_window): 6 "
                   "clean trials prove nothing\n") != std::string::npos);
  CHECK(r.err.find("gilrace: warning: selftest-no-window/default: window_not_reached: ") !=
        std::string::npos);
  std::string junit = read_file(r.dir + "/junit.xml");
  CHECK(junit.find("<property name=\"probe.selftest_window.trials_hit\" value=\"0\"/>") !=
        std::string::npos);
  CHECK(junit.find("<property name=\"probe.selftest_window.hits\" value=\"0\"/>") !=
        std::string::npos);
  CHECK(junit.find("<property name=\"window_not_reached\" value=\"true\"/>") != std::string::npos);
  CHECK(junit.find("<failure") == std::string::npos);

  // --require-window: the same run fails, in the exit code, the JSON and JUnit.
  Run req = run_gilrace(
      {"run", "selftest-no-window", "-n", "3", "-j", "2", "--seed", "1", "--require-window"});
  CHECK(req.exit_code == 1);
  CHECK(req.json["exit_code"] == 1);
  CHECK(req.json["run"]["require_window"] == true);
  CHECK(group(req.json, "selftest-no-window")["window_not_reached"] == true);
  CHECK(req.err.find("window_not_reached") != std::string::npos);
  CHECK(read_file(req.dir + "/junit.xml").find("type=\"window_not_reached\"") != std::string::npos);
}

TEST_CASE("selftest-no-window: a window reached in some trial is not window_not_reached") {
  Run r = run_gilrace({"run", "selftest-no-window", "--param", "p=1", "-n", "4", "-j", "2",
                       "--seed", "1", "--require-window"});
  CHECK(r.exit_code == 0);
  const auto& g = group(r.json, "selftest-no-window");
  CHECK(g["window_not_reached"] == false);
  CHECK(g["probes"]["selftest_window"]["trials_hit"] == 4);
  CHECK(r.out.find("window_not_reached") == std::string::npos);
  CHECK(r.err.find("window_not_reached") == std::string::npos);
  // Controls that declare no window probe are never marked.
  Run pass = run_gilrace({"run", "selftest-pass", "-n", "2", "--require-window"});
  CHECK(pass.exit_code == 0);
  CHECK(group(pass.json, "selftest-pass")["window_not_reached"] == false);
}
