// Starting CPython the one way every trial does, and the harness's own
// built-in module `_gilrace` through which Python code reports progress.
#pragma once

namespace gilrace {

class Context;

// Registers `_gilrace` as a built-in module. Call before CPython starts.
void register_harness_module();

// Starts CPython with an isolated PyConfig (no environment, no user site,
// no site import, no Python signal handlers). The calling thread is attached
// on return. Throws ScenarioError if CPython refuses to start.
void init_python_isolated();

// Connects `_gilrace` to the trial's context and turns on faulthandler
// (crash dumps and a dump of all threads on SIGUSR1) writing to stacks_fd. Tells
// the supervisor once SIGUSR1 is registered, and again when finalisation frees
// `_gilrace`, just before it unregisters it (messages.h, `faulthandler`).
void attach_trial(Context& ctx, int stacks_fd);

}  // namespace gilrace
