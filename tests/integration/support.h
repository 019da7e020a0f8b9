// Helpers for integration tests: run the real gilrace binary and read what it wrote.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gilrace::test {

struct Run {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
  nlohmann::json json;  // the --json summary when the run wrote one
  std::string dir;      // the run's private folder (json, events, junit, artifacts)
  double seconds = 0;
};

// Sets an environment variable for the gilrace processes a test starts, and puts it back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

// Runs `gilrace ARGS...`; with_reports adds --json/--events/--junit/--artifacts into a fresh
// folder.
Run run_gilrace(const std::vector<std::string>& args, bool with_reports = true);

// `gilrace info --json` of the binary under test, read once.
const nlohmann::json& build();
bool free_threaded();
bool debug_build();  // Py_DEBUG
unsigned hexversion();
// What `gilrace list --json` expects of scenario/variant on this build: "" when it should
// pass, else why it fails (naive, or a known CPython bug of this version and flavour).
std::string expected_failure(const std::string& scenario, const std::string& variant);

// A fresh empty folder under the build tree.
std::string temp_dir(const std::string& hint);
std::string read_file(const std::string& path);
std::vector<nlohmann::json> read_jsonl(const std::string& path);

// The group summary for scenario/variant in a --json summary (throws if absent).
const nlohmann::json& group(const nlohmann::json& summary, const std::string& scenario,
                            const std::string& variant = "default");
// Number of trials with this outcome in a group.
std::uint64_t outcome_count(const nlohmann::json& group, const std::string& outcome);

}  // namespace gilrace::test
