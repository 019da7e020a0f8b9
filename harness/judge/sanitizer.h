// ThreadSanitizer reports: how the reports a trial wrote are parsed into one
// deduplicated signature (what the supervisor sets up for a TSAN run is in
// harness/run/tsan_setup.h).
//
// Every report kind (data race, heap-use-after-free, lock-order-inversion,
// signal-unsafe call inside of a signal, thread leak, ...) becomes outcome
// `sanitizer`. Its signature names the report kind and the top frame of each
// stack that took part (the two racing accesses, the mutexes acquired in
// opposite orders), runtime and allocator frames left out, sorted so that it
// does not depend on which thread happened to go first:
//
//   ThreadSanitizer: data race in gilrace_selftest_tsan_load <-> gilrace_selftest_tsan_store
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gilrace {

namespace tsan {

// How much longer --timeout and --stall are by default on a ThreadSanitizer build (an
// embedded interpreter importing asyncio took 10-16 s there with the machine loaded).
constexpr double kTsanSlowdown = 5;

struct Frame {
  std::string function;  // as symbolised, parameters dropped; "module+0x..." when unknown
  std::string location;  // "file:line:col", or "" when unknown
  std::string module;    // "gilrace", "libpython3.13t.so.1.0", ...
  bool runtime = false;  // a sanitizer runtime frame (interceptor, __tsan_*)
};

struct Stack {
  std::string header;  // "Write of size 4 at 0x... by thread T2:", "" for a bare stack
  std::vector<Frame> frames;
};

struct Report {
  std::string kind;  // "data race", "lock-order-inversion (potential deadlock)", ...
  std::vector<Stack> stacks;
  std::string summary;  // "SUMMARY: ThreadSanitizer: data race file:line in fn"
  std::string text;     // the report as printed, between its ===== lines
  std::string signature;
};

// Every report in a sanitizer log (one or more tsan.<pid> files run together), in order.
std::vector<Report> parse_reports(std::string_view log);

// The part of a report that identifies it (see the file comment).
std::string signature_of(const Report& r);

// The first function of a stack that is neither the sanitizer's runtime nor an allocator
// wrapper, or "" when there is none (a stack TSAN could not restore).
std::string top_frame(const Stack& s);

// ThreadSanitizer could not start in the child at all ("FATAL: ThreadSanitizer: unexpected
// memory mapping", ...): the line it printed, or nullopt.
std::optional<std::string> find_startup_failure(std::string_view text);

// One line explaining a ThreadSanitizer startup failure and its fix, from the kernel's
// vm.mmap_rnd_bits (-1: unknown).
std::string startup_failure_advice(int mmap_rnd_bits);

// /proc/sys/vm/mmap_rnd_bits, or -1 when it cannot be read.
int read_mmap_rnd_bits();

// Why ThreadSanitizer built by `compiler` ("Clang 14.0.6", "GNU 12.2.0") cannot start on a
// kernel with this many bits of mmap randomisation, or "" when it can: before LLVM 18 the
// runtime supports 28 bits on x86-64 Linux; LLVM 18 re-executes itself without ASLR.
std::string mmap_rnd_bits_problem(int mmap_rnd_bits, std::string_view compiler);

}  // namespace tsan
}  // namespace gilrace
