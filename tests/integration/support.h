// Helpers for integration tests: run the real gilrace binary and read what it wrote.
#pragma once

#include <cstdint>
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

// CPython parks a thread that attaches during finalisation instead of ending it with
// pthread_exit: 3.14, and 3.13 from 3.13.8 (python/cpython#87135 backported).
bool parks_threads_at_finalization();

// A fresh empty folder under the build tree.
std::string temp_dir(const std::string& hint);
std::string read_file(const std::string& path);
// Writes text to path (replacing it) and returns path.
std::string write_file(const std::string& path, const std::string& text);
nlohmann::json read_json(const std::string& path);
std::vector<nlohmann::json> read_jsonl(const std::string& path);
// Runs a shell command; returns its exit code (-1 when killed by a signal).
int shell(const std::string& cmd);

// Whether text contains part.
bool contains(const std::string& text, const std::string& part);
// The newlines in text.
std::size_t count_lines(const std::string& text);

// The group summary for scenario/variant in a --json summary (throws if absent).
const nlohmann::json& group(const nlohmann::json& summary, const std::string& scenario,
                            const std::string& variant = "default");
// Number of trials with this outcome in a group.
std::uint64_t outcome_count(const nlohmann::json& group, const std::string& outcome);
// Trials in which a probe was hit (0 when the group has no such probe).
std::uint64_t probe_trials(const nlohmann::json& group, const std::string& probe);
// A probe's hits over all trials (0 when the group has no such probe).
std::uint64_t probe_total(const nlohmann::json& group, const std::string& probe);
// The trial events of a run's events.jsonl (run_gilrace with reports).
std::vector<nlohmann::json> trial_events(const Run& r);
// A trial event's numeric note (0 when it has none): chaos's counts are notes.
std::uint64_t note_number(const nlohmann::json& event, const std::string& key);
// The same note summed over events.
std::uint64_t note_total(const std::vector<nlohmann::json>& events, const std::string& key);
// The stacks.txt of the first kept artifact of each signature, concatenated.
std::string stacks_of(const nlohmann::json& group);
// "SIGNATURE xCOUNT" a line, for INFO().
std::string signatures_text(const nlohmann::json& group);

}  // namespace gilrace::test
