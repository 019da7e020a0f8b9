// gilrace report: JSON summaries (one night's merged report, or many nights')
// as one self-contained HTML page.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "harness/base/parse.h"
#include "harness/cli/cli.h"
#include "harness/cli/commands.h"
#include "harness/results/html_report.h"
#include "harness/results/merge.h"
#include "harness/results/report.h"

namespace gilrace {

namespace {

struct ReportArgs {
  std::vector<std::string> files;
  std::string html, title;
};

int cmd_report(const ReportArgs& a) {
  if (a.files.empty()) throw UsageError("name the JSON summaries to report on");
  if (a.html.empty()) throw UsageError("--html is required");
  require_writable_file(a.html, "--html");
  // Shards of one split (one build, seed and shard count) are one run: merged
  // here, so a night's shard files can be given as they are.
  std::vector<LoadedReport> reports;
  std::map<std::string, std::vector<LoadedReport>> splits;
  std::vector<std::string> order;
  for (const auto& f : a.files) {
    LoadedReport r = load_report(f);
    if (r.builds.size() == 1 && r.shards.size() == 1 && r.shards.front().count > 1) {
      std::string key = fmt::format("{} {} {}", build_identity(r.builds.front()).dump(),
                                    r.shards.front().seed, r.shards.front().count);
      if (!splits.count(key)) order.push_back(key);
      splits[key].push_back(std::move(r));
    } else {
      reports.push_back(std::move(r));
    }
  }
  for (const auto& key : order) {
    const auto& shards = splits[key];
    Merged m = merge_reports(shards, {});
    m.report.path = fmt::format("{} shard summaries ({}...)", shards.size(), shards.front().path);
    for (const auto& w : m.warnings) fmt::print(stderr, "gilrace: warning: {}\n", w);
    if (!m.missing_shards.empty())
      fmt::print(stderr, "gilrace: missing shards: {}\n", fmt::join(m.missing_shards, ", "));
    reports.push_back(std::move(m.report));
  }
  HtmlOptions o;
  if (!a.title.empty()) o.title = a.title;
  o.generated_at = now_iso8601();
  write_file_atomic(a.html, html_report(reports, o));
  fmt::print("{}: {} report(s)\n", a.html, reports.size());
  return kExitOk;
}

}  // namespace

Command add_report_command(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand("report", "Render JSON summaries as one self-contained HTML page");
  cmd->add_option("files", a->files, "JSON summaries (run --json or merge -o), any nights");
  cmd->add_option("--html", a->html, "Write the page here");
  cmd->add_option("--title", a->title, "The page's title");
  return {cmd, [a] { return cmd_report(*a); }};
}

}  // namespace gilrace
