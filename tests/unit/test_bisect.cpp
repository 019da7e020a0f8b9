// The arithmetic and the decisions behind `gilrace run --bisect` (harness/bisect/bisect.h).
#include <cmath>

#include "harness/base/parse.h"
#include "harness/bisect/bisect.h"
#include "harness/results/aggregate.h"
#include "harness/results/stats.h"
#include "tests/catch.h"

using namespace gilrace;

TEST_CASE("trials for a confidence and a rate: the least n with (1-p)^n <= 1-C") {
  CHECK(bisect_trials(1.0, 0.99) == 1);
  CHECK(bisect_trials(0.5, 0.99) == 7);    // 0.5^7 = 0.0078; 0.5^6 = 0.0156
  CHECK(bisect_trials(0.3, 0.99) == 13);   // 0.7^13 = 0.0097; 0.7^12 = 0.0138
  CHECK(bisect_trials(0.3, 0.999) == 20);  // 0.7^20 = 0.0008
  CHECK(bisect_trials(0.1, 0.99) == 44);
  CHECK(bisect_trials(0.05, 0.95) == 59);  // the classic "59 trials for 5% at 95%"
  CHECK(bisect_trials(0.01, 0.99) == 459);
  CHECK(bisect_trials(0.001, 0.99) == 4603);
  // Exact powers stay exact: 0.5^2 = 0.25, 0.1^2 = 0.01.
  CHECK(bisect_trials(0.5, 0.75) == 2);
  CHECK(bisect_trials(0.9, 0.99) == 2);
  CHECK(bisect_trials(0.99, 0.9) == 1);
  CHECK_THROWS(bisect_trials(0.0, 0.99));
  CHECK_THROWS(bisect_trials(0.5, 1.0));
}

TEST_CASE("bisect_trials is the least n that reaches the confidence, for many rates") {
  for (double c : {0.9, 0.95, 0.99, 0.999})
    for (double p = 0.003; p < 1; p *= 1.37) {
      std::uint64_t n = bisect_trials(p, c);
      INFO("p=" << p << " c=" << c << " n=" << n);
      CHECK(std::pow(1 - p, static_cast<double>(n)) <= (1 - c) * (1 + 1e-9));
      if (n > 1) CHECK(std::pow(1 - p, static_cast<double>(n - 1)) > 1 - c);
      // A good verdict after n clean trials rules out rates above p: the bound is <= p.
      CHECK(clean_upper_bound(n, c) <= p * (1 + 1e-9));
    }
}

TEST_CASE("a calibration saves the lower end of the interval") {
  CHECK(calibrated_rate(0, 100, 0.99) == 0.0);
  double r = calibrated_rate(20, 67, 0.99);
  CHECK(r == Approx(wilson_interval(20, 67, 0.99).low));
  CHECK(r < 20.0 / 67);
  CHECK(r > 0.15);
  // 20 of 20: the rate is high but not proven 1, so a step runs a few trials, not one.
  double all = calibrated_rate(20, 20, 0.99);
  CHECK(all == Approx(20 / (20 + std::pow(z_for_confidence(0.99), 2))).epsilon(1e-6));
  CHECK(bisect_trials(all, 0.99) == 4);
}

TEST_CASE("the --other policies") {
  CHECK(parse_other_policy("skip") == OtherPolicy::skip);
  CHECK(parse_other_policy("good") == OtherPolicy::good);
  CHECK(parse_other_policy("bad") == OtherPolicy::bad);
  CHECK_THROWS_AS(parse_other_policy("ignore"), UsageError);
  CHECK(other_policy_name(OtherPolicy::good) == "good");
}

namespace {
GroupStats group_with(std::uint64_t passes, std::uint64_t target, std::uint64_t other,
                      std::uint64_t skipped = 0) {
  GroupStats g;
  g.trials = passes + target + other;
  g.failures = target + other;
  g.outcomes["pass"] = passes;
  if (skipped) g.outcomes["skipped"] = skipped;
  auto sig = [&](std::string outcome, std::string signature, std::uint64_t count) {
    if (!count) return;
    SignatureStats s;
    s.id = signature_id(outcome, signature);
    s.outcome = outcome;
    s.signature = signature;
    s.count = count;
    g.signatures.push_back(s);
  };
  sig("crash", "SIGSEGV in target", target);
  sig("fatal_error", "Fatal Python error: unrelated", other);
  return g;
}
}  // namespace

TEST_CASE("tally splits failures by the target and --other") {
  TargetMatcher m({"crash"});
  BisectTally t = tally(group_with(10, 2, 3, 4), m, OtherPolicy::skip);
  CHECK(t.trials == 15);
  CHECK(t.target == 2);
  CHECK(t.other == 3);
  CHECK(t.skipped == 4);
  CHECK(t.passes() == 10);
  BisectTally b = tally(group_with(10, 2, 3), m, OtherPolicy::bad);
  CHECK(b.target == 5);
  CHECK(b.other == 0);
}

TEST_CASE("tally: the window is missed when declared window probes never fired") {
  TargetMatcher m;
  GroupStats g = group_with(10, 0, 0);
  CHECK_FALSE(tally(g, m, OtherPolicy::skip).window_missed);  // no window probe declared
  g.probes["other"] = {.total = 5, .trials_hit = 5};
  g.probes["window"] = {.window = true};
  CHECK(tally(g, m, OtherPolicy::skip).window_missed);
  g.probes["window"].trials_hit = 1;
  CHECK_FALSE(tally(g, m, OtherPolicy::skip).window_missed);
}

TEST_CASE("verdicts") {
  auto t = [](std::uint64_t passes, std::uint64_t target, std::uint64_t other,
              std::uint64_t skipped = 0) {
    return BisectTally{passes + target + other, target, other, skipped};
  };
  SECTION("a target failure is bad, whatever else happened") {
    Verdict v = decide_verdict(t(3, 1, 2), 13, 0.99, OtherPolicy::skip);
    CHECK(v.kind == Verdict::Kind::reproduced);
    CHECK(v.exit_code == 1);
    Interval ci = wilson_interval(1, 6, 0.99);
    CHECK(v.rate_low == Approx(ci.low));
    CHECK(v.rate_high == Approx(ci.high));
    CHECK(v.line().rfind("gilrace-verdict: bad needed=13 trials=6 failures=1 other=2 rate>=", 0) ==
          0);
    CHECK(v.line().find(" confidence=0.99") != std::string::npos);
  }
  SECTION("enough clean trials are good, with the rate they rule out") {
    Verdict v = decide_verdict(t(13, 0, 0), 13, 0.99, OtherPolicy::skip);
    CHECK(v.kind == Verdict::Kind::clean);
    CHECK(v.exit_code == 0);
    CHECK(v.rate_high == Approx(1 - std::pow(0.01, 1.0 / 13)));  // 0.2983 <= 0.3
    CHECK(v.line() ==
          "gilrace-verdict: good needed=13 trials=13 failures=0 other=0 rate<=0.2983 "
          "confidence=0.99");
    CHECK(v.to_json()["verdict"] == "good");
  }
  SECTION("other failures: skip (125), or counted as clean with --other good") {
    Verdict skip = decide_verdict(t(12, 0, 1), 13, 0.99, OtherPolicy::skip);
    CHECK(skip.kind == Verdict::Kind::skip);
    CHECK(skip.exit_code == 125);
    CHECK(skip.reason == "other_failures");
    CHECK(skip.line() ==
          "gilrace-verdict: skip needed=13 trials=13 failures=0 other=1 reason=other_failures "
          "confidence=0.99");
    Verdict good = decide_verdict(t(12, 0, 1), 13, 0.99, OtherPolicy::good);
    CHECK(good.kind == Verdict::Kind::clean);
    CHECK(good.clean == 13);
    Verdict only_other = decide_verdict(t(0, 0, 13), 13, 0.99, OtherPolicy::skip);
    CHECK(only_other.exit_code == 125);
  }
  SECTION("trials the scenario skipped, or a budget cut, leave too few clean trials") {
    Verdict skipped = decide_verdict(t(0, 0, 0, 13), 13, 0.99, OtherPolicy::skip);
    CHECK(skipped.exit_code == 125);
    CHECK(skipped.reason == "skipped_trials");
    CHECK(skipped.line().find(" skipped=13 ") != std::string::npos);
    Verdict short_run = decide_verdict(t(5, 0, 0), 13, 0.99, OtherPolicy::skip);
    CHECK(short_run.exit_code == 125);
    CHECK(short_run.reason == "too_few_trials");
  }
  SECTION("clean trials none of which reached the window are never good") {
    BisectTally missed = t(13, 0, 0);
    missed.window_missed = true;
    Verdict v = decide_verdict(missed, 13, 0.99, OtherPolicy::skip);
    CHECK(v.kind == Verdict::Kind::skip);
    CHECK(v.exit_code == 125);
    CHECK(v.line() ==
          "gilrace-verdict: skip needed=13 trials=13 failures=0 other=0 "
          "reason=window_not_reached confidence=0.99");
    CHECK(v.to_json()["reason"] == "window_not_reached");
    // A target failure is still bad; too few trials is still the first reason to give.
    BisectTally bad = t(3, 1, 0);
    bad.window_missed = true;
    CHECK(decide_verdict(bad, 13, 0.99, OtherPolicy::skip).exit_code == 1);
    BisectTally few = t(5, 0, 0);
    few.window_missed = true;
    CHECK(decide_verdict(few, 13, 0.99, OtherPolicy::skip).reason == "too_few_trials");
  }
}

TEST_CASE("--bisect=fix: broken (exit 0, git bisect's old term) and fixed (exit 1, the new)") {
  CHECK(parse_bisect_direction("regression") == BisectDirection::regression);
  CHECK(parse_bisect_direction("fix") == BisectDirection::fix);
  CHECK_THROWS_AS(parse_bisect_direction("fixed"), UsageError);
  auto t = [](std::uint64_t passes, std::uint64_t target, std::uint64_t other) {
    return BisectTally{passes + target + other, target, other, 0};
  };
  const auto fix = BisectDirection::fix;
  // One target failure is certain: still broken.
  Verdict broken = decide_verdict(t(3, 1, 0), 13, 0.99, OtherPolicy::skip, fix);
  CHECK(broken.kind == Verdict::Kind::reproduced);
  CHECK(broken.exit_code == 0);
  CHECK(broken.line().rfind("gilrace-verdict: broken needed=13 trials=4 failures=1 ", 0) == 0);
  CHECK(broken.to_json()["direction"] == "fix");
  // Fixed needs the same N clean trials (and the window) as good does.
  Verdict fixed = decide_verdict(t(13, 0, 0), 13, 0.99, OtherPolicy::skip, fix);
  CHECK(fixed.kind == Verdict::Kind::clean);
  CHECK(fixed.exit_code == 1);
  CHECK(fixed.line() ==
        "gilrace-verdict: fixed needed=13 trials=13 failures=0 other=0 rate<=0.2983 "
        "confidence=0.99");
  CHECK(decide_verdict(t(12, 0, 0), 13, 0.99, OtherPolicy::skip, fix).exit_code == 125);
  BisectTally missed = t(13, 0, 0);
  missed.window_missed = true;
  CHECK(decide_verdict(missed, 13, 0.99, OtherPolicy::skip, fix).exit_code == 125);
  // Other failures never decide: 125, unless --other says so.
  CHECK(decide_verdict(t(12, 0, 1), 13, 0.99, OtherPolicy::skip, fix).exit_code == 125);
  CHECK(decide_verdict(t(12, 0, 1), 13, 0.99, OtherPolicy::good, fix).exit_code == 1);
}

TEST_CASE("rate files round-trip and refuse what they cannot use") {
  RateRecord r;
  r.rate = 0.1734;
  r.scenario = "selftest-bisect";
  r.variant = "default";
  r.match = "crash";
  r.other = "skip";
  r.params = {{"file", "/tmp/p.txt"}};
  r.chaos = 2;
  r.failures = 20;
  r.trials = 67;
  r.confidence = 0.99;
  r.build = "3.13.15 free-threaded";
  r.measured_at = "2025-01-01T00:00:00Z";
  RateRecord back = parse_rate_file(format_rate_file(r), "f");
  CHECK(back.rate == Approx(0.1734));
  CHECK(back.scenario == r.scenario);
  CHECK(back.variant == r.variant);
  CHECK(back.match == r.match);
  CHECK(back.params == r.params);
  CHECK(back.chaos == 2);
  CHECK(parse_rate_file("rate=0.5\n", "f").chaos == 0);  // older files: measured without chaos
  CHECK(back.failures == 20);
  CHECK(back.trials == 67);
  CHECK(back.confidence == Approx(0.99));
  CHECK(back.build == r.build);

  CHECK(parse_rate_file("rate=0.5\n", "f").rate == Approx(0.5));
  CHECK(parse_rate_file("# comment\r\nrate=1\r\nnewer_key=x\r\n", "f").rate == Approx(1.0));
  CHECK_THROWS_AS(parse_rate_file("scenario=x\n", "f"), UsageError);
  CHECK_THROWS_AS(parse_rate_file("rate=0\n", "f"), UsageError);
  CHECK_THROWS_AS(parse_rate_file("rate=1.5\n", "f"), UsageError);
  CHECK_THROWS_AS(parse_rate_file("rate\n", "f"), UsageError);
  CHECK_THROWS_AS(read_rate_file("/nonexistent/rate.txt"), UsageError);
}
