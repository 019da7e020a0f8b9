#include "harness/judge/sanitizer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "harness/base/parse.h"
#include "harness/base/text.h"

namespace gilrace::tsan {

namespace {

// "gilrace::(anonymous namespace)::f(int) const" -> "gilrace::{anon}::f": a signature must
// not change when a parameter type is spelled differently.
std::string normalise_function(std::string_view fn) {
  std::string s(fn);
  for (std::size_t at; (at = s.find("(anonymous namespace)")) != std::string::npos;)
    s.replace(at, 21, "{anon}");
  if (auto paren = s.find('('); paren != std::string::npos && paren > 0) s.resize(paren);
  return std::string(trim(s));
}

bool is_interceptor_name(std::string_view fn) {
  static constexpr std::array<std::string_view, 5> prefixes = {"pthread_", "sem_", "__cxa_guard_",
                                                               "operator new", "operator delete"};
  for (auto p : prefixes)
    if (starts_with(fn, p)) return true;
  static constexpr std::array<std::string_view, 30> names = {
      "malloc",   "calloc",    "realloc", "free",      "posix_memalign", "aligned_alloc",
      "memalign", "valloc",    "memcpy",  "memmove",   "memset",         "memcmp",
      "strlen",   "strcpy",    "strncpy", "strcmp",    "strncmp",        "strdup",
      "usleep",   "nanosleep", "sleep",   "write",     "read",           "close",
      "fflush",   "raise",     "kill",    "sigaction", "signal",         "__cxa_atexit"};
  return std::find(names.begin(), names.end(), fn) != names.end();
}

// "    #3 fn /path/file.c:12:5 (module+0x1234)" (ThreadSanitizer's format) or
// "    #3 0x7f00 in fn /path/file.c:12:5 (module+0x1234)" (AddressSanitizer's).
std::optional<Frame> parse_frame(std::string_view line) {
  std::string_view s = trim(line);
  if (s.size() < 2 || s[0] != '#' || !std::isdigit(static_cast<unsigned char>(s[1])))
    return std::nullopt;
  std::size_t sp = s.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  s = trim(s.substr(sp + 1));
  if (starts_with(s, "0x")) {
    std::size_t in = s.find(" in ");
    s = in == std::string_view::npos
            ? s.substr(s.find(' ') == std::string_view::npos ? s.size() : s.find(' ') + 1)
            : s.substr(in + 4);
  }
  // LLVM 14 ends each frame with " (BuildId: <hex>)" after the module.
  if (auto b = s.rfind(" (BuildId: "); b != std::string_view::npos && s.back() == ')')
    s = trim(s.substr(0, b));
  Frame f;
  std::string offset;
  if (!s.empty() && s.back() == ')') {
    std::size_t open = s.rfind(" (");
    if (open != std::string_view::npos || s.front() == '(') {
      std::size_t start = open == std::string_view::npos ? 0 : open + 1;
      std::string_view mod = s.substr(start + 1, s.size() - start - 2);
      std::size_t plus = mod.rfind('+');
      f.module = std::string(plus == std::string_view::npos ? mod : mod.substr(0, plus));
      if (plus != std::string_view::npos) offset = std::string(mod.substr(plus + 1));
      if (auto slash = f.module.rfind('/'); slash != std::string::npos)
        f.module = f.module.substr(slash + 1);
      s = trim(s.substr(0, open == std::string_view::npos ? 0 : open));
    }
  }
  std::size_t last = s.rfind(' ');
  std::string_view fn = s, loc;
  if (last != std::string_view::npos) {
    loc = s.substr(last + 1);
    // "file.c:12:5", "<null>", or an object file ("tsan_interceptors_posix.cpp.o").
    if (loc == "<null>" || contains(loc, ":") || contains(loc, "/") ||
        (loc.size() > 2 && loc.substr(loc.size() - 2) == ".o")) {
      fn = trim(s.substr(0, last));
    } else {
      loc = {};
    }
  }
  f.location = loc == "<null>" ? "" : std::string(loc);
  if (fn.empty() || fn == "<null>")
    f.function = f.module.empty() ? "?" : f.module + "+" + offset;
  else
    f.function = normalise_function(fn);

  static constexpr std::array<std::string_view, 6> runtime_prefixes = {
      "__tsan", "__interceptor_", "___interceptor_", "__sanitizer", "__asan", "__ubsan"};
  for (auto p : runtime_prefixes) f.runtime |= starts_with(f.function, p);
  for (auto p : {"/compiler-rt/lib/", "/sanitizer_common/", "/tsan/rtl/", "/libsanitizer/"})
    f.runtime |= contains(f.location, p);
  // An object file instead of a source line: the runtime, built without line tables
  // ("__tsan::CallUserSignalHandler(...) tsan_interceptors_posix.cpp.o").
  f.runtime |= f.location.size() > 2 && f.location.substr(f.location.size() - 2) == ".o" &&
               f.location.find(':') == std::string::npos;
  for (auto p : {"libtsan.so", "libclang_rt.tsan", "libasan.so", "libclang_rt.asan"})
    f.runtime |= starts_with(f.module, p);
  // The runtime linked into the binary has no line tables (Debian's clang): its interceptors
  // show as "pthread_mutex_lock <null> (gilrace+0x...)". Their names are libc's.
  f.runtime |= f.location.empty() && is_interceptor_name(f.function);
  return f;
}

// Frames that say where, not who: CPython's and mimalloc's allocation functions (a
// use-after-free's "previous write" is the free: whoever freed is the telling frame), and
// CPython's inline atomic and reference-count helpers (whoever called them is).
bool is_wrapper(const std::string& fn) {
  static constexpr std::array<std::string_view, 9> prefixes = {
      "PyMem_",        "_PyMem_",          "mi_",        "_mi_", "_PyObject_Mi", "PyObject_Malloc",
      "PyObject_Free", "PyObject_Realloc", "_Py_atomic_"};
  for (auto p : prefixes)
    if (starts_with(fn, p)) return true;
  for (auto n : {"_PyObject_Malloc",
                 "_PyObject_Calloc",
                 "_PyObject_Realloc",
                 "_PyObject_Free",
                 "PyObject_Calloc",
                 "malloc",
                 "calloc",
                 "realloc",
                 "free",
                 "operator new",
                 "operator delete",
                 "Py_INCREF",
                 "Py_DECREF",
                 "Py_XINCREF",
                 "Py_XDECREF",
                 "_Py_IsImmortal",
                 "_Py_IsOwnedByCurrentThread",
                 "_Py_ThreadId",
                 "Py_TYPE",
                 "Py_SIZE",
                 "Py_REFCNT",
                 "_Py_REFCNT"})
    if (fn == n) return true;
  return false;
}

enum class Role { access, acquire, bare, creation, other };

Role role_of(const Stack& s) {
  static const std::regex access(R"(^(Previous )?(atomic )?(read|write) of size)",
                                 std::regex::icase);
  if (s.header.empty() || s.header == "and:") return Role::bare;
  if (std::regex_search(s.header, access)) return Role::access;
  if (contains(s.header, " acquired here while holding mutex ")) return Role::acquire;
  if (starts_with(s.header, "Thread T") && contains(s.header, " created by "))
    return Role::creation;
  return Role::other;
}

bool is_frame_line(std::string_view line) {
  std::string_view t = trim(line);
  return t.size() >= 2 && t[0] == '#' && std::isdigit(static_cast<unsigned char>(t[1]));
}

}  // namespace

std::string top_frame(const Stack& s) {
  const Frame* first = nullptr;
  for (const Frame& f : s.frames) {
    if (f.runtime) continue;
    if (!first) first = &f;
    if (!is_wrapper(f.function)) return f.function;
  }
  return first ? first->function : "";
}

std::vector<Report> parse_reports(std::string_view log) {
  static const std::string_view kWarning = "WARNING: ThreadSanitizer: ";
  std::vector<Report> out;
  Report* r = nullptr;
  bool in_stack = false;  // the last line was a frame or a header of the current stack
  std::vector<std::string_view> lines = lines_of(log);
  std::size_t report_start = 0;
  auto finish = [&](std::size_t end_line) {
    if (!r) return;
    std::string text;
    for (std::size_t i = report_start; i < end_line && i < lines.size(); ++i)
      text.append(lines[i]).push_back('\n');
    r->text = std::move(text);
    r->signature = signature_of(*r);
    r = nullptr;
  };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (auto w = line.find(kWarning); w != std::string_view::npos) {
      finish(i);
      out.emplace_back();
      r = &out.back();
      report_start = i;
      std::string_view kind = line.substr(w + kWarning.size());
      if (auto pid = kind.find(" (pid="); pid != std::string_view::npos) kind = kind.substr(0, pid);
      r->kind = std::string(trim(kind));
      in_stack = false;
      continue;
    }
    if (!r) continue;
    std::string_view t = trim(line);
    if (starts_with(t, "SUMMARY: ")) {
      r->summary = std::string(t);
      finish(i + 1);
      continue;
    }
    if (starts_with(t, "==================")) {
      finish(i);
      continue;
    }
    if (t.empty()) {
      in_stack = false;
      continue;
    }
    if (is_frame_line(t)) {
      auto f = parse_frame(t);
      if (!f) continue;
      if (!in_stack || r->stacks.empty()) r->stacks.push_back({});
      r->stacks.back().frames.push_back(std::move(*f));
      in_stack = true;
      continue;
    }
    if (t == "[failed to restore the stack]") {
      if (!in_stack || r->stacks.empty()) r->stacks.push_back({});
      in_stack = true;
      continue;
    }
    // A header: "Write of size 4 at ... by thread T1:", "Mutex M0 (0x...) created at:", ...
    std::string header(t);
    static const std::regex addresses(R"(( at)? \(?0x[0-9a-f]+\)?)");
    header = std::regex_replace(header, addresses, "");
    r->stacks.push_back({std::move(header), {}});
    in_stack = true;
  }
  finish(lines.size());
  return out;
}

std::string signature_of(const Report& r) {
  std::vector<std::string> frames;
  auto take = [&](Role want, std::size_t max) {
    for (const Stack& s : r.stacks) {
      if (frames.size() >= max) break;
      if (role_of(s) != want) continue;
      std::string f = top_frame(s);
      frames.push_back(f.empty() ? "?" : f);
    }
  };
  if (contains(r.kind, "lock-order-inversion")) {
    take(Role::acquire, 4);
  } else {
    take(Role::access, 2);
    if (frames.empty()) take(Role::bare, 2);
    if (frames.empty()) take(Role::creation, 1);
  }
  if (frames.empty()) {
    for (const Stack& s : r.stacks) {
      std::string f = top_frame(s);
      if (!f.empty()) {
        frames.push_back(f);
        break;
      }
    }
  }
  // Only frames nobody could restore: no better than the report's first line.
  if (std::all_of(frames.begin(), frames.end(), [](const auto& f) { return f == "?"; }))
    frames.clear();
  std::sort(frames.begin(), frames.end());
  std::string sig = "ThreadSanitizer: " + r.kind;
  for (std::size_t i = 0; i < frames.size(); ++i) sig += (i == 0 ? " in " : " <-> ") + frames[i];
  return sig;
}

std::optional<std::string> find_startup_failure(std::string_view text) {
  for (std::string_view line : lines_of(text)) {
    std::string_view t = trim(line);
    if (starts_with(t, "FATAL: ThreadSanitizer") || starts_with(t, "ThreadSanitizer: failed to") ||
        (starts_with(t, "ThreadSanitizer: CHECK failed: tsan_platform")))
      return std::string(t);
  }
  return std::nullopt;
}

int read_mmap_rnd_bits() {
  std::ifstream f("/proc/sys/vm/mmap_rnd_bits");
  int bits = -1;
  if (!(f >> bits)) return -1;
  return bits;
}

std::string startup_failure_advice(int bits) {
  std::string have = bits >= 0 ? fmt::format("vm.mmap_rnd_bits is {}", bits)
                               : std::string("vm.mmap_rnd_bits could not be read");
  return fmt::format(
      "ThreadSanitizer could not map its shadow memory ({}): fix with `sudo sysctl "
      "vm.mmap_rnd_bits=28`, or run gilrace under `setarch -R`",
      have);
}

std::string mmap_rnd_bits_problem(int bits, std::string_view compiler) {
  if (bits <= 28) return "";
  // "Clang 14.0.6", "Clang 18.1.3": LLVM 18 re-executes the process without ASLR.
  static const std::regex clang(R"(clang\s+(\d+))", std::regex::icase);
  std::string c(compiler);
  std::smatch m;
  if (std::regex_search(c, m, clang) && std::stoi(m[1].str()) >= 18) return "";
  return fmt::format(
      "vm.mmap_rnd_bits is {}: ThreadSanitizer built by {} fails at start with 'unexpected "
      "memory mapping' above 28; fix: sudo sysctl vm.mmap_rnd_bits=28 (or run under setarch -R)",
      bits, compiler.empty() ? std::string("this compiler") : c);
}

}  // namespace gilrace::tsan
