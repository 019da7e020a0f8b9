// ThreadSanitizer mode, the supervisor's half: what it sets in TSAN_OPTIONS for every
// trial, where the suppressions come from, and where each trial's log goes (the reports
// themselves are parsed by harness/judge/sanitizer.h).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gilrace {

struct BuildInfo;

namespace tsan {

// --- TSAN_OPTIONS -------------------------------------------------------------------------

// key=value pairs as the sanitizer flag parser reads them: separated by spaces, commas,
// colons or newlines; a value may be quoted with ' or ".
std::vector<std::pair<std::string, std::string>> parse_options(std::string_view options);

struct OptionSettings {
  std::string user_options;    // the TSAN_OPTIONS gilrace was started with
  bool halt_on_error = false;  // --tsan-halt
  std::string suppressions;    // the merged suppressions file, or ""
  std::string symbolizer;      // external_symbolizer_path, or "" (found on PATH)
};

// The TSAN_OPTIONS of every trial, without log_path (the supervisor adds one per trial).
// In order, later wins: gilrace's defaults (halt_on_error=0, second_deadlock_stack=1,
// history_size=4, atexit_sleep_ms=0), then the user's TSAN_OPTIONS, then what gilrace needs
// to find and classify the reports: exitcode=66, suppressions=<merged file> (a suppressions=
// file of the user's is merged into it, not dropped), and halt_on_error=1 with --tsan-halt.
// A user's log_path, log_exe_name, log_to_syslog or exitcode is dropped.
std::string build_options(const OptionSettings& s);

// The user's suppressions= file from TSAN_OPTIONS, or "".
std::string user_suppressions_file(std::string_view user_options);

// llvm-symbolizer when it is not on PATH but a versioned one is installed, else "".
std::string find_symbolizer();

// --- suppressions -------------------------------------------------------------------------

struct SuppressionSource {
  std::string label;  // "gilrace (scenarios/tsan.supp)", "CPython 3.13.15 (...)", "--suppressions"
  std::string path;   // where it was read from
  std::string text;
};

// Checks a suppressions file's syntax: every line blank, a comment, or TYPE:PATTERN with a
// type ThreadSanitizer knows. Returns "" or "FILE:LINE: why" for the first bad line.
std::string check_suppressions(std::string_view text, std::string_view path);

// CPython's own suppressions for this build (Tools/tsan/suppressions[_free_threading].txt):
// from <prefix>/share/gilrace/tsan/ (copied there by scripts/build-cpython.sh), from the
// source tree a build record names, or else extracted once from the cached source tarball a
// build record names (kept in <cache>/tsan-suppressions/). nullopt when none is found.
std::optional<SuppressionSource> cpython_suppressions(const BuildInfo& b);

// The project's own file, scenarios/tsan.supp of the source tree gilrace was built from.
std::optional<SuppressionSource> project_suppressions();

// One file with every source in order, each under a "# from ..." line.
std::string merge_suppressions(const std::vector<SuppressionSource>& sources);

// Reads and checks the user's --suppressions files; throws UsageError naming the file (and
// line) that is missing or malformed. Done on every build, so a CI script fails the same way
// everywhere.
std::vector<SuppressionSource> read_user_suppressions(const std::vector<std::string>& files);

// Everything a trial's sanitizer wrote under `dir` (its tsan.<pid> files, several when the
// trial started processes of its own), each under a "==> tsan.<pid> <==" line when there
// are several; at most `cap` bytes. Removes `dir`.
std::string collect_logs(const std::string& dir, std::size_t cap = 4u << 20);

// --- one run --------------------------------------------------------------------------------

// What a run under ThreadSanitizer needs: a private folder (removed with the object) holding
// the merged suppressions file, under which the supervisor gives each trial its own log_path.
class RunSetup {
 public:
  // The user's TSAN_OPTIONS come from the environment; user_files are already read.
  RunSetup(const BuildInfo& b, std::vector<SuppressionSource> user_files, bool halt_on_error);
  ~RunSetup();
  RunSetup(const RunSetup&) = delete;
  RunSetup& operator=(const RunSetup&) = delete;

  const std::string& options() const { return options_; }    // TSAN_OPTIONS, no log_path
  const std::string& log_root() const { return log_root_; }  // per-trial folders go here
  // "label: path" of every suppressions source, in the order they were merged.
  const std::vector<std::string>& sources() const { return sources_; }

 private:
  std::string dir_, options_, log_root_;
  std::vector<std::string> sources_;
};

}  // namespace tsan
}  // namespace gilrace
