// ThreadSanitizer mode (CTest label `tsan`; scripts/test.sh runs it against the TSAN build).
// On a ThreadSanitizer build: reports become outcome sanitizer, one signature per racing
// pair whatever the trial count, suppressions silence them, the scenarios' fixed variants
// are clean. On any other build: what applies there (the race control does not apply, the
// options are still checked); the rest is skipped, and says so.
#include <cstdlib>
#include <filesystem>

#include "tests/catch.h"
#include "tests/integration/support.h"
#include "tests/skip.h"

using namespace gilrace::test;
namespace fs = std::filesystem;

namespace {

bool tsan_build() {
  return build().value("gilrace_tsan", false) && build().value("python_tsan", false);
}

const char* const kRacePair =
    "ThreadSanitizer: data race in gilrace_selftest_tsan_load <-> gilrace_selftest_tsan_store";

// A suppressions file of its own folder.
std::string supp_file(const std::string& name, const std::string& text) {
  return write_file(temp_dir("tsan-supp") + "/" + name, text);
}

}  // namespace

TEST_CASE("the build is all ThreadSanitizer or none: gilrace info passes its preflight") {
  Run r = run_gilrace({"info", "--json"}, false);
  CHECK(r.exit_code == 0);
  CHECK(build()["gilrace_tsan"] == build()["python_tsan"]);
}

TEST_CASE("selftest-tsan-race: 20 trials, outcome sanitizer, one signature counted 20 times") {
  if (!tsan_build()) {
    // Without ThreadSanitizer nothing could see the race: the control does not apply.
    Run r = run_gilrace({"run", "selftest-tsan-race", "-n", "1"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("needs gilrace built with ThreadSanitizer") != std::string::npos);
    return;
  }
  Run r = run_gilrace({"run", "selftest-tsan-race", "-n", "20", "-j", "2", "--seed", "1"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, "selftest-tsan-race");
  CHECK(outcome_count(g, "sanitizer") == 20);
  REQUIRE(g["signatures"].size() == 1);
  const auto& s = g["signatures"][0];
  CHECK(s["count"] == 20);
  CHECK(s["signature"] == kRacePair);
  std::string detail = s["detail"];
  CHECK(detail.find("WARNING: ThreadSanitizer: data race") != std::string::npos);
  // The report itself is kept with the failure's artifacts.
  std::string dir = s["artifacts"];
  REQUIRE_FALSE(dir.empty());
  std::string log = read_file(dir + "/sanitizer.txt");
  CHECK(log.find("gilrace_selftest_tsan_store") != std::string::npos);
  CHECK(log.find("SUMMARY: ThreadSanitizer: data race") != std::string::npos);
}

TEST_CASE("suppressions: --suppressions and TSAN_OPTIONS suppressions= both silence a race") {
  std::string supp =
      supp_file("race.supp", "# the race control, on purpose\nrace:gilrace_selftest_tsan_store\n");
  if (!tsan_build()) {
    // Checked on every build, so one CI script fails the same way everywhere.
    Run bad = run_gilrace({"run", "selftest-pass", "-n", "1", "--suppressions",
                           supp_file("bad.supp", "race:ok\nrcae:typo\n")});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("bad.supp:2: unknown suppression type 'rcae'") != std::string::npos);
    Run ok = run_gilrace({"run", "selftest-pass", "-n", "1", "--suppressions", supp});
    CHECK(ok.exit_code == 0);
    return;
  }
  Run r = run_gilrace({"run", "selftest-tsan-race", "-n", "4", "-j", "2", "--suppressions", supp});
  CHECK(r.exit_code == 0);
  CHECK(outcome_count(group(r.json, "selftest-tsan-race"), "pass") == 4);
  {
    // A user's own TSAN_OPTIONS: their suppressions= file is merged in, not replaced.
    ScopedEnv env("TSAN_OPTIONS", "suppressions=" + supp + ":verbosity=0");
    Run e = run_gilrace({"run", "selftest-tsan-race", "-n", "2", "-j", "2"});
    CHECK(e.exit_code == 0);
    CHECK(outcome_count(group(e.json, "selftest-tsan-race"), "pass") == 2);
  }
  Run missing = run_gilrace(
      {"run", "selftest-tsan-race", "-n", "1", "--suppressions", "/nonexistent/none.supp"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("--suppressions /nonexistent/none.supp") != std::string::npos);
}

TEST_CASE("--tsan-halt ends a trial at its first report, still outcome sanitizer") {
  if (!tsan_build()) GILRACE_SKIP("not a ThreadSanitizer build: nothing to halt");
  Run r = run_gilrace({"run", "selftest-tsan-race", "-n", "2", "-j", "2", "--tsan-halt"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, "selftest-tsan-race");
  CHECK(outcome_count(g, "sanitizer") == 2);
  CHECK(g["signatures"][0]["signature"] == kRacePair);
}

TEST_CASE("traceback-code-cache naive: a race reported in the cache's own code") {
  if (!tsan_build())
    GILRACE_SKIP("not a ThreadSanitizer build (test_traceback_code_cache covers this one)");
  // Measured on the TSAN free-threaded 3.13.15: 24/24 trials report, each with 10-30 races in
  // the cache. All 4 trials run: with --stop-after 1 a first trial that ended another way (CI
  // once saw a run end after 95 s with no sanitizer outcome, a stall by its length) ended the run.
  Run r = run_gilrace(
      {"run", "traceback-code-cache", "--variant", "naive", "-n", "4", "-j", "2", "--seed", "1"});
  CHECK(r.exit_code == 1);
  const auto& g = group(r.json, "traceback-code-cache", "naive");
  CHECK(outcome_count(g, "sanitizer") >= 1);
  bool named = false;
  for (const auto& s : g["signatures"]) {
    std::string sig = s["signature"];
    if (s["outcome"] == "sanitizer" && sig.find("gilrace_pyx") != std::string::npos) named = true;
  }
  CHECK(named);
}

TEST_CASE("traceback-code-cache fixed: no report over 50 trials") {
  if (!tsan_build()) GILRACE_SKIP("not a ThreadSanitizer build: no report to look for");
  Run r = run_gilrace(
      {"run", "traceback-code-cache", "--variant", "fixed", "-n", "50", "-j", "2", "--seed", "1"});
  const auto& g = group(r.json, "traceback-code-cache", "fixed");
  INFO(g.dump(2));
  CHECK(r.exit_code == 0);
  CHECK(outcome_count(g, "pass") == 50);
}

TEST_CASE("chaos level 2 under ThreadSanitizer: fixed code clean, the sampler ran, no report") {
  if (!tsan_build()) GILRACE_SKIP("not a ThreadSanitizer build: no report to look for");
  // The handler runs deferred (at the thread's next intercepted call) and the sampler is a
  // thread of its own: neither may make a report of its own.
  Run r = run_gilrace({"run", "traceback-code-cache", "--variant", "fixed", "-n", "10", "-j", "2",
                       "--seed", "1", "--chaos=2"});
  const auto& g = group(r.json, "traceback-code-cache", "fixed");
  INFO(g.dump(2));
  CHECK(r.exit_code == 0);
  CHECK(outcome_count(g, "pass") == 10);
  const auto events = trial_events(r);
  CHECK(note_total(events, "chaos_ticks") > 0);
  CHECK(note_total(events, "chaos_samples") > 0);
}

TEST_CASE("every extension scenario's fixed variant is clean under ThreadSanitizer") {
  if (!tsan_build())
    GILRACE_SKIP("not a ThreadSanitizer build (each scenario's own test covers this one)");
  // `run --all` also runs the CPython-bug scenarios' variants; ThreadSanitizer may rightly
  // report CPython's own races there (finalize-ensure during/import: PyThreadState_Clear in
  // Py_FinalizeEx against a thread state PyGILState_Ensure is still binding), so only the
  // fixed variants of the extension-code scenarios must be clean.
  // --stall 150s: asyncio-destroy-finalize imports asyncio before its first heartbeat, 16 s
  // under ThreadSanitizer on an idle machine but over 50 s (the TSAN default stall) on a
  // loaded one.
  Run r = run_gilrace({"run", "--all", "-n", "3", "-j", "2", "--seed", "1", "--stall", "150s",
                       "--timeout", "600s"});
  int fixed = 0;
  for (const auto& g : r.json["groups"]) {
    std::string variant = g["variant"];
    if (variant.find("fixed") == std::string::npos || g.contains("skip_reason")) continue;
    ++fixed;
    INFO(g["scenario"].get<std::string>() + "/" + variant);
    INFO(g["signatures"].dump(2));
    CHECK(g["trials"] == 3);
    CHECK(g["failures"] == 0);
  }
  CHECK(fixed >= 3);  // traceback-code-cache, stderr-gil-deadlock, asyncio-destroy-finalize
}
