// The command line: list, info, run, replay (and the hidden __trial that a
// supervisor re-executes itself with). Returns the process's exit code.
#pragma once

namespace gilrace {

// Exit codes, as documented in the README.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitCannotTest = 125;
constexpr int kExitInterrupted = 130;

int cli_main(int argc, char** argv);

}  // namespace gilrace
