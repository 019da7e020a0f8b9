// Which variants a build is expected to fail, and which scenarios do not apply:
// what `run --all` leaves out and what `list` says, from the build's facts alone.
#include "harness/run/build_info.h"
#include "harness/run/registry.h"
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

TEST_CASE("version_text writes pre-releases and micro bounds as people do") {
  CHECK(version_text(0x030E0000) == "3.14");
  CHECK(version_text(0x030D0800) == "3.13.8");
  CHECK(version_text(0x030F00A1) == "3.15.0a1");
  CHECK(version_text(0x030E00C2) == "3.14.0rc2");
  CHECK(version_text(0x030E07F0) == "3.14.7");
}

TEST_CASE("expected failures: naive, known failures by version range and flavour") {
  Variant naive{"naive", "", true};
  CHECK(expected_failure_reason(naive, build(0x030E0000, false)).find("naive") == 0);

  // Fixed in a pre-release: compared by the full hexversion, so 3.15.0a1 is before b1.
  Variant after{"after", "", false, {{"python/cpython#124619", 0, 0x030F00B1}}};
  std::string why = expected_failure_reason(after, build(0x030E07F0, false));
  CHECK(why.find("python/cpython#124619 (fixed in 3.15.0b1)") == 0);
  CHECK(!expected_failure_reason(after, build(0x030F00A1, false)).empty());
  CHECK(expected_failure_reason(after, build(0x030F00B1, false)).empty());
  CHECK(expected_failure_reason(after, build(0x030F00C1, true, true)).empty());

  // An open bug of free-threaded builds from 3.14 on.
  Variant ft{"ft", "", false, {{"python/cpython#1", 0x030E0000, 0, GilMode::free_threaded_only}}};
  CHECK(expected_failure_reason(ft, build(0x030D0FF0, false, true)).empty());
  CHECK(expected_failure_reason(ft, build(0x030E07F0, false, false)).empty());
  CHECK(expected_failure_reason(ft, build(0x030F00C1, false, true)).find("(open upstream)") !=
        std::string::npos);

  // A naive pattern that breaks only without the GIL.
  Variant ft_naive{"naive", "", true, {{"cython/cython#6663", 0, 0, GilMode::free_threaded_only}}};
  CHECK(expected_failure_reason(ft_naive, build(0x030D0FF0, false, true)).find("naive") == 0);
  CHECK(expected_failure_reason(ft_naive, build(0x030D0FF0, false, false)).empty());

  // A debug-build assertion: release builds of the same version pass.
  Variant during{"during", "", false, {{"python/cpython#131012", 0, 0, GilMode::any, true}}};
  CHECK(expected_failure_reason(during, build(0x030D0FF0, false)).empty());
  why = expected_failure_reason(during, build(0x030D0FF0, true));
  CHECK(why.find("python/cpython#131012, an assertion of CPython's debug builds") == 0);
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
