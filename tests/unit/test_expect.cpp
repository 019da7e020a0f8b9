// `run --expect fail` decided from what ran (harness/results/expect.h).
#include "harness/results/aggregate.h"
#include "harness/results/expect.h"
#include "tests/catch.h"

using namespace gilrace;

namespace {

GroupStats group(const std::string& variant, std::uint64_t passes,
                 std::vector<std::pair<std::string, std::uint64_t>> failures) {
  GroupStats g;
  g.scenario = "s";
  g.variant = variant;
  g.trials = passes;
  g.outcomes["pass"] = passes;
  for (const auto& [outcome, count] : failures) {
    SignatureStats s;
    s.outcome = outcome;
    s.signature = outcome == "crash" ? "SIGSEGV in f" : outcome;
    s.id = signature_id(s.outcome, s.signature);
    s.count = count;
    g.signatures.push_back(s);
    g.outcomes[outcome] += count;
    g.trials += count;
    g.failures += count;
  }
  return g;
}

}  // namespace

TEST_CASE("expect fail: every group that ran must show a target failure") {
  GroupStats crashed = group("a", 8, {{"crash", 2}});
  GroupStats clean = group("b", 10, {});
  ExpectFailVerdict both = judge_expect_fail({&crashed, &clean}, TargetMatcher());
  CHECK_FALSE(both.all_reproduced());
  REQUIRE(both.groups.size() == 2);
  CHECK(both.groups[0].why_not.empty());
  CHECK(both.groups[0].target == 2);
  CHECK(both.groups[1].why_not == "no failure in 10 trials");
  CHECK(judge_expect_fail({&crashed}, TargetMatcher()).all_reproduced());
  // Nothing ran at all: nothing reproduced.
  CHECK_FALSE(judge_expect_fail({}, TargetMatcher()).all_reproduced());
}

TEST_CASE("expect fail: error and timeout are not reproductions unless --match names them") {
  GroupStats g = group("a", 0, {{"error", 3}, {"timeout", 1}});
  ExpectFailVerdict v = judge_expect_fail({&g}, TargetMatcher());
  CHECK_FALSE(v.all_reproduced());
  CHECK(v.groups[0].other == 4);
  CHECK(v.groups[0].why_not == "no target failure in 4 trials (4 other: error x3, timeout x1)");
  CHECK(judge_expect_fail({&g}, TargetMatcher({"error"})).all_reproduced());
  CHECK(judge_expect_fail({&g}, TargetMatcher({"timeout"})).all_reproduced());
  // --match narrows the default: a crash is not a deadlock.
  GroupStats crashed = group("b", 0, {{"crash", 5}});
  ExpectFailVerdict deadlock = judge_expect_fail({&crashed}, TargetMatcher({"deadlock"}));
  CHECK_FALSE(deadlock.all_reproduced());
  CHECK(deadlock.target == "deadlock");
}

TEST_CASE("expect fail: a group skipped at run time, or without trials, did not reproduce") {
  GroupStats skipped = group("naive", 0, {});
  skipped.outcomes = {{"skipped", 3}};
  skipped.skip_reason = "needs the GIL: ...";
  GroupStats none = group("stw", 0, {});
  ExpectFailVerdict v = judge_expect_fail({&skipped, &none}, TargetMatcher());
  CHECK_FALSE(v.all_reproduced());
  CHECK(v.groups[0].why_not == "skipped at run time: needs the GIL: ...");
  CHECK(v.groups[1].why_not == "no trial ran");
  std::string text = v.text();
  CHECK(text.find("s/naive: did not reproduce: skipped at run time: needs the GIL") !=
        std::string::npos);
  CHECK(text.find("expected failures: some scenario did not reproduce\n") != std::string::npos);
  nlohmann::json j = v.to_json();
  CHECK(j["all_reproduced"] == false);
  CHECK(j["groups"][0]["reproduced"] == false);
  CHECK(j["groups"][1]["why_not"] == "no trial ran");
}
