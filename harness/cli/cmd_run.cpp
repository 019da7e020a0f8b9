#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>

#include "harness/base/parse.h"
#include "harness/bisect/bisect.h"
#include "harness/cli/cli.h"
#include "harness/cli/commands.h"
#include "harness/cli/run_request.h"
#include "harness/judge/sanitizer.h"
#include "harness/results/baseline.h"
#include "harness/results/expect.h"
#include "harness/results/report.h"
#include "harness/run/registry.h"
#include "harness/run/supervisor.h"
#include "harness/run/tsan_setup.h"

// `gilrace run` in four steps, each handing the next what it needs: read the request
// (run_request.h), plan the groups for this build, run them, then decide the exit code
// and write the reports.
namespace gilrace {

namespace {

class RunSink : public TrialSink {
 public:
  RunSink(RunReport& report, EventsWriter& events, ArtifactWriter& artifacts,
          ProgressLine& progress, std::uint64_t total)
      : r_(report), events_(events), artifacts_(artifacts), progress_(progress), total_(total) {
    start_ = std::chrono::steady_clock::now();
  }
  void on_trial(const TrialResult& t) override {
    SignatureStats* sig = r_.aggregate.add(t, elapsed());
    if (sig && sig->artifacts.empty())
      sig->artifacts = artifacts_.write(t, *sig, r_.build);
    else if (sig)
      artifacts_.write(t, *sig, r_.build);
    events_.trial(t, sig);
    ++done_;
    on_tick(0);
  }
  void on_tick(std::uint64_t) override {
    progress_.update(done_, total_, r_.aggregate.failures(), elapsed(), r_.meta.duration);
  }

 private:
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  RunReport& r_;
  EventsWriter& events_;
  ArtifactWriter& artifacts_;
  ProgressLine& progress_;
  std::uint64_t total_;
  std::uint64_t done_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// ---------------------------------------------------------------- plan

// The variants of `s` this run wants: --variant as given; else the first, or under --all
// every one expected to pass on this build (no naive one, no known CPython bug).
std::vector<std::string> wanted_variants(const RunRequest& r, const RegisteredScenario& s,
                                         const BuildInfo& build) {
  std::vector<std::string> out;
  for (const auto& v : s.info.variants) {
    bool wanted = r.variant.empty() ? (r.all ? !v.naive && expected_failure_reason(v, build).empty()
                                             : &v == &s.info.variants.front())
                                    : (r.variant == "all" || r.variant == v.name);
    if (wanted) out.push_back(v.name);
  }
  return out;
}

// One group per scenario and variant, each with its statistics opened in the report (every
// declared probe at 0 hits). Returns an exit code when the run ends here: --bisect on a
// build the scenario does not apply to (125).
std::optional<int> plan_groups(RunRequest& r, RunReport& report, RunOptions& o) {
  for (const auto* s : r.scenarios) {
    std::string reason = not_applicable_reason(s->info, report.build);
    if (!reason.empty() && !r.all && r.bisect.on())
      return r.bisect.not_applicable(s->info.name, reason);  // 125: cannot test this build
    if (!reason.empty() && !r.all)
      throw UsageError(fmt::format("{} does not apply to this build: {}", s->info.name, reason));
    if (reason.empty()) {
      reason = invalid_params_reason(*s, params_for(*s, r.params, false));
      if (!reason.empty() && !r.all) throw UsageError(reason);
    }
    for (const auto& v : wanted_variants(r, *s, report.build)) {
      Group g{s, v, r.threads, params_for(*s, r.params, false), reason};
      GroupStats& gs = report.aggregate.group(s->info.name, v);
      gs.references = s->info.references;
      gs.plugin = s->plugin;
      gs.params = g.params;
      gs.threads = r.threads > 0 ? r.threads : s->info.default_threads;
      gs.skip_reason = reason;
      for (const ProbeSpec& p : declared_probes(s->info, v, g.params))
        gs.probes[p.name] = {.meaning = p.meaning, .window = p.window};  // 0 hits until one comes
      o.groups.push_back(std::move(g));
    }
  }
  if (o.groups.empty()) throw UsageError(fmt::format("no scenario has a variant '{}'", r.variant));
  return std::nullopt;
}

// What the supervisor needs besides the groups. The ThreadSanitizer setup (options,
// suppressions, a log folder per trial) is returned: it must outlive the run.
std::unique_ptr<tsan::RunSetup> configure_supervisor(RunRequest& r, const RunReport& report,
                                                     RunOptions& o) {
  const RunMeta& m = report.meta;
  o.repeat = m.repeat;
  o.duration = m.duration;
  o.jobs = m.jobs;
  o.timeout = m.timeout;
  o.stall = m.stall;
  o.base_seed = m.base_seed;
  o.chaos = m.chaos;
  o.stop_after = r.stop_after;
  o.shard_index = m.shard_index;
  o.shard_count = m.shard_count;
  o.native_stacks = r.native_stacks;
  o.gdb_python_helper = gdb_python_helper(report.build);
  if (m.expect == "fail")  // --stop-after counts the failures that reproduce
    o.counts_as_failure = [target = r.expect_target](const TrialResult& t) {
      return target.is_target(t);
    };
  r.bisect.configure(o);  // --bisect: stop at the first target failure
  if (!report.build.gilrace_tsan && !report.build.python_tsan) return nullptr;
  auto setup =
      std::make_unique<tsan::RunSetup>(report.build, std::move(r.suppressions), r.tsan_halt);
  o.tsan_options = setup->options();
  o.tsan_log_root = setup->log_root();
  return setup;
}

// ---------------------------------------------------------------- run

EventsWriter open_events(const std::string& path) {
  if (path.empty()) return {};
  try {
    return EventsWriter(path);
  } catch (const std::runtime_error& e) {
    throw UsageError(fmt::format("--events: {}", e.what()));
  }
}

// Runs the groups; every finished trial goes to the events file and the artifacts as it
// finishes, so an interrupted run keeps what it did.
void run_groups(const RunRequest& r, const RunOptions& o, EventsWriter& events, RunReport& report) {
  ArtifactWriter artifacts(r.outputs.artifacts, r.outputs.artifacts_cap);
  ProgressLine progress(isatty(STDERR_FILENO) == 1);
  std::uint64_t runnable = 0;
  for (const auto& g : o.groups)
    if (g.skip_reason.empty()) ++runnable;
  const RunMeta& m = report.meta;
  std::uint64_t per_group = m.repeat ? (m.repeat - static_cast<std::uint64_t>(m.shard_index) +
                                        static_cast<std::uint64_t>(m.shard_count) - 1) /
                                           static_cast<std::uint64_t>(m.shard_count)
                                     : 0;
  events.start(report);
  RunSink sink(report, events, artifacts, progress, per_group * runnable);
  report.end = run_trials(o, sink);
  progress.clear();
  if (r.baseline) {
    std::vector<GroupStats*> groups;
    for (auto& g : report.aggregate.groups()) groups.push_back(&g);
    report.baseline = apply_baseline(*r.baseline, groups);
  }
}

// ---------------------------------------------------------------- decide and report

// The exit code, into report.exit_code. Without --expect fail every failure exits 1, `error`
// and `timeout` included: a scenario that cannot set up, or a trial stuck at the hard limit,
// must not pass CI as a clean run.
ExpectFailVerdict decide_exit(RunRequest& r, const RunOptions& o, RunReport& report) {
  bool any_failed = report.aggregate.new_failures() > 0;  // all failures without --baseline
  std::vector<const GroupStats*> ran;                     // groups that applied to the build
  for (const auto& g : o.groups)
    if (g.skip_reason.empty())
      ran.push_back(&report.aggregate.group(g.scenario->info.name, g.variant));
  ExpectFailVerdict expected = judge_expect_fail(ran, r.expect_target);
  if (report.end.interrupted)
    report.exit_code = kExitInterrupted;
  else if (report.meta.expect == "fail")
    report.exit_code = expected.all_reproduced() ? kExitOk : kExitFailed;
  else
    report.exit_code = any_failed ? kExitFailed : kExitOk;
  for (const auto& g : report.aggregate.groups())
    if (report.meta.require_window && g.window_not_reached() && report.exit_code == kExitOk)
      report.exit_code = kExitFailed;
  r.bisect.finish(report);  // --bisect: 0 good, 1 bad (=fix: 0 broken, 1 fixed), 125 cannot test
  return expected;
}

void write_reports(const RunRequest& r, const RunReport& report,
                   const ExpectFailVerdict& expected) {
  bool expect_fail = report.meta.expect == "fail";
  if (!r.outputs.json.empty()) {
    nlohmann::json summary = r.bisect.annotate(summary_json(report));
    if (expect_fail) summary["expect_fail"] = expected.to_json();
    write_file_atomic(r.outputs.json, summary.dump(2) + "\n");
  }
  if (!r.outputs.junit.empty()) write_file_atomic(r.outputs.junit, junit_xml(report));
  fmt::print("{}", text_summary(report));
  if (expect_fail) fmt::print("{}", expected.text());
  fmt::print("{}", r.bisect.text());  // last: its last line is the gilrace-verdict line
  std::fflush(stdout);
  fmt::print(stderr, "{}", window_warnings(report));
}

int cmd_run(const RunArgs& a, const std::vector<std::string>& argv) {
  RunRequest request = read_run_request(a, argv);
  RunReport report;
  report.build = probe_build_info();
  preflight(report.build, request.allow_mixed_sanitizer);
  // ThreadSanitizer runs CPython 5-15x slower: limits that were not chosen grow with it.
  if (report.build.gilrace_tsan || report.build.python_tsan) {
    if (!request.timeout_chosen) request.meta.timeout *= tsan::kTsanSlowdown;
    if (!request.stall_chosen) request.meta.stall *= tsan::kTsanSlowdown;
  }
  report.meta = request.meta;
  RunOptions options;
  if (auto code = plan_groups(request, report, options)) return *code;
  auto tsan_setup = configure_supervisor(request, report, options);
  EventsWriter events = open_events(request.outputs.events);
  run_groups(request, options, events, report);
  ExpectFailVerdict expected = decide_exit(request, options, report);
  events.end(report);
  write_reports(request, report, expected);
  return report.exit_code;
}

}  // namespace

Command add_run_command(CLI::App& app, const std::vector<std::string>& argv) {
  auto a = std::make_shared<RunArgs>();
  auto* run = app.add_subcommand("run", "Run scenarios, each trial in its own process");
  run->add_option("scenarios", a->scenarios, "Scenario names");
  run->add_flag("--all", a->all,
                "Every scenario, without the variants expected to fail on this build (naive ones, "
                "or a CPython bug this version has; --variant all adds them)");
  run->add_option("-n,--repeat", a->repeat, "Trials per scenario and variant");
  run->add_option("--duration", a->duration, "Time budget: 90s, 10m, 2h");
  run->add_option("-j,--jobs", a->jobs, "Trials at a time (default: CPUs)");
  a->timeout_opt = run->add_option("--timeout", a->timeout,
                                   "Hard limit per trial (default 60s; x5 under ThreadSanitizer)");
  a->stall_opt = run->add_option(
      "--stall", a->stall,
      "No progress for this long means deadlock (default 10s; x5 under ThreadSanitizer)");
  run->add_option("--seed", a->seed, "Base seed (default: random, printed)");
  run->add_option("--threads", a->threads, "Threads per trial (default: the scenario's)");
  run->add_option("--variant", a->variant, "Variant name, or 'all'");
  run->add_option("--param", a->params, "key=value, repeatable");
  run->add_option("--stop-after", a->stop_after, "Stop launching after K failures");
  run->add_option("--expect", a->expect,
                  "pass (default) or fail: which result exits 0 (fail: every scenario that applies "
                  "reproduced the target, see --match)");
  run->add_option("--match", a->match,
                  "With --bisect or --expect fail: the failures that count: an outcome, a "
                  "signature id or a regex on the signature (repeatable; default: every failure "
                  "but error and timeout)");
  run->add_option("--json", a->json, "Write the JSON summary here");
  run->add_option("--events", a->events, "Write one JSON line per finished trial here");
  run->add_option("--junit", a->junit, "Write JUnit XML here");
  run->add_option("--artifacts", a->artifacts, "Folder for failure artifacts");
  run->add_option("--artifacts-cap", a->artifacts_cap, "Trials kept per signature (default 3)");
  run->add_option("--shard", a->shard, "K/N: run trial indices i with i mod N == K");
  run->add_option("--confidence", a->confidence,
                  "For intervals (default 0.95; 0.99 with --bisect)");
  run->add_flag("--no-native-stacks", a->no_native_stacks, "Do not attach gdb to stalled trials");
  run->add_flag("--allow-mixed-sanitizer", a->allow_mixed, "Accept a sanitizer on one side only");
  run->add_option("--suppressions", a->suppressions,
                  "ThreadSanitizer suppressions file, repeatable (checked on every build)");
  run->add_flag("--tsan-halt", a->tsan_halt,
                "ThreadSanitizer: end a trial at its first report (halt_on_error=1)");
  run->add_flag("--require-window", a->require_window,
                "Exit 1 when a clean group never reached its window (window_not_reached)");
  add_chaos_option(run, a->chaos);
  add_bisect_options(run, a->bisect);
  add_plugin_option(run);

  run->add_option("--baseline", a->baseline,
                  "Known signatures (gilrace baseline): reported as known, only new ones fail");
  return {run, [a, argv] { return cmd_run(*a, argv); }};
}

}  // namespace gilrace
