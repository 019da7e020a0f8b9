#include "harness/results/report.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "harness/results/stats.h"

namespace gilrace {

namespace fs = std::filesystem;

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

static nlohmann::json meta_json(const RunMeta& m) {
  return {{"started_at", m.started_at},
          {"seed", m.base_seed},
          {"command", m.command},
          {"repeat", m.repeat},
          {"duration", m.duration},
          {"jobs", m.jobs},
          {"timeout", m.timeout},
          {"stall", m.stall},
          {"shard_index", m.shard_index},
          {"shard_count", m.shard_count},
          {"expect", m.expect},
          {"confidence", m.confidence},
          {"require_window", m.require_window},
          {"chaos", m.chaos}};
}

nlohmann::json summary_json(const RunReport& r) {
  nlohmann::json j;
  j["format"] = "gilrace-report/1";
  j["build"] = r.build.to_json();
  j["run"] = meta_json(r.meta);
  j["run"]["wall_seconds"] = r.end.wall_seconds;
  j["run"]["interrupted"] = r.end.interrupted;
  j["run"]["budget_exhausted"] = r.end.budget_exhausted;
  j["run"]["budget_used"] =
      r.meta.duration > 0 ? nlohmann::json(std::min(1.0, r.end.wall_seconds / r.meta.duration))
                          : nlohmann::json();
  j["run"]["stopped_early"] = r.end.stopped_early;
  j["run"]["abandoned_trials"] = r.end.abandoned;
  j["run"]["supervisor_peak_rss_kb"] = r.end.peak_rss_kb;
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : r.aggregate.groups()) groups.push_back(g.to_json(r.meta.confidence));
  j["groups"] = groups;
  j["totals"] = {{"trials", r.aggregate.trials()},
                 {"failures", r.aggregate.failures()},
                 {"new_failures", r.aggregate.new_failures()},
                 {"distinct_signatures", r.aggregate.distinct_signatures()}};
  if (!r.baseline.is_null()) j["baseline"] = r.baseline;
  j["exit_code"] = r.exit_code;
  return j;
}

static std::string xml_escape(std::string_view s) {
  std::string out;
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
        out += "&apos;";
        break;
      default:
        // XML 1.0 forbids most control characters, which crash dumps contain.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r')
          out += '?';
        else
          out += c;
    }
  }
  return out;
}

std::string junit_xml(const RunReport& r) {
  std::uint64_t tests = 0, failures = 0, skipped = 0;
  for (const auto& g : r.aggregate.groups()) {
    ++tests;
    if (!g.skip_reason.empty() && g.trials == 0)
      ++skipped;
    else if (g.new_failures() || (r.meta.require_window && g.window_not_reached()))
      ++failures;
  }
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += fmt::format(
      "<testsuites name=\"gilrace\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3f}\">\n",
      tests, failures, skipped, r.end.wall_seconds);
  x += fmt::format(
      "  <testsuite name=\"gilrace\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" "
      "time=\"{:.3f}\" timestamp=\"{}\">\n",
      tests, failures, skipped, r.end.wall_seconds, xml_escape(r.meta.started_at));
  x += "    <properties>\n";
  auto prop = [&](std::string_view k, const std::string& v) {
    x += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", xml_escape(k), xml_escape(v));
  };
  prop("python.version", r.build.version);
  prop("python.flavour", r.build.flavour());
  prop("python.free_threaded", r.build.free_threaded ? "true" : "false");
  prop("python.gil_enabled_at_runtime", r.build.gil_enabled_at_runtime ? "true" : "false");
  prop("python.debug", r.build.debug ? "true" : "false");
  prop("python.tsan", r.build.python_tsan ? "true" : "false");
  prop("python.prefix", r.build.prefix);
  prop("python.source_revision", r.build.source_revision);
  prop("gilrace.seed", std::to_string(r.meta.base_seed));
  prop("gilrace.chaos", std::to_string(r.meta.chaos));
  x += "    </properties>\n";
  for (const auto& g : r.aggregate.groups()) {
    x += fmt::format("    <testcase classname=\"gilrace.{}\" name=\"{}\" time=\"{:.3f}\">\n",
                     xml_escape(g.scenario), xml_escape(g.variant), g.trial_seconds);
    // The evidence, 0 hits included: probe.NAME.{hits,trials_hit,window}.
    x += "      <properties>\n";
    if (!g.plugin.empty())
      x += fmt::format("        <property name=\"plugin\" value=\"{}\"/>\n", xml_escape(g.plugin));
    for (const auto& [name, p] : g.probes) {
      x += fmt::format("        <property name=\"probe.{}.hits\" value=\"{}\"/>\n",
                       xml_escape(name), p.total);
      x += fmt::format("        <property name=\"probe.{}.trials_hit\" value=\"{}\"/>\n",
                       xml_escape(name), p.trials_hit);
      x += fmt::format("        <property name=\"probe.{}.window\" value=\"{}\"/>\n",
                       xml_escape(name), p.window ? "true" : "false");
    }
    x += fmt::format("        <property name=\"window_not_reached\" value=\"{}\"/>\n",
                     g.window_not_reached() ? "true" : "false");
    x += "      </properties>\n";
    if (!g.skip_reason.empty() && g.trials == 0) {
      x += fmt::format("      <skipped message=\"{}\"/>\n", xml_escape(g.skip_reason));
    } else if (g.new_failures()) {
      std::string msg = fmt::format("{} failed of {} trials, {} signature(s)", g.failures, g.trials,
                                    g.signatures.size());
      std::string body = describe_rate(g.failures, g.trials, r.meta.confidence) + "\n";
      const SignatureStats* first_new = nullptr;
      for (const auto& s : g.signatures) {
        if (!s.known && !first_new) first_new = &s;
        body +=
            fmt::format("{} x {} [{}]{}\n  first: trial {} seed {}\n  replay: {}\n", s.count,
                        outcome_and_signature(s.outcome, s.signature), s.id,
                        s.known ? " known: " + s.issue : "", s.first_trial, s.first_seed, s.replay);
      }
      x += fmt::format("      <failure message=\"{}\" type=\"{}\">{}</failure>\n", xml_escape(msg),
                       xml_escape(first_new ? first_new->outcome : "failure"), xml_escape(body));
    } else if (r.meta.require_window && g.window_not_reached()) {
      x += fmt::format(
          "      <failure message=\"window_not_reached: {}\" type=\"window_not_reached\"/>\n",
          xml_escape(g.window_not_reached_text()));
    }
    std::string out = describe_rate(g.failures, g.trials, r.meta.confidence);
    if (g.window_not_reached()) out += "\nwindow_not_reached: " + g.window_not_reached_text();
    for (const auto& s : g.signatures)
      if (s.known)
        out += fmt::format("\nknown: {} x {} [{}] {}", s.count,
                           outcome_and_signature(s.outcome, s.signature), s.id, s.issue);
    x += fmt::format("      <system-out>{}</system-out>\n", xml_escape(out));
    x += "    </testcase>\n";
  }
  x += "  </testsuite>\n</testsuites>\n";
  return x;
}

std::string text_summary(const RunReport& r) {
  std::string s;
  s += fmt::format("gilrace {} | CPython {} | seed {}{} | {} trials in {:.1f} s\n", GILRACE_VERSION,
                   r.build.flavour(), r.meta.base_seed,
                   r.meta.chaos ? fmt::format(" | chaos {}", r.meta.chaos) : "",
                   r.aggregate.trials(), r.end.wall_seconds);
  if (r.end.interrupted)
    s += fmt::format("interrupted: {} running trial(s) abandoned; results below are partial\n",
                     r.end.abandoned);
  if (r.end.budget_exhausted)
    s += fmt::format("time budget of {:.0f} s used up\n", r.meta.duration);
  if (r.end.stopped_early) s += "stopped early: --stop-after reached\n";
  std::size_t width = 24;
  for (const auto& g : r.aggregate.groups()) width = std::max(width, g.key().size() + 2);
  s += fmt::format("{:<{}}{:>8}{:>8}  {}\n", "scenario/variant", width, "trials", "failed", "rate");
  for (const auto& g : r.aggregate.groups()) {
    if (!g.skip_reason.empty() && g.trials == 0) {
      s += fmt::format("{:<{}}skipped: {}\n", g.key(), width, g.skip_reason);
      continue;
    }
    s += fmt::format("{:<{}}{:>8}{:>8}  {}\n", g.key(), width, g.trials, g.failures,
                     describe_rate(g.failures, g.trials, r.meta.confidence));
    for (const auto& [name, p] : g.probes)
      s += fmt::format("    probe {}{}: hit in {}/{} trials ({} hits)\n", name,
                       p.window ? " (window)" : "", p.trials_hit, g.trials, p.total);
    if (g.window_not_reached())
      s += fmt::format("    window_not_reached: {}\n", g.window_not_reached_text());
    for (const auto& sig : g.signatures) {
      s += fmt::format(
          "    {} x {} [{}]{}\n", sig.count, outcome_and_signature(sig.outcome, sig.signature),
          sig.id,
          sig.known ? fmt::format(" known ({})", sig.issue.empty() ? "no issue given" : sig.issue)
                    : "");
      s += fmt::format("      replay: {}\n", sig.replay);
      if (!sig.artifacts.empty()) s += fmt::format("      artifacts: {}\n", sig.artifacts);
    }
  }
  std::uint64_t sigs = r.aggregate.distinct_signatures();
  s += fmt::format("{} failure(s), {} distinct signature(s)\n", r.aggregate.failures(), sigs);
  if (std::uint64_t known = r.aggregate.failures() - r.aggregate.new_failures())
    s += fmt::format("{} of them known (baseline), {} new\n", known, r.aggregate.new_failures());
  return s;
}

std::string window_warnings(const RunReport& r) {
  std::string s;
  for (const auto& g : r.aggregate.groups())
    if (g.window_not_reached())
      s += fmt::format("gilrace: warning: {}: window_not_reached: {}{}\n", g.key(),
                       g.window_not_reached_text(),
                       r.meta.require_window ? " (--require-window: the run fails)" : "");
  return s;
}

void write_file_atomic(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f)
      throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    f << content;
    if (!f.flush()) throw std::runtime_error(fmt::format("cannot write {}", path));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
}

EventsWriter::EventsWriter(const std::string& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::runtime_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
}

EventsWriter::~EventsWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void EventsWriter::line(const nlohmann::json& j) {
  if (fd_ < 0) return;
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const char* p = s.data();
  std::size_t left = s.size();
  while (left) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void EventsWriter::start(const RunReport& r) {
  line({{"type", "start"}, {"build", r.build.to_json()}, {"run", meta_json(r.meta)}});
}

nlohmann::json trial_json(const TrialResult& t, const SignatureStats* sig) {
  nlohmann::json j = {{"type", "trial"},
                      {"scenario", t.spec.scenario},
                      {"variant", t.spec.variant},
                      {"trial", t.spec.trial},
                      {"base_seed", t.spec.base_seed},
                      {"seed", t.seed},
                      {"outcome", outcome_name(t.outcome)},
                      {"seconds", std::round(t.seconds * 1e4) / 1e4},
                      {"progress", t.progress},
                      {"probes", t.probes}};
  if (t.exit_code >= 0) j["exit_code"] = t.exit_code;
  if (t.signal) j["signal"] = t.signal;
  if (!t.signature.empty()) j["signature"] = t.signature;
  if (sig) j["signature_id"] = sig->id;
  if (!t.notes.empty()) {
    nlohmann::json notes = nlohmann::json::object();
    for (const auto& [k, v] : t.notes) notes[k] = v;
    j["notes"] = notes;
  }
  if (is_failure(t.outcome)) j["replay"] = replay_command(t.spec);
  return j;
}

void EventsWriter::trial(const TrialResult& t, const SignatureStats* sig) {
  line(trial_json(t, sig));
}

void EventsWriter::end(const RunReport& r) {
  line({{"type", "end"},
        {"exit_code", r.exit_code},
        {"interrupted", r.end.interrupted},
        {"wall_seconds", r.end.wall_seconds},
        {"trials", r.aggregate.trials()},
        {"failures", r.aggregate.failures()}});
}

std::string ArtifactWriter::write(const TrialResult& t, const SignatureStats& sig,
                                  const BuildInfo& build) {
  if (root_.empty() || cap_ <= 0) return "";
  std::string key = t.spec.scenario + "." + t.spec.variant + "." + sig.id;
  int& n = written_[key];
  if (n >= cap_) return "";
  ++n;
  fs::path dir = fs::path(root_) / key / fmt::format("trial-{}", t.spec.trial);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return "";
  auto put = [&](const char* name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
  };
  put("stderr.txt", t.stderr_tail);
  put("stdout.txt", t.stdout_tail);
  if (!t.stacks.empty()) put("stacks.txt", t.stacks);
  if (!t.sanitizer_log.empty()) put("sanitizer.txt", t.sanitizer_log);
  nlohmann::json j = trial_json(t, &sig);
  j["detail"] = t.detail;
  j["build"] = build.to_json();
  put("result.json", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  put("replay.sh", fmt::format("#!/bin/sh\n# {}: {}\nexec {}{}\n", sig.outcome, sig.signature,
                               "\"${GILRACE:-gilrace}\"",
                               replay_command(t.spec).substr(std::string("gilrace").size())));
  fs::permissions(dir / "replay.sh",
                  fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::add, ec);
  return dir.string();
}

static std::string short_duration(double s) {
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{:.0f}m{:02.0f}s", std::floor(s / 60), std::fmod(s, 60));
  return fmt::format("{:.0f}h{:02.0f}m", std::floor(s / 3600), std::fmod(s / 60, 60));
}

void ProgressLine::update(std::uint64_t done, std::uint64_t total, std::uint64_t failures,
                          double elapsed, double budget) {
  if (!enabled_) return;
  double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  std::string eta;
  if (total && rate > 0)
    eta = "ETA " + short_duration(static_cast<double>(total - std::min(done, total)) / rate);
  else if (budget > 0)
    eta = "left " + short_duration(std::max(0.0, budget - elapsed));
  std::string count = total ? fmt::format("{}/{}", done, total) : fmt::format("{}", done);
  fmt::print(stderr, "\r\x1b[K[{}] {:.1f} trials/s  {} failed  {}", count, rate, failures, eta);
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::clear() {
  if (!shown_) return;
  fmt::print(stderr, "\r\x1b[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace gilrace
