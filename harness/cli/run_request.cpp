#include "harness/cli/run_request.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "harness/base/parse.h"
#include "harness/base/seed.h"
#include "harness/cli/commands.h"

namespace gilrace {

namespace {

namespace fs = std::filesystem;

// Counts, limits, seed, shard and expectations: the numbers of the run.
RunMeta read_meta(const RunArgs& a, const std::vector<std::string>& argv) {
  RunMeta m;
  m.repeat = a.repeat.empty() ? 0 : parse_count(a.repeat, "-n/--repeat");
  m.duration = a.duration.empty() ? 0 : parse_duration(a.duration, "--duration");
  if (!a.duration.empty() && m.duration <= 0) throw UsageError("--duration must be more than zero");
  if (m.repeat == 0 && m.duration == 0) m.repeat = a.all ? 20 : 100;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  m.jobs = a.jobs.empty() ? static_cast<int>(std::max(1L, cpus))
                          : static_cast<int>(parse_count(a.jobs, "-j/--jobs"));
  m.timeout = parse_duration(a.timeout, "--timeout");
  m.stall = parse_duration(a.stall, "--stall");
  if (m.timeout <= 0 || m.stall <= 0)
    throw UsageError("--timeout and --stall must be more than zero");
  m.base_seed = a.seed.empty() ? fresh_seed() : parse_count(a.seed, "--seed", 0);
  if (!a.shard.empty()) std::tie(m.shard_index, m.shard_count) = parse_shard(a.shard);
  if (a.expect != "pass" && a.expect != "fail")
    throw UsageError(fmt::format("--expect must be pass or fail, got '{}'", a.expect));
  m.expect = a.expect;
  if (!a.match.empty() && !a.bisect.on && a.expect != "fail")
    throw UsageError("--match needs --bisect or --expect fail");
  m.confidence = parse_fraction(
      a.confidence.empty() ? (a.bisect.on ? "0.99" : "0.95") : a.confidence, "--confidence");
  m.require_window = a.require_window;
  m.chaos = parse_chaos_level(a.chaos);
  m.command = argv;
  m.started_at = now_iso8601();
  return m;
}

// Scenario names, the variant and --param names are checked before anything runs.
void read_selection(const RunArgs& a, RunRequest& r) {
  r.all = a.all;
  if (a.all) {
    for (const auto& s : all_scenarios())
      if (!s.info.control) r.scenarios.push_back(&s);
  } else {
    for (const auto& name : a.scenarios) r.scenarios.push_back(&need_scenario(name));
  }
  r.variant = a.variant;
  if (!a.variant.empty() && a.variant != "all" && !a.all)
    for (const auto* s : r.scenarios) check_variant(*s, a.variant);
  r.threads = a.threads.empty() ? 0 : static_cast<int>(parse_count(a.threads, "--threads"));
  for (const auto& p : a.params) r.params.insert(parse_param(p));
  for (const auto& [k, v] : r.params) {
    bool anyone = false;
    for (const auto* s : r.scenarios)
      for (const auto& p : s->info.params) anyone |= p.name == k;
    if (!anyone) throw UsageError(fmt::format("no chosen scenario has a parameter '{}'", k));
  }
}

RunOutputs read_outputs(const RunArgs& a) {
  RunOutputs o{a.json, a.events, a.junit, a.artifacts};
  o.artifacts_cap = static_cast<int>(parse_count(a.artifacts_cap, "--artifacts-cap", 0));
  require_writable_file(a.json, "--json");
  require_writable_file(a.junit, "--junit");
  require_writable_file(a.events, "--events");
  if (o.artifacts.empty()) {
    for (const auto* f : {&a.json, &a.events, &a.junit})
      if (!f->empty()) {
        fs::path parent = fs::path(*f).parent_path();
        o.artifacts = ((parent.empty() ? fs::path(".") : parent) / "gilrace-artifacts").string();
        break;
      }
  }
  if (o.artifacts.empty()) o.artifacts = "gilrace-artifacts";
  return o;
}

}  // namespace

RunRequest read_run_request(const RunArgs& a, const std::vector<std::string>& argv) {
  if (a.scenarios.empty() && !a.all) throw UsageError("name at least one scenario, or --all");
  if (!a.scenarios.empty() && a.all) throw UsageError("give scenario names or --all, not both");
  RunRequest r;
  r.meta = read_meta(a, argv);
  r.timeout_chosen = a.timeout_opt && a.timeout_opt->count();
  r.stall_chosen = a.stall_opt && a.stall_opt->count();
  r.match = a.match;
  r.expect_target = TargetMatcher(a.expect == "fail" ? a.match : std::vector<std::string>{});
  r.stop_after = a.stop_after.empty() ? 0 : parse_count(a.stop_after, "--stop-after");
  r.outputs = read_outputs(a);
  if (!a.baseline.empty()) {
    if (a.expect == "fail") throw UsageError("--baseline goes with --expect pass");
    r.baseline = load_baseline(a.baseline);
  }
  r.suppressions = tsan::read_user_suppressions(a.suppressions);
  r.tsan_halt = a.tsan_halt;
  r.native_stacks = !a.no_native_stacks;
  r.allow_mixed_sanitizer = a.allow_mixed;
  read_selection(a, r);
  // --bisect: one scenario, trials from --confidence and the rate (harness/bisect/bisect.h).
  r.bisect = plan_bisect(a.bisect, {.scenarios = r.scenarios,
                                    .all = a.all,
                                    .variant = a.variant,
                                    .params = r.params,
                                    .match = a.match,
                                    .repeat = a.repeat.empty() ? 0 : r.meta.repeat,
                                    .duration = r.meta.duration,
                                    .confidence = r.meta.confidence,
                                    .stop_after = r.stop_after,
                                    .shard = !a.shard.empty(),
                                    .expect_fail = a.expect == "fail",
                                    .chaos = r.meta.chaos});
  if (r.bisect.on()) r.meta.repeat = r.bisect.repeat();
  return r;
}

}  // namespace gilrace
