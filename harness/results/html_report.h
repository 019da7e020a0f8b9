// One self-contained HTML page from JSON summaries (run or merge output): a
// table per build and scenario for the latest run of each build (trials,
// failures, rate and interval, signatures with stacks and replay lines) and,
// given runs of several nights, the failure rate over time as inline SVG.
// No scripts, no fonts, no network: the page opens from a CI artifact as is.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "harness/results/merge.h"

namespace gilrace {

struct HtmlOptions {
  std::string title = "gilrace stress report";
  std::string generated_at;  // ISO 8601; shown in the header
};

std::string html_report(const std::vector<LoadedReport>& reports, const HtmlOptions& options);

std::string html_escape(std::string_view s);

// Seconds since the epoch of "2026-11-22T01:20:16Z", or -1 when it is not one.
long long parse_iso8601(const std::string& s);

}  // namespace gilrace
