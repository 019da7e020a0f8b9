// Classifies a finished trial from the outside: exit status, signal, what it
// printed, the sanitizer's report and why the supervisor stopped it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gilrace {

enum class Outcome {
  pass,
  crash,
  fatal_error,
  assertion,
  sanitizer,
  deadlock,
  timeout,
  error,
  skipped
};

std::string_view outcome_name(Outcome o);
std::optional<Outcome> outcome_from_name(std::string_view name);
// Everything but pass and skipped.
bool is_failure(Outcome o);

// The exit code a sanitizer is told to use, so a report is recognised even
// when its text was lost.
constexpr int kSanitizerExitCode = 66;

struct Evidence {
  bool stalled = false;    // killed: no heartbeat within --stall
  bool timed_out = false;  // killed: still running at --timeout
  int exit_code = -1;      // when it exited
  int signal = 0;          // when a signal ended it
  bool has_result = false;
  std::string result_status;  // pass, error, skipped
  std::string result_message;
  std::string stderr_text;    // head and tail of stderr
  std::string stacks;         // faulthandler and native stacks
  std::string sanitizer_log;  // what the sanitizer wrote to its log_path (tsan.<pid> files)
};

struct Classification {
  Outcome outcome;
  std::string signature;  // empty for pass and skipped
  std::string detail;
};

Classification classify(const Evidence& e);

// Pieces of classify, exposed for tests.
std::string signal_name(int sig);
std::optional<std::string> find_fatal_error(std::string_view text);
std::optional<std::string> find_assertion(std::string_view text);
std::optional<std::string> find_sanitizer_report(std::string_view text);
// The first few telling function names of the crashing thread's native stack.
std::string top_frames(std::string_view stacks, int count = 3);

// "crash: SIGSEGV in f < g" for people; a signature that already opens with its
// outcome ("deadlock: f | g", "timeout") is shown once, not as "deadlock: deadlock: ...".
std::string outcome_and_signature(std::string_view outcome, std::string_view signature);
// For a deadlock: where each thread of a gdb `thread apply all bt` chose to
// wait, e.g. "2x gilrace_selftest_lock_second | std::thread::join".
std::string deadlock_wait_sites(std::string_view gdb_output);
// A C++ symbol demangled, without its parameter list.
std::string demangle(std::string_view symbol);

}  // namespace gilrace
