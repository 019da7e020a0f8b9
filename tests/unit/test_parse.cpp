#include "harness/base/parse.h"
#include "tests/catch.h"

using namespace gilrace;

TEST_CASE("counts: whole numbers at or above the minimum") {
  CHECK(parse_count("200", "-n") == 200);
  CHECK(parse_count("0", "--seed", 0) == 0);
  CHECK_THROWS_AS(parse_count("0", "-n"), UsageError);
  CHECK_THROWS_AS(parse_count("-3", "-n"), UsageError);
  CHECK_THROWS_AS(parse_count("abc", "-n"), UsageError);
  CHECK_THROWS_AS(parse_count("12x", "-n"), UsageError);
  CHECK_THROWS_AS(parse_count("", "-n"), UsageError);
  try {
    parse_count("abc", "-n/--repeat");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()) == "-n/--repeat must be a whole number >= 1, got 'abc'");
  }
}

TEST_CASE("durations: units and failures") {
  CHECK(parse_duration("90s", "--d") == Approx(90));
  CHECK(parse_duration("10m", "--d") == Approx(600));
  CHECK(parse_duration("2h", "--d") == Approx(7200));
  CHECK(parse_duration("500ms", "--d") == Approx(0.5));
  CHECK(parse_duration("1.5", "--d") == Approx(1.5));
  CHECK(parse_duration("0", "--d") == Approx(0));
  CHECK_THROWS_AS(parse_duration("5parsecs", "--timeout"), UsageError);
  CHECK_THROWS_AS(parse_duration("s", "--timeout"), UsageError);
  CHECK_THROWS_AS(parse_duration("-1s", "--timeout"), UsageError);
  CHECK_THROWS_AS(parse_duration("1.2.3s", "--timeout"), UsageError);
}

TEST_CASE("params and shards") {
  CHECK(parse_param("p=0.5") == std::pair<std::string, std::string>{"p", "0.5"});
  CHECK(parse_param("script=a=b") == std::pair<std::string, std::string>{"script", "a=b"});
  CHECK(parse_param("empty=") == std::pair<std::string, std::string>{"empty", ""});
  CHECK_THROWS_AS(parse_param("novalue"), UsageError);
  CHECK_THROWS_AS(parse_param("=x"), UsageError);
  CHECK(parse_shard("3/8") == std::pair<int, int>{3, 8});
  CHECK(parse_shard("0/1") == std::pair<int, int>{0, 1});
  CHECK_THROWS_AS(parse_shard("8/8"), UsageError);
  CHECK_THROWS_AS(parse_shard("1/0"), UsageError);
  CHECK_THROWS_AS(parse_shard("a/b"), UsageError);
  CHECK_THROWS_AS(parse_shard("3"), UsageError);
}
