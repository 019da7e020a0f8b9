// The trial's handler for fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT).
//
// It writes the crashing thread's native stack, then ends the process with the same
// signal, so the supervisor still sees what killed it:
//
//   gilrace: SIGSEGV (signal 11) on thread 4242
//   Native stack of the crashing thread (most recent call first):
//   /path/gilrace(+0x2a7f0)[0x55d5c0a2a7f0]
//   /lib/x86_64-linux-gnu/libc.so.6(+0x3c050)[0x7f3e1c03c050]
//   /path/gilrace(+0x4b1d2)[0x55d5c0a4b1d2] interrupted
//   ...
//
// one line per frame: the module, the address's offset in it (what addr2line wants)
// and the address. "interrupted" marks a frame a signal stopped: its address is the
// instruction itself, where every other one is a return address. The frames above
// it are signal handlers. Naming the frames is the supervisor's job (symbolize.h):
// the handler only makes async-signal-safe calls (write, open and read of
// /proc/self/maps, sigaction, raise) and the unwinder, which was linked rather than
// loaded (glibc's backtrace() dlopens libgcc_s on first use) and warmed up at
// install. Each frame is written as soon as it is found, so a stack too corrupted to
// unwind keeps the frames read before the damage.
//
// A second fault on the thread already in the handler (the unwinder reading a
// smashed frame) takes the default action at once; other threads that crash
// meanwhile wait for the first one to end the process, so dumps never interleave.
#pragma once

namespace gilrace {

// Writes dumps to fd (the stacks memfd, or stderr in the foreground). Installed
// before faulthandler, which runs first and then hands the signal on to it. Also
// gives the calling thread an alternate signal stack (signal_stack.h).
void install_crash_handler(int fd);

}  // namespace gilrace
