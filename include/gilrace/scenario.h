// The interface every scenario implements, and the registry that finds them.
//
// A scenario is one file under scenarios/: a class deriving from Scenario,
// a static info() describing it, and GILRACE_SCENARIO(Class) to register it.
// It runs inside a trial's child process; it reports progress through the
// Context and never prints a verdict or exits on purpose (unless exiting is
// the thing under test).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// Default visibility, also in a plugin built with hidden visibility: these are gilrace's.
#pragma GCC visibility push(default)
namespace gilrace {

// Which interpreters a scenario applies to. Checked before any trial runs,
// so a scenario that does not apply is reported as skipped, never passed.
enum class GilMode { any, gil_only, free_threaded_only };

struct Requirements {
  unsigned min_version = 0;  // PY_VERSION_HEX lower bound (inclusive), 0 = none
  unsigned max_version = 0;  // PY_VERSION_HEX upper bound (exclusive), 0 = none
  GilMode gil = GilMode::any;
  bool debug = false;  // needs a --with-pydebug build
  bool tsan = false;   // needs gilrace itself built with ThreadSanitizer (-fsanitize=thread)
};

// Who starts and finalises the interpreter. Scenarios about finalisation own it.
enum class Lifecycle { driver, scenario };

struct ParamSpec {
  std::string name;
  std::string default_value;
  std::string help;
};

// A range of CPython builds on which a variant fails, by a known upstream bug. The
// facts come from running the variant on real builds of each version and flavour
// (README, "Support table"), not from release notes.
struct KnownFailure {
  std::string issue;   // the upstream issue that explains it: "python/cpython#124619"
  unsigned since = 0;  // first PY_VERSION_HEX with the failure (0: every earlier version)
  unsigned fixed = 0;  // first PY_VERSION_HEX without it (0: still open upstream)
  GilMode builds = GilMode::any;  // GIL builds, free-threaded builds, or both
  bool debug_only = false;        // an assertion of CPython's own --with-pydebug builds
};

struct Variant {
  std::string name;
  std::string help;
  // The buggy pattern, shown on purpose: expected to fail (where fails_on says, when
  // it says anything), and always left out of `run --all` unless `--variant all`
  // asks for it.
  bool naive = false;
  // Builds that fail here by a CPython bug: `run --all` leaves the variant out on
  // them (name it to run it), and `list` names the issue. For a naive variant: the
  // only builds its pattern breaks on (traceback-code-cache's, without the GIL), with
  // the extension's issue.
  std::vector<KnownFailure> fails_on;
};

// A probe a scenario declares: every probe it hits must be declared (hitting one that is not
// ends the trial as `error`, naming it). Every declared probe is reported for every group,
// 0 hits included.
struct ProbeSpec {
  std::string name;
  std::string meaning;  // one line: what a hit shows
  // A hit proves the racy window was reached. A group that ran trials, none failing, and hit
  // no window probe proves nothing: the reports mark it `window_not_reached`.
  bool window = false;
  // With window: the variants it proves the window for (empty: every variant).
  std::vector<std::string> window_in = {};
};

struct ScenarioInfo {
  std::string name;
  std::string summary;
  std::vector<std::string> references;  // "python/cpython#132948", "PyO3/pyo3#4764", ...
  std::vector<Variant> variants;        // the first is the default; empty means one, "default"
  std::vector<ParamSpec> params;
  Requirements requires_;
  Lifecycle lifecycle = Lifecycle::driver;
  int default_threads = 4;
  bool control = false;  // a harness self-test, not a reproduction; left out of --all
  // Optional: checks the parameters (merged with the declared defaults) before
  // any trial runs, in the process the user started (`run`, `replay`). Returns ""
  // when they are usable, else one line saying why not: gilrace then exits 2 with
  // it when the scenario was named, or reports it as skipped under `run --all`.
  std::function<std::string(const std::map<std::string, std::string>&)> validate;
  std::vector<ProbeSpec> probes;  // the evidence it reports (see ProbeSpec)
  // Optional: more probes, named by the parameters (merged with the declared defaults); for a
  // scenario that runs code whose probes it cannot know (py-script).
  std::function<std::vector<ProbeSpec>(const std::map<std::string, std::string>&)> param_probes;
};

// A named counter proving a racy window was reached. Cheap to hit from any thread.
class Probe {
 public:
  explicit Probe(std::string name) : name_(std::move(name)) {}
  void hit(std::uint64_t n = 1);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  const std::string& name() const { return name_; }

 private:
  friend class Context;
  std::string name_;
  std::atomic<std::uint64_t> count_{0};
  class Context* owner_ = nullptr;
};

// Thrown by a scenario when it cannot set itself up: outcome "error".
struct ScenarioError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown when a scenario discovers at run time that it does not apply
// (for example, the GIL came back on in a free-threaded build): outcome "skipped".
struct ScenarioSkip : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What a trial knows and how it talks back. One per trial, owned by the driver.
class Context {
 public:
  struct Settings {
    std::string variant;
    std::uint64_t seed = 0;
    std::uint64_t trial = 0;
    int threads = 0;
    std::map<std::string, std::string> params;  // already merged with defaults
    int message_fd = -1;                        // -1: replay in the foreground
    int stacks_fd = -1;                         // where faulthandler writes
  };
  Context(const ScenarioInfo& info, Settings settings);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const std::string& variant() const { return s_.variant; }
  std::uint64_t seed() const { return s_.seed; }
  std::uint64_t trial() const { return s_.trial; }
  int threads() const { return s_.threads; }

  // Parameters, with the scenario's declared defaults filled in.
  std::string param(std::string_view name) const;
  long long param_int(std::string_view name) const;
  double param_double(std::string_view name) const;
  bool param_bool(std::string_view name) const;

  // A seed for one stream of randomness (one per thread, say) within this trial.
  std::uint64_t stream_seed(std::uint64_t stream) const;

  // Progress. The supervisor calls a trial deadlocked when heartbeats stop for
  // --stall, so call this from the loops that make progress. Thread-safe.
  void heartbeat(std::uint64_t n = 1);
  std::uint64_t progress() const { return progress_.load(std::memory_order_relaxed); }

  // A probe by name; the reference stays valid for the trial. Thread-safe. A name the
  // scenario did not declare (ScenarioInfo::probes) makes a passing trial an `error`.
  Probe& probe(std::string_view name);

  // Free-form facts for the report ("gil_enabled=0", "ensure_while_finalizing=3").
  void note(std::string_view key, std::string_view value);

  // For scenarios with Lifecycle::scenario: start CPython exactly as the driver
  // would (isolated PyConfig, harness module, faulthandler). Returns with the
  // calling thread attached.
  void init_python();

  // Sends everything counted so far to the supervisor (also done by heartbeat).
  void flush();

  // Internal: the driver's access to the settings.
  const Settings& settings() const { return s_; }
  const ScenarioInfo& info() const { return info_; }
  std::vector<std::pair<std::string, std::uint64_t>> probe_counts() const;
  // Probes asked for but not declared, in order of first use: a scenario bug.
  std::vector<std::string> undeclared_probes() const;
  std::vector<std::pair<std::string, std::string>> notes() const;
  void send_line(std::string_view line) const;

 private:
  friend class Probe;
  void maybe_flush();
  const ScenarioInfo& info_;
  Settings s_;
  std::atomic<std::uint64_t> progress_{0};
  std::atomic<std::int64_t> last_send_ns_{0};
  struct Impl;
  std::unique_ptr<Impl> impl_;

 public:
  ~Context();
};

// What a scenario's run() returns when it finishes normally. Crashes,
// deadlocks and sanitizer reports are classified from outside.
struct Result {
  enum class Status { pass, error, skipped };
  Status status = Status::pass;
  std::string message;
  static Result pass() { return {}; }
  static Result error(std::string m) { return {Status::error, std::move(m)}; }
  static Result skipped(std::string m) { return {Status::skipped, std::move(m)}; }
};

class Scenario {
 public:
  virtual ~Scenario() = default;
  // Runs in the child before CPython starts: PyImport_AppendInittab and the like.
  virtual void before_init(Context&) {}
  // The trial. With Lifecycle::driver the calling thread holds the GIL (is
  // attached) on entry and must on return; with Lifecycle::scenario, CPython
  // is not running yet and run() ends it as the scenario needs.
  virtual Result run(Context& ctx) = 0;
};

using ScenarioFactory = std::function<std::unique_ptr<Scenario>()>;

// Adds a scenario to the registry (GILRACE_SCENARIO calls it from a static initialiser).
bool register_scenario(ScenarioInfo info, ScenarioFactory make);

}  // namespace gilrace
#pragma GCC visibility pop

// Registers a scenario class with a static `ScenarioInfo info()`. In a plugin (built with
// gilrace_add_scenarios, which defines GILRACE_PLUGIN) the scenario waits in the plugin until
// gilrace has checked the plugin's ABI (gilrace/plugin.h).
#ifdef GILRACE_PLUGIN
#include "gilrace/plugin.h"
#define GILRACE_SCENARIO(Class)                                   \
  [[maybe_unused]] static const bool gilrace_registered_##Class = \
      ::gilrace::plugin_queue(&Class::info, [] { return std::make_unique<Class>(); })
#else
#define GILRACE_SCENARIO(Class)                                   \
  [[maybe_unused]] static const bool gilrace_registered_##Class = \
      ::gilrace::register_scenario(Class::info(), [] { return std::make_unique<Class>(); })
#endif
