// The child side of a trial: starts CPython (unless the scenario owns its
// lifecycle), runs the scenario, reports back over the message pipe, and ends
// the process without running destructors that could race leftover threads.
#pragma once

#include "harness/run/registry.h"
#include "harness/run/trial.h"

namespace gilrace {

// File descriptors the supervisor hands every child.
constexpr int kMessageFd = 3;
constexpr int kStacksFd = 4;

// Exit codes of a child whose scenario finished normally.
constexpr int kExitPass = 0;
constexpr int kExitError = 3;
constexpr int kExitSkipped = 4;

// Runs one trial in this process and returns its exit code. message_fd < 0
// means the foreground (replay): the result is printed instead of sent.
int run_trial(const RegisteredScenario& scenario, const TrialSpec& spec, int message_fd,
              int stacks_fd);

}  // namespace gilrace
