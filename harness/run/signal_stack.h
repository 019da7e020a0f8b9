// Alternate signal stacks, so that the crash handler (and faulthandler's) can run
// on a thread whose own stack is exhausted: without one, the kernel cannot deliver
// the SIGSEGV of a stack overflow and kills the process with no dump at all.
//
// The driver gives the trial's main thread one. Every other thread gets one as it
// starts: gilrace's executable defines pthread_create, which the dynamic linker
// finds before libc's for every caller in the process (scenarios' std::thread,
// CPython's threading module, extension modules), and which starts the thread on
// a trampoline that installs the stack before the thread's own function runs.
// A helper each scenario would have to call in each of its threads would miss the
// threads CPython and libraries create, where C stack overflows happen too.
//
// Not under ThreadSanitizer: its runtime intercepts pthread_create itself (as a
// weak symbol that this definition would silently replace) and handles fatal
// signals on its own.
#pragma once

namespace gilrace {

// Gives the calling thread an alternate signal stack for the rest of its life,
// unless it has one. Call at thread start, not from a signal handler.
void ensure_signal_stack();

}  // namespace gilrace
