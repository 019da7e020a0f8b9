// Which failures count, for --bisect and --expect fail (harness/results/target.h).
#include <cctype>

#include "harness/base/parse.h"
#include "harness/results/aggregate.h"
#include "harness/results/target.h"
#include "tests/catch.h"

using namespace gilrace;

TEST_CASE("the target: outcome names, signature ids, regular expressions") {
  const std::string segv = "SIGSEGV in gilrace_selftest_bisect_target";
  TargetMatcher any;
  CHECK(any.is_target("crash", segv));
  CHECK(any.is_target("deadlock", "deadlock"));
  CHECK(any.is_target("fatal_error", "Fatal Python error: x"));
  CHECK(any.is_target("sanitizer", "ThreadSanitizer: data race in f <-> g"));
  CHECK_FALSE(any.is_target("error", "error: ValueError: x"));  // the scenario's own failure
  CHECK_FALSE(any.is_target("timeout", "timeout"));             // slow, not stuck
  CHECK_FALSE(any.is_target("pass", ""));
  CHECK_FALSE(any.is_target("skipped", ""));
  CHECK(any.describe() == "every failure but error and timeout");

  TargetMatcher by_outcome({"crash"});
  CHECK(by_outcome.is_target("crash", segv));
  CHECK_FALSE(by_outcome.is_target("fatal_error", "Fatal Python error: x"));

  TargetMatcher by_id({signature_id("crash", segv)});
  CHECK(by_id.is_target("crash", segv));
  CHECK_FALSE(by_id.is_target("crash", "SIGSEGV in something_else"));
  std::string upper = signature_id("crash", segv);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(TargetMatcher({upper}).is_target("crash", segv));

  TargetMatcher by_regex({"bisect_target$"});
  CHECK(by_regex.is_target("crash", segv));
  CHECK_FALSE(by_regex.is_target("crash", segv + " / main"));
  CHECK_FALSE(by_regex.is_target("pass", segv));  // never a pass
  CHECK(by_regex.describe() == "/bisect_target$/");

  TargetMatcher either({"deadlock", "PyGILState_Ensure"});
  CHECK(either.is_target("deadlock", "deadlock"));
  CHECK(either.is_target("crash", "SIGSEGV in PyGILState_Ensure"));
  CHECK_FALSE(either.is_target("crash", segv));
  CHECK(either.describe() == "deadlock or /PyGILState_Ensure/");
  // --match error and --match timeout ask for them explicitly.
  CHECK(TargetMatcher({"error"}).is_target("error", "error: x"));
  CHECK(TargetMatcher({"timeout"}).is_target("timeout", "timeout"));

  CHECK_THROWS_AS(TargetMatcher({"pass"}), UsageError);
  CHECK_THROWS_AS(TargetMatcher({"skipped"}), UsageError);
  CHECK_THROWS_AS(TargetMatcher({"("}), UsageError);
  CHECK_THROWS_AS(TargetMatcher({""}), UsageError);
}
