// ThreadSanitizer mode: what the supervisor sets in TSAN_OPTIONS for every
// trial, where the suppressions come from, and how the reports a trial wrote
// are parsed into one deduplicated signature.
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

struct BuildInfo;

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
