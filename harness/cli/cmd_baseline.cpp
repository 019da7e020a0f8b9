// gilrace baseline: the failure signatures of reports, as a baseline file of
// known signatures to fill in with the upstream issue behind each.
#include <fmt/format.h>

#include <filesystem>

#include "harness/base/parse.h"
#include "harness/cli/cli.h"
#include "harness/cli/commands.h"
#include "harness/results/baseline.h"
#include "harness/results/merge.h"
#include "harness/results/report.h"

namespace gilrace {

namespace {

struct BaselineArgs {
  std::vector<std::string> files;
  std::string output;
};

int cmd_baseline(const BaselineArgs& a) {
  if (a.files.empty()) throw UsageError("name the JSON summaries to take signatures from");
  if (a.output.empty()) throw UsageError("-o/--output is required");
  require_writable_file(a.output, "-o/--output");
  // An existing baseline keeps its entries and their issues; new signatures are added.
  std::vector<KnownSignature> entries;
  if (std::filesystem::exists(a.output)) entries = load_baseline(a.output).entries;
  std::size_t kept = entries.size();
  std::vector<LoadedReport> reports;
  for (const auto& f : a.files) reports.push_back(load_report(f));
  std::vector<const GroupStats*> groups;
  for (const auto& r : reports)
    for (const auto& g : r.groups) groups.push_back(&g.stats);
  for (auto& k : known_from(groups)) {
    bool have = false;
    for (const auto& e : entries)
      have |= e.scenario == k.scenario && e.variant == k.variant && e.id == k.id;
    if (!have) entries.push_back(std::move(k));
  }
  write_file_atomic(a.output, baseline_json(entries).dump(2) + "\n");
  std::size_t without_issue = 0;
  for (const auto& e : entries) without_issue += e.issue.empty();
  fmt::print("{}: {} signature(s), {} new, {} kept", a.output, entries.size(),
             entries.size() - kept, kept);
  if (without_issue)
    fmt::print("; fill in \"issue\" for {} of them (the upstream issue that explains each)",
               without_issue);
  fmt::print("\n");
  return kExitOk;
}

}  // namespace

Command add_baseline_command(CLI::App& app) {
  auto a = std::make_shared<BaselineArgs>();
  auto* cmd = app.add_subcommand(
      "baseline", "Write the failure signatures of reports as a baseline of known failures");
  cmd->add_option("files", a->files, "JSON summaries written by run --json or merge");
  cmd->add_option("-o,--output", a->output,
                  "The baseline file (an existing one keeps its entries and issues)");
  return {cmd, [a] { return cmd_baseline(*a); }};
}

}  // namespace gilrace
