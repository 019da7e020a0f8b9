#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "harness/base/parse.h"
#include "harness/base/seed.h"
#include "harness/bisect/bisect.h"
#include "harness/cli/cli.h"
#include "harness/cli/commands.h"
#include "harness/judge/sanitizer.h"
#include "harness/results/baseline.h"
#include "harness/results/expect.h"
#include "harness/results/report.h"
#include "harness/run/registry.h"
#include "harness/run/supervisor.h"

namespace gilrace {

namespace {

namespace fs = std::filesystem;

struct RunArgs {
  std::vector<std::string> scenarios;
  bool all = false;
  std::string repeat, duration, jobs, timeout = "60s", stall = "10s", seed, threads, variant;
  std::vector<std::string> params;
  std::vector<std::string>
      match;  // the target of --bisect and --expect fail (harness/results/target.h)
  std::string stop_after, expect = "pass", json, events, junit, artifacts, artifacts_cap = "3",
                          shard, confidence;  // confidence: 0.95, or 0.99 with --bisect
  bool no_native_stacks = false, allow_mixed = false;
  std::string
      baseline;  // known signatures: only new ones fail the run (harness/results/baseline.h)
  std::vector<std::string> suppressions;  // ThreadSanitizer suppressions files of the user's
  bool tsan_halt = false;
  bool require_window = false;  // a window_not_reached group fails the run
  CLI::Option *timeout_opt = nullptr, *stall_opt = nullptr;  // to tell a default from a choice
  BisectArgs bisect;
};

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

int cmd_run(const RunArgs& a, const std::vector<std::string>& argv) {
  if (a.scenarios.empty() && !a.all) throw UsageError("name at least one scenario, or --all");
  if (!a.scenarios.empty() && a.all) throw UsageError("give scenario names or --all, not both");
  RunOptions o;
  RunMeta meta;
  meta.repeat = a.repeat.empty() ? 0 : parse_count(a.repeat, "-n/--repeat");
  meta.duration = a.duration.empty() ? 0 : parse_duration(a.duration, "--duration");
  if (!a.duration.empty() && meta.duration <= 0)
    throw UsageError("--duration must be more than zero");
  if (meta.repeat == 0 && meta.duration == 0) meta.repeat = a.all ? 20 : 100;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  meta.jobs = a.jobs.empty() ? static_cast<int>(std::max(1L, cpus))
                             : static_cast<int>(parse_count(a.jobs, "-j/--jobs"));
  meta.timeout = parse_duration(a.timeout, "--timeout");
  meta.stall = parse_duration(a.stall, "--stall");
  if (meta.timeout <= 0 || meta.stall <= 0)
    throw UsageError("--timeout and --stall must be more than zero");
  meta.base_seed = a.seed.empty() ? fresh_seed() : parse_count(a.seed, "--seed", 0);
  if (!a.shard.empty()) std::tie(meta.shard_index, meta.shard_count) = parse_shard(a.shard);
  if (a.expect != "pass" && a.expect != "fail")
    throw UsageError(fmt::format("--expect must be pass or fail, got '{}'", a.expect));
  meta.expect = a.expect;
  if (!a.match.empty() && !a.bisect.on() && a.expect != "fail")
    throw UsageError("--match needs --bisect or --expect fail");
  const TargetMatcher target(a.expect == "fail" ? a.match : std::vector<std::string>{});
  meta.confidence = parse_fraction(
      a.confidence.empty() ? (a.bisect.on() ? "0.99" : "0.95") : a.confidence, "--confidence");
  meta.require_window = a.require_window;
  meta.command = argv;
  meta.started_at = now_iso8601();
  int threads = a.threads.empty() ? 0 : static_cast<int>(parse_count(a.threads, "--threads"));
  std::map<std::string, std::string> given;
  for (const auto& p : a.params) given.insert(parse_param(p));
  std::uint64_t stop_after = a.stop_after.empty() ? 0 : parse_count(a.stop_after, "--stop-after");
  int cap = static_cast<int>(parse_count(a.artifacts_cap, "--artifacts-cap", 0));
  require_writable_file(a.json, "--json");
  require_writable_file(a.junit, "--junit");
  require_writable_file(a.events, "--events");
  Baseline known;
  if (!a.baseline.empty()) {
    if (a.expect == "fail") throw UsageError("--baseline goes with --expect pass");
    known = load_baseline(a.baseline);
  }
  auto user_suppressions = tsan::read_user_suppressions(a.suppressions);

  // Which scenarios and variants: names are checked before anything runs.
  std::vector<const RegisteredScenario*> chosen;
  if (a.all) {
    for (const auto& s : all_scenarios())
      if (!s.info.control) chosen.push_back(&s);
  } else {
    for (const auto& name : a.scenarios) chosen.push_back(&need_scenario(name));
  }
  if (!a.variant.empty() && a.variant != "all" && !a.all)
    for (const auto* s : chosen) check_variant(*s, a.variant);
  for (const auto& [k, v] : given) {
    bool anyone = false;
    for (const auto* s : chosen)
      for (const auto& p : s->info.params) anyone |= p.name == k;
    if (!anyone) throw UsageError(fmt::format("no chosen scenario has a parameter '{}'", k));
  }
  // --bisect: one scenario, trials from --confidence and the rate (harness/bisect/bisect.h).
  BisectPlan bisect = plan_bisect(a.bisect, {.scenarios = chosen,
                                             .all = a.all,
                                             .variant = a.variant,
                                             .params = given,
                                             .match = a.match,
                                             .repeat = a.repeat.empty() ? 0 : meta.repeat,
                                             .duration = meta.duration,
                                             .confidence = meta.confidence,
                                             .stop_after = stop_after,
                                             .shard = !a.shard.empty(),
                                             .expect_fail = a.expect == "fail"});
  if (bisect.on()) meta.repeat = bisect.repeat();

  RunReport report;
  report.build = probe_build_info();
  preflight(report.build, a.allow_mixed);
  // ThreadSanitizer runs CPython 5-15x slower: defaults that were not chosen grow with it.
  if (report.build.gilrace_tsan || report.build.python_tsan) {
    if (a.timeout_opt && !a.timeout_opt->count()) meta.timeout *= tsan::kTsanSlowdown;
    if (a.stall_opt && !a.stall_opt->count()) meta.stall *= tsan::kTsanSlowdown;
  }
  report.meta = meta;

  for (const auto* s : chosen) {
    std::string reason = not_applicable_reason(s->info, report.build);
    if (!reason.empty() && !a.all && bisect.on())
      return bisect.not_applicable(s->info.name, reason);  // 125: cannot test this build
    if (!reason.empty() && !a.all)
      throw UsageError(fmt::format("{} does not apply to this build: {}", s->info.name, reason));
    if (reason.empty()) {
      reason = invalid_params_reason(*s, params_for(*s, given, false));
      if (!reason.empty() && !a.all) throw UsageError(reason);
    }
    std::vector<std::string> variants;
    for (const auto& v : s->info.variants) {
      bool wanted = a.variant.empty()
                        ? (a.all ? !v.naive && expected_failure_reason(v, report.build).empty()
                                 : &v == &s->info.variants.front())
                        : (a.variant == "all" || a.variant == v.name);
      if (wanted) variants.push_back(v.name);
    }
    for (const auto& v : variants) {
      Group g{s, v, threads, params_for(*s, given, false), reason};
      GroupStats& gs = report.aggregate.group(s->info.name, v);
      gs.references = s->info.references;
      gs.params = g.params;
      gs.threads = threads > 0 ? threads : s->info.default_threads;
      gs.skip_reason = reason;
      for (const ProbeSpec& p : declared_probes(s->info, v, g.params))
        gs.probes[p.name] = {.meaning = p.meaning, .window = p.window};  // 0 hits until one comes
      o.groups.push_back(std::move(g));
    }
  }
  if (o.groups.empty()) throw UsageError(fmt::format("no scenario has a variant '{}'", a.variant));

  o.repeat = meta.repeat;
  o.duration = meta.duration;
  o.jobs = meta.jobs;
  o.timeout = meta.timeout;
  o.stall = meta.stall;
  o.base_seed = meta.base_seed;
  o.stop_after = stop_after;
  o.shard_index = meta.shard_index;
  o.shard_count = meta.shard_count;
  o.native_stacks = !a.no_native_stacks;
  // ThreadSanitizer: options, suppressions and a log folder per trial (harness/judge/sanitizer.h).
  std::unique_ptr<tsan::RunSetup> tsan_setup;
  if (report.build.gilrace_tsan || report.build.python_tsan) {
    tsan_setup =
        std::make_unique<tsan::RunSetup>(report.build, std::move(user_suppressions), a.tsan_halt);
    o.tsan_options = tsan_setup->options();
    o.tsan_log_root = tsan_setup->log_root();
  }
  if (a.expect == "fail")  // --stop-after counts the failures that reproduce
    o.counts_as_failure = [&target](const TrialResult& t) { return target.is_target(t); };
  bisect.configure(o);  // --bisect: stop at the first target failure
  o.gdb_python_helper = gdb_python_helper(report.build);

  EventsWriter events;
  if (!a.events.empty()) {
    try {
      events = EventsWriter(a.events);
    } catch (const std::runtime_error& e) {
      throw UsageError(fmt::format("--events: {}", e.what()));
    }
  }
  std::string artifacts_root = a.artifacts;
  if (artifacts_root.empty()) {
    for (const auto* f : {&a.json, &a.events, &a.junit})
      if (!f->empty()) {
        fs::path parent = fs::path(*f).parent_path();
        artifacts_root = ((parent.empty() ? fs::path(".") : parent) / "gilrace-artifacts").string();
        break;
      }
  }
  if (artifacts_root.empty()) artifacts_root = "gilrace-artifacts";
  ArtifactWriter artifacts(artifacts_root, cap);
  ProgressLine progress(isatty(STDERR_FILENO) == 1);

  std::uint64_t runnable = 0;
  for (const auto& g : o.groups)
    if (g.skip_reason.empty()) ++runnable;
  std::uint64_t per_group = meta.repeat
                                ? (meta.repeat - static_cast<std::uint64_t>(meta.shard_index) +
                                   static_cast<std::uint64_t>(meta.shard_count) - 1) /
                                      static_cast<std::uint64_t>(meta.shard_count)
                                : 0;
  events.start(report);
  RunSink sink(report, events, artifacts, progress, per_group * runnable);
  report.end = run_trials(o, sink);
  progress.clear();
  if (!a.baseline.empty()) {
    std::vector<GroupStats*> groups;
    for (auto& g : report.aggregate.groups()) groups.push_back(&g);
    report.baseline = apply_baseline(known, groups);
  }

  // Without --expect fail every failure exits 1, `error` and `timeout` included: a scenario
  // that cannot set up, or a trial stuck at the hard limit, must not pass CI as a clean run.
  bool any_failed = report.aggregate.new_failures() > 0;  // all failures without --baseline
  std::vector<const GroupStats*> ran;                     // groups that applied to the build
  for (const auto& g : o.groups)
    if (g.skip_reason.empty())
      ran.push_back(&report.aggregate.group(g.scenario->info.name, g.variant));
  ExpectFailVerdict expected = judge_expect_fail(ran, target);
  if (report.end.interrupted)
    report.exit_code = kExitInterrupted;
  else if (meta.expect == "fail")
    report.exit_code = expected.all_reproduced() ? kExitOk : kExitFailed;
  else
    report.exit_code = any_failed ? kExitFailed : kExitOk;
  for (const auto& g : report.aggregate.groups())
    if (a.require_window && g.window_not_reached() && report.exit_code == kExitOk)
      report.exit_code = kExitFailed;
  bisect.finish(report);  // --bisect: 0 good, 1 bad (=fix: 0 broken, 1 fixed), 125 cannot test

  events.end(report);
  if (!a.json.empty()) {
    nlohmann::json summary = bisect.annotate(summary_json(report));
    if (meta.expect == "fail") summary["expect_fail"] = expected.to_json();
    write_file_atomic(a.json, summary.dump(2) + "\n");
  }
  if (!a.junit.empty()) write_file_atomic(a.junit, junit_xml(report));
  fmt::print("{}", text_summary(report));
  if (meta.expect == "fail") fmt::print("{}", expected.text());
  fmt::print("{}", bisect.text());  // last: its last line is the gilrace-verdict line
  std::fflush(stdout);
  fmt::print(stderr, "{}", window_warnings(report));
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
  add_bisect_options(run, a->bisect);

  run->add_option("--baseline", a->baseline,
                  "Known signatures (gilrace baseline): reported as known, only new ones fail");
  return {run, [a, argv] { return cmd_run(*a, argv); }};
}

}  // namespace gilrace
