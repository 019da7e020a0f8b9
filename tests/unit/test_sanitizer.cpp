// ThreadSanitizer reports, options and suppressions (harness/judge/sanitizer.h), on report texts
// captured from real runs (tests/data/tsan/: see README.md there for where each came from).
#include <fstream>
#include <sstream>

#include "harness/base/parse.h"
#include "harness/cli/commands.h"
#include "harness/judge/outcome.h"
#include "harness/judge/sanitizer.h"
#include "harness/run/build_info.h"
#include "harness/run/tsan_setup.h"
#include "tests/catch.h"

using namespace gilrace;

namespace {
std::string fixture(const std::string& name) {
  std::ifstream f(std::string(GILRACE_SOURCE_DIR) + "/tests/data/tsan/" + name, std::ios::binary);
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("a data race between two native functions: one signature, sorted") {
  auto reports = tsan::parse_reports(fixture("selftest_race.txt"));
  REQUIRE(reports.size() == 1);
  const auto& r = reports[0];
  CHECK(r.kind == "data race");
  CHECK(r.signature ==
        "ThreadSanitizer: data race in gilrace_selftest_tsan_load <-> gilrace_selftest_tsan_store");
  CHECK(r.summary.rfind("SUMMARY: ThreadSanitizer: data race", 0) == 0);
  CHECK(r.text.find("WARNING: ThreadSanitizer: data race") != std::string::npos);
  // The same pair seen from the other thread's side names the same signature.
  auto other = tsan::parse_reports(fixture("selftest_race_reversed.txt"));
  REQUIRE(other.size() == 1);
  CHECK(other[0].signature == r.signature);
}

TEST_CASE("a race in the naive traceback cache names the cache's functions") {
  auto reports = tsan::parse_reports(fixture("traceback_code_cache_naive.txt"));
  REQUIRE_FALSE(reports.empty());
  for (const auto& r : reports) {
    INFO(r.text);
    CHECK(r.signature.find("gilrace_pyx") != std::string::npos);
  }
}

TEST_CASE("every report kind gets the frames that took part, runtime frames left out") {
  auto uaf = tsan::parse_reports(fixture("heap_use_after_free.txt"));
  REQUIRE(uaf.size() == 1);
  // "Previous write" is the free: the interceptor is skipped, whoever freed is named.
  CHECK(uaf[0].signature ==
        "ThreadSanitizer: heap-use-after-free in fixture_free <-> fixture_read_freed");

  auto lock = tsan::parse_reports(fixture("lock_order_inversion.txt"));
  REQUIRE(lock.size() == 1);
  CHECK(lock[0].signature ==
        "ThreadSanitizer: lock-order-inversion (potential deadlock) in fixture_lock_a_then_b "
        "<-> fixture_lock_b_then_a");

  auto sig = tsan::parse_reports(fixture("signal_unsafe.txt"));
  REQUIRE(sig.size() == 3);
  CHECK(sig[0].signature ==
        "ThreadSanitizer: signal-unsafe call inside of a signal in fixture_handler");
  CHECK(sig[1].signature == sig[0].signature);
  CHECK(sig[2].signature == "ThreadSanitizer: signal handler spoils errno in fixture_handler");

  auto leak = tsan::parse_reports(fixture("thread_leak.txt"));
  REQUIRE(leak.size() == 1);
  CHECK(leak[0].signature == "ThreadSanitizer: thread leak in main");
}

TEST_CASE("frames: BuildId, object-file locations and interceptors without line tables") {
  auto reports = tsan::parse_reports(fixture("signal_unsafe.txt"));
  REQUIRE_FALSE(reports.empty());
  const auto& frames = reports[0].stacks.at(0).frames;
  REQUIRE(frames.size() == 4);
  CHECK(frames[0].function == "malloc");
  CHECK(frames[0].runtime);
  CHECK(frames[0].module == "kinds");
  CHECK(frames[1].function == "fixture_handler");
  CHECK_FALSE(frames[1].runtime);
  CHECK(frames[1].location == "/tmp/tsk/kinds.cpp:17:85");
  CHECK(frames[2].function == "__tsan::CallUserSignalHandler");
  CHECK(frames[2].runtime);
}

TEST_CASE("a sanitizer log classifies the trial, before its exit code or result") {
  Evidence e;
  e.exit_code = kSanitizerExitCode;
  e.has_result = true;
  e.result_status = "pass";
  e.sanitizer_log = fixture("selftest_race.txt");
  Classification c = classify(e);
  CHECK(c.outcome == Outcome::sanitizer);
  CHECK(c.signature ==
        "ThreadSanitizer: data race in gilrace_selftest_tsan_load <-> gilrace_selftest_tsan_store");
  CHECK(c.detail.find("WARNING: ThreadSanitizer: data race") != std::string::npos);

  // Several reports: the first names the trial, the detail lists them all.
  e.sanitizer_log = fixture("signal_unsafe.txt");
  c = classify(e);
  CHECK(c.signature == "ThreadSanitizer: signal-unsafe call inside of a signal in fixture_handler");
  CHECK(c.detail.find("3 reports in this trial") != std::string::npos);
  CHECK(c.detail.find("signal handler spoils errno") != std::string::npos);
}

TEST_CASE("ThreadSanitizer that cannot start is an error explaining the fix") {
  Evidence e;
  e.exit_code = kSanitizerExitCode;
  // What LLVM 14's runtime prints on a kernel with vm.mmap_rnd_bits=32 (google/sanitizers#1716).
  e.stderr_text =
      "FATAL: ThreadSanitizer: unexpected memory mapping 0x5e6583a81000-0x5e6583a8b000\n";
  Classification c = classify(e);
  CHECK(c.outcome == Outcome::error);
  CHECK(c.signature.find("unexpected memory mapping") != std::string::npos);
  CHECK(c.detail.find("sysctl vm.mmap_rnd_bits=28") != std::string::npos);
}

TEST_CASE("mmap_rnd_bits above 28 is refused for LLVM before 18 only") {
  CHECK(tsan::mmap_rnd_bits_problem(28, "Clang 14.0.6").empty());
  CHECK(tsan::mmap_rnd_bits_problem(-1, "Clang 14.0.6").empty());
  std::string p = tsan::mmap_rnd_bits_problem(32, "Clang 14.0.6");
  CHECK(p.find("vm.mmap_rnd_bits is 32") != std::string::npos);
  CHECK(p.find("sysctl vm.mmap_rnd_bits=28") != std::string::npos);
  CHECK(p.find('\n') == std::string::npos);  // one line
  CHECK_FALSE(tsan::mmap_rnd_bits_problem(30, "GNU 12.2.0").empty());
  CHECK(tsan::mmap_rnd_bits_problem(32, "Clang 18.1.3").empty());
}

TEST_CASE("the preflight refuses half a sanitizer unless told to accept it") {
  BuildInfo b;
  b.hexversion = b.runtime_hexversion = 0x030d0f00;
  b.python_tsan = true;
  b.gilrace_tsan = false;
  CHECK_THROWS_AS(preflight(b, false), UsageError);
  b.python_tsan = false;
  b.gilrace_tsan = true;
  CHECK_THROWS_AS(preflight(b, false), UsageError);
  b.gilrace_compiler = "Clang 99.0.0";  // no mmap_rnd_bits limit, whatever this kernel has
  CHECK_NOTHROW(preflight(b, true));
  b.python_tsan = true;
  CHECK_NOTHROW(preflight(b, false));
}

TEST_CASE("TSAN_OPTIONS: defaults, then the user's, then what gilrace needs") {
  tsan::OptionSettings s;
  s.suppressions = "/tmp/run/suppressions.txt";
  std::string o = tsan::build_options(s);
  CHECK(o ==
        "halt_on_error=0:second_deadlock_stack=1:history_size=4:atexit_sleep_ms=0:exitcode=66:"
        "suppressions=/tmp/run/suppressions.txt");

  s.user_options =
      "history_size=7 halt_on_error=1,log_path=/tmp/mine:exitcode=1 suppressions='/a b.supp' "
      "verbosity=1";
  o = tsan::build_options(s);
  CHECK(o.find("history_size=7") != std::string::npos);  // the user's win over defaults
  CHECK(o.find("halt_on_error=1") != std::string::npos);
  CHECK(o.find("verbosity=1") != std::string::npos);
  CHECK(o.find("log_path") == std::string::npos);  // the supervisor sets its own
  CHECK(o.find("exitcode=66") != std::string::npos);
  CHECK(o.find("exitcode=1") == std::string::npos);
  CHECK(o.find("/a b.supp") == std::string::npos);  // merged into gilrace's file instead
  CHECK(tsan::user_suppressions_file(s.user_options) == "/a b.supp");

  s.user_options = "halt_on_error=0";
  s.halt_on_error = true;  // --tsan-halt beats the environment
  CHECK(tsan::build_options(s).find("halt_on_error=1") != std::string::npos);

  s.symbolizer = "/usr/lib/llvm-14/bin/llvm-symbolizer";
  CHECK(tsan::build_options(s).find("external_symbolizer_path=/usr/lib/llvm-14/bin/") !=
        std::string::npos);
  s.suppressions = "/tmp/with:colon/s.txt";
  CHECK(tsan::build_options(s).find("suppressions=\"/tmp/with:colon/s.txt\"") != std::string::npos);
}

TEST_CASE("suppressions files are checked line by line") {
  CHECK(tsan::check_suppressions("# comment\n\nrace:foo\nrace_top:bar\nthread:pthread_create\n",
                                 "a.supp")
            .empty());
  CHECK(tsan::check_suppressions("race:foo\nrcae:bar\n", "a.supp") ==
        "a.supp:2: unknown suppression type 'rcae' (ThreadSanitizer knows: race, race_top, "
        "thread, mutex, signal, deadlock, called_from_lib)");
  CHECK(tsan::check_suppressions("justaname\n", "b.supp") ==
        "b.supp:1: expected TYPE:PATTERN, got 'justaname'");
  // The project's own file and CPython's (as shipped in 3.13.15) pass the same check.
  auto mine = tsan::project_suppressions();
  REQUIRE(mine.has_value());
  CHECK(tsan::check_suppressions(mine->text, mine->path).empty());
  CHECK(tsan::check_suppressions(fixture("cpython-3.13.15-suppressions_free_threading.txt"),
                                 "cpython")
            .empty());
  CHECK_THROWS_AS(tsan::read_user_suppressions({"/nonexistent/x.supp"}), UsageError);
}

TEST_CASE("merged suppressions keep every source under its own heading") {
  std::string m = tsan::merge_suppressions(
      {{"gilrace (scenarios/tsan.supp)", "/src/scenarios/tsan.supp", "race:a\n"},
       {"--suppressions", "/home/u/x.supp", "race_top:b"}});
  CHECK(m.find("# ---- from gilrace (scenarios/tsan.supp): /src/scenarios/tsan.supp\nrace:a\n") !=
        std::string::npos);
  CHECK(m.find("# ---- from --suppressions: /home/u/x.supp\nrace_top:b\n") != std::string::npos);
}
