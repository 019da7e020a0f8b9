// Merging shard reports, baselines of known signatures, the HTML page.
#include <algorithm>

#include "harness/base/parse.h"
#include "harness/results/baseline.h"
#include "harness/results/html_report.h"
#include "harness/results/merge.h"
#include "harness/results/stats.h"
#include "tests/catch.h"

using namespace gilrace;
using nlohmann::json;

namespace {

json a_build(const std::string& version = "3.13.15", bool ft = true) {
  return {{"version", version},
          {"hexversion", 0x030D0FF0},
          {"free_threaded", ft},
          {"gil_enabled_at_runtime", !ft},
          {"prefix", "/somewhere/" + version},
          {"build_record", {{"flavours", {{"free_threading", ft}}}, {"built_at", "yesterday"}}}};
}

json sig(const std::string& outcome, const std::string& text, std::uint64_t count,
         std::uint64_t first_trial, std::uint64_t seed = 7) {
  return {{"id", signature_id(outcome, text)},
          {"outcome", outcome},
          {"signature", text},
          {"count", count},
          {"first_trial", first_trial},
          {"first_seed", 1000 + first_trial},
          {"replay", "gilrace replay s --seed " + std::to_string(seed) + " --trial " +
                         std::to_string(first_trial)},
          {"detail", "detail of trial " + std::to_string(first_trial)},
          {"stacks", "stacks of trial " + std::to_string(first_trial)}};
}

json a_group(const std::string& scenario, std::uint64_t trials, std::uint64_t crashes,
             json sigs = json::array(), json params = json::object()) {
  return {{"scenario", scenario},
          {"variant", "default"},
          {"params", params},
          {"threads", 4},
          {"trials", trials},
          {"failures", crashes},
          {"outcomes", {{"pass", trials - crashes}, {"crash", crashes}}},
          {"first_failure_after", crashes ? json(3) : json()},
          {"first_failure_seconds", crashes ? json(1.5) : json()},
          {"trial_seconds", 0.5 * static_cast<double>(trials)},
          {"probes", {{"window", {{"total", trials * 2}, {"trials_hit", trials}}}}},
          {"signatures", sigs}};
}

json a_report(int k, int n, json groups, json build = a_build(), std::uint64_t seed = 7,
              const std::string& started = "2026-11-20T02:17:00Z") {
  return {{"format", "gilrace-report/1"},
          {"build", build},
          {"run",
           {{"started_at", started},
            {"seed", seed},
            {"shard_index", k},
            {"shard_count", n},
            {"repeat", 400},
            {"duration", 0},
            {"jobs", 2},
            {"wall_seconds", 10.0 + k},
            {"interrupted", false},
            {"confidence", 0.95}}},
          {"groups", groups}};
}

LoadedReport loaded(const json& j, const std::string& name) {
  return parse_report(j, name);
}

const GroupStats& only_group(const Merged& m, const std::string& scenario) {
  for (const auto& g : m.report.groups)
    if (g.stats.scenario == scenario) return g.stats;
  throw std::runtime_error("no group " + scenario);
}

std::string usage_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("merging shards adds counts and recomputes the statistics") {
  std::string segv = "SIGSEGV in f", abrt = "SIGABRT in g";
  std::vector<LoadedReport> in = {
      loaded(a_report(0, 2, {a_group("s", 200, 3, {sig("crash", segv, 3, 40)})}), "a.json"),
      loaded(
          a_report(1, 2,
                   {a_group("s", 200, 5, {sig("crash", segv, 4, 17), sig("crash", abrt, 1, 99)})}),
          "b.json")};
  Merged m = merge_reports(in, {});
  const GroupStats& g = only_group(m, "s");
  CHECK(g.trials == 400);
  CHECK(g.failures == 8);
  CHECK(g.outcomes.at("pass") == 392);
  CHECK(g.outcomes.at("crash") == 8);
  CHECK(g.probes.at("window").trials_hit == 400);
  CHECK(g.probes.at("window").total == 800);
  CHECK(g.trial_seconds == Approx(200.0));
  REQUIRE(g.signatures.size() == 2);
  // Counts added; the first occurrence is the smallest trial index, with its replay and stacks.
  CHECK(g.signatures[0].id == signature_id("crash", segv));
  CHECK(g.signatures[0].count == 7);
  CHECK(g.signatures[0].first_trial == 17);
  CHECK(g.signatures[0].first_seed == 1017);
  CHECK(g.signatures[0].replay.find("--trial 17") != std::string::npos);
  CHECK(g.signatures[0].stacks == "stacks of trial 17");
  CHECK(g.signatures[1].count == 1);
  CHECK(g.first_failure_after.value_or(0) == 18);  // trials 0..17 in index order
  CHECK(m.missing_shards.empty());

  json out = report_json(m.report, 1);
  CHECK(out["format"] == "gilrace-report/1");
  const json& gj = out["groups"][0];
  Interval ci = wilson_interval(8, 400, 0.95);
  CHECK(gj["rate"].get<double>() == Approx(0.02));
  CHECK(gj["ci_low"].get<double>() == Approx(ci.low));
  CHECK(gj["ci_high"].get<double>() == Approx(ci.high));
  CHECK(gj["rate_text"] == describe_rate(8, 400, 0.95));
  CHECK(out["totals"]["trials"] == 400);
  CHECK(out["totals"]["failures"] == 8);
  CHECK(out["run"]["shards"].size() == 2);
  CHECK(out["run"]["seed"] == 7);
  CHECK(out["run"]["merged_from"].size() == 2);
  CHECK(out["run"]["wall_seconds"].get<double>() == Approx(11.0));
}

TEST_CASE("a merge names the missing shards") {
  std::vector<LoadedReport> in = {loaded(a_report(0, 8, {a_group("s", 50, 0)}), "0.json"),
                                  loaded(a_report(1, 8, {a_group("s", 50, 0)}), "1.json"),
                                  loaded(a_report(3, 8, {a_group("s", 50, 0)}), "3.json"),
                                  loaded(a_report(4, 8, {a_group("s", 50, 0)}), "4.json"),
                                  loaded(a_report(6, 8, {a_group("s", 50, 0)}), "6.json"),
                                  loaded(a_report(7, 8, {a_group("s", 50, 0)}), "7.json")};
  Merged m = merge_reports(in, {});
  CHECK(m.missing_shards == std::vector<std::string>{"2/8", "5/8"});
  CHECK(report_json(m.report, 0)["run"]["missing_shards"] == json({"2/8", "5/8"}));
}

TEST_CASE("a merged report merges again, as one more shard set") {
  Merged first = merge_reports(
      {loaded(a_report(0, 3, {a_group("s", 10, 1, {sig("crash", "x", 1, 3)})}), "0.json"),
       loaded(a_report(1, 3, {a_group("s", 10, 0)}), "1.json")},
      {});
  CHECK(first.missing_shards == std::vector<std::string>{"2/3"});
  LoadedReport again = parse_report(report_json(first.report, 1), "merged.json");
  CHECK(again.shards.size() == 2);
  Merged all = merge_reports(
      {again, loaded(a_report(2, 3, {a_group("s", 10, 2, {sig("crash", "x", 2, 2)})}), "2.json")},
      {});
  CHECK(all.missing_shards.empty());
  CHECK(only_group(all, "s").trials == 30);
  CHECK(only_group(all, "s").signatures.at(0).count == 3);
  CHECK(only_group(all, "s").signatures.at(0).first_trial == 2);
  // Merging the merged report with one of its own shards would count it twice.
  std::string err = usage_error_of([&] {
    merge_reports({again, loaded(a_report(1, 3, {a_group("s", 10, 0)}), "1b.json")}, {});
  });
  CHECK(err.find("both hold shard 1/3 of seed 7") != std::string::npos);
}

TEST_CASE("merge refuses what would be wrong") {
  auto g = [] { return json::array({a_group("s", 10, 0)}); };
  SECTION("different --chaos levels: their rates do not add up") {
    json chaotic = a_report(1, 2, g());
    chaotic["run"]["chaos"] = 2;
    std::vector<LoadedReport> in = {loaded(a_report(0, 2, g()), "a.json"),
                                    loaded(chaotic, "b.json")};
    CHECK(usage_error_of([&] { merge_reports(in, {}); }) ==
          "a.json and b.json ran at different --chaos levels (0 and 2)");
    json also = a_report(0, 2, g());
    also["run"]["chaos"] = 2;
    Merged m = merge_reports({loaded(also, "c.json"), loaded(chaotic, "b.json")}, {});
    CHECK(report_json(m.report, 0)["run"]["chaos"] == 2);
  }
  SECTION("different builds, unless asked") {
    std::vector<LoadedReport> in = {
        loaded(a_report(0, 2, g()), "ft.json"),
        loaded(a_report(1, 2, g(), a_build("3.11.2", false)), "gil.json")};
    std::string err = usage_error_of([&] { merge_reports(in, {}); });
    CHECK(err ==
          "ft.json and gil.json are different builds (3.13.15 free-threaded vs 3.11.2 with-GIL); "
          "merge them with --allow-different-builds");
    MergeOptions o;
    o.allow_different_builds = true;
    Merged m = merge_reports(in, o);
    CHECK(m.report.builds.size() == 2);
    CHECK(m.report.groups.size() == 2);  // the builds' groups stay apart
    // Each build's split is judged on its own.
    CHECK(m.missing_shards ==
          std::vector<std::string>{"1/2 (3.13.15 free-threaded)", "0/2 (3.11.2 with-GIL)"});
    json out = report_json(m.report, 0);
    CHECK(out["builds"].size() == 2);
    CHECK(out["groups"][1]["build"] == "3.11.2 with-GIL");
    LoadedReport back = parse_report(out, "both.json");
    CHECK(back.groups[1].build == 1);
  }
  SECTION("the same build from another machine merges") {
    json other = a_build();
    other["prefix"] = "/elsewhere";
    other["build_record"]["built_at"] = "today";
    CHECK_NOTHROW(merge_reports(
        {loaded(a_report(0, 2, g()), "a.json"), loaded(a_report(1, 2, g(), other), "b.json")}, {}));
  }
  SECTION("a different source revision is a different build") {
    json other = a_build();
    other["source_revision"] = "abc123";
    std::string err = usage_error_of([&] {
      merge_reports(
          {loaded(a_report(0, 2, g()), "a.json"), loaded(a_report(1, 2, g(), other), "b.json")},
          {});
    });
    CHECK(err.find("source_revision") != std::string::npos);
  }
  SECTION("a shard twice") {
    std::string err = usage_error_of([&] {
      merge_reports({loaded(a_report(1, 4, g()), "a.json"), loaded(a_report(1, 4, g()), "b.json")},
                    {});
    });
    CHECK(err ==
          "a.json and b.json both hold shard 1/4 of seed 7 (s/default): its trials would count "
          "twice");
  }
  SECTION("one seed split two ways") {
    std::string err = usage_error_of([&] {
      merge_reports({loaded(a_report(0, 4, g()), "a.json"), loaded(a_report(0, 8, g()), "b.json")},
                    {});
    });
    CHECK(err.find("split the trials of seed 7 differently") != std::string::npos);
  }
  SECTION("the same shard of different seeds is fine") {
    Merged m = merge_reports({loaded(a_report(0, 1, g(), a_build(), 1), "a.json"),
                              loaded(a_report(0, 1, g(), a_build(), 2), "b.json")},
                             {});
    CHECK(only_group(m, "s").trials == 20);
  }
  SECTION("one scenario run with different params") {
    std::string err = usage_error_of([&] {
      merge_reports(
          {loaded(a_report(0, 2, g()), "a.json"),
           loaded(a_report(1, 2, {a_group("s", 10, 0, json::array(), {{"p", "0.5"}})}), "b.json")},
          {});
    });
    CHECK(err.find("s/default was run with different settings in a.json and b.json") !=
          std::string::npos);
  }
  SECTION("not a report") {
    CHECK(usage_error_of([] {
            parse_report(json{{"x", 1}}, "x.json");
          }) == "x.json: not a gilrace report (no \"format\": \"gilrace-report/1\")");
    CHECK(usage_error_of([] { load_report("/nonexistent/r.json"); }) ==
          "/nonexistent/r.json: cannot read it");
  }
}

TEST_CASE("a run's first occurrence of a signature is its smallest trial index") {
  Aggregate agg;
  auto trial = [](std::uint64_t i) {
    TrialResult t;
    t.spec.scenario = "s";
    t.spec.variant = "default";
    t.spec.trial = i;
    t.seed = 100 + i;
    t.outcome = Outcome::crash;
    t.signature = "SIGSEGV in f";
    t.stacks = "stacks " + std::to_string(i);
    return t;
  };
  agg.add(trial(9), 0.1);  // finished first
  agg.add(trial(4), 0.2);
  agg.add(trial(6), 0.3);
  const SignatureStats& s = agg.groups().at(0).signatures.at(0);
  CHECK(s.count == 3);
  CHECK(s.first_trial == 4);
  CHECK(s.first_seed == 104);
  CHECK(s.stacks == "stacks 4");
}

TEST_CASE("a baseline marks known signatures and leaves new ones failing") {
  std::string segv = "SIGSEGV in f", abrt = "SIGABRT in g";
  GroupStats g = GroupStats::from_json(
      a_group("s", 100, 5, {sig("crash", segv, 4, 1), sig("crash", abrt, 1, 2)}));
  GroupStats other = GroupStats::from_json(a_group("t", 100, 2, {sig("crash", segv, 2, 5)}));
  json file = {{"format", "gilrace-baseline/1"},
               {"signatures",
                {{{"scenario", "s"},
                  {"variant", "default"},
                  {"id", signature_id("crash", segv)},
                  {"outcome", "crash"},
                  {"signature", segv},
                  {"issue", "python/cpython#1"}},
                 {{"scenario", "s"},
                  {"variant", "naive"},
                  {"outcome", "crash"},
                  {"signature", abrt},
                  {"issue", ""}}}}};
  Baseline b = parse_baseline(file, "known.json");
  REQUIRE(b.entries.size() == 2);
  CHECK(b.entries[1].id == signature_id("crash", abrt));  // computed from the text
  json summary = apply_baseline(b, {&g, &other});
  CHECK(g.signatures[0].known);
  CHECK(g.signatures[0].issue == "python/cpython#1");
  CHECK_FALSE(g.signatures[1].known);      // listed for another variant
  CHECK_FALSE(other.signatures[0].known);  // same signature, another scenario
  CHECK(g.new_failures() == 1);
  CHECK(other.new_failures() == 2);
  CHECK(summary["known_signatures"] == 1);
  CHECK(summary["known_failures"] == 4);
  CHECK(summary["new_signatures"] == 2);
  CHECK(summary["new_failures"] == 3);
  CHECK(summary["unseen"].size() == 1);
  CHECK(summary["without_issue"] == 1);
  // The known flag survives the JSON round trip.
  GroupStats back = GroupStats::from_json(g.to_json());
  CHECK(back.signatures[0].known);
  CHECK(back.new_failures() == 1);
  CHECK(g.to_json()["new_failures"] == 1);

  // What `gilrace baseline` writes reads back as the same entries.
  auto entries = known_from({&g, &other});
  CHECK(entries.size() == 3);
  Baseline again = parse_baseline(baseline_json(entries), "again.json");
  CHECK(again.entries.size() == 3);
  CHECK(again.entries[2].scenario == "t");
}

TEST_CASE("a baseline entry whose id does not match its text is refused") {
  json file = {{"signatures",
                {{{"scenario", "s"},
                  {"variant", "default"},
                  {"id", "deadbeef"},
                  {"outcome", "crash"},
                  {"signature", "SIGSEGV in f"}}}}};
  std::string err = usage_error_of([&] { parse_baseline(file, "k.json"); });
  CHECK(err ==
        "k.json: entry 1 (s): id deadbeef does not match its outcome and signature (that is " +
            signature_id("crash", "SIGSEGV in f") + ")");
  CHECK(usage_error_of([] {
          parse_baseline(json{{"signatures", {{{"scenario", "s"}}}}}, "k.json");
        }) == "k.json: entry 1 needs a scenario and a variant");
}

TEST_CASE("the HTML page is self-contained and escapes what it shows") {
  json g1 = a_group("s<x>", 200, 4, {sig("crash", "SIGSEGV in <&>", 4, 7)});
  json g2 = a_group("s<x>", 200, 1, {sig("crash", "SIGSEGV in <&>", 1, 70)});
  std::vector<LoadedReport> nights = {
      loaded(a_report(0, 1, {g1}, a_build(), 7, "2026-11-20T02:17:00Z"), "n1.json"),
      loaded(a_report(0, 1, {g2}, a_build(), 8, "2026-11-21T02:17:00Z"), "n2.json")};
  std::string h = html_report(nights, {});
  CHECK(h.rfind("<!DOCTYPE html>", 0) == 0);
  for (const char* external : {"http:", "https:", "<script", "<link", "@import", "url(", "src="})
    CHECK(h.find(external) == std::string::npos);
  CHECK(h.find("SIGSEGV in &lt;&amp;&gt;") != std::string::npos);
  CHECK(h.find("<x>") == std::string::npos);
  // The latest night's table, and a trend over both.
  CHECK(h.find("data-scenario=\"s&lt;x&gt;\" data-variant=\"default\" data-trials=\"200\" "
               "data-failures=\"1\"") != std::string::npos);
  CHECK(h.find("<svg class=\"trend\"") != std::string::npos);
  std::size_t points = 0;
  for (std::size_t at = 0; (at = h.find("<circle class=\"point\"", at)) != std::string::npos; ++at)
    ++points;
  CHECK(points == 2);
  // One night: no trend.
  CHECK(html_report({nights[0]}, {}).find("<svg") == std::string::npos);
  CHECK(parse_iso8601("2026-11-21T02:17:00Z") - parse_iso8601("2026-11-20T02:17:00Z") == 86400);
  CHECK(parse_iso8601("yesterday") == -1);
}

TEST_CASE("declared probes merge, also with reports from before declarations") {
  json declared = a_group("s", 100, 0);
  declared["probes"] = {
      {"reached", {{"total", 0}, {"trials_hit", 0}, {"window", true}, {"meaning", "the window"}}},
      {"ran", {{"total", 100}, {"trials_hit", 100}, {"window", false}, {"meaning", "ran"}}}};
  declared["window_not_reached"] = true;
  json old = a_group("s", 100, 0);  // no meaning, no window flag, no window_not_reached
  old["probes"] = {{"reached", {{"total", 0}, {"trials_hit", 0}}}};

  for (bool old_first : {false, true}) {
    INFO("old report first: " << old_first);
    std::vector<LoadedReport> in = {loaded(a_report(0, 2, {declared}), "new.json"),
                                    loaded(a_report(1, 2, {old}), "old.json")};
    if (old_first) std::swap(in[0], in[1]);
    Merged m = merge_reports(in, {});
    const GroupStats& g = only_group(m, "s");
    CHECK(g.probes.at("reached").window);
    CHECK(g.probes.at("reached").meaning == "the window");
    CHECK(g.probes.at("reached").trials_hit == 0);
    CHECK(g.probes.at("ran").trials_hit == 100);
    CHECK(g.window_not_reached());
    json out = report_json(m.report, 0);
    CHECK(out["groups"][0]["window_not_reached"] == true);
    CHECK(out["groups"][0]["probes"]["reached"]["total"] == 0);
    CHECK(out["groups"][0]["probes"]["reached"]["window"] == true);
    std::string h = html_report({m.report}, {});
    CHECK(h.find("data-window-not-reached=\"true\"") != std::string::npos);
    CHECK(h.find("probe reached (window): hit in 0/200 trials (0 hits)") != std::string::npos);
    CHECK(h.find("window_not_reached: no trial hit its window probe (reached): 200 clean trials "
                 "prove nothing") != std::string::npos);
  }

  // Reports from before declarations alone say nothing about a window.
  Merged olds = merge_reports(
      {loaded(a_report(0, 2, {old}), "a.json"), loaded(a_report(1, 2, {old}), "b.json")}, {});
  CHECK_FALSE(only_group(olds, "s").window_not_reached());
  CHECK(report_json(olds.report, 0)["groups"][0]["window_not_reached"] == false);

  // One shard reached the window: the merge did.
  json reached = declared;
  reached["probes"]["reached"]["total"] = 5;
  reached["probes"]["reached"]["trials_hit"] = 3;
  Merged both = merge_reports(
      {loaded(a_report(0, 2, {declared}), "a.json"), loaded(a_report(1, 2, {reached}), "b.json")},
      {});
  CHECK(only_group(both, "s").probes.at("reached").trials_hit == 3);
  CHECK_FALSE(only_group(both, "s").window_not_reached());

  // A group with failures is judged by them, never window_not_reached.
  json failing = a_group("s", 100, 2, {sig("crash", "SIGSEGV in f", 2, 5)});
  failing["probes"] = declared["probes"];
  CHECK_FALSE(GroupStats::from_json(failing).window_not_reached());
}

TEST_CASE("window_not_reached: only for a clean group that ran trials and declares a window") {
  GroupStats g;
  g.probes["w"] = {.meaning = "the window", .window = true};
  g.skip_reason = "needs a free-threaded build";
  CHECK_FALSE(g.window_not_reached());  // skipped: no trial ran
  g.skip_reason.clear();
  g.trials = 3;
  CHECK(g.window_not_reached());
  CHECK(g.window_not_reached_text() ==
        "no trial hit its window probe (w): 3 clean trials prove nothing");
  g.probes["w"].window = false;
  CHECK_FALSE(g.window_not_reached());  // no window probe declared
}
