// Which variants a build is expected to fail, and which scenarios do not apply:
// what `run --all` leaves out and what `list` says, from the build's facts alone.
#include "harness/build_info.h"
#include "harness/scenario.h"
#include "tests/catch.h"

using namespace gilrace;

static BuildInfo build(unsigned hex, bool debug, bool ft = false) {
  BuildInfo b;
  b.hexversion = hex;
  b.version = hex >= 0x030E0000 ? "3.14.0" : "3.13.15";
  b.debug = debug;
  b.free_threaded = ft;
  return b;
}

TEST_CASE("expected failures: naive, fixed_in, debug_asserts_before") {
  Variant naive{"naive", "", true};
  CHECK(expected_failure_reason(naive, build(0x030E0000, false)).find("naive") == 0);

  Variant after{"after", "", false, 0x030E0000};
  CHECK(expected_failure_reason(after, build(0x030D0FF0, false)).find("fixed in 3.14") !=
        std::string::npos);
  CHECK(expected_failure_reason(after, build(0x030E00F0, false)).empty());

  Variant during{"during", "", false, 0, 0x030E0000};
  CHECK(expected_failure_reason(during, build(0x030D0FF0, false)).empty());
  std::string why = expected_failure_reason(during, build(0x030D0FF0, true));
  CHECK(why.find("debug builds before 3.14 fail an assertion") != std::string::npos);
  CHECK(expected_failure_reason(during, build(0x030E00F0, true)).empty());
}

TEST_CASE("requirements: free-threaded only, minimum version") {
  ScenarioInfo info;
  info.requires_.gil = GilMode::free_threaded_only;
  info.requires_.min_version = 0x030D0000;
  CHECK(not_applicable_reason(info, build(0x030D0FF0, false, true)).empty());
  CHECK(not_applicable_reason(info, build(0x030D0FF0, false, false)).find("free-threaded") !=
        std::string::npos);
  BuildInfo old = build(0x030B02F0, false, true);
  old.version = "3.11.2";
  CHECK(not_applicable_reason(info, old) == "needs Python >= 3.13, this is 3.11.2");
}
