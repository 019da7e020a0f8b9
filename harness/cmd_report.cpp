// gilrace report: JSON summaries (one night's merged report, or many nights')
// as one self-contained HTML page.
#include <fmt/format.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/html_report.h"
#include "harness/merge.h"
#include "harness/parse.h"
#include "harness/report.h"

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
  std::vector<LoadedReport> reports;
  for (const auto& f : a.files) reports.push_back(load_report(f));
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
