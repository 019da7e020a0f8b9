// gilrace merge: the JSON summaries of a run's shards (or of several runs of
// one build) become one summary, with statistics recomputed from the counts.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "harness/base/parse.h"
#include "harness/cli/cli.h"
#include "harness/cli/commands.h"
#include "harness/results/baseline.h"
#include "harness/results/merge.h"
#include "harness/results/report.h"

namespace gilrace {

namespace {

struct MergeArgs {
  std::vector<std::string> files;
  std::string output, junit, baseline, confidence;
  bool allow_different_builds = false;
};

// The merged report in the shape the run's own writers take (JUnit, text).
// With several builds, each testcase's name says which build it is.
RunReport as_run_report(const LoadedReport& r, int exit_code) {
  RunReport rr;
  rr.build = BuildInfo::from_json(r.builds.empty() ? nlohmann::json::object() : r.builds.front());
  rr.meta.started_at = r.started_at;
  rr.meta.base_seed = r.run.contains("seed") && r.run["seed"].is_number_unsigned()
                          ? r.run["seed"].get<std::uint64_t>()
                          : 0;
  rr.meta.confidence = r.confidence;
  rr.end.wall_seconds = r.run.value("wall_seconds", 0.0);
  rr.end.interrupted = r.run.value("interrupted", false);
  rr.end.budget_exhausted = r.run.value("budget_exhausted", false);
  rr.meta.duration = r.run.contains("duration") && r.run["duration"].is_number()
                         ? r.run["duration"].get<double>()
                         : 0;
  for (const auto& g : r.groups) {
    GroupStats s = g.stats;
    if (r.builds.size() > 1) s.variant += " [" + build_label(r.builds[g.build]) + "]";
    rr.aggregate.groups().push_back(std::move(s));
  }
  rr.exit_code = exit_code;
  return rr;
}

int cmd_merge(const MergeArgs& a, const std::vector<std::string>& argv) {
  if (a.files.empty()) throw UsageError("name the JSON summaries to merge");
  if (a.output.empty()) throw UsageError("-o/--output is required");
  require_writable_file(a.output, "-o/--output");
  require_writable_file(a.junit, "--junit");
  MergeOptions o;
  o.allow_different_builds = a.allow_different_builds;
  o.command = argv;
  if (!a.confidence.empty()) o.confidence = parse_fraction(a.confidence, "--confidence");
  Baseline known;
  if (!a.baseline.empty()) known = load_baseline(a.baseline);

  std::vector<LoadedReport> inputs;
  for (const auto& f : a.files) inputs.push_back(load_report(f));
  Merged m = merge_reports(inputs, o);

  nlohmann::json baseline_summary;
  if (!a.baseline.empty()) {
    std::vector<GroupStats*> groups;
    for (auto& g : m.report.groups) groups.push_back(&g.stats);
    baseline_summary = apply_baseline(known, groups);
  }
  int exit_code = report_new_failures(m.report) ? kExitFailed : kExitOk;
  nlohmann::json j = report_json(m.report, exit_code);
  if (!baseline_summary.is_null()) j["baseline"] = baseline_summary;
  write_file_atomic(a.output,
                    j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  RunReport rr = as_run_report(m.report, exit_code);
  if (!a.junit.empty()) write_file_atomic(a.junit, junit_xml(rr));

  std::vector<std::string> shards;
  for (const auto& s : m.report.shards) shards.push_back(s.text());
  fmt::print("merged {} report(s): shard(s) {}\n", inputs.size(), fmt::join(shards, ", "));
  fmt::print("{}", text_summary(rr));
  std::fflush(stdout);
  for (const auto& w : m.warnings) fmt::print(stderr, "gilrace: warning: {}\n", w);
  if (!m.missing_shards.empty())
    fmt::print(stderr, "gilrace: missing shards: {}\n", fmt::join(m.missing_shards, ", "));
  if (!baseline_summary.is_null() && baseline_summary.value("without_issue", 0) > 0)
    fmt::print(stderr, "gilrace: warning: {}: {} known signature(s) name no issue\n", a.baseline,
               baseline_summary.value("without_issue", 0));
  return exit_code;
}

}  // namespace

Command add_merge_command(CLI::App& app, const std::vector<std::string>& argv) {
  auto a = std::make_shared<MergeArgs>();
  auto* cmd = app.add_subcommand(
      "merge", "Merge JSON summaries (the shards of a run) into one, statistics recomputed");
  cmd->add_option("files", a->files, "JSON summaries written by run --json (or by merge)");
  cmd->add_option("-o,--output", a->output, "Write the merged JSON summary here");
  cmd->add_option("--junit", a->junit, "Write JUnit XML of the merged results here");
  cmd->add_option("--baseline", a->baseline,
                  "Known signatures (gilrace baseline): only new ones make the exit code 1");
  cmd->add_flag("--allow-different-builds", a->allow_different_builds,
                "Merge reports of different builds (their groups stay apart)");
  cmd->add_option("--confidence", a->confidence, "For intervals (default: the inputs')");
  return {cmd, [a, argv] { return cmd_merge(*a, argv); }};
}

}  // namespace gilrace
