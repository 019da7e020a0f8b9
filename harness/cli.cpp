#include "harness/cli.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>

#include "harness/build_info.h"
#include "harness/driver.h"
#include "harness/parse.h"
#include "harness/report.h"
#include "harness/seed.h"
#include "harness/supervisor.h"

namespace gilrace {

namespace {

namespace fs = std::filesystem;

struct TrialArgs {
  std::string scenario;
  std::string variant;
  std::string seed = "0";
  std::string trial = "0";
  std::string threads;
  std::vector<std::string> params;
};

void add_trial_options(CLI::App* cmd, TrialArgs& a) {
  cmd->add_option("scenario", a.scenario, "Scenario name")->required();
  cmd->add_option("--variant", a.variant, "Variant (default: the scenario's first)");
  cmd->add_option("--seed", a.seed, "The run's base seed");
  cmd->add_option("--trial", a.trial, "Trial index");
  cmd->add_option("--threads", a.threads, "Threads (default: the scenario's)");
  cmd->add_option("--param", a.params, "key=value, repeatable");
}

const RegisteredScenario& need_scenario(const std::string& name) {
  const RegisteredScenario* s = find_scenario(name);
  if (!s) throw UsageError(fmt::format("unknown scenario '{}' (see 'gilrace list')", name));
  return *s;
}

void check_variant(const RegisteredScenario& s, const std::string& v) {
  for (const auto& var : s.info.variants)
    if (var.name == v) return;
  std::string known;
  for (const auto& var : s.info.variants) known += (known.empty() ? "" : ", ") + var.name;
  throw UsageError(
      fmt::format("scenario {} has no variant '{}' (it has: {})", s.info.name, v, known));
}

std::map<std::string, std::string> params_for(const RegisteredScenario& s,
                                              const std::map<std::string, std::string>& all,
                                              bool strict) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : all) {
    bool declared = false;
    for (const auto& p : s.info.params) declared |= p.name == k;
    if (declared)
      out[k] = v;
    else if (strict)
      throw UsageError(
          fmt::format("scenario {} has no parameter '{}' (see 'gilrace list')", s.info.name, k));
  }
  return out;
}

// The scenario's own check of its parameters, or "" (see ScenarioInfo::validate).
std::string invalid_params_reason(const RegisteredScenario& s,
                                  const std::map<std::string, std::string>& given) {
  if (!s.info.validate) return "";
  std::string why = s.info.validate(merged_params(s.info, given));
  return why.empty() ? "" : fmt::format("{}: {}", s.info.name, why);
}

TrialSpec make_spec(const TrialArgs& a) {
  const RegisteredScenario& s = need_scenario(a.scenario);
  TrialSpec spec;
  spec.scenario = a.scenario;
  spec.variant = a.variant.empty() ? s.info.variants.front().name : a.variant;
  check_variant(s, spec.variant);
  spec.base_seed = parse_count(a.seed, "--seed", 0);
  spec.trial = parse_count(a.trial, "--trial", 0);
  spec.threads = a.threads.empty() ? 0 : static_cast<int>(parse_count(a.threads, "--threads"));
  std::map<std::string, std::string> given;
  for (const auto& p : a.params) given.insert(parse_param(p));
  spec.params = params_for(s, given, true);
  return spec;
}

// A TSAN-built gilrace against an uninstrumented libpython, or the reverse,
// gives false reports and misses races.
void preflight(const BuildInfo& b, bool allow_mixed) {
  if (b.runtime_hexversion && (b.runtime_hexversion >> 16) != (b.hexversion >> 16))
    throw UsageError(
        fmt::format("gilrace was compiled against Python {} but loaded libpython {:x}: rebuild it "
                    "(scripts/build-harness.sh)",
                    b.version, b.runtime_hexversion));
  if (!allow_mixed && b.python_tsan != b.gilrace_tsan)
    throw UsageError(b.gilrace_tsan
                         ? "gilrace is built with ThreadSanitizer but libpython is not: use a "
                           "--tsan CPython or pass --allow-mixed-sanitizer"
                         : "libpython is built with ThreadSanitizer but gilrace is not: build it "
                           "with scripts/build-harness.sh --sanitizer thread, or pass "
                           "--allow-mixed-sanitizer");
}

void require_writable_file(const std::string& path, const char* option) {
  if (path.empty()) return;
  fs::path p(path);
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  if (!fs::is_directory(dir))
    throw UsageError(fmt::format("{} {}: directory {} does not exist", option, path, dir.string()));
  if (::access(dir.c_str(), W_OK) != 0)
    throw UsageError(
        fmt::format("{} {}: directory {} is not writable", option, path, dir.string()));
}

int cmd_list(bool json) {
  BuildInfo build = probe_build_info();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : all_scenarios()) {
    std::string reason = not_applicable_reason(s.info, build);
    if (json) {
      nlohmann::json vars = nlohmann::json::array();
      for (const auto& v : s.info.variants)
        vars.push_back({{"name", v.name}, {"help", v.help}, {"naive", v.naive}});
      nlohmann::json params = nlohmann::json::array();
      for (const auto& p : s.info.params)
        params.push_back({{"name", p.name}, {"default", p.default_value}, {"help", p.help}});
      out.push_back({{"name", s.info.name},
                     {"summary", s.info.summary},
                     {"references", s.info.references},
                     {"variants", vars},
                     {"params", params},
                     {"default_threads", s.info.default_threads},
                     {"control", s.info.control},
                     {"applies", reason.empty()},
                     {"reason", reason}});
      continue;
    }
    fmt::print("{}{}\n    {}\n", s.info.name, s.info.control ? "  (control)" : "", s.info.summary);
    if (!s.info.references.empty())
      fmt::print("    refs: {}\n", fmt::join(s.info.references, ", "));
    for (const auto& v : s.info.variants)
      fmt::print("    variant {}{}{}\n", v.name, v.naive ? " (naive: expected to fail)" : "",
                 v.help.empty() ? "" : ": " + v.help);
    for (const auto& p : s.info.params)
      fmt::print("    --param {}={}  {}\n", p.name, p.default_value, p.help);
    fmt::print("    {}\n", reason.empty() ? "applies to this build" : "does not apply: " + reason);
  }
  if (json) fmt::print("{}\n", out.dump(2));
  return kExitOk;
}

int cmd_info(bool json, bool allow_mixed) {
  BuildInfo b = probe_build_info();
  if (json) {
    fmt::print("{}\n", b.to_json().dump(2));
  } else {
    fmt::print("gilrace {}\n", GILRACE_VERSION);
    fmt::print("python            {} (hexversion 0x{:08x})\n", b.version, b.hexversion);
    fmt::print("free-threaded     {}\n", b.free_threaded ? "yes" : "no");
    fmt::print("GIL at run time   {}\n", b.gil_enabled_at_runtime ? "enabled" : "disabled");
    fmt::print("debug             {}\n", b.debug ? "yes" : "no");
    fmt::print("tsan (python)     {}\n", b.python_tsan ? "yes" : "no");
    fmt::print("tsan (gilrace)    {}\n", b.gilrace_tsan ? "yes" : "no");
    fmt::print("python compiler   {}\n", b.python_compiler);
    fmt::print("gilrace compiler  {}\n", b.gilrace_compiler);
    fmt::print("prefix            {}\n", b.prefix);
    fmt::print("configure         {}\n", b.config_args);
    if (!b.source_revision.empty()) fmt::print("source revision   {}\n", b.source_revision);
  }
  preflight(b, allow_mixed);
  return kExitOk;
}

struct RunArgs {
  std::vector<std::string> scenarios;
  bool all = false;
  std::string repeat, duration, jobs, timeout = "60s", stall = "10s", seed, threads, variant;
  std::vector<std::string> params;
  std::string stop_after, expect = "pass", json, events, junit, artifacts, artifacts_cap = "3",
                          shard, confidence = "0.95";
  bool no_native_stacks = false, allow_mixed = false;
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
  meta.confidence = parse_fraction(a.confidence, "--confidence");
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

  RunReport report;
  report.build = probe_build_info();
  preflight(report.build, a.allow_mixed);
  report.meta = meta;

  for (const auto* s : chosen) {
    std::string reason = not_applicable_reason(s->info, report.build);
    if (!reason.empty() && !a.all)
      throw UsageError(fmt::format("{} does not apply to this build: {}", s->info.name, reason));
    if (reason.empty()) {
      reason = invalid_params_reason(*s, params_for(*s, given, !a.all));
      if (!reason.empty() && !a.all) throw UsageError(reason);
    }
    std::vector<std::string> variants;
    for (const auto& v : s->info.variants) {
      bool wanted = a.variant.empty() ? (a.all ? !v.naive : &v == &s->info.variants.front())
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

  EventsWriter events;
  if (!a.events.empty()) {
    try {
      events = EventsWriter(a.events);
    } catch (const std::runtime_error& e) {
      throw UsageError(e.what());
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

  bool any_failed = report.aggregate.failures() > 0;
  bool all_reproduced = runnable > 0;
  for (const auto& g : report.aggregate.groups())
    if (g.skip_reason.empty() && g.failures == 0) all_reproduced = false;
  if (report.end.interrupted)
    report.exit_code = kExitInterrupted;
  else if (meta.expect == "fail")
    report.exit_code = all_reproduced ? kExitOk : kExitFailed;
  else
    report.exit_code = any_failed ? kExitFailed : kExitOk;

  events.end(report);
  if (!a.json.empty()) write_file_atomic(a.json, summary_json(report).dump(2) + "\n");
  if (!a.junit.empty()) write_file_atomic(a.junit, junit_xml(report));
  fmt::print("{}", text_summary(report));
  if (meta.expect == "fail")
    fmt::print("expected failures: {}\n",
               all_reproduced ? "every scenario reproduced" : "some scenario did not reproduce");
  std::fflush(stdout);
  return report.exit_code;
}

int cmd_trial(const TrialArgs& a, bool foreground) {
  TrialSpec spec = make_spec(a);
  const RegisteredScenario& s = need_scenario(spec.scenario);
  if (foreground) {
    BuildInfo b = compile_time_build_info();
    std::string reason = not_applicable_reason(s.info, b);
    if (!reason.empty())
      throw UsageError(fmt::format("{} does not apply to this build: {}", s.info.name, reason));
    if (std::string why = invalid_params_reason(s, spec.params); !why.empty())
      throw UsageError(why);
    fmt::print(stderr, "gilrace: replaying {} (seed {})\n", replay_command(spec),
               derive_seed(spec.base_seed, spec.scenario, spec.variant, spec.trial));
    return run_trial(s, spec, -1, STDERR_FILENO);
  }
  return run_trial(s, spec, kMessageFd, kStacksFd);
}

}  // namespace

int cli_main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  CLI::App app{
      "gilrace: reproduce concurrency crashes and deadlocks between native threads and CPython"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(GILRACE_VERSION));

  bool json = false, allow_mixed = false;
  auto* list = app.add_subcommand("list", "List scenarios and whether each applies to this build");
  list->add_flag("--json", json, "JSON output");
  auto* info = app.add_subcommand("info", "Show exactly what CPython gilrace embeds");
  info->add_flag("--json", json, "JSON output");
  info->add_flag("--allow-mixed-sanitizer", allow_mixed, "Accept a sanitizer on one side only");

  RunArgs ra;
  auto* run = app.add_subcommand("run", "Run scenarios, each trial in its own process");
  run->add_option("scenarios", ra.scenarios, "Scenario names");
  run->add_flag("--all", ra.all, "Every scenario (naive variants only with --variant all)");
  run->add_option("-n,--repeat", ra.repeat, "Trials per scenario and variant");
  run->add_option("--duration", ra.duration, "Time budget: 90s, 10m, 2h");
  run->add_option("-j,--jobs", ra.jobs, "Trials at a time (default: CPUs)");
  run->add_option("--timeout", ra.timeout, "Hard limit per trial (default 60s)");
  run->add_option("--stall", ra.stall, "No progress for this long means deadlock (default 10s)");
  run->add_option("--seed", ra.seed, "Base seed (default: random, printed)");
  run->add_option("--threads", ra.threads, "Threads per trial (default: the scenario's)");
  run->add_option("--variant", ra.variant, "Variant name, or 'all'");
  run->add_option("--param", ra.params, "key=value, repeatable");
  run->add_option("--stop-after", ra.stop_after, "Stop launching after K failures");
  run->add_option("--expect", ra.expect, "pass (default) or fail: which result exits 0");
  run->add_option("--json", ra.json, "Write the JSON summary here");
  run->add_option("--events", ra.events, "Write one JSON line per finished trial here");
  run->add_option("--junit", ra.junit, "Write JUnit XML here");
  run->add_option("--artifacts", ra.artifacts, "Folder for failure artifacts");
  run->add_option("--artifacts-cap", ra.artifacts_cap, "Trials kept per signature (default 3)");
  run->add_option("--shard", ra.shard, "K/N: run trial indices i with i mod N == K");
  run->add_option("--confidence", ra.confidence, "For intervals (default 0.95)");
  run->add_flag("--no-native-stacks", ra.no_native_stacks, "Do not attach gdb to stalled trials");
  run->add_flag("--allow-mixed-sanitizer", ra.allow_mixed, "Accept a sanitizer on one side only");

  TrialArgs replay_args;
  auto* replay = app.add_subcommand("replay", "Run one trial again in the foreground");
  add_trial_options(replay, replay_args);

  TrialArgs trial_args_;
  auto* trial = app.add_subcommand("__trial", "");
  trial->group("");  // hidden: the supervisor's re-exec
  add_trial_options(trial, trial_args_);

  try {
    auto known = {"list", "info", "run", "replay", "__trial"};
    if (argc > 1 && argv[1][0] != '-' &&
        std::find(known.begin(), known.end(), std::string_view(argv[1])) == known.end())
      throw UsageError(
          fmt::format("unknown command '{}' (commands: list, info, run, replay)", argv[1]));
    app.parse(argc, argv);
    if (*trial) return cmd_trial(trial_args_, false);
    if (*list) return cmd_list(json);
    if (*info) return cmd_info(json, allow_mixed);
    if (*run) return cmd_run(ra, args);
    if (*replay) return cmd_trial(replay_args, true);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return kExitOk;
  } catch (const CLI::CallForVersion&) {
    std::cout << GILRACE_VERSION << "\n";
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    fmt::print(stderr, "gilrace: error: {}\n", e.what());
    return kExitUsage;
  } catch (const UsageError& e) {
    fmt::print(stderr, "gilrace: error: {}\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "gilrace: error: {}\n", e.what());
    return kExitUsage;
  }
  return kExitUsage;
}

}  // namespace gilrace
