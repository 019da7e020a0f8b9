#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <deque>
#include <mutex>

#include "harness/base/seed.h"
#include "harness/run/chaos.h"
#include "harness/run/embed.h"
#include "harness/run/messages.h"
#include "harness/run/registry.h"

namespace gilrace {

namespace {
constexpr std::int64_t kSendIntervalNs = 100'000'000;  // heartbeats at most 10 a second

std::int64_t coarse_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

struct Context::Impl {
  mutable std::mutex mu;
  std::deque<Probe> probes;  // deque: references stay valid as it grows
  std::vector<std::pair<std::string, std::string>> notes;
  std::vector<std::string> declared;    // probe names the scenario declares for this trial
  std::vector<std::string> undeclared;  // asked for anyway
};

Context::Context(const ScenarioInfo& info, Settings settings)
    : info_(info), s_(std::move(settings)), impl_(std::make_unique<Impl>()) {
  for (const ProbeSpec& p : declared_probes(info_, s_.variant, s_.params))
    impl_->declared.push_back(p.name);
}

Context::~Context() = default;

std::string Context::param(std::string_view name) const {
  auto it = s_.params.find(std::string(name));
  if (it == s_.params.end())
    throw ScenarioError("scenario asked for undeclared parameter '" + std::string(name) + "'");
  return it->second;
}

long long Context::param_int(std::string_view name) const {
  std::string v = param(name);
  long long out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size())
    throw ScenarioError("parameter " + std::string(name) + "=" + v + " is not an integer");
  return out;
}

double Context::param_double(std::string_view name) const {
  std::string v = param(name);
  try {
    std::size_t used = 0;
    double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  throw ScenarioError("parameter " + std::string(name) + "=" + v + " is not a number");
}

bool Context::param_bool(std::string_view name) const {
  std::string v = param(name);
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off" || v.empty()) return false;
  throw ScenarioError("parameter " + std::string(name) + "=" + v + " is not a boolean");
}

std::uint64_t Context::stream_seed(std::uint64_t stream) const {
  return splitmix64(s_.seed ^ splitmix64(stream + 1));
}

void Context::heartbeat(std::uint64_t n) {
  progress_.fetch_add(n, std::memory_order_relaxed);
  chaos::at_heartbeat();
  maybe_flush();
}

void Context::maybe_flush() {
  if (s_.message_fd < 0) return;
  std::int64_t now = coarse_now_ns();
  std::int64_t last = last_send_ns_.load(std::memory_order_relaxed);
  if (now - last < kSendIntervalNs) return;
  if (!last_send_ns_.compare_exchange_strong(last, now)) return;  // another thread sends
  flush();
}

void Probe::hit(std::uint64_t n) {
  // The first hit is sent at once: it is the evidence that the window was reached.
  if (count_.fetch_add(n, std::memory_order_relaxed) == 0 && owner_) {
    owner_->send_line(encode_probe(name_, count()));
  }
  chaos::at_probe();  // a probe is where the window is: a delay there is worth most
}

Probe& Context::probe(std::string_view name) {
  std::lock_guard lock(impl_->mu);
  for (Probe& p : impl_->probes)
    if (p.name() == name) return p;
  // Checked here, once per name, not in hit(): names can be computed or come from Python.
  if (std::find(impl_->declared.begin(), impl_->declared.end(), name) == impl_->declared.end())
    impl_->undeclared.emplace_back(name);
  Probe& p = impl_->probes.emplace_back(std::string(name));
  p.owner_ = this;
  return p;
}

std::vector<std::string> Context::undeclared_probes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->undeclared;
}

void Context::note(std::string_view key, std::string_view value) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->notes.emplace_back(std::string(key), std::string(value));
  }
  send_line(encode_note(key, value));
}

std::vector<std::pair<std::string, std::uint64_t>> Context::probe_counts() const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (const Probe& p : impl_->probes) out.emplace_back(p.name(), p.count());
  return out;
}

std::vector<std::pair<std::string, std::string>> Context::notes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->notes;
}

void Context::flush() {
  send_line(encode_heartbeat(progress()));
  for (const auto& [name, count] : probe_counts())
    if (count) send_line(encode_probe(name, count));
}

void Context::send_line(std::string_view line) const {
  if (s_.message_fd < 0) return;
  // Lines are shorter than PIPE_BUF, so one write() is atomic among threads.
  const char* p = line.data();
  std::size_t left = line.size();
  while (left) {
    ssize_t n = ::write(s_.message_fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // supervisor gone: nothing useful left to do with the message
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void Context::init_python() {
  init_python_isolated();
  attach_trial(*this, s_.stacks_fd);
}

}  // namespace gilrace
