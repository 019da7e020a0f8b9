// Every form a run's results take: the live progress line, the summary
// table, the JSON summary, the JSON-lines event stream, JUnit XML, and the
// artifacts folder of each failure signature.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/results/aggregate.h"
#include "harness/run/build_info.h"
#include "harness/run/supervisor.h"

namespace gilrace {

struct RunMeta {
  std::string started_at;  // ISO 8601, UTC
  std::uint64_t base_seed = 0;
  std::vector<std::string> command;  // argv
  std::uint64_t repeat = 0;
  double duration = 0;
  int jobs = 1;
  double timeout = 0;
  double stall = 0;
  int shard_index = 0;
  int shard_count = 1;
  std::string expect = "pass";
  double confidence = 0.95;
  bool require_window = false;  // --require-window: a window_not_reached group fails the run
  int chaos = 0;                // --chaos level, 0: off
};

struct RunReport {
  BuildInfo build;
  RunMeta meta;
  Aggregate aggregate;
  RunEnd end;
  int exit_code = 0;
  nlohmann::json baseline;  // what --baseline matched (see baseline.h); null without one
};

nlohmann::json summary_json(const RunReport& r);
std::string junit_xml(const RunReport& r);
std::string text_summary(const RunReport& r);
// One "gilrace: warning: ..." line per window_not_reached group ("" when none).
std::string window_warnings(const RunReport& r);
std::string now_iso8601();

// Writes a file atomically (temp file + rename) so a reader never sees half of it.
void write_file_atomic(const std::string& path, const std::string& content);

// JSON lines, one per finished trial, each written with one write(2) as it
// happens: a run killed with SIGKILL keeps every finished trial.
class EventsWriter {
 public:
  EventsWriter() = default;
  explicit EventsWriter(const std::string& path);  // throws std::runtime_error
  EventsWriter(EventsWriter&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  EventsWriter& operator=(EventsWriter&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~EventsWriter();
  void start(const RunReport& r);
  void trial(const TrialResult& t, const SignatureStats* sig);
  void end(const RunReport& r);
  explicit operator bool() const { return fd_ >= 0; }

 private:
  void line(const nlohmann::json& j);
  int fd_ = -1;
};

nlohmann::json trial_json(const TrialResult& t, const SignatureStats* sig);

// One folder per signature (and scenario/variant) holding the first failing
// trials' stderr, stdout, stacks and a replay.sh; at most `cap` trials each.
class ArtifactWriter {
 public:
  ArtifactWriter(std::string root, int cap) : root_(std::move(root)), cap_(cap) {}
  // Returns the folder written, or "" when over the cap or disabled.
  std::string write(const TrialResult& t, const SignatureStats& sig, const BuildInfo& build);

 private:
  std::string root_;
  int cap_;
  std::map<std::string, int> written_;
};

// "[ 120/200] 45.2/s  3 failed  ETA 2s" on a terminal; nothing elsewhere.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled) {}
  void update(std::uint64_t done, std::uint64_t total, std::uint64_t failures, double elapsed,
              double budget);
  void clear();

 private:
  bool enabled_;
  bool shown_ = false;
};

}  // namespace gilrace
