// JSON summary, JSON-lines events, JUnit XML, artifacts, replay, interrupts.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "tests/catch.h"
#include "tests/integration/support.h"

using namespace gilrace::test;
namespace fs = std::filesystem;
extern char** environ;

TEST_CASE("the JSON summary, events and JUnit agree") {
  Run r = run_gilrace({"run", "selftest-flaky", "selftest-pass", "-n", "40", "-j", "2", "--seed",
                       "11", "--param", "p=0.25"});
  REQUIRE(r.exit_code == 1);
  const auto& flaky = group(r.json, "selftest-flaky");
  std::uint64_t failures = flaky["failures"];
  REQUIRE(failures > 0);
  CHECK(r.json["build"]["version"] == build()["version"]);
  CHECK(r.json["run"]["seed"] == 11);
  CHECK(r.json["totals"]["trials"] == 80);

  auto events = read_jsonl(r.dir + "/events.jsonl");
  REQUIRE(events.size() == 82);  // start, 80 trials, end
  CHECK(events.front()["type"] == "start");
  CHECK(events.back()["type"] == "end");
  std::uint64_t crashes = 0;
  for (const auto& e : events)
    if (e["type"] == "trial" && e["scenario"] == "selftest-flaky" && e["outcome"] == "crash") {
      ++crashes;
      CHECK(e["signature_id"] == flaky["signatures"][0]["id"]);
      CHECK(e["replay"].get<std::string>().find("--seed 11 --trial ") != std::string::npos);
    }
  CHECK(crashes == failures);
  REQUIRE(flaky["signatures"].size() == 1);
  CHECK(flaky["signatures"][0]["count"] == failures);

  std::string junit = read_file(r.dir + "/junit.xml");
  CHECK(junit.find("<testcase classname=\"gilrace.selftest-flaky\" name=\"default\"") !=
        std::string::npos);
  CHECK(junit.find("<failure message=\"" + std::to_string(failures) + " failed of 40 trials") !=
        std::string::npos);
  CHECK(junit.find("tests=\"2\" failures=\"1\"") != std::string::npos);
  CHECK(junit.find("python.version") != std::string::npos);
}

TEST_CASE("artifacts hold stderr, stacks and a replay line that reproduces the outcome") {
  Run r = run_gilrace(
      {"run", "selftest-segv", "-n", "5", "-j", "2", "--seed", "3", "--artifacts-cap", "2"});
  const auto& sig = group(r.json, "selftest-segv")["signatures"][0];
  std::string dir = sig["artifacts"];
  REQUIRE(fs::exists(dir + "/replay.sh"));
  CHECK(fs::exists(dir + "/stderr.txt"));
  std::string stacks = read_file(dir + "/stacks.txt");
  CHECK(stacks.find("gilrace_selftest_null_write") != std::string::npos);
  // Capped at two trials per signature.
  CHECK(std::distance(fs::directory_iterator(fs::path(dir).parent_path()),
                      fs::directory_iterator{}) == 2);

  std::string cmd =
      "GILRACE=" + std::string(GILRACE_BINARY) + " sh " + dir + "/replay.sh >/dev/null 2>&1";
  // The replayed trial dies of the same signal; sh reports it as 128+11.
  CHECK(shell(cmd) == 128 + SIGSEGV);
}

TEST_CASE("--expect fail exits 0 only when everything reproduced") {
  Run segv = run_gilrace({"run", "selftest-segv", "-n", "2", "-j", "2", "--expect", "fail"});
  CHECK(segv.exit_code == 0);
  CHECK(segv.out.find("  selftest-segv/default: reproduced in 2/2 trials\n") != std::string::npos);
  CHECK(segv.json["expect_fail"]["all_reproduced"] == true);
  CHECK(segv.json["expect_fail"]["target"] == "every failure but error and timeout");
  CHECK(run_gilrace({"run", "selftest-pass", "-n", "2", "--expect", "fail"}).exit_code == 1);
  // One group that does not reproduce is enough to fail the run.
  Run both = run_gilrace(
      {"run", "selftest-segv", "selftest-pass", "-n", "2", "-j", "2", "--expect", "fail"});
  CHECK(both.exit_code == 1);
  CHECK(both.out.find("  selftest-pass/default: did not reproduce: no failure in 2 trials\n") !=
        std::string::npos);
  CHECK(both.out.find("expected failures: some scenario did not reproduce\n") != std::string::npos);
}

TEST_CASE("--expect fail: error and timeout are not reproductions, --match names what is") {
  // The scenario's own failure reproduces nothing (without --expect it still exits 1).
  Run pyexc = run_gilrace({"run", "selftest-pyexc", "-n", "2", "-j", "2", "--expect", "fail"});
  CHECK(pyexc.exit_code == 1);
  CHECK(pyexc.out.find("selftest-pyexc/default: did not reproduce: no target failure in 2 "
                       "trials (2 other: error x2)") != std::string::npos);
  const auto& why = pyexc.json["expect_fail"]["groups"][0];
  CHECK(why["reproduced"] == false);
  CHECK(why["other_failures"] == 2);
  CHECK(run_gilrace({"run", "selftest-pyexc", "-n", "2"}).exit_code == 1);
  CHECK(run_gilrace({"run", "selftest-pyexc", "-n", "2", "--expect", "fail", "--match", "error"})
            .exit_code == 0);
  // A trial still running at --timeout was slow, not stuck.
  Run slow = run_gilrace(
      {"run", "selftest-slow", "-n", "1", "--timeout", "2s", "--stall", "1s", "--expect", "fail"});
  CHECK(slow.exit_code == 1);
  CHECK(outcome_count(group(slow.json, "selftest-slow"), "timeout") == 1);
  // --match narrows the target: a crash is not a deadlock.
  Run deadlock =
      run_gilrace({"run", "selftest-segv", "-n", "2", "--expect", "fail", "--match", "deadlock"});
  CHECK(deadlock.exit_code == 1);
  CHECK(deadlock.out.find("expected failures (target: deadlock):\n") != std::string::npos);
  CHECK(run_gilrace({"run", "selftest-segv", "-n", "2", "--expect", "fail", "--match", "SIGSEGV"})
            .exit_code == 0);
}

TEST_CASE("--stop-after stops launching") {
  Run r = run_gilrace({"run", "selftest-segv", "-n", "200", "-j", "1", "--stop-after", "3"});
  CHECK(r.exit_code == 1);
  CHECK(group(r.json, "selftest-segv")["trials"] == 3);
  CHECK(r.json["run"]["stopped_early"] == true);
}

TEST_CASE("--duration is a budget: no trial starts after it") {
  Run r = run_gilrace({"run", "selftest-pass", "--duration", "2s", "-j", "2"});
  CHECK(r.exit_code == 0);
  CHECK(group(r.json, "selftest-pass")["trials"].get<int>() > 5);
  CHECK(r.json["run"]["budget_exhausted"] == true);
  CHECK(r.seconds < 2 + 20);
}

// Starts gilrace in the background and returns its pid.
static pid_t start(const std::vector<std::string>& args, const std::string& out) {
  std::vector<std::string> argv = {GILRACE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> c;
  for (auto& a : argv) c.push_back(a.data());
  c.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  posix_spawn(&pid, c[0], &fa, nullptr, c.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

static std::size_t trial_lines(const std::string& events) {
  std::size_t n = 0;
  if (!fs::exists(events)) return 0;
  for (const auto& e : read_jsonl(events)) n += e["type"] == "trial";
  return n;
}

static bool no_process_running(const std::string& needle) {
  std::string cmd = "pgrep -f -- '" + needle + "' >/dev/null";
  return shell(cmd) != 0;
}

TEST_CASE("Ctrl-C stops launching, ends running trials, writes a partial summary, exits 130") {
  std::string dir = temp_dir("sigint");
  pid_t pid = start(
      {"run", "selftest-slow", "selftest-pass", "-n", "1000", "-j", "2", "--param", "seconds=0.3",
       "--seed", "424242", "--json", dir + "/s.json", "--events", dir + "/e.jsonl"},
      dir + "/out.txt");
  for (int i = 0; i < 200 && trial_lines(dir + "/e.jsonl") < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WEXITSTATUS(status) == 130);
  auto summary = nlohmann::json::parse(read_file(dir + "/s.json"));
  CHECK(summary["run"]["interrupted"] == true);
  std::uint64_t done = summary["totals"]["trials"];
  CHECK(done >= 4);
  CHECK(done < 2000);
  CHECK(trial_lines(dir + "/e.jsonl") == done);
  CHECK(read_file(dir + "/out.txt").find("interrupted") != std::string::npos);
  CHECK(no_process_running("[_]_trial selftest-slow --variant default --seed 424242"));
}

TEST_CASE("a supervisor killed with SIGKILL keeps every finished trial and leaves no child") {
  std::string dir = temp_dir("sigkill");
  pid_t pid = start({"run", "selftest-slow", "-n", "1000", "-j", "2", "--param", "seconds=0.2",
                     "--seed", "515151", "--events", dir + "/e.jsonl"},
                    dir + "/out.txt");
  for (int i = 0; i < 200 && trial_lines(dir + "/e.jsonl") < 5; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  auto events = read_jsonl(dir + "/e.jsonl");  // every line complete and parseable
  CHECK(trial_lines(dir + "/e.jsonl") >= 5);
  for (const auto& e : events) CHECK(e.contains("type"));
  // Children die with their parent (PR_SET_PDEATHSIG).
  bool gone = false;
  for (int i = 0; i < 40 && !gone; ++i) {
    gone = no_process_running("[_]_trial selftest-slow --variant default --seed 515151");
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(gone);
}
