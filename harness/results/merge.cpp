#include "harness/results/merge.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "harness/base/parse.h"
#include "harness/results/json_file.h"
#include "harness/run/build_info.h"

namespace gilrace {

namespace {

using nlohmann::json;

template <typename T>
T get_or(const json& j, const char* key, T fallback) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return fallback;
  return j[key].get<T>();
}

// The first key in which two build identities differ, as "key: a vs b".
std::string first_difference(const json& a, const json& b) {
  std::set<std::string> keys;
  for (const auto& [k, v] : a.items()) keys.insert(k);
  for (const auto& [k, v] : b.items()) keys.insert(k);
  for (const auto& k : keys) {
    json va = a.contains(k) ? a[k] : json();
    json vb = b.contains(k) ? b[k] : json();
    if (va != vb) return fmt::format("{}: {} vs {}", k, va.dump(), vb.dump());
  }
  return "";
}

void add_group(GroupStats& dst, const GroupStats& src, const std::string& dst_from,
               const std::string& src_from) {
  if (dst.params != src.params || dst.threads != src.threads)
    throw UsageError(fmt::format(
        "{} was run with different settings in {} and {} (params {} threads {} vs params {} "
        "threads {})",
        dst.key(), dst_from, src_from, json(dst.params).dump(), dst.threads,
        json(src.params).dump(), src.threads));
  if (dst.references.empty()) dst.references = src.references;
  if (dst.skip_reason.empty()) dst.skip_reason = src.skip_reason;
  dst.trials += src.trials;
  dst.failures += src.failures;
  for (const auto& [k, n] : src.outcomes) dst.outcomes[k] += n;
  dst.trial_seconds += src.trial_seconds;
  for (const auto& [name, p] : src.probes) {
    ProbeStats& d = dst.probes[name];
    d.total += p.total;
    d.trials_hit += p.trials_hit;
    // A report from before probes were declared carries neither: the other one decides.
    if (d.meaning.empty()) d.meaning = p.meaning;
    d.window = d.window || p.window;
  }
  if (src.first_failure_seconds &&
      (!dst.first_failure_seconds || *src.first_failure_seconds < *dst.first_failure_seconds))
    dst.first_failure_seconds = src.first_failure_seconds;
  for (const auto& s : src.signatures) {
    auto it = std::find_if(dst.signatures.begin(), dst.signatures.end(),
                           [&](const SignatureStats& d) { return d.id == s.id; });
    if (it == dst.signatures.end()) {
      dst.signatures.push_back(s);
      continue;
    }
    it->count += s.count;
    if (s.first_trial < it->first_trial) {
      it->first_trial = s.first_trial;
      it->first_seed = s.first_seed;
      it->replay = s.replay;
      it->detail = s.detail;
      it->stacks = s.stacks;
      it->artifacts = s.artifacts;
    }
    if (!it->known && s.known) {
      it->known = true;
      it->issue = s.issue;
    }
  }
}

// Trials up to and including the first failing one, in trial-index order:
// what "first failure after" means once shards ran side by side.
void settle_group(GroupStats& g) {
  std::stable_sort(g.signatures.begin(), g.signatures.end(),
                   [](const SignatureStats& a, const SignatureStats& b) {
                     return a.first_trial < b.first_trial;
                   });
  if (g.failures && !g.signatures.empty())
    g.first_failure_after = g.signatures.front().first_trial + 1;
  else if (!g.failures)
    g.first_failure_after.reset();
}

}  // namespace

std::string ShardRef::text() const {
  return fmt::format("{}/{}", index, count);
}

LoadedReport parse_report(const json& j, const std::string& name) {
  if (!j.is_object() || !j.contains("format") || j["format"] != "gilrace-report/1")
    throw UsageError(
        fmt::format("{}: not a gilrace report (no \"format\": \"gilrace-report/1\")", name));
  LoadedReport r;
  r.path = name;
  try {
    if (j.contains("builds") && j["builds"].is_array() && !j["builds"].empty())
      for (const auto& b : j["builds"]) r.builds.push_back(b);
    else
      r.builds.push_back(j.contains("build") ? j["build"] : json::object());
    r.run = j.contains("run") && j["run"].is_object() ? j["run"] : json::object();
    r.started_at = get_or<std::string>(r.run, "started_at", "");
    r.confidence = get_or<double>(r.run, "confidence", 0.95);
    if (r.run.contains("shards") && r.run["shards"].is_array()) {
      for (const auto& s : r.run["shards"]) {
        ShardRef ref;
        ref.build = get_or<std::size_t>(s, "build", 0);
        ref.seed = get_or<std::uint64_t>(s, "seed", 0);
        std::tie(ref.index, ref.count) = parse_shard(get_or<std::string>(s, "shard", "0/1"));
        if (ref.build >= r.builds.size())
          throw UsageError("a shard names a build it does not have");
        r.shards.push_back(ref);
      }
    } else {
      ShardRef ref;
      ref.seed = get_or<std::uint64_t>(r.run, "seed", 0);
      ref.index = get_or<int>(r.run, "shard_index", 0);
      ref.count = get_or<int>(r.run, "shard_count", 1);
      if (ref.count < 1 || ref.index < 0 || ref.index >= ref.count)
        throw UsageError(fmt::format("shard {}/{} makes no sense", ref.index, ref.count));
      r.shards.push_back(ref);
    }
    if (j.contains("groups"))
      for (const auto& g : j["groups"]) {
        ReportGroup rg;
        rg.build = get_or<std::size_t>(g, "build_index", 0);
        if (rg.build >= r.builds.size()) throw UsageError("a group names a build it does not have");
        rg.stats = GroupStats::from_json(g);
        r.groups.push_back(std::move(rg));
      }
  } catch (const json::exception& e) {
    throw UsageError(fmt::format("{}: malformed report: {}", name, e.what()));
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("{}: malformed report: {}", name, e.what()));
  }
  return r;
}

LoadedReport load_report(const std::string& path) {
  return parse_report(read_json_file(path, path), path);
}

json build_identity(const json& b) {
  json id = json::object();
  if (!b.is_object()) return id;
  for (const char* k :
       {"version", "hexversion", "runtime_hexversion", "free_threaded", "gil_enabled_at_runtime",
        "debug", "python_tsan", "gilrace_tsan", "gilrace_version", "source_revision"})
    if (b.contains(k)) id[k] = b[k];
  if (b.contains("build_record") && b["build_record"].is_object()) {
    const json& rec = b["build_record"];
    for (const char* k : {"flavours", "patches"})
      if (rec.contains(k)) id[std::string("build_record.") + k] = rec[k];
    if (rec.contains("source") && rec["source"].is_object()) {
      json src = rec["source"];
      src.erase("path");  // where it was unpacked on that machine
      id["build_record.source"] = src;
    }
  }
  return id;
}

std::string build_label(const json& build) {
  BuildInfo b = BuildInfo::from_json(build.is_object() ? build : json::object());
  return b.version.empty() ? "unknown build" : b.flavour();
}

namespace {

// Which output build each input's builds became: build_map[input][build].
using BuildMap = std::vector<std::vector<std::size_t>>;

// Builds: the same identity is the same build, whatever machine ran it.
BuildMap merge_builds(const std::vector<LoadedReport>& inputs, bool allow_different,
                      LoadedReport& out) {
  std::vector<json> ids;
  std::vector<std::string> build_from;  // the file a build was first seen in
  BuildMap build_map(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    for (const auto& b : inputs[i].builds) {
      json id = build_identity(b);
      auto it = std::find(ids.begin(), ids.end(), id);
      if (it == ids.end()) {
        if (!ids.empty() && !allow_different) {
          std::string a = build_label(out.builds.front()), c = build_label(b);
          throw UsageError(fmt::format(
              "{} and {} are different builds ({}); merge them with --allow-different-builds",
              build_from.front(), inputs[i].path,
              a != c ? a + " vs " + c : first_difference(ids.front(), id)));
        }
        ids.push_back(id);
        out.builds.push_back(b);
        build_from.push_back(inputs[i].path);
        it = ids.end() - 1;
      }
      build_map[i].push_back(static_cast<std::size_t>(it - ids.begin()));
    }
  }
  return build_map;
}

// Groups, by build, scenario and variant, in order of first appearance.
// Returns, per output group, the inputs holding it.
std::vector<std::vector<std::size_t>> merge_groups(const std::vector<LoadedReport>& inputs,
                                                   const BuildMap& build_map, LoadedReport& out) {
  std::vector<std::vector<std::size_t>> origins;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    for (const auto& rg : inputs[i].groups) {
      std::size_t b = build_map[i][rg.build];
      auto it = std::find_if(out.groups.begin(), out.groups.end(), [&](const ReportGroup& g) {
        return g.build == b && g.stats.scenario == rg.stats.scenario &&
               g.stats.variant == rg.stats.variant;
      });
      if (it == out.groups.end()) {
        out.groups.push_back({b, rg.stats});
        origins.push_back({i});
        continue;
      }
      std::size_t gi = static_cast<std::size_t>(it - out.groups.begin());
      add_group(it->stats, rg.stats, inputs[origins[gi].front()].path, inputs[i].path);
      origins[gi].push_back(i);
    }
  }
  return origins;
}

// The same trials must not be counted twice: per group and seed, every
// input holds distinct shards of one split.
void check_no_overlap(const std::vector<LoadedReport>& inputs, const BuildMap& build_map,
                      const std::vector<std::vector<std::size_t>>& origins,
                      const LoadedReport& out) {
  for (std::size_t gi = 0; gi < out.groups.size(); ++gi) {
    struct Held {
      std::size_t input;
      ShardRef ref;
    };
    std::map<std::uint64_t, std::vector<Held>> by_seed;
    for (std::size_t i : origins[gi])
      for (const auto& ref : inputs[i].shards)
        if (build_map[i][ref.build] == out.groups[gi].build) by_seed[ref.seed].push_back({i, ref});
    for (const auto& [seed, held] : by_seed)
      for (std::size_t x = 0; x < held.size(); ++x)
        for (std::size_t y = x + 1; y < held.size(); ++y) {
          const Held &a = held[x], &b = held[y];
          if (a.ref.count != b.ref.count)
            throw UsageError(fmt::format(
                "{} and {} split the trials of seed {} differently (shard {} and {}): they overlap",
                inputs[a.input].path, inputs[b.input].path, seed, a.ref.text(), b.ref.text()));
          if (a.ref.index == b.ref.index)
            throw UsageError(fmt::format(
                "{} and {} both hold shard {} of seed {} ({}): its trials would count twice",
                inputs[a.input].path, inputs[b.input].path, a.ref.text(), seed,
                out.groups[gi].stats.key()));
        }
  }
}

// Shards covered, each once, in the output's build numbering.
void merge_shards(const std::vector<LoadedReport>& inputs, const BuildMap& build_map,
                  LoadedReport& out) {
  for (std::size_t i = 0; i < inputs.size(); ++i)
    for (ShardRef ref : inputs[i].shards) {
      ref.build = build_map[i][ref.build];
      bool seen = std::any_of(out.shards.begin(), out.shards.end(), [&](const ShardRef& s) {
        return s.build == ref.build && s.seed == ref.seed && s.index == ref.index &&
               s.count == ref.count;
      });
      if (!seen) out.shards.push_back(ref);
    }
}

// The shards missing from each split, qualified by build and seed where the
// report holds several.
std::vector<std::string> missing_shards(const LoadedReport& out) {
  std::map<std::tuple<std::size_t, std::uint64_t, int>, std::set<int>> splits;
  std::map<std::size_t, std::set<std::uint64_t>> seeds_of_build;
  for (const auto& s : out.shards) {
    splits[{s.build, s.seed, s.count}].insert(s.index);
    seeds_of_build[s.build].insert(s.seed);
  }
  std::vector<std::string> missing;
  for (const auto& [key, present] : splits) {
    auto [build, seed, count] = key;
    std::vector<std::string> qualifiers;
    if (out.builds.size() > 1) qualifiers.push_back(build_label(out.builds[build]));
    if (seeds_of_build[build].size() > 1) qualifiers.push_back(fmt::format("seed {}", seed));
    std::string q = qualifiers.empty() ? "" : fmt::format(" ({})", fmt::join(qualifiers, ", "));
    for (int k = 0; k < count; ++k)
      if (!present.count(k)) missing.push_back(fmt::format("{}/{}{}", k, count, q));
  }
  return missing;
}

std::vector<std::string> shard_texts(const LoadedReport& in) {
  std::vector<std::string> texts;
  for (const auto& s : in.shards) texts.push_back(s.text());
  return texts;
}

// One input as run.merged_from lists it.
json merged_from_entry(const LoadedReport& in) {
  const json& r = in.run;
  json f = {{"file", in.path},
            {"started_at", in.started_at},
            {"shards", shard_texts(in)},
            {"trials", report_trials(in)},
            {"failures", report_failures(in)},
            {"wall_seconds", get_or<double>(r, "wall_seconds", 0.0)},
            {"interrupted", get_or<bool>(r, "interrupted", false)},
            {"budget_exhausted", get_or<bool>(r, "budget_exhausted", false)}};
  if (in.shards.size() == 1) f["seed"] = in.shards.front().seed;
  if (in.builds.size() == 1) f["build"] = build_label(in.builds.front());
  return f;
}

// What the inputs' run blocks add up to: earliest start, longest wall time,
// any interruption, the settings they share (null where they differ).
json combined_run(const std::vector<LoadedReport>& inputs) {
  std::string started;
  std::set<std::uint64_t> seeds;
  json repeat, duration;
  bool same_repeat = true, same_duration = true;
  double wall = 0;
  std::optional<double> budget_used;
  bool interrupted = false, budget_exhausted = false, stopped_early = false;
  std::uint64_t abandoned = 0;
  long jobs = 0, peak_rss = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const LoadedReport& in = inputs[i];
    const json& r = in.run;
    if (!in.started_at.empty() && (started.empty() || in.started_at < started))
      started = in.started_at;
    for (const auto& s : in.shards) seeds.insert(s.seed);
    json rep = r.contains("repeat") ? r["repeat"] : json();
    json dur = r.contains("duration") ? r["duration"] : json();
    if (i == 0) {
      repeat = rep;
      duration = dur;
    }
    same_repeat &= rep == repeat;
    same_duration &= dur == duration;
    wall = std::max(wall, get_or<double>(r, "wall_seconds", 0.0));
    if (r.contains("budget_used") && r["budget_used"].is_number())
      budget_used = std::max(budget_used.value_or(0.0), r["budget_used"].get<double>());
    interrupted |= get_or<bool>(r, "interrupted", false);
    budget_exhausted |= get_or<bool>(r, "budget_exhausted", false);
    stopped_early |= get_or<bool>(r, "stopped_early", false);
    abandoned += get_or<std::uint64_t>(r, "abandoned_trials", 0);
    jobs += get_or<long>(r, "jobs", 0);
    peak_rss = std::max(peak_rss, get_or<long>(r, "supervisor_peak_rss_kb", 0));
  }
  json run = json::object();
  run["started_at"] = started;
  run["seed"] = seeds.size() == 1 ? json(*seeds.begin()) : json();
  run["repeat"] = same_repeat ? repeat : json();
  run["duration"] = same_duration ? duration : json();
  run["jobs"] = jobs;
  run["timeout"] = inputs.front().run.value("timeout", json());
  run["stall"] = inputs.front().run.value("stall", json());
  run["wall_seconds"] = wall;
  run["interrupted"] = interrupted;
  run["budget_exhausted"] = budget_exhausted;
  run["budget_used"] = budget_used ? json(*budget_used) : json();
  run["stopped_early"] = stopped_early;
  run["abandoned_trials"] = abandoned;
  run["supervisor_peak_rss_kb"] = peak_rss;
  return run;
}

// The run block: what the inputs were, and what they add up to.
json merged_run(const std::vector<LoadedReport>& inputs, const MergeOptions& o, const Merged& m) {
  json run = combined_run(inputs);
  run["command"] = o.command;
  run["shard_index"] = 0;
  run["shard_count"] = 1;
  run["expect"] = "pass";
  run["confidence"] = m.report.confidence;
  run["chaos"] = get_or<long>(inputs.front().run, "chaos", 0L);  // one level: check_one_chaos
  json shards = json::array();
  for (const auto& s : m.report.shards)
    shards.push_back({{"build", s.build}, {"seed", s.seed}, {"shard", s.text()}});
  run["shards"] = shards;
  run["missing_shards"] = m.missing_shards;
  json from = json::array();
  for (const auto& in : inputs) from.push_back(merged_from_entry(in));
  run["merged_from"] = from;
  return run;
}

// Chaos changes the failure rates: trials run at different levels do not add up.
void check_one_chaos(const std::vector<LoadedReport>& inputs) {
  const long chaos = get_or<long>(inputs.front().run, "chaos", 0L);
  for (const auto& in : inputs)
    if (get_or<long>(in.run, "chaos", 0L) != chaos)
      throw UsageError(fmt::format("{} and {} ran at different --chaos levels ({} and {})",
                                   inputs.front().path, in.path, chaos,
                                   get_or<long>(in.run, "chaos", 0L)));
}

}  // namespace

Merged merge_reports(const std::vector<LoadedReport>& inputs, const MergeOptions& o) {
  if (inputs.empty()) throw UsageError("nothing to merge");
  Merged m;
  LoadedReport& out = m.report;
  out.confidence = o.confidence > 0 ? o.confidence : inputs.front().confidence;
  check_one_chaos(inputs);
  BuildMap build_map = merge_builds(inputs, o.allow_different_builds, out);
  auto origins = merge_groups(inputs, build_map, out);
  check_no_overlap(inputs, build_map, origins, out);
  for (auto& g : out.groups) settle_group(g.stats);
  merge_shards(inputs, build_map, out);
  m.missing_shards = missing_shards(out);
  for (const auto& in : inputs)
    if (get_or<bool>(in.run, "interrupted", false))
      m.warnings.push_back(fmt::format("{} (shard {}) was interrupted: its results are partial",
                                       in.path, fmt::join(shard_texts(in), ", ")));
  out.run = merged_run(inputs, o, m);
  out.started_at = out.run["started_at"].get<std::string>();
  return m;
}

std::uint64_t report_trials(const LoadedReport& r) {
  std::uint64_t n = 0;
  for (const auto& g : r.groups) n += g.stats.trials;
  return n;
}

std::uint64_t report_failures(const LoadedReport& r) {
  std::uint64_t n = 0;
  for (const auto& g : r.groups) n += g.stats.failures;
  return n;
}

std::uint64_t report_new_failures(const LoadedReport& r) {
  std::uint64_t n = 0;
  for (const auto& g : r.groups) n += g.stats.new_failures();
  return n;
}

json report_json(const LoadedReport& r, int exit_code) {
  json j;
  j["format"] = "gilrace-report/1";
  j["build"] = r.builds.empty() ? json::object() : r.builds.front();
  if (r.builds.size() > 1) j["builds"] = r.builds;
  j["run"] = r.run;
  json groups = json::array();
  std::uint64_t sigs = 0;
  for (const auto& g : r.groups) {
    json gj = g.stats.to_json(r.confidence);
    if (r.builds.size() > 1) {
      gj["build_index"] = g.build;
      gj["build"] = build_label(r.builds[g.build]);
    }
    sigs += g.stats.signatures.size();
    groups.push_back(std::move(gj));
  }
  j["groups"] = groups;
  j["totals"] = {{"trials", report_trials(r)},
                 {"failures", report_failures(r)},
                 {"new_failures", report_new_failures(r)},
                 {"distinct_signatures", sigs}};
  j["exit_code"] = exit_code;
  return j;
}

}  // namespace gilrace
