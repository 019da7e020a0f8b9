#include "harness/run/tsan_setup.h"

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
#include "harness/base/text.h"
#include "harness/run/build_info.h"

extern char** environ;

namespace gilrace::tsan {

namespace fs = std::filesystem;

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
