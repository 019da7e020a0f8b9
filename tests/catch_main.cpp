// The test programs' main: Catch2's, plus one test case by name and skips.
//
// CTest runs each TEST_CASE in its own process (tests/CMakeLists.txt registers them by name,
// passed here with --gilrace-case NAME), so each is counted on its own. A test case that
// cannot run on this build calls GILRACE_SKIP (tests/skip.h); when nothing failed the program
// then exits 77, which CTest reports as skipped.
#include <cctype>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#if GILRACE_CATCH3
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include "tests/skip.h"

namespace {

bool skipped = false;

// Catch reads , [ ] " ~ \ in a test spec as syntax: escaped, the name matches only itself.
std::string exact_name_spec(std::string_view name) {
  std::string spec;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != ' ') spec += '\\';
    spec += c;
  }
  return spec;
}

}  // namespace

void gilrace::test::skip(const std::string& reason) {
  std::printf("gilrace-skip: %s\n", reason.c_str());
  std::fflush(stdout);
  skipped = true;
}

int main(int argc, char** argv) {
  std::vector<char*> args;
  std::string only;
  for (int i = 0; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--gilrace-case" && i + 1 < argc)
      only = argv[++i];  // given apart: a name may start with '-', which Catch reads as an option
    else
      args.push_back(argv[i]);
  }
  Catch::Session session;
  if (int rc = session.applyCommandLine(static_cast<int>(args.size()), args.data())) return rc;
  if (!only.empty()) {
    session.configData().testsOrTags = {exact_name_spec(only)};
#if !GILRACE_CATCH3
    // A name that matches no test case fails (Catch2 3 always does).
    session.configData().warnings = Catch::WarnAbout::NoTests;
#endif
  }
  int rc = session.run();
  return rc == 0 && skipped ? gilrace::test::kSkipExitCode : rc;
}
