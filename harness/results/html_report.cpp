#include "harness/results/html_report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <set>

#include "harness/results/stats.h"

namespace gilrace {

namespace {

constexpr std::string_view kStyle = R"(
:root { color-scheme: light; }
body { font-family: system-ui, "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 24px;
       color: #1d2330; background: #fff; font-size: 14px; line-height: 1.4; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 6px; border-bottom: 2px solid #d5dae3; padding-bottom: 3px; }
h3 { font-size: 16px; margin: 18px 0 4px; }
.meta { color: #5a6272; margin: 2px 0; }
.verdict { display: inline-block; margin: 12px 0; padding: 8px 14px; border-radius: 6px;
           font-weight: 600; font-size: 15px; }
.verdict.new { background: #fde2e1; color: #8a1c17; border: 1px solid #f1a7a2; }
.verdict.known { background: #fff4d6; color: #6b4e00; border: 1px solid #ecd089; }
.verdict.clean { background: #dff5e3; color: #1c5e2c; border: 1px solid #a3d9ae; }
.warn { color: #8a1c17; font-weight: 600; }
table { border-collapse: collapse; margin: 6px 0 14px; width: 100%; }
th, td { border: 1px solid #d5dae3; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f1f3f7; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.failing td.rate { color: #8a1c17; font-weight: 600; }
table.scenario { table-layout: fixed; }
table.scenario th:nth-child(1) { width: 12%; }
table.scenario th:nth-child(2), table.scenario th:nth-child(3), table.scenario th:nth-child(4) { width: 7%; }
table.scenario th:nth-child(5) { width: 10%; }
caption { text-align: left; font-weight: 600; font-size: 15px; padding: 4px 0; }
caption .refs { font-weight: 400; color: #5a6272; font-size: 13px; }
.sig { border-left: 4px solid #d33; padding: 4px 8px; margin: 4px 0; background: #fff7f7; }
.sig.known { border-left-color: #d9a400; background: #fffbee; }
.badge { display: inline-block; font-size: 11px; font-weight: 700; padding: 1px 6px;
         border-radius: 9px; margin-right: 6px; color: #fff; background: #c62828; }
.sig.known .badge { background: #a07800; }
code, pre { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12px; }
pre { white-space: pre-wrap; word-break: break-all; margin: 4px 0; background: #f6f7f9;
      padding: 6px; border-radius: 4px; }
pre.replay { background: #eef3ff; }
details summary { cursor: pointer; color: #2a5bd7; }
.muted { color: #5a6272; }
.chart { margin: 8px 0 4px; }
.legend { list-style: none; padding: 0; margin: 4px 0 16px; display: flex; flex-wrap: wrap; gap: 4px 18px; }
.legend li { display: flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 22px; height: 4px; border-radius: 2px; }
.scroll { overflow-x: auto; }
footer { margin-top: 32px; color: #5a6272; font-size: 12px; }
)";

// Colours that stay apart from each other and from the red of failures.
constexpr std::string_view kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                                         "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728"};

std::string pct(double v) {
  if (v <= 0) return "0%";
  if (v * 100 < 0.1) return fmt::format("{:.3f}%", v * 100);
  if (v * 100 < 10) return fmt::format("{:.1f}%", v * 100);
  return fmt::format("{:.0f}%", v * 100);
}

struct Point {
  long long t;
  std::string started_at;
  std::uint64_t trials, failures;
  double rate, low, high;
};

struct Series {
  std::string scenario, variant;
  std::vector<Point> points;
  bool ever_failed = false;
};

std::string rate_cell(const GroupStats& g) {
  if (g.trials == 0) return "&ndash;";
  return pct(static_cast<double>(g.failures) / static_cast<double>(g.trials));
}

std::string interval_cell(const GroupStats& g, double confidence) {
  if (g.trials == 0) return "&ndash;";
  if (g.failures == 0) return "&lt; " + pct(clean_upper_bound(g.trials, confidence));
  Interval ci = wilson_interval(g.failures, g.trials, confidence);
  return fmt::format("{} &ndash; {}", pct(ci.low), pct(ci.high));
}

std::string signature_html(const SignatureStats& s) {
  std::string h = fmt::format("<div class=\"sig {}\" data-id=\"{}\" data-known=\"{}\">",
                              s.known ? "known" : "new", html_escape(s.id), s.known);
  if (s.known)
    h += fmt::format("<span class=\"badge\">KNOWN</span><span class=\"issue\">{}</span> ",
                     html_escape(s.issue.empty() ? "(no issue given)" : s.issue));
  else
    h += "<span class=\"badge\">NEW</span>";
  h += fmt::format("<b>{} &times; {}</b>: <code>{}</code> <span class=\"muted\">[{}]</span>",
                   s.count, html_escape(s.outcome), html_escape(s.signature), html_escape(s.id));
  h += fmt::format("<div class=\"muted\">first: trial {}, seed {}</div>", s.first_trial,
                   s.first_seed);
  h += fmt::format("<pre class=\"replay\">{}</pre>", html_escape(s.replay));
  if (!s.detail.empty() || !s.stacks.empty() || !s.artifacts.empty()) {
    h += "<details><summary>detail and stacks</summary>";
    if (!s.detail.empty())
      h += fmt::format("<pre class=\"detail\">{}</pre>", html_escape(s.detail));
    if (!s.stacks.empty())
      h += fmt::format("<pre class=\"stacks\">{}</pre>", html_escape(s.stacks));
    if (!s.artifacts.empty())
      h += fmt::format("<div class=\"muted\">artifacts: <code>{}</code></div>",
                       html_escape(s.artifacts));
    h += "</details>";
  }
  return h + "</div>";
}

double nice_ceiling(double v) {
  for (double step : {0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0})
    if (v <= step) return step;
  return 1.0;
}

std::string short_time(const std::string& iso) {
  // "2026-11-22T01:20:16Z" -> "11-22 01:20"
  if (iso.size() >= 16) return iso.substr(5, 5) + " " + iso.substr(11, 5);
  return iso;
}

// One chart: the rate of each series that ever failed, with its interval.
std::string trend_svg(const std::string& label, const std::vector<Series>& series,
                      const std::vector<std::pair<long long, std::string>>& times) {
  const double W = 960, H = 280, left = 64, right = 24, top = 16, bottom = 46;
  const double pw = W - left - right, ph = H - top - bottom;
  double ymax = 0;
  for (const auto& s : series)
    for (const auto& p : s.points) ymax = std::max({ymax, p.rate, p.high});
  ymax = nice_ceiling(std::max(ymax, 0.001));
  // Runs are evenly spaced in the order they ran: nights are what is compared.
  std::map<long long, std::size_t> slot;
  for (const auto& [t, iso] : times) slot.emplace(t, slot.size());
  const double pad = 24;
  auto X = [&](long long t) {
    std::size_t n = times.size();
    return n < 2
               ? left + pw / 2
               : left + pad +
                     (pw - 2 * pad) * static_cast<double>(slot.at(t)) / static_cast<double>(n - 1);
  };
  auto Y = [&](double r) { return top + ph * (1 - r / ymax); };

  std::string svg = fmt::format(
      "<svg class=\"trend\" data-build=\"{}\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "role=\"img\" aria-label=\"failure rate over time, {}\">",
      html_escape(label), W, H, W, H, html_escape(label));
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fbfcfe\" stroke=\"#d5dae3\"/>",
      left, top, pw, ph);
  for (int i = 0; i <= 4; ++i) {
    double r = ymax * i / 4, y = Y(r);
    svg += fmt::format(
        "<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#e3e7ee\"/>"
        "<text x=\"{}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\" "
        "fill=\"#5a6272\">{}</text>",
        left, y, left + pw, y, left - 6, y + 4, pct(r));
  }
  std::size_t every = std::max<std::size_t>(1, (times.size() + 9) / 10);
  for (std::size_t i = 0; i < times.size(); ++i) {
    double x = X(times[i].first);
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#c5cbd6\"/>",
                       x, top + ph, x, top + ph + 4);
    if (i % every == 0 || i + 1 == times.size())
      svg += fmt::format(
          "<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" "
          "fill=\"#5a6272\">{}</text>",
          x, top + ph + 18, html_escape(short_time(times[i].second)));
  }
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#5a6272\">run started (UTC)</text>",
      left + pw / 2 - 40, H - 6);
  std::size_t n = 0;
  for (const auto& s : series) {
    if (!s.ever_failed) continue;
    std::string colour(kPalette[n % std::size(kPalette)]);
    std::string dash = n >= std::size(kPalette) ? " stroke-dasharray=\"6 3\"" : "";
    ++n;
    std::string pts;
    for (const auto& p : s.points) pts += fmt::format("{:.1f},{:.1f} ", X(p.t), Y(p.rate));
    svg += fmt::format(
        "<g class=\"series\" data-scenario=\"{}\" data-variant=\"{}\">"
        "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"/>",
        html_escape(s.scenario), html_escape(s.variant), colour, dash, pts);
    for (const auto& p : s.points) {
      double x = X(p.t);
      svg += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
          "stroke-opacity=\"0.45\" stroke-width=\"2\"/>",
          x, Y(p.high), x, Y(p.low), colour);
      svg += fmt::format(
          "<circle class=\"point\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\" "
          "data-started-at=\"{}\" data-rate=\"{:.6f}\"><title>{}/{} {}: {}</title></circle>",
          x, Y(p.rate), colour, html_escape(p.started_at), p.rate, html_escape(s.scenario),
          html_escape(s.variant), html_escape(p.started_at),
          html_escape(describe_rate(p.failures, p.trials)));
    }
    svg += "</g>";
  }
  return svg + "</svg>";
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
          out += ' ';
        else
          out += c;
    }
  }
  return out;
}

long long parse_iso8601(const std::string& s) {
  std::tm tm{};
  int y, mo, d, h, mi, sec;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec) != 6) return -1;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<long long>(timegm(&tm));
}

namespace {

// Every (report, build) pair is one run of one build.
struct Run {
  const LoadedReport* report;
  std::size_t build;
  std::string label;
  long long t;
};

struct Runs {
  std::vector<Run> all;
  std::vector<std::string> labels;           // in order of first appearance
  std::map<std::string, const Run*> latest;  // the latest run of each build
  std::set<long long> distinct_times;
};

Runs collect_runs(const std::vector<LoadedReport>& reports) {
  Runs rs;
  for (const auto& r : reports)
    for (std::size_t b = 0; b < r.builds.size(); ++b) {
      std::string label = build_label(r.builds[b]);
      if (std::find(rs.labels.begin(), rs.labels.end(), label) == rs.labels.end())
        rs.labels.push_back(label);
      rs.all.push_back({&r, b, label, parse_iso8601(r.started_at)});
    }
  for (const auto& run : rs.all) {
    const Run*& l = rs.latest[run.label];
    if (!l || run.t > l->t) l = &run;
  }
  for (const auto& run : rs.all)
    if (run.t >= 0) rs.distinct_times.insert(run.t);
  return rs;
}

std::vector<const GroupStats*> groups_of(const Run& run) {
  std::vector<const GroupStats*> out;
  for (const auto& g : run.report->groups)
    if (g.build == run.build) out.push_back(&g.stats);
  return out;
}

// The title, what the page covers, and the verdict on the latest runs.
std::string header_html(const std::vector<LoadedReport>& reports, const Runs& rs,
                        const HtmlOptions& o) {
  std::uint64_t new_sigs = 0, known_sigs = 0, failing_groups = 0;
  for (const auto& [label, run] : rs.latest)
    for (const GroupStats* g : groups_of(*run)) {
      if (g->new_failures()) ++failing_groups;
      for (const auto& s : g->signatures) (s.known ? known_sigs : new_sigs) += 1;
    }

  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += fmt::format("<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n", html_escape(o.title),
                   kStyle);
  h += fmt::format("<header>\n<h1>{}</h1>\n", html_escape(o.title));
  h += fmt::format("<p class=\"meta\">{} report(s), {} build(s), {} run(s) over time{}</p>\n",
                   reports.size(), rs.labels.size(), rs.distinct_times.size(),
                   o.generated_at.empty() ? "" : "; generated " + html_escape(o.generated_at));
  if (new_sigs)
    h += fmt::format(
        "<div class=\"verdict new\" id=\"verdict\">{} new failure signature(s) in {} "
        "scenario/variant(s){}</div>\n",
        new_sigs, failing_groups, known_sigs ? fmt::format("; {} known", known_sigs) : "");
  else if (known_sigs)
    h += fmt::format(
        "<div class=\"verdict known\" id=\"verdict\">only known failures: {} signature(s), each "
        "explained by an issue in the baseline</div>\n",
        known_sigs);
  else
    h += "<div class=\"verdict clean\" id=\"verdict\">no failures in the latest runs</div>\n";
  return h + "</header>\n";
}

// One build's history: a series per scenario/variant (in order of first
// appearance, points in time order) and the times of its runs.
struct History {
  std::vector<Series> series;
  std::vector<std::pair<long long, std::string>> times;
};

History history_of(const std::string& label, const std::vector<Run>& runs) {
  std::map<std::pair<std::string, std::string>, Series> by_key;
  std::vector<std::pair<std::string, std::string>> order;
  std::map<long long, std::string> times;
  for (const auto& run : runs) {
    if (run.label != label || run.t < 0) continue;
    times.emplace(run.t, run.report->started_at);
    for (const GroupStats* g : groups_of(run)) {
      if (g->trials == 0) continue;
      auto key = std::make_pair(g->scenario, g->variant);
      if (!by_key.count(key)) order.push_back(key);
      Series& s = by_key[key];
      s.scenario = g->scenario;
      s.variant = g->variant;
      Interval ci = wilson_interval(g->failures, g->trials, run.report->confidence);
      s.points.push_back({run.t, run.report->started_at, g->trials, g->failures,
                          static_cast<double>(g->failures) / static_cast<double>(g->trials), ci.low,
                          ci.high});
      s.ever_failed |= g->failures > 0;
    }
  }
  History hist;
  for (const auto& k : order) {
    Series s = by_key[k];
    std::sort(s.points.begin(), s.points.end(),
              [](const Point& a, const Point& b) { return a.t < b.t; });
    hist.series.push_back(std::move(s));
  }
  hist.times.assign(times.begin(), times.end());
  return hist;
}

// The chart's legend, and the scenario/variants left out of the chart.
std::string legend_html(const std::vector<Series>& series) {
  std::string h = "<ul class=\"legend\">";
  std::size_t n = 0;
  std::vector<std::string> clean;
  for (const auto& s : series) {
    if (!s.ever_failed) {
      clean.push_back(s.scenario + "/" + s.variant);
      continue;
    }
    h += fmt::format("<li><span class=\"swatch\" style=\"background:{}\"></span>{}/{}</li>",
                     kPalette[n++ % std::size(kPalette)], html_escape(s.scenario),
                     html_escape(s.variant));
  }
  h += "</ul>\n";
  if (!clean.empty()) {
    std::string list;
    for (const auto& c : clean) list += (list.empty() ? "" : ", ") + html_escape(c);
    h += fmt::format("<p class=\"meta\">never failed: {}</p>\n", list);
  }
  return h;
}

// The chart's numbers as a table: a row per scenario/variant, a column per run.
std::string history_table(const std::string& label, const History& hist) {
  std::string h =
      "<div class=\"scroll\"><table class=\"history\"><thead><tr><th>scenario/variant</th>";
  for (const auto& [t, iso] : hist.times)
    h += fmt::format("<th>{}</th>", html_escape(short_time(iso)));
  h += "</tr></thead><tbody>\n";
  for (const auto& s : hist.series) {
    h += fmt::format(
        "<tr class=\"history-row\" data-build=\"{}\" data-scenario=\"{}\" "
        "data-variant=\"{}\"><td>{}/{}</td>",
        html_escape(label), html_escape(s.scenario), html_escape(s.variant),
        html_escape(s.scenario), html_escape(s.variant));
    for (const auto& [t, iso] : hist.times) {
      std::string cell = "&ndash;";
      for (const auto& p : s.points)
        if (p.t == t) cell = fmt::format("{}/{} ({})", p.failures, p.trials, pct(p.rate));
      h += fmt::format("<td class=\"num\">{}</td>", cell);
    }
    h += "</tr>\n";
  }
  return h + "</tbody></table></div>\n";
}

// Trend: one chart per build, when there are runs at several times.
std::string trend_section(const Runs& rs) {
  if (rs.distinct_times.size() < 2) return "";
  std::string h = "<section id=\"trend\">\n<h2>Failure rate over time</h2>\n";
  h += "<p class=\"meta\">Each point is one run (its JSON summary), in the order they ran; the "
       "vertical bar is the "
       "rate's interval. Scenario/variants that never failed are listed below the chart.</p>\n";
  for (const auto& label : rs.labels) {
    History hist = history_of(label, rs.all);
    if (hist.times.size() < 2) continue;
    h += fmt::format("<h3>{}</h3>\n<div class=\"chart\">{}</div>\n", html_escape(label),
                     trend_svg(label, hist.series, hist.times));
    h += legend_html(hist.series);
    h += history_table(label, hist);
  }
  return h + "</section>\n";
}

// When the latest run of a build started, its seed, shards and wall time, and
// whether it is partial.
std::string run_meta_html(const Run& run) {
  const LoadedReport& r = *run.report;
  std::vector<std::string> shards;
  for (const auto& s : r.shards)
    if (s.build == run.build) shards.push_back(s.text());
  std::string seed = r.run.contains("seed") && !r.run["seed"].is_null() ? r.run["seed"].dump()
                                                                        : std::string("several");
  std::string h = fmt::format(
      "<p class=\"meta\">latest run started {} &middot; seed {}{} &middot; shard(s) {} &middot; "
      "{:.0f} s wall &middot; <code>{}</code></p>\n",
      html_escape(r.started_at), html_escape(seed),
      r.run.value("chaos", 0) > 0 ? fmt::format(" &middot; chaos {}", r.run.value("chaos", 0))
                                  : std::string(),
      html_escape(fmt::format("{}", fmt::join(shards, ", "))), r.run.value("wall_seconds", 0.0),
      html_escape(r.path));
  if (r.run.contains("missing_shards") && r.run["missing_shards"].is_array() &&
      !r.run["missing_shards"].empty()) {
    std::vector<std::string> missing;
    for (const auto& m : r.run["missing_shards"])
      if (m.is_string()) missing.push_back(m.get<std::string>());
    h += fmt::format("<p class=\"warn missing\">missing shards: {}</p>\n",
                     html_escape(fmt::format("{}", fmt::join(missing, ", "))));
  }
  if (r.run.value("interrupted", false))
    h += "<p class=\"warn\">interrupted: the results are partial</p>\n";
  if (r.run.value("budget_exhausted", false))
    h += "<p class=\"meta\">the time budget ran out (no trial started after it)</p>\n";
  return h;
}

// One scenario/variant's row: counts, rate, interval, probes and signatures.
std::string group_row(const std::string& label, const GroupStats& g, double confidence) {
  bool skipped = g.trials == 0 && !g.skip_reason.empty();
  std::string h = fmt::format(
      "<tr class=\"group{}\" data-build=\"{}\" data-scenario=\"{}\" data-variant=\"{}\" "
      "data-trials=\"{}\" data-failures=\"{}\" data-new-failures=\"{}\" "
      "data-window-not-reached=\"{}\">",
      g.new_failures() ? " failing" : "", html_escape(label), html_escape(g.scenario),
      html_escape(g.variant), g.trials, g.failures, g.new_failures(),
      g.window_not_reached() ? "true" : "false");
  h += fmt::format("<td>{}</td>", html_escape(g.variant));
  if (skipped)
    return h + fmt::format("<td colspan=\"5\" class=\"muted\">skipped: {}</td></tr>\n",
                           html_escape(g.skip_reason));
  h += fmt::format(
      "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num rate\">{}</td>"
      "<td class=\"num\">{}</td><td>",
      g.trials, g.failures, rate_cell(g), interval_cell(g, confidence));
  for (const auto& [name, p] : g.probes)
    h += fmt::format(
        "<div class=\"probe muted\" data-probe=\"{}\" data-window=\"{}\" "
        "data-trials-hit=\"{}\" data-hits=\"{}\" title=\"{}\">probe {}{}: hit in {}/{} "
        "trials ({} hits)</div>",
        html_escape(name), p.window ? "true" : "false", p.trials_hit, p.total,
        html_escape(p.meaning), html_escape(name), p.window ? " (window)" : "", p.trials_hit,
        g.trials, p.total);
  if (g.window_not_reached())
    h += fmt::format("<div class=\"warn window-not-reached\">window_not_reached: {}</div>",
                     html_escape(g.window_not_reached_text()));
  if (g.signatures.empty() && g.failures == 0) h += "<span class=\"muted\">none</span>";
  for (const auto& s : g.signatures) h += signature_html(s);
  return h + "</td></tr>\n";
}

// One scenario's table in the latest run of a build.
std::string scenario_table(const std::string& label, const std::string& sc,
                           const std::vector<const GroupStats*>& gs, double confidence) {
  std::vector<std::string> refs;
  std::string plugin;  // a scenario from a plugin says which file
  for (const GroupStats* g : gs)
    if (g->scenario == sc && refs.empty() && plugin.empty()) {
      refs = g->references;
      plugin = g->plugin;
    }
  std::string ref_text;
  for (const auto& x : refs) ref_text += (ref_text.empty() ? "" : ", ") + html_escape(x);
  if (!plugin.empty())
    ref_text += (ref_text.empty() ? "plugin " : "; plugin ") + html_escape(plugin);
  std::string h = fmt::format(
      "<table class=\"scenario\" data-build=\"{}\" data-scenario=\"{}\">\n<caption>{}{}"
      "</caption>\n",
      html_escape(label), html_escape(sc), html_escape(sc),
      ref_text.empty() ? "" : " <span class=\"refs\">(" + ref_text + ")</span>");
  h += fmt::format(
      "<thead><tr><th>variant</th><th>trials</th><th>failures</th><th>rate</th><th>{}% "
      "interval</th><th>signatures</th></tr></thead>\n<tbody>\n",
      static_cast<int>(std::lround(confidence * 100)));
  for (const GroupStats* g : gs)
    if (g->scenario == sc) h += group_row(label, *g, confidence);
  return h + "</tbody></table>\n";
}

// The latest run of one build: a table per scenario.
std::string build_section(const std::string& label, const Run& run) {
  std::string h = fmt::format("<section class=\"build\" data-build=\"{}\">\n<h2>CPython {}</h2>\n",
                              html_escape(label), html_escape(label));
  h += run_meta_html(run);
  std::vector<std::string> scenarios;
  auto gs = groups_of(run);
  for (const GroupStats* g : gs)
    if (std::find(scenarios.begin(), scenarios.end(), g->scenario) == scenarios.end())
      scenarios.push_back(g->scenario);
  for (const auto& sc : scenarios) h += scenario_table(label, sc, gs, run.report->confidence);
  return h + "</section>\n";
}

// Where the numbers come from.
std::string inputs_section(const std::vector<LoadedReport>& reports) {
  std::string h =
      "<section id=\"inputs\">\n<h2>Reports</h2>\n<table class=\"inputs\"><thead><tr>"
      "<th>file</th><th>started</th><th>build(s)</th><th>trials</th><th>failures</th>"
      "<th>shards</th></tr></thead><tbody>\n";
  for (const auto& r : reports) {
    std::vector<std::string> bl, shards;
    for (const auto& b : r.builds) bl.push_back(build_label(b));
    for (const auto& s : r.shards) shards.push_back(s.text());
    h += fmt::format(
        "<tr class=\"input\"><td><code>{}</code></td><td>{}</td><td>{}</td><td "
        "class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
        html_escape(r.path), html_escape(r.started_at),
        html_escape(fmt::format("{}", fmt::join(bl, "; "))), report_trials(r), report_failures(r),
        html_escape(fmt::format("{}", fmt::join(shards, ", "))));
  }
  return h + "</tbody></table>\n</section>\n";
}

}  // namespace

std::string html_report(const std::vector<LoadedReport>& reports, const HtmlOptions& o) {
  Runs rs = collect_runs(reports);
  std::string h = header_html(reports, rs, o);
  h += trend_section(rs);
  for (const auto& label : rs.labels) h += build_section(label, *rs.latest.at(label));
  h += inputs_section(reports);
  h += fmt::format("<footer>gilrace {}</footer>\n</body>\n</html>\n", GILRACE_VERSION);
  return h;
}

}  // namespace gilrace
