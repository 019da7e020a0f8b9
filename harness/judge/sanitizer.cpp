#include "harness/judge/sanitizer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "harness/base/parse.h"
#include "harness/run/build_info.h"

extern char** environ;

namespace gilrace::tsan {

namespace fs = std::filesystem;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

bool contains(std::string_view s, std::string_view p) {
  return s.find(p) != std::string_view::npos;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

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

// --- TSAN_OPTIONS -------------------------------------------------------------------------

std::vector<std::pair<std::string, std::string>> parse_options(std::string_view s) {
  auto is_sep = [](char c) {
    return c == ' ' || c == ',' || c == ':' || c == '\n' || c == '\t' || c == '\r';
  };
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_sep(s[i])) ++i;
    if (i >= s.size()) break;
    std::size_t k = i;
    while (i < s.size() && s[i] != '=' && !is_sep(s[i])) ++i;
    std::string key(s.substr(k, i - k));
    std::string value;
    if (i < s.size() && s[i] == '=') {
      ++i;
      if (i < s.size() && (s[i] == '\'' || s[i] == '"')) {
        char q = s[i++];
        std::size_t v = i;
        while (i < s.size() && s[i] != q) ++i;
        value = std::string(s.substr(v, i - v));
        if (i < s.size()) ++i;
      } else {
        std::size_t v = i;
        while (i < s.size() && !is_sep(s[i])) ++i;
        value = std::string(s.substr(v, i - v));
      }
    }
    if (!key.empty()) out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

namespace {
std::string option(const std::string& key, const std::string& value) {
  bool plain = std::none_of(value.begin(), value.end(), [](char c) {
    return c == ' ' || c == ',' || c == ':' || c == '\n' || c == '\t' || c == '\'' || c == '"';
  });
  if (plain) return key + "=" + value;
  return key + "=" +
         (value.find('"') == std::string::npos ? "\"" + value + "\"" : "'" + value + "'");
}
}  // namespace

std::string build_options(const OptionSettings& s) {
  std::vector<std::pair<std::string, std::string>> opts = {{"halt_on_error", "0"},
                                                           {"second_deadlock_stack", "1"},
                                                           {"history_size", "4"},
                                                           {"atexit_sleep_ms", "0"}};
  if (!s.symbolizer.empty()) opts.emplace_back("external_symbolizer_path", s.symbolizer);
  for (auto& [k, v] : parse_options(s.user_options)) {
    if (k == "log_path" || k == "log_exe_name" || k == "log_to_syslog" || k == "exitcode" ||
        k == "suppressions")
      continue;
    opts.emplace_back(k, v);
  }
  opts.emplace_back("exitcode", "66");
  if (!s.suppressions.empty()) opts.emplace_back("suppressions", s.suppressions);
  if (s.halt_on_error) opts.emplace_back("halt_on_error", "1");
  // Keep the last value of each key, in the order keys first appeared.
  std::vector<std::pair<std::string, std::string>> merged;
  for (const auto& kv : opts) {
    auto it = std::find_if(merged.begin(), merged.end(),
                           [&](const auto& p) { return p.first == kv.first; });
    if (it == merged.end())
      merged.push_back(kv);
    else
      it->second = kv.second;
  }
  std::string out;
  for (auto& [k, v] : merged) out += (out.empty() ? "" : ":") + option(k, v);
  return out;
}

std::string user_suppressions_file(std::string_view user_options) {
  std::string file;
  for (auto& [k, v] : parse_options(user_options))
    if (k == "suppressions") file = v;
  return file;
}

std::string find_symbolizer() {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  std::stringstream ss(p);
  for (std::string dir; std::getline(ss, dir, ':');)
    if (!dir.empty() && ::access((dir + "/llvm-symbolizer").c_str(), X_OK) == 0) return "";
  std::vector<fs::path> found;
  std::error_code ec;
  for (const char* dir : {"/usr/lib", "/usr/bin"}) {
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (starts_with(name, "llvm-") && fs::is_directory(it->path()) &&
          ::access((it->path() / "bin/llvm-symbolizer").c_str(), X_OK) == 0)
        found.push_back(it->path() / "bin/llvm-symbolizer");
      else if (starts_with(name, "llvm-symbolizer-") && ::access(it->path().c_str(), X_OK) == 0)
        found.push_back(it->path());
    }
  }
  if (found.empty()) return "";
  std::sort(found.begin(), found.end());
  return found.back().string();
}

// --- suppressions -------------------------------------------------------------------------

std::string check_suppressions(std::string_view text, std::string_view path) {
  static constexpr std::array<std::string_view, 7> types = {
      "race", "race_top", "thread", "mutex", "signal", "deadlock", "called_from_lib"};
  int n = 0;
  for (std::string_view line : lines_of(text)) {
    ++n;
    std::string_view t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::size_t colon = t.find(':');
    std::string_view type = colon == std::string_view::npos ? t : t.substr(0, colon);
    if (colon == std::string_view::npos || colon + 1 >= t.size())
      return fmt::format("{}:{}: expected TYPE:PATTERN, got '{}'", path, n, t);
    if (std::find(types.begin(), types.end(), type) == types.end())
      return fmt::format(
          "{}:{}: unknown suppression type '{}' (ThreadSanitizer knows: race, "
          "race_top, thread, mutex, signal, deadlock, called_from_lib)",
          path, n, type);
  }
  return "";
}

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return "";
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string cache_root() {
  if (const char* c = std::getenv("GILRACE_CACHE"); c && *c) return c;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.cache/gilrace";
}

// `tar -xOf TARBALL --wildcards '*/MEMBER'`: the member's text, or "".
std::string extract_from_tarball(const std::string& tarball, const std::string& member) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return "";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::string pattern = "*/" + member;
  std::vector<std::string> args = {"tar", "-xOf", tarball, "--wildcards", pattern};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, "tar", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  std::string out;
  if (rc == 0) {
    char buf[8192];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (out.size() < (1u << 20)) out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fds[0]);
  int status = 0;
  if (rc == 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) out.clear();
  }
  return out;
}

}  // namespace

std::optional<SuppressionSource> cpython_suppressions(const BuildInfo& b) {
  const std::string name = b.free_threaded ? "suppressions_free_threading.txt" : "suppressions.txt";
  const std::string label = fmt::format("CPython {} (Tools/tsan/{})", b.version, name);
  auto from = [&](const fs::path& p) -> std::optional<SuppressionSource> {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return std::nullopt;
    return SuppressionSource{label, p.string(), read_text(p)};
  };
  if (!b.prefix.empty())
    if (auto s = from(fs::path(b.prefix) / "share/gilrace/tsan" / name)) return s;
  const auto& rec = b.build_record;
  if (!rec.is_object() || !rec.contains("source") || !rec["source"].is_object())
    return std::nullopt;
  const auto& src = rec["source"];
  std::string kind = src.value("kind", "");
  if (kind == "dir" && src.contains("path") && src["path"].is_string())
    return from(fs::path(src["path"].get<std::string>()) / "Tools/tsan" / name);
  if (kind != "apt" || !src.contains("tarball") || !src["tarball"].is_string()) return std::nullopt;
  // A prefix built before scripts/build-cpython.sh copied Tools/tsan: the source tarball is
  // still in the cache. Extracted once (xz is slow), then kept beside the cache's sources.
  std::string tarball = src["tarball"].get<std::string>();
  std::string sha = src.value("sha256", "");
  fs::path kept =
      fs::path(cache_root()) / "tsan-suppressions" / fmt::format("{}-{}", sha.substr(0, 16), name);
  if (auto s = from(kept)) return s;
  fs::path archive = fs::path(cache_root()) / "src/tarballs" / tarball;
  std::error_code ec;
  if (!fs::is_regular_file(archive, ec)) return std::nullopt;
  std::string text = extract_from_tarball(archive.string(), "Tools/tsan/" + name);
  if (text.empty()) return std::nullopt;
  fs::create_directories(kept.parent_path(), ec);
  fs::path tmp = kept;
  tmp += fmt::format(".tmp{}", ::getpid());
  { std::ofstream(tmp, std::ios::binary) << text; }
  fs::rename(tmp, kept, ec);
  if (ec) fs::remove(tmp, ec);
  return SuppressionSource{label, archive.string() + ":Tools/tsan/" + name, text};
}

std::optional<SuppressionSource> project_suppressions() {
  fs::path p = fs::path(GILRACE_SOURCE_DIR) / "scenarios/tsan.supp";
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  return SuppressionSource{"gilrace (scenarios/tsan.supp)", p.string(), read_text(p)};
}

std::string merge_suppressions(const std::vector<SuppressionSource>& sources) {
  std::string out = "# ThreadSanitizer suppressions of this gilrace run, merged\n";
  for (const auto& s : sources) {
    out += fmt::format("\n# ---- from {}: {}\n", s.label, s.path);
    out += s.text;
    if (!s.text.empty() && s.text.back() != '\n') out += '\n';
  }
  return out;
}

std::vector<SuppressionSource> read_user_suppressions(const std::vector<std::string>& files) {
  std::vector<SuppressionSource> out;
  for (const auto& f : files) {
    std::error_code ec;
    if (!fs::is_regular_file(f, ec) || ::access(f.c_str(), R_OK) != 0)
      throw UsageError(fmt::format("--suppressions {}: no such readable file", f));
    SuppressionSource s{"--suppressions", fs::absolute(f, ec).string(), read_text(f)};
    if (std::string why = check_suppressions(s.text, f); !why.empty())
      throw UsageError("--suppressions " + why);
    out.push_back(std::move(s));
  }
  return out;
}

std::string collect_logs(const std::string& dir, std::size_t cap) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec)) files.push_back(it->path());
  std::sort(files.begin(), files.end());
  std::string out;
  for (const auto& f : files) {
    if (files.size() > 1) out += fmt::format("==> {} <==\n", f.filename().string());
    out += read_text(f);
    if (out.size() > cap) {
      out.resize(cap);
      out += "\n[sanitizer log cut at " + std::to_string(cap) + " bytes]\n";
      break;
    }
  }
  fs::remove_all(dir, ec);
  return out;
}

RunSetup::RunSetup(const BuildInfo& b, std::vector<SuppressionSource> user_files,
                   bool halt_on_error) {
  std::error_code ec;
  std::string tmpl = (fs::temp_directory_path(ec) / "gilrace-tsan-XXXXXX").string();
  if (!::mkdtemp(tmpl.data()))
    throw UsageError(fmt::format("cannot create a folder for ThreadSanitizer logs ({}): {}", tmpl,
                                 std::strerror(errno)));
  dir_ = tmpl;
  log_root_ = dir_ + "/trials";
  fs::create_directories(log_root_, ec);

  const char* env = std::getenv("TSAN_OPTIONS");
  std::string user_options = env ? env : "";
  std::vector<SuppressionSource> all;
  if (auto p = project_suppressions()) all.push_back(std::move(*p));
  if (auto c = cpython_suppressions(b)) all.push_back(std::move(*c));
  if (std::string f = user_suppressions_file(user_options); !f.empty()) {
    auto from_env = read_user_suppressions({f});
    from_env.front().label = "TSAN_OPTIONS suppressions=";
    all.push_back(std::move(from_env.front()));
  }
  for (auto& u : user_files) all.push_back(std::move(u));
  for (const auto& s : all) {
    // The project's and CPython's files are checked too: one bad line would stop every trial.
    if (std::string why = check_suppressions(s.text, s.path); !why.empty())
      throw UsageError("suppressions " + why);
    sources_.push_back(s.label + ": " + s.path);
  }
  std::string merged = dir_ + "/suppressions.txt";
  std::ofstream(merged, std::ios::binary) << merge_suppressions(all);

  OptionSettings o;
  o.user_options = user_options;
  o.halt_on_error = halt_on_error;
  o.suppressions = merged;
  o.symbolizer = find_symbolizer();
  options_ = build_options(o);
}

RunSetup::~RunSetup() {
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

}  // namespace gilrace::tsan
