// `gilrace run --bisect` through the real binary: exit codes git bisect run
// relies on, the verdict line, --match/--other, --calibrate and rate files.
// Uses the control selftest-bisect, whose failure probabilities come from a
// file (see scenarios/selftest/bisect.cpp). The git-level tests (a synthetic
// history bisected end to end) are in tests/scripts/test-bisect.sh.
#include <fstream>
#include <sstream>

#include "tests/catch.h"
#include "tests/integration/support.h"
#include "tests/skip.h"

using namespace gilrace::test;

namespace {

// A probabilities file for selftest-bisect: "p=1\nother=0\n".
std::string probs(const std::string& content) {
  std::string path = temp_dir("bisect-probs") + "/probs.txt";
  std::ofstream(path) << content;
  return path;
}

std::string last_line(const std::string& out) {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}
bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

Run step(const std::string& file, std::vector<std::string> extra) {
  // -j: the machine's CPUs unless a test needs exact counts (-j 1: nothing runs past
  // the first target failure).
  std::vector<std::string> args = {"run", "selftest-bisect", "--param", "file=" + file, "--bisect"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_gilrace(args);
}

}  // namespace

TEST_CASE("a build that always fails is bad after one trial, and says so last") {
  Run r = step(probs("p=1\n"), {"--rate", "0.3", "-j", "1"});
  CHECK(r.exit_code == 1);
  std::string line = last_line(r.out);
  INFO(r.out);
  // 13 trials were planned (0.7^13 <= 1%), but it stops at the first target failure.
  CHECK(starts_with(line, "gilrace-verdict: bad needed=13 trials=1 failures=1 other=0 rate>="));
  CHECK(has(line, " confidence=0.99"));  // the default in bisect mode
  const auto& b = r.json["bisect"];
  CHECK(b["verdict"] == "bad");
  CHECK(b["exit_code"] == 1);
  CHECK(b["needed"] == 13);
  CHECK(group(r.json, "selftest-bisect")["trials"] == 1);
}

TEST_CASE("a build that never fails is good after exactly the trials needed") {
  Run r = step(probs("p=0\n"), {"--rate", "0.3"});
  CHECK(r.exit_code == 0);
  INFO(r.out);
  CHECK(last_line(r.out) ==
        "gilrace-verdict: good needed=13 trials=13 failures=0 other=0 rate<=0.2983 "
        "confidence=0.99");
  CHECK(group(r.json, "selftest-bisect")["trials"] == 13);

  Run c = step(probs("p=0\n"), {"--rate", "0.3", "--confidence", "0.999"});
  CHECK(c.exit_code == 0);
  CHECK(starts_with(last_line(c.out), "gilrace-verdict: good needed=20 trials=20 "));
}

TEST_CASE("--bisect=fix: exit 0 broken at the first target failure, 1 fixed after N clean") {
  Run broken = step(probs("p=1\n"), {"--rate", "0.3", "-j", "1", "--bisect=fix"});
  INFO(broken.out);
  CHECK(broken.exit_code == 0);
  CHECK(starts_with(last_line(broken.out),
                    "gilrace-verdict: broken needed=13 trials=1 failures=1 other=0 rate>="));
  CHECK(has(broken.out, "bisect: broken: the target failure reproduced in 1/1 trials"));
  CHECK(broken.json["bisect"]["verdict"] == "broken");
  CHECK(broken.json["bisect"]["direction"] == "fix");

  Run fixed = step(probs("p=0\n"), {"--rate", "0.3", "--bisect=fix"});
  INFO(fixed.out);
  CHECK(fixed.exit_code == 1);
  CHECK(last_line(fixed.out) ==
        "gilrace-verdict: fixed needed=13 trials=13 failures=0 other=0 rate<=0.2983 "
        "confidence=0.99");
  CHECK(fixed.json["exit_code"] == 1);

  Run other = step(probs("p=0\nother=1\n"), {"--rate", "0.5", "--match", "crash", "--bisect=fix"});
  CHECK(other.exit_code == 125);
  CHECK(has(last_line(other.out), " reason=other_failures "));

  Run no_window = run_gilrace({"run", "selftest-no-window", "--bisect=fix", "-n", "5"});
  CHECK(no_window.exit_code == 125);
  CHECK(has(last_line(no_window.out), " reason=window_not_reached "));
}

TEST_CASE("-n sets the trials of a step without a rate") {
  Run r = step(probs("p=0\n"), {"-n", "5"});
  CHECK(r.exit_code == 0);
  CHECK(starts_with(last_line(r.out), "gilrace-verdict: good needed=5 trials=5 "));
}

TEST_CASE("--match picks the target, and other failures are 125 unless --other says otherwise") {
  // Every trial: a fatal error (other=1) before it could crash.
  std::string f = probs("p=0\nother=1\n");
  Run skip = step(f, {"--rate", "0.5", "--match", "crash"});
  CHECK(skip.exit_code == 125);
  INFO(skip.out);
  CHECK(last_line(skip.out) ==
        "gilrace-verdict: skip needed=7 trials=7 failures=0 other=7 reason=other_failures "
        "confidence=0.99");
  CHECK(has(skip.out, "bisect:   other  7 x fatal_error: "));

  Run good = step(f, {"--rate", "0.5", "--match", "crash", "--other", "good"});
  CHECK(good.exit_code == 0);
  CHECK(starts_with(last_line(good.out),
                    "gilrace-verdict: good needed=7 trials=7 failures=0 "
                    "other=7 rate<="));

  Run bad = step(f, {"--rate", "0.5", "--match", "crash", "--other", "bad", "-j", "1"});
  CHECK(bad.exit_code == 1);
  CHECK(starts_with(last_line(bad.out), "gilrace-verdict: bad needed=7 trials=1 failures=1 "));

  // Without --match every failure but `error` and `timeout` is the target: the fatal error is
  // bad.
  Run any = step(f, {"--rate", "0.5", "-j", "1"});
  CHECK(any.exit_code == 1);
}

TEST_CASE("--match by signature id and by regular expression") {
  std::string f = probs("p=1\n");
  Run regex = step(f, {"--rate", "1", "--match", "bisect_target"});
  CHECK(regex.exit_code == 1);
  std::string id = group(regex.json, "selftest-bisect")["signatures"][0]["id"];
  Run by_id = step(f, {"--rate", "1", "--match", id});
  CHECK(by_id.exit_code == 1);
  // A crash that is not the one asked for is another failure: 125.
  Run miss = step(f, {"--rate", "1", "--match", "PyGILState_Ensure"});
  CHECK(miss.exit_code == 125);
  CHECK(has(last_line(miss.out), "reason=other_failures"));
}

TEST_CASE("the scenario's own errors and skipped trials cannot say good") {
  Run missing = step("/nonexistent/probs.txt", {"--rate", "0.5"});
  CHECK(missing.exit_code == 125);
  CHECK(has(last_line(missing.out), " other=7 reason=other_failures"));
  Run skipped = step(probs("skip=1\n"), {"--rate", "0.5"});
  CHECK(skipped.exit_code == 125);
  CHECK(has(last_line(skipped.out), " skipped=7 reason=skipped_trials"));
}

TEST_CASE("--calibrate measures the rate on a bad build, and steps read it from the file") {
  std::string dir = temp_dir("bisect-rate");
  std::string rate_file = dir + "/rate.txt";
  // p=0.5: 20 target failures (where calibration stops) come after about 40 trials;
  // fewer than 20 in the 200 trials allowed has a probability below 1e-30.
  Run cal = step(probs("p=0.5\n"),
                 {"--calibrate", "--rate-file", rate_file, "--match", "crash", "-j", "1"});
  REQUIRE(cal.exit_code == 0);
  INFO(cal.out);
  std::string line = last_line(cal.out);
  CHECK(starts_with(line, "gilrace-calibration: rate="));
  CHECK(has(line, " failures=20 "));
  CHECK(has(line, " file=" + rate_file));
  std::string text = read_file(rate_file);
  CHECK(has(text, "scenario=selftest-bisect\n"));
  CHECK(has(text, "match=crash\n"));
  double rate = std::stod(text.substr(text.find("\nrate=") + 6));
  // The lower end of the 99% interval: below the measured 20/n, and above 0.15 unless
  // 20 failures took more than ~80 trials (probability ~3e-6 at p=0.5).
  double measured = 20.0 / cal.json["bisect"]["trials"].get<double>();
  CHECK(rate < measured);
  CHECK(rate > 0.15);
  CHECK(cal.json["bisect"]["rate"] == Approx(rate).epsilon(1e-4));

  Run good = step(probs("p=0\n"), {"--rate-file", rate_file, "--match", "crash"});
  CHECK(good.exit_code == 0);
  std::uint64_t needed = cal.json["bisect"]["needed"];
  CHECK(starts_with(last_line(good.out),
                    "gilrace-verdict: good needed=" + std::to_string(needed) + " trials="));

  // A build without the failure cannot be calibrated: 125, nothing written.
  std::string none = dir + "/none.txt";
  Run nothing = step(probs("p=0\n"), {"--calibrate", "--rate-file", none, "-n", "10"});
  CHECK(nothing.exit_code == 125);
  CHECK(has(last_line(nothing.out), "gilrace-calibration: none trials=10 failures=0"));
  CHECK_FALSE(std::ifstream(none).good());

  // A rate file measured for another scenario is refused.
  std::ofstream(dir + "/other.txt") << "rate=0.5\nscenario=selftest-flaky\n";
  Run wrong = step(probs("p=0\n"), {"--rate-file", dir + "/other.txt"});
  CHECK(wrong.exit_code == 2);
  CHECK(has(wrong.err, "measured for scenario selftest-flaky"));
}

TEST_CASE("a scenario that does not apply to this build is 125 with --bisect, 2 without") {
  Run list = run_gilrace({"list", "--json"}, false);
  REQUIRE(list.exit_code == 0);
  std::string name;
  for (const auto& s : nlohmann::json::parse(list.out))
    if (!s["applies"].get<bool>()) name = s["name"];
  if (name.empty()) GILRACE_SKIP("every scenario applies to this build: none to refuse");
  Run plain = run_gilrace({"run", name, "-n", "1"});
  CHECK(plain.exit_code == 2);
  Run bisect = run_gilrace({"run", name, "--bisect", "--rate", "0.5"});
  CHECK(bisect.exit_code == 125);
  CHECK(starts_with(last_line(bisect.out),
                    "gilrace-verdict: skip needed=7 trials=0 failures=0 other=0 "
                    "reason=not_applicable"));
}

TEST_CASE("bisect usage errors stay exit 2 with one line") {
  std::string f = probs("p=0\n");
  const std::vector<std::string> step = {"run", "selftest-bisect", "--param", "file=" + f};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = step;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {with({"--bisect"}),
       "--bisect needs the target's failure rate on a bad build: --rate P, or --rate-file F "
       "measured with --calibrate on a known-bad build (or choose the trials with -n N)"},
      {with({"--rate", "0.5"}), "--rate needs --bisect"},
      {with({"--bisect=fixed", "--rate", "0.5"}),
       "--bisect is --bisect (regression) or --bisect=fix, got 'fixed'"},
      {{"run", "selftest-bisect", "selftest-pass", "--param", "file=" + f, "--bisect", "--rate",
        "0.5"},
       "--bisect tests exactly one scenario: name it"},
      {{"run", "--all", "--bisect", "--rate", "0.5"},
       "--bisect tests exactly one scenario: name it"},
      {with({"--bisect", "--rate", "0"}), "--rate must be a number between 0 and 1, got '0'"},
      {with({"--bisect", "--rate", "0.5", "--rate-file", "x"}),
       "give --rate or --rate-file, not both"},
      {with({"--bisect", "--rate", "0.5", "--match", "pass"}),
       "--match pass: that outcome is not a failure"},
      {with({"--bisect", "--rate", "0.5", "--match", "("}),
       "--match '(' is not an outcome name, a signature id or a regular expression: "
       "Mismatched '(' and ')' in regular expression"},
      {with({"--bisect", "--rate", "0.5", "--other", "maybe"}),
       "--other must be good, bad or skip, got 'maybe'"},
      {with({"--bisect", "--rate", "0.5", "--stop-after", "2"}),
       "--bisect stops at the first target failure: drop --stop-after"},
      {with({"--bisect", "--rate", "0.5", "--expect", "fail"}),
       "--bisect decides good and bad itself: drop --expect"},
      {with({"--bisect", "--rate-file", "/nonexistent/rate.txt"}),
       "--rate-file /nonexistent/rate.txt: cannot read it (measure it first on a known-bad build "
       "with `gilrace run SCENARIO --bisect --calibrate --rate-file /nonexistent/rate.txt`)"},
      {with({"--bisect", "--calibrate"}),
       "--calibrate writes the rate it measures to --rate-file FILE: give one"},
      {{"run", "selftest-bisect", "--bisect", "--rate", "0.5"},  // the scenario's own check
       "selftest-bisect: give --param file=PATH"},
  };
  for (const auto& [args, message] : cases) {
    Run r = run_gilrace(args, false);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    INFO(joined);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err == "gilrace: error: " + message + "\n");
  }
}

TEST_CASE("a step whose clean trials never reached the window is 125, never good") {
  Run r = run_gilrace({"run", "selftest-no-window", "--bisect", "-n", "5"});
  INFO(r.out);
  CHECK(r.exit_code == 125);
  CHECK(last_line(r.out) ==
        "gilrace-verdict: skip needed=5 trials=5 failures=0 other=0 reason=window_not_reached "
        "confidence=0.99");
  CHECK(has(r.out,
            "bisect: cannot test: no trial hit the window probe (selftest_window): 5 "
            "clean trials that never reached the window prove nothing\n"));
  CHECK(r.json["bisect"]["reason"] == "window_not_reached");
  CHECK(r.json["exit_code"] == 125);
  CHECK(group(r.json, "selftest-no-window")["window_not_reached"] == true);

  Run reached = run_gilrace({"run", "selftest-no-window", "--param", "p=1", "--bisect", "-n", "5"});
  CHECK(reached.exit_code == 0);
  CHECK(starts_with(last_line(reached.out), "gilrace-verdict: good needed=5 trials=5 "));
}
