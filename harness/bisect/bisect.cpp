#include "harness/bisect/bisect.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/base/exit_codes.h"
#include "harness/base/parse.h"
#include "harness/results/report.h"
#include "harness/results/stats.h"
#include "harness/run/supervisor.h"

namespace gilrace {

namespace {

std::string percent(double x) {
  double pct = x * 100;
  if (pct > 0 && pct < 0.1) return fmt::format("{:.3f}%", pct);
  return fmt::format("{:.1f}%", pct);
}

// Numbers in the machine-readable lines: short, and parseable by strtod.
std::string num(double x) {
  return fmt::format("{:.4g}", x);
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

}  // namespace

// ---------------------------------------------------------------- arithmetic

std::uint64_t bisect_trials(double rate, double confidence) {
  if (!(rate > 0 && rate <= 1) || !(confidence > 0 && confidence < 1))
    throw std::invalid_argument("bisect_trials: rate must be in (0, 1], confidence in (0, 1)");
  if (rate >= 1) return 1;
  const double miss = 1 - confidence;
  const double log_keep = std::log1p(-rate);  // log(1-rate), precise for small rates
  // (1-rate)^n <= miss, with a relative tolerance so that exact powers
  // (0.5^2 = 0.25) are not pushed one trial up by rounding.
  auto enough = [&](std::uint64_t n) {
    return std::exp(static_cast<double>(n) * log_keep) <= miss * (1 + 1e-9);
  };
  double estimate = std::min(std::ceil(std::log(miss) / log_keep), 1e18);
  std::uint64_t n = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(estimate));
  while (n > 1 && enough(n - 1)) --n;
  while (!enough(n)) ++n;
  return n;
}

double calibrated_rate(std::uint64_t failures, std::uint64_t trials, double confidence) {
  if (failures == 0 || trials == 0) return 0;
  return wilson_interval(failures, trials, confidence).low;
}

// ---------------------------------------------------------------- the target

OtherPolicy parse_other_policy(std::string_view text) {
  if (text == "skip") return OtherPolicy::skip;
  if (text == "good") return OtherPolicy::good;
  if (text == "bad") return OtherPolicy::bad;
  throw UsageError(fmt::format("--other must be good, bad or skip, got '{}'", text));
}

std::string_view other_policy_name(OtherPolicy p) {
  switch (p) {
    case OtherPolicy::good:
      return "good";
    case OtherPolicy::bad:
      return "bad";
    case OtherPolicy::skip:
      break;
  }
  return "skip";
}

// ---------------------------------------------------------------- verdict

BisectTally tally(const GroupStats& g, const TargetMatcher& m, OtherPolicy other) {
  BisectTally t;
  t.trials = g.trials;
  if (auto it = g.outcomes.find("skipped"); it != g.outcomes.end()) t.skipped = it->second;
  for (const auto& s : g.signatures)
    (m.is_target(s.outcome, s.signature) ? t.target : t.other) += s.count;
  if (other == OtherPolicy::bad) {
    t.target += t.other;
    t.other = 0;
  }
  t.window_missed = g.declares_window() && !g.window_reached();
  return t;
}

Verdict decide_verdict(const BisectTally& t, std::uint64_t needed, double confidence,
                       OtherPolicy other) {
  Verdict v;
  v.needed = needed;
  v.seen = t;
  v.confidence = confidence;
  v.clean = t.passes() + (other == OtherPolicy::good ? t.other : 0);
  if (t.target > 0) {
    v.kind = Verdict::Kind::bad;
    v.exit_code = kExitFailed;
    Interval ci = wilson_interval(t.target, t.trials, confidence);
    v.rate_low = ci.low;
    v.rate_high = ci.high;
    return v;
  }
  v.rate_high = clean_upper_bound(v.clean, confidence);
  if (needed > 0 && v.clean >= needed && !t.window_missed) {
    v.kind = Verdict::Kind::good;
    v.exit_code = kExitOk;
    return v;
  }
  v.kind = Verdict::Kind::skip;
  v.exit_code = kExitCannotTest;
  if (needed > 0 && v.clean >= needed)  // enough clean trials, but none reached the window
    v.reason = "window_not_reached";
  else if (t.other > 0 && other == OtherPolicy::skip)
    v.reason = "other_failures";
  else if (t.skipped > 0)
    v.reason = "skipped_trials";
  else
    v.reason = "too_few_trials";
  return v;
}

std::string_view Verdict::name() const {
  switch (kind) {
    case Kind::good:
      return "good";
    case Kind::bad:
      return "bad";
    case Kind::interrupted:
      return "interrupted";
    case Kind::skip:
      break;
  }
  return "skip";
}

std::string Verdict::line() const {
  std::string s = fmt::format("gilrace-verdict: {} needed={} trials={} failures={} other={}",
                              name(), needed, seen.trials, seen.target, seen.other);
  if (seen.skipped) s += fmt::format(" skipped={}", seen.skipped);
  if (kind == Kind::bad) s += fmt::format(" rate>={} rate<={}", num(rate_low), num(rate_high));
  if (kind == Kind::good) s += fmt::format(" rate<={}", num(rate_high));
  if (!reason.empty()) s += fmt::format(" reason={}", reason);
  s += fmt::format(" confidence={:g}", confidence);
  return s;
}

nlohmann::json Verdict::to_json() const {
  nlohmann::json j = {{"verdict", name()},
                      {"exit_code", exit_code},
                      {"needed", needed},
                      {"trials", seen.trials},
                      {"target_failures", seen.target},
                      {"other_failures", seen.other},
                      {"skipped", seen.skipped},
                      {"clean", clean},
                      {"confidence", confidence},
                      {"line", line()}};
  if (!reason.empty()) j["reason"] = reason;
  if (kind == Kind::bad) j["rate_interval"] = {rate_low, rate_high};
  if (kind == Kind::good) j["rate_ruled_out_above"] = rate_high;
  return j;
}

// ---------------------------------------------------------------- rate file

std::string format_rate_file(const RateRecord& r) {
  std::string s =
      "# gilrace bisect rate file: written by `gilrace run --bisect --calibrate`,\n"
      "# read by `gilrace run --bisect --rate-file`. `rate` is what a step uses.\n";
  s += fmt::format("rate={:.6g}\n", r.rate);
  s += fmt::format("scenario={}\nvariant={}\nmatch={}\nother={}\n", r.scenario, r.variant, r.match,
                   r.other);
  for (const auto& [k, v] : r.params) s += fmt::format("param.{}={}\n", k, v);
  s += fmt::format("chaos={}\n", r.chaos);
  s += fmt::format("measured={}/{}\nconfidence={:g}\n", r.failures, r.trials, r.confidence);
  s += fmt::format("build={}\nmeasured_at={}\n", r.build, r.measured_at);
  return s;
}

RateRecord parse_rate_file(std::string_view text, const std::string& path) {
  RateRecord r;
  bool have_rate = false;
  std::istringstream in{std::string(text)};
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos)
      throw UsageError(fmt::format("--rate-file {}: line {} is not key=value", path, n));
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "rate") {
      r.rate = parse_fraction(value, fmt::format("--rate-file {}: rate", path), true);
      have_rate = true;
    } else if (key == "scenario") {
      r.scenario = value;
    } else if (key == "variant") {
      r.variant = value;
    } else if (key == "match") {
      r.match = value;
    } else if (key == "other") {
      r.other = value;
    } else if (key == "chaos") {
      r.chaos = static_cast<int>(parse_count(value, "chaos", 0));
    } else if (key.rfind("param.", 0) == 0) {
      r.params[key.substr(6)] = value;
    } else if (key == "measured") {
      auto slash = value.find('/');
      if (slash != std::string::npos) {
        r.failures = parse_count(value.substr(0, slash), "measured", 0);
        r.trials = parse_count(value.substr(slash + 1), "measured", 0);
      }
    } else if (key == "confidence") {
      r.confidence = std::strtod(value.c_str(), nullptr);
    } else if (key == "build") {
      r.build = value;
    } else if (key == "measured_at") {
      r.measured_at = value;
    }  // other keys: from a newer gilrace, ignored
  }
  if (!have_rate) throw UsageError(fmt::format("--rate-file {}: no rate= line", path));
  return r;
}

RateRecord read_rate_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    throw UsageError(
        fmt::format("--rate-file {}: cannot read it (measure it first on a known-bad build with "
                    "`gilrace run SCENARIO --bisect --calibrate --rate-file {}`)",
                    path, path));
  std::ostringstream text;
  text << f.rdbuf();
  return parse_rate_file(text.str(), path);
}

// ---------------------------------------------------------------- `run --bisect`

void add_bisect_options(CLI::App* run, BisectArgs& a) {
  run->add_flag("--bisect", a.on,
                "One `git bisect run` step: exit 0 good, 1 bad, 125 this build cannot be tested");
  run->add_flag("--calibrate", a.calibrate,
                "With --bisect, on a known-bad build: measure the target's failure rate into "
                "--rate-file");
  run->add_option("--rate", a.rate,
                  "With --bisect: the fraction of trials that fail on a bad build");
  run->add_option("--rate-file", a.rate_file,
                  "With --bisect: read that rate from this file (written by --calibrate)");
  run->add_option("--other", a.other,
                  "With --bisect: other failures count as skip (default), good or bad");
}

BisectPlan plan_bisect(const BisectArgs& a, const BisectShape& s) {
  BisectPlan p;
  if (!a.on) {
    const char* lone = a.calibrate            ? "--calibrate"
                       : !a.rate.empty()      ? "--rate"
                       : !a.rate_file.empty() ? "--rate-file"
                       : a.other != "skip"    ? "--other"
                                              : nullptr;
    if (lone) throw UsageError(fmt::format("{} needs --bisect", lone));
    return p;
  }
  if (s.all || s.scenarios.size() != 1)
    throw UsageError("--bisect tests exactly one scenario: name it");
  if (s.variant == "all") throw UsageError("--bisect tests one variant: name it with --variant");
  if (s.shard) throw UsageError("--bisect and --shard exclude each other");
  if (s.expect_fail) throw UsageError("--bisect decides good and bad itself: drop --expect");
  if (s.stop_after && !a.calibrate)
    throw UsageError("--bisect stops at the first target failure: drop --stop-after");

  p.on_ = true;
  p.calibrate_ = a.calibrate;
  p.other_ = parse_other_policy(a.other);
  p.matcher_ = TargetMatcher(s.match);
  p.match_text_ = join(s.match, " ");
  const ScenarioInfo& info = s.scenarios.front()->info;
  p.scenario_ = info.name;
  p.variant_ = s.variant.empty() ? info.variants.front().name : s.variant;
  p.params_ = s.params;
  p.chaos_ = s.chaos;
  p.confidence_ = s.confidence;
  p.rate_file_ = a.rate_file;

  if (a.calibrate) {
    if (a.rate_file.empty())
      throw UsageError("--calibrate writes the rate it measures to --rate-file FILE: give one");
    if (!a.rate.empty()) throw UsageError("--calibrate measures the rate: drop --rate");
    require_writable_file(a.rate_file, "--rate-file");
    if (s.stop_after) p.calibration_stop_ = s.stop_after;
    p.repeat_ = s.repeat ? s.repeat : (s.duration > 0 ? 0 : 200);
    return p;
  }

  if (!a.rate.empty() && !a.rate_file.empty())
    throw UsageError("give --rate or --rate-file, not both");
  if (!a.rate.empty()) {
    p.rate_ = parse_fraction(a.rate, "--rate", true);
    p.rate_source_ = "given with --rate";
  } else if (!a.rate_file.empty()) {
    RateRecord r = read_rate_file(a.rate_file);
    if (!r.scenario.empty() && r.scenario != p.scenario_)
      throw UsageError(fmt::format("--rate-file {} was measured for scenario {}, not {}",
                                   a.rate_file, r.scenario, p.scenario_));
    if (!r.variant.empty() && r.variant != p.variant_)
      throw UsageError(fmt::format("--rate-file {} was measured for variant {}, not {}",
                                   a.rate_file, r.variant, p.variant_));
    auto warn = [&](std::string_view what, const std::string& then, const std::string& now) {
      if (then != now)
        fmt::print(stderr, "gilrace: warning: --rate-file {} was measured with {} '{}', not '{}'\n",
                   a.rate_file, what, then, now);
    };
    warn("--match", r.match, p.match_text_);
    warn("--other", r.other, std::string(other_policy_name(p.other_)));
    std::string params_then, params_now;
    for (const auto& [k, v] : r.params) params_then += k + "=" + v + " ";
    for (const auto& [k, v] : p.params_) params_now += k + "=" + v + " ";
    warn("params", params_then, params_now);
    warn("--chaos", std::to_string(r.chaos), std::to_string(p.chaos_));
    p.rate_ = r.rate;
    p.rate_source_ = fmt::format(
        "from {}: {}/{} trials on {}, saved as the lower end of its {}% "
        "interval",
        a.rate_file, r.failures, r.trials, r.build.empty() ? "?" : r.build,
        std::lround(r.confidence * 100));
  }
  if (p.rate_) {
    p.needed_ = bisect_trials(*p.rate_, p.confidence_);
    if (p.needed_ > 100'000'000 && !s.repeat)
      throw UsageError(fmt::format(
          "a rate of {} needs {} trials per step at confidence {:g}: too many (give -n)", *p.rate_,
          p.needed_, p.confidence_));
  }
  if (s.repeat) {
    p.needed_ = s.repeat;  // the person chose; the verdict states what it rules out
  } else if (!p.rate_) {
    throw UsageError(
        "--bisect needs the target's failure rate on a bad build: --rate P, or --rate-file F "
        "measured with --calibrate on a known-bad build (or choose the trials with -n N)");
  }
  p.repeat_ = p.needed_;
  return p;
}

void BisectPlan::configure(RunOptions& o) const {
  if (!on_) return;
  o.stop_after = calibrate_ ? calibration_stop_ : 1;
  o.counts_as_failure = [m = matcher_, other = other_](const TrialResult& t) {
    return is_failure(t.outcome) && (other == OtherPolicy::bad || m.is_target(t));
  };
}

int BisectPlan::not_applicable(const std::string& scenario, const std::string& reason) {
  Verdict v;
  v.needed = needed_;
  v.confidence = confidence_;
  v.reason = "not_applicable";
  std::string line =
      calibrate_ ? "gilrace-calibration: none trials=0 reason=not_applicable" : v.line();
  json_ = v.to_json();
  text_ = fmt::format("bisect: {} does not apply to this build: {}\n{}\n", scenario, reason, line);
  fmt::print("{}", text_);
  std::fflush(stdout);
  return kExitCannotTest;
}

void BisectPlan::finish(RunReport& r) {
  if (!on_) return;
  BisectTally t;
  std::vector<std::string> window_probes;
  for (const auto& g : r.aggregate.groups())
    if (g.scenario == scenario_ && g.variant == variant_) {
      t = tally(g, matcher_, other_);
      window_probes = g.window_probes();
    }
  if (calibrate_) return finish_calibration(r, t);

  Verdict v = decide_verdict(t, needed_, confidence_, other_);
  if (r.end.interrupted) {
    v.kind = Verdict::Kind::interrupted;
    v.exit_code = r.exit_code;
    v.reason.clear();
  } else {
    r.exit_code = v.exit_code;
  }
  json_ = v.to_json();
  json_["target"] = matcher_.describe();
  json_["other_policy"] = other_policy_name(other_);
  json_["rate"] = rate_ ? nlohmann::json(*rate_) : nlohmann::json();
  json_["rate_source"] = rate_source_;

  int conf = static_cast<int>(std::lround(confidence_ * 100));
  std::string s = fmt::format("bisect: target: {}; other failures count as {}\n",
                              matcher_.describe(), other_policy_name(other_));
  if (rate_)
    s += fmt::format(
        "bisect: {} trials: a build failing in {} of its trials fails at least once in {} "
        "with probability >= {}% (rate {})\n",
        needed_, percent(*rate_), bisect_trials(*rate_, confidence_), conf, rate_source_);
  else
    s += fmt::format("bisect: {} trials (-n)\n", needed_);
  for (const auto& g : r.aggregate.groups())
    for (const auto& sig : g.signatures) {
      bool target = other_ == OtherPolicy::bad || matcher_.is_target(sig.outcome, sig.signature);
      s += fmt::format("bisect:   {} {} x {} [{}]\n", target ? "target" : "other ", sig.count,
                       outcome_and_signature(sig.outcome, sig.signature), sig.id);
    }
  switch (v.kind) {
    case Verdict::Kind::bad:
      s += fmt::format(
          "bisect: bad: the target failure reproduced in {}/{} trials "
          "(rate {} to {} at {}%)\n",
          t.target, t.trials, percent(v.rate_low), percent(v.rate_high), conf);
      break;
    case Verdict::Kind::good:
      s += fmt::format(
          "bisect: good: no target failure in {} clean trials: a rate above {} is "
          "ruled out at {}%\n",
          v.clean, percent(v.rate_high), conf);
      break;
    case Verdict::Kind::interrupted:
      s += "bisect: interrupted: no verdict\n";
      break;
    case Verdict::Kind::skip:
      if (v.reason == "other_failures")
        s += fmt::format(
            "bisect: cannot test: {} trial(s) ended in other failures, leaving {} "
            "of the {} clean trials needed (--other good counts them as clean)\n",
            t.other, v.clean, needed_);
      else if (v.reason == "window_not_reached")
        s += fmt::format(
            "bisect: cannot test: no trial hit the window probe{} ({}): {} clean trials that "
            "never reached the window prove nothing\n",
            window_probes.size() == 1 ? "" : "s", join(window_probes, ", "), v.clean);
      else if (v.reason == "skipped_trials")
        s += fmt::format(
            "bisect: cannot test: the scenario skipped {} trial(s) on this build, "
            "leaving {} of the {} clean trials needed\n",
            t.skipped, v.clean, needed_);
      else
        s += fmt::format("bisect: cannot test: only {} of the {} clean trials needed ran\n",
                         v.clean, needed_);
      break;
  }
  text_ = s + v.line() + "\n";
}

void BisectPlan::finish_calibration(RunReport& r, const BisectTally& t) {
  std::uint64_t denominator = t.trials - (other_ == OtherPolicy::skip ? t.other : 0);
  json_ = {{"calibration", true},
           {"target", matcher_.describe()},
           {"other_policy", other_policy_name(other_)},
           {"trials", t.trials},
           {"target_failures", t.target},
           {"other_failures", t.other},
           {"skipped", t.skipped},
           {"confidence", confidence_}};
  std::string head = fmt::format("bisect: calibration: target: {}; other failures count as {}\n",
                                 matcher_.describe(), other_policy_name(other_));
  if (r.end.interrupted) {
    text_ = head + fmt::format("gilrace-calibration: interrupted trials={} failures={}\n", t.trials,
                               t.target);
    return;
  }
  if (t.target == 0 || denominator == 0) {
    r.exit_code = kExitCannotTest;
    text_ = head + fmt::format(
                       "bisect: calibration: no target failure in {} trials ({} other): is this "
                       "build bad? {} was not written\n"
                       "gilrace-calibration: none trials={} failures=0 other={} "
                       "reason=no_target_failure\n",
                       t.trials, t.other, rate_file_, t.trials, t.other);
    return;
  }
  RateRecord rec;
  rec.rate = calibrated_rate(t.target, denominator, confidence_);
  rec.scenario = scenario_;
  rec.variant = variant_;
  rec.match = match_text_;
  rec.other = other_policy_name(other_);
  rec.params = params_;
  rec.chaos = chaos_;
  rec.failures = t.target;
  rec.trials = denominator;
  rec.confidence = confidence_;
  rec.build = r.build.flavour();
  if (!r.build.source_revision.empty()) rec.build += " @ " + r.build.source_revision;
  rec.measured_at = now_iso8601();
  try {
    write_file_atomic(rate_file_, format_rate_file(rec));
  } catch (const std::exception& e) {
    throw UsageError(e.what());
  }
  std::uint64_t needed = bisect_trials(rec.rate, confidence_);
  json_["rate"] = rec.rate;
  json_["needed"] = needed;
  json_["rate_file"] = rate_file_;
  r.exit_code = kExitOk;
  text_ = head +
          fmt::format(
              "bisect: calibration: {}; saved {} (the lower end) to {}: a step will run "
              "{} trials at confidence {:g}\n",
              describe_rate(t.target, denominator, confidence_), percent(rec.rate), rate_file_,
              needed, confidence_) +
          fmt::format(
              "gilrace-calibration: rate={} failures={} trials={} needed={} "
              "confidence={:g} file={}\n",
              num(rec.rate), t.target, denominator, needed, confidence_, rate_file_);
}

nlohmann::json BisectPlan::annotate(nlohmann::json summary) const {
  if (on_) summary["bisect"] = json_;
  return summary;
}

}  // namespace gilrace
