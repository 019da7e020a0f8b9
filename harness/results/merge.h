// Reading JSON summaries back, and merging them: the shards of a nightly run
// (or several runs of one build) become one report whose statistics are
// recomputed from the counts, never averaged.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/results/aggregate.h"

namespace gilrace {

// Which trials a report holds: those of `seed` with index i mod count == index.
struct ShardRef {
  std::size_t build = 0;  // index into LoadedReport::builds
  std::uint64_t seed = 0;
  int index = 0;
  int count = 1;
  std::string text() const;  // "2/8"
};

struct ReportGroup {
  std::size_t build = 0;  // index into LoadedReport::builds
  GroupStats stats;
};

// A gilrace-report/1 summary as written by `run` or `merge`. A merged report
// may hold several builds (merge --allow-different-builds): its groups say
// which one they belong to.
struct LoadedReport {
  std::string path;
  std::vector<nlohmann::json> builds;  // the "build" blocks
  nlohmann::json run;                  // the "run" block, as written
  std::vector<ShardRef> shards;        // the trials it covers
  std::vector<ReportGroup> groups;
  std::string started_at;  // run.started_at (ISO 8601, UTC)
  double confidence = 0.95;
};

// Throw UsageError (one line naming `name`) when the JSON is not a gilrace report.
LoadedReport parse_report(const nlohmann::json& j, const std::string& name);
LoadedReport load_report(const std::string& path);

// What makes two builds "the same build" for merging: CPython's version and
// flavours, the source it was built from and its patches, gilrace's version.
// Paths, compilers' banners and build times are left out, so shards built on
// different machines from the same inputs merge.
nlohmann::json build_identity(const nlohmann::json& build);
// "3.13.15 free-threaded debug", as `gilrace info` says it.
std::string build_label(const nlohmann::json& build);

struct MergeOptions {
  bool allow_different_builds = false;
  double confidence = 0;             // 0: the first input's
  std::vector<std::string> command;  // recorded in run.command
};

struct Merged {
  LoadedReport report;
  std::vector<std::string> missing_shards;  // "2/8", qualified when several runs are merged
  std::vector<std::string> warnings;        // one line each
};

// Adds counts, outcomes, probes and signatures group by group (the first
// occurrence of a signature is its smallest trial index). Throws UsageError
// for different builds (unless allowed), a shard given twice, runs of one seed
// split differently, or one scenario/variant run with different params.
Merged merge_reports(const std::vector<LoadedReport>& inputs, const MergeOptions& options);

// The report as a gilrace-report/1 summary (statistics recomputed).
nlohmann::json report_json(const LoadedReport& r, int exit_code);

// Trials, failures and failures not explained by a baseline, over all groups.
std::uint64_t report_trials(const LoadedReport& r);
std::uint64_t report_failures(const LoadedReport& r);
std::uint64_t report_new_failures(const LoadedReport& r);

}  // namespace gilrace
