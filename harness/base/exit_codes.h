// gilrace's exit codes, as documented in the README.
#pragma once

namespace gilrace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // a failure reproduced (with --bisect: bad)
constexpr int kExitUsage = 2;
constexpr int kExitCannotTest = 125;  // --bisect: this build cannot answer
constexpr int kExitInterrupted = 130;

}  // namespace gilrace
