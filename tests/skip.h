// A test case that cannot run on this build says so, and CTest counts it as skipped
// (Catch2 2.x has no SKIP of its own; tests/catch_main.cpp turns this into exit code 77).
#pragma once

#include <string>

namespace gilrace::test {

// The exit code of a test program whose test case skipped and failed nothing: CTest's
// SKIP_RETURN_CODE (tests/CMakeLists.txt).
constexpr int kSkipExitCode = 77;

// Prints "gilrace-skip: <reason>", which scripts/test.sh shows next to the test's name.
void skip(const std::string& reason);

}  // namespace gilrace::test

// Ends the test case: this build cannot check the rest. Checks made before it still count, so
// a failure before the skip is still a failure.
#define GILRACE_SKIP(reason)       \
  do {                             \
    ::gilrace::test::skip(reason); \
    return;                        \
  } while (0)
