#include "tests/integration/support.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace gilrace::test {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& hint) {
  static std::atomic<int> counter{0};
  fs::path p = fs::path(GILRACE_TEST_TMP) /
               (hint + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_file(path));
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

int shell(const std::string& cmd) {
  int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::size_t count_lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

ScopedEnv::ScopedEnv(const char* name, const std::string& value) : name_(name) {
  if (const char* old = std::getenv(name)) old_ = old, had_ = true;
  ::setenv(name, value.c_str(), 1);
}

ScopedEnv::~ScopedEnv() {
  if (had_)
    ::setenv(name_, old_.c_str(), 1);
  else
    ::unsetenv(name_);
}

Run run_gilrace(const std::vector<std::string>& args, bool with_reports) {
  Run r;
  r.dir = temp_dir("run");
  std::vector<std::string> argv = {GILRACE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  if (with_reports) {
    for (const char* opt : {"--json", "--events", "--junit", "--artifacts"}) argv.push_back(opt);
    argv.insert(argv.end() - 3, r.dir + "/summary.json");
    argv.insert(argv.end() - 2, r.dir + "/events.jsonl");
    argv.insert(argv.end() - 1, r.dir + "/junit.xml");
    argv.push_back(r.dir + "/artifacts");
  }
  std::string out_path = r.dir + "/stdout.txt", err_path = r.dir + "/stderr.txt";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> cargs;
  for (auto& a : argv) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  pid_t pid = -1;
  auto start = std::chrono::steady_clock::now();
  if (posix_spawn(&pid, cargs[0], &fa, nullptr, cargs.data(), environ) != 0)
    throw std::runtime_error("cannot start gilrace");
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  waitpid(pid, &status, 0);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  if (with_reports && fs::exists(r.dir + "/summary.json"))
    r.json = nlohmann::json::parse(read_file(r.dir + "/summary.json"));
  return r;
}

const nlohmann::json& build() {
  static const nlohmann::json info = [] {
    Run r = run_gilrace({"info", "--json", "--allow-mixed-sanitizer"}, false);
    return nlohmann::json::parse(r.out);
  }();
  return info;
}

bool free_threaded() {
  return build().value("free_threaded", false);
}
bool debug_build() {
  return build().value("debug", false);
}
unsigned hexversion() {
  return build().value("hexversion", 0u);
}

bool parks_threads_at_finalization() {
  return hexversion() >= 0x030D0800;
}

std::string expected_failure(const std::string& scenario, const std::string& variant) {
  static const nlohmann::json listing = [] {
    Run r = run_gilrace({"list", "--json"}, false);
    return nlohmann::json::parse(r.out);
  }();
  for (const auto& s : listing)
    if (s.at("name") == scenario)
      for (const auto& v : s.at("variants"))
        if (v.at("name") == variant) return v.at("expected_to_fail").get<std::string>();
  throw std::runtime_error("gilrace list has no " + scenario + "/" + variant);
}

const nlohmann::json& group(const nlohmann::json& summary, const std::string& scenario,
                            const std::string& variant) {
  for (const auto& g : summary.at("groups"))
    if (g.at("scenario") == scenario && g.at("variant") == variant) return g;
  throw std::runtime_error("no group " + scenario + "/" + variant + " in the summary");
}

std::uint64_t outcome_count(const nlohmann::json& group, const std::string& outcome) {
  const auto& o = group.at("outcomes");
  return o.contains(outcome) ? o.at(outcome).get<std::uint64_t>() : 0;
}

std::uint64_t probe_trials(const nlohmann::json& group, const std::string& probe) {
  if (!group.contains("probes") || !group["probes"].contains(probe)) return 0;
  return group["probes"][probe].value("trials_hit", std::uint64_t{0});
}

std::uint64_t probe_total(const nlohmann::json& group, const std::string& probe) {
  if (!group.contains("probes") || !group["probes"].contains(probe)) return 0;
  return group["probes"][probe].value("total", std::uint64_t{0});
}

std::vector<nlohmann::json> trial_events(const Run& r) {
  std::vector<nlohmann::json> out;
  for (auto& e : read_jsonl(r.dir + "/events.jsonl"))
    if (e["type"] == "trial") out.push_back(e);
  return out;
}

std::uint64_t note_number(const nlohmann::json& event, const std::string& key) {
  if (!event.contains("notes") || !event["notes"].contains(key)) return 0;
  return std::stoull(event["notes"][key].get<std::string>());
}

std::uint64_t note_total(const std::vector<nlohmann::json>& events, const std::string& key) {
  std::uint64_t sum = 0;
  for (const auto& e : events) sum += note_number(e, key);
  return sum;
}

std::string stacks_of(const nlohmann::json& group) {
  std::string all;
  for (const auto& s : group.at("signatures"))
    if (s.contains("artifacts") && s["artifacts"].is_string())
      all += read_file(s["artifacts"].get<std::string>() + "/stacks.txt");
  return all;
}

std::string signatures_text(const nlohmann::json& group) {
  std::string out;
  for (const auto& s : group.at("signatures"))
    out += s["signature"].get<std::string>() + " x" + std::to_string(s["count"].get<int>()) + "\n";
  return out;
}

}  // namespace gilrace::test
