#include "harness/judge/outcome.h"

#include <cxxabi.h>
#include <fmt/format.h>

#include <array>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>
#include <vector>

#include "harness/judge/sanitizer.h"

namespace gilrace {

namespace {
constexpr std::array<std::string_view, 9> kNames = {"pass",      "crash",     "fatal_error",
                                                    "assertion", "sanitizer", "deadlock",
                                                    "timeout",   "error",     "skipped"};

std::string_view line_at(std::string_view text, std::size_t pos) {
  std::size_t start = text.rfind('\n', pos);
  start = start == std::string_view::npos ? 0 : start + 1;
  std::size_t end = text.find('\n', pos);
  if (end == std::string_view::npos) end = text.size();
  return text.substr(start, end - start);
}

std::string first_line(std::string_view s) {
  return std::string(s.substr(0, s.find('\n')));
}

// The last line of a Python traceback is the exception itself.
std::string last_nonempty_line(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  std::size_t nl = s.rfind('\n');
  return std::string(nl == std::string_view::npos ? s : s.substr(nl + 1));
}
}  // namespace

std::string_view outcome_name(Outcome o) {
  return kNames[static_cast<std::size_t>(o)];
}

std::optional<Outcome> outcome_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<Outcome>(i);
  return std::nullopt;
}

bool is_failure(Outcome o) {
  return o != Outcome::pass && o != Outcome::skipped;
}

std::string signal_name(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGABRT:
      return "SIGABRT";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGKILL:
      return "SIGKILL";
    case SIGTERM:
      return "SIGTERM";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGSYS:
      return "SIGSYS";
    case SIGPIPE:
      return "SIGPIPE";
    default:
      return fmt::format("signal {}", sig);
  }
}

std::optional<std::string> find_fatal_error(std::string_view text) {
  // "Fatal Python error: PyGILState_Release: thread state ... must be current"
  auto pos = text.find("Fatal Python error: ");
  if (pos == std::string_view::npos) return std::nullopt;
  return std::string(line_at(text, pos).substr(0));
}

std::optional<std::string> find_assertion(std::string_view text) {
  // glibc: "prog: Objects/listobject.c:123: list_repr: Assertion `x' failed."
  static const std::regex glibc(R"(([^\s:]+):\d+: ([^:]+): Assertion [`'](.*)' failed\.)");
  std::match_results<std::string_view::const_iterator> m;
  if (std::regex_search(text.begin(), text.end(), m, glibc)) {
    std::string file = m[1].str();
    if (auto slash = file.rfind('/'); slash != std::string::npos) file = file.substr(slash + 1);
    return fmt::format("{}: {}: Assertion `{}' failed", file, m[2].str(), m[3].str());
  }
  // CPython's _PyObject_AssertFailed: "Objects/object.c:123: _Py_Dealloc: Assertion "..." failed"
  static const std::regex cpython(R"(([^\s:]+):\d+: ([^:]+): Assertion \"(.*)\" failed)");
  if (std::regex_search(text.begin(), text.end(), m, cpython)) {
    std::string file = m[1].str();
    if (auto slash = file.rfind('/'); slash != std::string::npos) file = file.substr(slash + 1);
    return fmt::format("{}: {}: Assertion \"{}\" failed", file, m[2].str(), m[3].str());
  }
  return std::nullopt;
}

std::optional<std::string> find_sanitizer_report(std::string_view text) {
  for (std::string_view marker : {"WARNING: ThreadSanitizer: ", "ERROR: AddressSanitizer: ",
                                  "ERROR: ThreadSanitizer: ", "runtime error: "}) {
    auto pos = text.find(marker);
    if (pos == std::string_view::npos) continue;
    std::string line(line_at(text, pos));
    // Drop the pid and addresses: "WARNING: ThreadSanitizer: data race (pid=123)".
    static const std::regex noise(R"( \(pid=\d+\)| 0x[0-9a-f]+)");
    return std::regex_replace(line, noise, "");
  }
  return std::nullopt;
}

std::string demangle(std::string_view symbol) {
  std::string s(symbol);
  int status = 0;
  char* d = abi::__cxa_demangle(s.c_str(), nullptr, nullptr, &status);
  if (status == 0 && d) {
    s = d;
    std::free(d);
  }
  // Keep "ns::Class::method", drop the parameter list: signatures must not
  // change when a signature's types are spelled differently.
  for (std::size_t at; (at = s.find("(anonymous namespace)")) != std::string::npos;)
    s.replace(at, 21, "{anon}");
  if (auto paren = s.find('('); paren != std::string::npos && paren > 0) s.resize(paren);
  return s;
}

namespace {
// Frames of the harness itself and of signal delivery say nothing about the failure.
bool is_noise_frame(const std::string& fn) {
  static const char* const noise[] = {"gilrace::run_trial",
                                      "gilrace::cli_main",
                                      "main",
                                      "__libc_start_main",
                                      "__libc_start_main_impl",
                                      "__libc_start_call_main",
                                      "_start",
                                      "raise",
                                      "abort",
                                      "gsignal",
                                      "pthread_kill",
                                      "__pthread_kill_implementation",
                                      "__pthread_kill_internal",
                                      "__restore_rt",
                                      "killpg"};
  // Names from libc's debug information carry its internal prefix: __GI_raise.
  std::string_view plain = std::string_view(fn).substr(fn.rfind("__GI_", 0) == 0 ? 5 : 0);
  for (const char* n : noise)
    if (plain == n) return true;
  return fn.find("crash_handler") != std::string::npos ||
         fn.find("run_guarded") != std::string::npos || fn.find("cmd_trial") != std::string::npos;
}
}  // namespace

std::string outcome_and_signature(std::string_view outcome, std::string_view signature) {
  if (signature.substr(0, outcome.size()) == outcome) return std::string(signature);
  return fmt::format("{}: {}", outcome, signature);
}

std::string top_frames(std::string_view stacks, int count) {
  // The crash handler's lines (harness/run/crash_handler.h) after a marker line, once the
  // supervisor named them: "module(function)(+0x1f2e3)[0x...]", " interrupted" after
  // the frame a signal stopped. Frames without a name are skipped.
  auto start = stacks.find("Native stack of the crashing thread");
  if (start == std::string_view::npos) return "";
  std::vector<std::string> frames;
  std::size_t pos = stacks.find('\n', start);
  while (pos != std::string_view::npos) {
    std::size_t end = stacks.find('\n', pos + 1);
    std::string_view line =
        stacks.substr(pos + 1, (end == std::string_view::npos ? stacks.size() : end) - pos - 1);
    pos = end;
    if (line.empty()) break;
    // Above the frame a signal interrupted are the handlers that ran for the signal
    // (ours, and faulthandler's, which a debug libpython names): none is the failure.
    constexpr std::string_view kInterrupted = " interrupted";
    if (line.size() > kInterrupted.size() &&
        line.substr(line.size() - kInterrupted.size()) == kInterrupted)
      frames.clear();
    // Also "module(function+0x1a)[...]", as glibc's backtrace_symbols_fd writes.
    auto open = line.find('(');
    auto stop = line.find_first_of("+)", open);
    if (open == std::string_view::npos || stop == std::string_view::npos || stop == open + 1)
      continue;
    std::string fn = demangle(line.substr(open + 1, stop - open - 1));
    if (fn == "__restore_rt") frames.clear();
    if (is_noise_frame(fn)) continue;
    if (!frames.empty() && frames.back() == fn) continue;
    frames.push_back(fn);
  }
  if (static_cast<int>(frames.size()) > count) frames.resize(count);
  std::string out;
  for (const auto& f : frames) out += (out.empty() ? "" : " < ") + f;
  return out;
}

namespace {
// Frames that say "this thread is blocked" but not on what: skipped to find
// the frame that chose to wait.
bool is_wait_primitive(const std::string& fn) {
  // clang-format off
  static const char* const prefixes[] = {
      "futex", "__futex", "__lll_", "lll_", "___pthread_", "__pthread_", "pthread_",
      "__GI_", "__new_sem", "do_futex", "sem_", "__gthread", "std::mutex::lock",
      "std::__condvar", "std::condition_variable", "std::unique_lock", "std::lock_guard",
      "syscall", "__syscall", "clock_nanosleep", "__clock_nanosleep", "nanosleep", "__nanosleep",
      "__GI___poll", "poll", "select", "epoll_wait", "_PySemaphore_", "_PyParkingLot_",
      "_PyMutex_LockTimed", "PyMutex_Lock", "_PyMutex_LockSlow", "PyCOND_", "PyMUTEX_",
      "PyThread_acquire_lock", "std::thread::join", "std::jthread::~jthread", "std::jthread::join",
      "??"};
  // clang-format on
  for (const char* p : prefixes)
    if (fn.rfind(p, 0) == 0) return true;
  return false;
}
}  // namespace

std::string deadlock_wait_sites(std::string_view gdb) {
  // Per thread ("Thread N (...):" then "#0 ... #k" lines), the first frame that
  // is not a wait primitive; the signature is the sorted multiset of those.
  static const std::regex frame(R"(^#\d+\s+(?:0x[0-9a-f]+ in )?(.+?) \()");
  std::map<std::string, int> sites;
  bool in_thread = false, found = false;
  std::size_t pos = 0;
  while (pos < gdb.size()) {
    std::size_t end = gdb.find('\n', pos);
    if (end == std::string_view::npos) end = gdb.size();
    std::string line(gdb.substr(pos, end - pos));
    pos = end + 1;
    if (line.rfind("Thread ", 0) == 0 && line.back() == ':') {
      in_thread = true;
      found = false;
      continue;
    }
    if (!in_thread || found || line.empty() || line[0] != '#') continue;
    std::smatch m;
    if (!std::regex_search(line, m, frame)) continue;
    std::string fn = m[1].str();
    if (is_wait_primitive(fn)) continue;
    // Thread entry points mean the thread waits on nothing in particular.
    if (fn == "start_thread" || fn == "clone" || fn == "clone3" || fn == "__clone3") {
      found = true;
      continue;
    }
    if (fn.size() > 120) fn = fn.substr(0, 117) + "...";
    ++sites[fn];
    found = true;
  }
  std::string out;
  for (const auto& [fn, n] : sites)
    out += (out.empty() ? "" : " | ") + (n > 1 ? std::to_string(n) + "x " : "") + fn;
  return out;
}

Classification classify(const Evidence& e) {
  const std::string& err = e.stderr_text;
  auto with_frames = [&](std::string sig) {
    std::string frames = top_frames(e.stacks);
    return frames.empty() ? sig : sig + " in " + frames;
  };

  if (e.stalled) {
    auto gdb = e.stacks.find("Native stacks of all threads (gdb):");
    std::string sites =
        gdb == std::string::npos ? "" : deadlock_wait_sites(std::string_view(e.stacks).substr(gdb));
    return {Outcome::deadlock, sites.empty() ? "deadlock" : "deadlock: " + sites,
            "no heartbeat within the stall timeout"};
  }
  if (e.timed_out) return {Outcome::timeout, "timeout", "still running at the hard timeout"};

  // ThreadSanitizer that could not start is this machine's problem, not a reproduction.
  for (const std::string* text : {&e.sanitizer_log, &err})
    if (auto fatal = tsan::find_startup_failure(*text))
      return {Outcome::error, "error: " + *fatal,
              *fatal + "\n" + tsan::startup_failure_advice(tsan::read_mmap_rnd_bits())};
  // Every report of the trial is kept in the detail; the first one names the trial.
  for (const std::string* text : {&e.sanitizer_log, &err}) {
    auto reports = tsan::parse_reports(*text);
    if (reports.empty() || reports.front().signature.find(" in ") == std::string::npos) continue;
    std::string detail = reports.front().text;
    if (reports.size() > 1) {
      detail += fmt::format("\n{} reports in this trial:\n", reports.size());
      for (const auto& r : reports) detail += "  " + r.signature + "\n";
    }
    return {Outcome::sanitizer, reports.front().signature, detail};
  }
  if (auto report = find_sanitizer_report(e.sanitizer_log))
    return {Outcome::sanitizer, *report, *report};
  if (auto report = find_sanitizer_report(err)) return {Outcome::sanitizer, *report, *report};
  if (e.exit_code == kSanitizerExitCode && !e.has_result)
    return {Outcome::sanitizer, "sanitizer exit code", "exited with the sanitizer's exit code"};

  bool hard_signal =
      e.signal == SIGSEGV || e.signal == SIGBUS || e.signal == SIGFPE || e.signal == SIGILL;
  if (!hard_signal && (e.signal || e.exit_code != 0)) {
    if (auto a = find_assertion(err)) return {Outcome::assertion, *a, *a};
    if (auto f = find_fatal_error(err)) return {Outcome::fatal_error, *f, *f};
  }
  if (e.signal) {
    std::string name = signal_name(e.signal);
    return {Outcome::crash, with_frames(name), "killed by " + name};
  }
  if (e.has_result) {
    if (e.result_status == "skipped") return {Outcome::skipped, "", e.result_message};
    if (e.result_status == "error")
      return {Outcome::error, "error: " + last_nonempty_line(e.result_message), e.result_message};
    if (e.exit_code == 0) return {Outcome::pass, "", ""};
  }
  if (e.exit_code != 0) {
    std::string sig = fmt::format("exit code {}", e.exit_code);
    return {Outcome::crash, sig, sig + (e.has_result ? " after the scenario passed" : "")};
  }
  return {Outcome::error, "error: ended without a result",
          "the trial exited 0 without reporting a result" +
              (err.empty() ? std::string() : ": " + first_line(err))};
}

}  // namespace gilrace
