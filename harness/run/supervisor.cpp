#include "harness/run/supervisor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "harness/base/seed.h"
#include "harness/judge/outcome.h"
#include "harness/judge/sanitizer.h"
#include "harness/judge/symbolize.h"
#include "harness/run/driver.h"
#include "harness/run/messages.h"
#include "harness/run/tail_buffer.h"
#include "harness/run/tsan_setup.h"

extern char** environ;

namespace gilrace {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Signal handlers can only reach globals: a self-pipe wakes poll(), the
// last interrupting signal is remembered.
int g_wake[2] = {-1, -1};
volatile sig_atomic_t g_interrupt = 0;

void on_signal(int sig) {
  int saved = errno;
  if (sig != SIGCHLD) g_interrupt = sig;
  [[maybe_unused]] ssize_t n = ::write(g_wake[1], "x", 1);
  errno = saved;
}

class SignalScope {
 public:
  SignalScope() {
    if (pipe2(g_wake, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaction(sig, &sa, &old_[sig]);
    g_interrupt = 0;
  }
  ~SignalScope() {
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaction(sig, &old_[sig], nullptr);
    ::close(g_wake[0]);
    ::close(g_wake[1]);
  }

 private:
  struct sigaction old_[NSIG] {};
};

// A file descriptor that closes itself.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Child-side ends go to fds >= 10 so the dup2 onto 1-4 never meets itself.
Fd high_fd(int fd) {
  int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  ::close(fd);
  if (h < 0) throw std::runtime_error("fcntl(F_DUPFD_CLOEXEC) failed");
  return Fd(h);
}

// The stacks of a stalled trial, taken on a thread of their own: gdb can take
// seconds, and the loop meanwhile goes on watching the other trials.
struct Capture {
  std::atomic<bool> done{false};
  std::string gdb;      // gdb's output, written before `done`
  std::jthread thread;  // last: joined before the rest goes
};

struct Running {
  TrialSpec spec;
  std::size_t group = 0;
  pid_t pid = -1;
  Fd out, err, msg;  // parent's read ends
  Fd stacks;         // memfd shared with the child
  TailBuffer out_tail{4 * 1024, 16 * 1024};
  TailBuffer err_tail;
  std::string msg_partial;
  Clock::time_point start, last_progress, exit_time;
  std::uint64_t progress = 0;
  std::map<std::string, std::uint64_t> probes;
  std::vector<std::pair<std::string, std::string>> notes;
  bool has_result = false;
  std::string result_status, result_message;
  bool exited = false;
  int wait_status = 0;
  bool stalled = false, timed_out = false;
  bool faulthandler_armed = false;   // the child says SIGUSR1 gets a Python dump now
  bool python_stacks_asked = false;  // SIGUSR1 was sent on the stall
  std::unique_ptr<Capture> capture;  // in flight: the trial is killed when it is done
  std::string captured;              // gdb's output on a stall
  std::string tsan_dir;              // its own ThreadSanitizer log_path folder, when there is one
};

void handle_line(Running& r, std::string_view line) {
  auto m = parse_message(line);
  if (!m) return;
  switch (m->kind) {
    case Message::Kind::heartbeat:
      // Progress is what counts, not the message: a thread spinning on a
      // failed trylock must still be caught.
      if (m->number != r.progress || r.progress == 0) r.last_progress = Clock::now();
      r.progress = m->number;
      break;
    case Message::Kind::probe:
      r.probes[m->key] = m->number;
      break;
    case Message::Kind::note:
      r.notes.emplace_back(m->key, m->value);
      break;
    case Message::Kind::result:
      r.has_result = true;
      r.result_status = m->key;
      r.result_message = m->value;
      r.last_progress = Clock::now();
      break;
    case Message::Kind::faulthandler:
      r.faulthandler_armed = m->number != 0;
      break;
  }
}

// Reads what is there; returns false at end of file.
bool drain(int fd, const std::function<void(std::string_view)>& sink) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      sink(std::string_view(buf, static_cast<std::size_t>(n)));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

std::string read_memfd(int fd, std::size_t cap = 1 << 20) {
  std::string out;
  char buf[65536];
  off_t off = 0;
  while (out.size() < cap) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    off += n;
  }
  return out;
}

std::string find_in_path(const char* name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string candidate = p.substr(start, end - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

// Runs a command, returns its combined output; kills it after `limit` seconds.
std::string run_capture(const std::vector<std::string>& argv, double limit) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return "";
  Fd rd(fds[0]);
  Fd wr = high_fd(fds[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
  sigset_t def;
  sigfillset(&def);
  posix_spawnattr_setsigdefault(&attr, &def);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  wr.reset();
  if (rc != 0) return fmt::format("could not start {}: {}", argv[0], std::strerror(rc));
  std::string out;
  auto deadline = Clock::now() +
                  std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limit));
  for (;;) {
    int wait_ms = static_cast<int>(std::max(0.0, seconds_between(Clock::now(), deadline)) * 1000);
    pollfd p{rd.get(), POLLIN, 0};
    int n = ::poll(&p, 1, wait_ms);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      killpg(pid, SIGKILL);
      out += fmt::format("\n[{} killed after {:.0f} s]\n", argv[0], limit);
      break;
    }
    char buf[8192];
    ssize_t got = ::read(rd.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (out.size() < (4u << 20)) out.append(buf, static_cast<std::size_t>(got));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return out;
}

// Every thread's native stack, and with CPython's gdb helpers (when the build
// has them) every thread's Python stack as gdb sees it.
std::string gdb_stacks(pid_t pid, const std::string& python_helper) {
  static const std::string gdb = find_in_path("gdb");
  if (gdb.empty()) return "native stacks: not captured (gdb is not installed)\n";
  std::vector<std::string> cmd = {gdb,
                                  "-p",
                                  std::to_string(pid),
                                  "-batch",
                                  "-nx",
                                  "-q",
                                  "-ex",
                                  "set pagination off",
                                  "-ex",
                                  "info threads",
                                  "-ex",
                                  "thread apply all bt"};
  if (!python_helper.empty()) {
    for (const char* part : {"-ex", "echo \\nPython stacks of all threads (gdb py-bt):\\n"})
      cmd.push_back(part);
    cmd.insert(cmd.end(), {"-ex", "source " + python_helper, "-ex", "thread apply all py-bt"});
  }
  std::string out = run_capture(cmd, 20.0);
  if (out.find("ptrace: Operation not permitted") != std::string::npos)
    return "native stacks: not captured (ptrace is not permitted here)\n" + out;
  return out;
}

class Supervisor {
 public:
  Supervisor(const RunOptions& o, TrialSink& sink)
      : o_(o), sink_(sink), launched_(o.groups.size(), 0) {
    exe_ = self_executable();
    for (const auto& [k, v] : o_.environment) env_overrides_.push_back(k + "=" + v);
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      std::string key = kv.substr(0, kv.find('='));
      if (!o_.environment.count(key) && !(key == "TSAN_OPTIONS" && !o_.tsan_options.empty()))
        env_.push_back(kv);
    }
    for (auto& kv : env_overrides_) env_.push_back(kv);
  }

  RunEnd run() {
    SignalScope signals;
    start_ = Clock::now();
    auto last_tick = start_;
    for (;;) {
      if (g_interrupt) interrupt();
      if (!end_.interrupted) launch_what_fits();
      if (running_.empty()) break;
      wait_for_events();
      reap();
      enforce_deadlines();
      collect_captures();
      finish_exited();
      if (seconds_between(last_tick, Clock::now()) >= 0.1) {
        last_tick = Clock::now();
        sink_.on_tick(running_.size());
      }
    }
    end_.wall_seconds = seconds_between(start_, Clock::now());
    end_.interrupt_signal = g_interrupt;
    rusage self{};
    if (getrusage(RUSAGE_SELF, &self) == 0) end_.peak_rss_kb = self.ru_maxrss;
    return end_;
  }

 private:
  bool budget_over() const {
    return o_.duration > 0 && seconds_between(start_, Clock::now()) >= o_.duration;
  }

  // Round-robin over groups so a time budget is shared fairly.
  std::optional<std::size_t> next_group() const {
    std::optional<std::size_t> best;
    for (std::size_t g = 0; g < o_.groups.size(); ++g) {
      if (!o_.groups[g].skip_reason.empty()) continue;
      if (o_.repeat && index_of(g, launched_[g]) >= o_.repeat) continue;
      if (!best || launched_[g] < launched_[*best]) best = g;
    }
    return best;
  }

  std::uint64_t index_of(std::size_t /*group*/, std::uint64_t nth) const {
    return static_cast<std::uint64_t>(o_.shard_index) +
           nth * static_cast<std::uint64_t>(o_.shard_count);
  }

  void launch_what_fits() {
    while (static_cast<int>(running_.size()) < o_.jobs) {
      if (budget_over()) {
        end_.budget_exhausted = next_group().has_value();
        return;
      }
      if (o_.stop_after && failures_ >= o_.stop_after) {
        end_.stopped_early = next_group().has_value();
        return;
      }
      auto g = next_group();
      if (!g) return;
      const Group& group = o_.groups[*g];
      TrialSpec spec{group.scenario->info.name,
                     group.variant,
                     o_.base_seed,
                     index_of(*g, launched_[*g]),
                     group.threads,
                     group.params,
                     o_.chaos,
                     group.scenario->plugin};
      ++launched_[*g];
      spawn(std::move(spec), *g);
    }
  }

  void spawn(TrialSpec spec, std::size_t group) {
    auto r = std::make_unique<Running>();
    r->spec = std::move(spec);
    r->group = group;
    int p_out[2], p_err[2], p_msg[2];
    if (pipe2(p_out, O_CLOEXEC) || pipe2(p_err, O_CLOEXEC) || pipe2(p_msg, O_CLOEXEC))
      throw std::runtime_error(fmt::format("pipe2 failed: {}", std::strerror(errno)));
    r->out.reset(p_out[0]);
    r->err.reset(p_err[0]);
    r->msg.reset(p_msg[0]);
    for (int fd : {p_out[0], p_err[0], p_msg[0]}) fcntl(fd, F_SETFL, O_NONBLOCK);
    Fd out_w = high_fd(p_out[1]), err_w = high_fd(p_err[1]), msg_w = high_fd(p_msg[1]);
    int mfd = memfd_create("gilrace-stacks", MFD_CLOEXEC);
    if (mfd < 0)
      throw std::runtime_error(fmt::format("memfd_create failed: {}", std::strerror(errno)));
    r->stacks = high_fd(mfd);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
    posix_spawn_file_actions_adddup2(&fa, msg_w.get(), kMessageFd);
    posix_spawn_file_actions_adddup2(&fa, r->stacks.get(), kStacksFd);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Its own process group, so one kill takes the trial and anything it started.
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);

    std::vector<std::string> args = trial_args(r->spec);
    args.insert(args.begin(), exe_);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_) envp.push_back(e.data());
    std::string tsan_env;
    if (!o_.tsan_options.empty()) {
      r->tsan_dir = fmt::format("{}/{}", o_.tsan_log_root, spawned_++);
      ::mkdir(r->tsan_dir.c_str(), 0700);
      tsan_env = fmt::format("TSAN_OPTIONS={}:log_path={}/tsan", o_.tsan_options, r->tsan_dir);
      envp.push_back(tsan_env.data());
    }
    envp.push_back(nullptr);

    int rc = posix_spawn(&r->pid, exe_.c_str(), &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
      throw std::runtime_error(fmt::format("cannot start a trial: {}", std::strerror(rc)));
    r->start = r->last_progress = Clock::now();
    running_.push_back(std::move(r));
  }

  void wait_for_events() {
    std::vector<pollfd> fds;
    fds.push_back({g_wake[0], POLLIN, 0});
    for (auto& r : running_)
      for (Fd* f : {&r->out, &r->err, &r->msg})
        if (*f) fds.push_back({f->get(), POLLIN, 0});
    int n = ::poll(fds.data(), fds.size(), next_wait_ms());
    if (n < 0) return;  // EINTR: the loop looks at everything anyway
    if (fds[0].revents) {
      char buf[256];
      while (::read(g_wake[0], buf, sizeof buf) > 0) {
      }
    }
    for (auto& r : running_) read_pipes(*r);
  }

  int next_wait_ms() const {
    double wait = 0.1;
    auto now = Clock::now();
    for (const auto& r : running_) {
      if (r->exited) return 5;                      // draining
      if (r->capture) wait = std::min(wait, 0.02);  // is it done?
      if (r->stalled || r->timed_out) continue;     // its deadlines have passed, on purpose
      wait = std::min(wait, o_.timeout - seconds_between(r->start, now));
      wait = std::min(wait, o_.stall - seconds_between(r->last_progress, now));
    }
    return static_cast<int>(std::max(0.0, wait) * 1000) + 1;
  }

  void read_pipes(Running& r) {
    if (r.out && !drain(r.out.get(), [&](std::string_view d) { r.out_tail.append(d); }))
      r.out.reset();
    if (r.err && !drain(r.err.get(), [&](std::string_view d) { r.err_tail.append(d); }))
      r.err.reset();
    if (r.msg && !drain(r.msg.get(), [&](std::string_view d) {
          r.msg_partial.append(d);
          std::size_t nl;
          while ((nl = r.msg_partial.find('\n')) != std::string::npos) {
            handle_line(r, std::string_view(r.msg_partial).substr(0, nl));
            r.msg_partial.erase(0, nl + 1);
          }
        }))
      r.msg.reset();
  }

  void reap() {
    for (auto& r : running_) {
      // Not while its stacks are taken: its pid must stay its own until gdb is done.
      if (r->exited || r->capture) continue;
      siginfo_t info{};
      // Peek without reaping, so the process group cannot vanish and its id be reused
      // before the stragglers in it are killed.
      if (waitid(P_PID, r->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
        continue;
      killpg(r->pid, SIGKILL);
      while (waitpid(r->pid, &r->wait_status, 0) < 0 && errno == EINTR) {
      }
      r->exited = true;
      r->exit_time = Clock::now();
    }
  }

  void enforce_deadlines() {
    auto now = Clock::now();
    for (auto& r : running_) {
      if (r->exited || r->stalled || r->timed_out) continue;
      if (seconds_between(r->start, now) >= o_.timeout) {
        r->timed_out = true;
        killpg(r->pid, SIGKILL);
      } else if (seconds_between(r->last_progress, now) >= o_.stall) {
        r->stalled = true;
        start_capture(*r);
      }
    }
  }

  // Before a stalled trial dies: Python stacks from faulthandler (on SIGUSR1, into
  // the stacks memfd) when the child said it listens, then native stacks of every
  // thread from gdb. Before CPython starts or once it has finalised, SIGUSR1 would
  // find no handler: gdb alone.
  void start_capture(Running& r) {
    r.python_stacks_asked = r.faulthandler_armed;
    if (!r.python_stacks_asked && !o_.native_stacks) {
      killpg(r.pid, SIGKILL);
      return;
    }
    auto c = std::make_unique<Capture>();
    try {
      c->thread = std::jthread([c = c.get(), pid = r.pid, python = r.python_stacks_asked,
                                native = o_.native_stacks, helper = o_.gdb_python_helper] {
        if (python) {
          kill(pid, SIGUSR1);
          std::this_thread::sleep_for(std::chrono::milliseconds(150));
        }
        if (native) c->gdb = gdb_stacks(pid, helper);
        c->done.store(true, std::memory_order_release);
      });
    } catch (const std::system_error&) {
      // No thread to be had (a trial used up the process limit): the deadlock is
      // still reported, without stacks, and the group never outlives the run.
      killpg(r.pid, SIGKILL);
      return;
    }
    r.capture = std::move(c);
  }

  void collect_captures() {
    for (auto& r : running_) {
      if (!r->capture || !r->capture->done.load(std::memory_order_acquire)) continue;
      r->captured = std::move(r->capture->gdb);
      r->capture.reset();
      killpg(r->pid, SIGKILL);
    }
  }

  void finish_exited() {
    auto now = Clock::now();
    for (auto it = running_.begin(); it != running_.end();) {
      Running& r = **it;
      bool pipes_done = !r.out && !r.err && !r.msg;
      if (!r.exited || (!pipes_done && seconds_between(r.exit_time, now) < 1.0)) {
        ++it;
        continue;
      }
      read_pipes(r);
      TrialResult result = make_result(r);
      bool failed =
          o_.counts_as_failure ? o_.counts_as_failure(result) : is_failure(result.outcome);
      if (failed) ++failures_;
      it = running_.erase(it);
      sink_.on_trial(result);
    }
  }

  TrialResult make_result(Running& r) {
    Evidence e;
    e.stalled = r.stalled;
    e.timed_out = r.timed_out;
    if (WIFEXITED(r.wait_status)) e.exit_code = WEXITSTATUS(r.wait_status);
    if (WIFSIGNALED(r.wait_status)) e.signal = WTERMSIG(r.wait_status);
    e.has_result = r.has_result;
    e.result_status = r.result_status;
    e.result_message = r.result_message;
    e.stderr_text = r.err_tail.text();
    e.stacks = read_memfd(r.stacks.get());
    if (!r.tsan_dir.empty()) e.sanitizer_log = tsan::collect_logs(r.tsan_dir);
    if (r.stalled)
      e.stacks =
          (r.python_stacks_asked ? "Python stacks (faulthandler, on SIGUSR1):\n"
                                 : "Python stacks: not asked for (faulthandler was not armed: "
                                   "CPython was not running)\n") +
          e.stacks;
    if (!r.captured.empty()) e.stacks += "\nNative stacks of all threads (gdb):\n" + r.captured;
    if (e.signal) e.stacks = symbolizer_.symbolize(e.stacks);
    Classification c = classify(e);

    TrialResult t;
    t.seed = derive_seed(r.spec.base_seed, r.spec.scenario, r.spec.variant, r.spec.trial);
    t.spec = std::move(r.spec);
    t.outcome = c.outcome;
    t.signature = std::move(c.signature);
    t.detail = std::move(c.detail);
    t.seconds = seconds_between(r.start, r.exit_time);
    t.exit_code = e.exit_code;
    t.signal = e.signal;
    t.progress = r.progress;
    t.probes = std::move(r.probes);
    t.notes = std::move(r.notes);
    t.stdout_tail = r.out_tail.text();
    t.stderr_tail = std::move(e.stderr_text);
    t.stacks = std::move(e.stacks);
    t.sanitizer_log = std::move(e.sanitizer_log);
    return t;
  }

  void interrupt() {
    if (end_.interrupted) return;
    end_.interrupted = true;
    // Every group first, so that no trial waits for another's stack capture to end.
    for (auto& r : running_)
      if (!r->exited) killpg(r->pid, SIGKILL);
    for (auto& r : running_) {
      if (!r->exited) {
        r->capture.reset();  // gdb ends with the trial; joined before its pid can be reused
        while (waitpid(r->pid, nullptr, 0) < 0 && errno == EINTR) {
        }
      }
      ++end_.abandoned;
    }
    running_.clear();
  }

  const RunOptions& o_;
  TrialSink& sink_;
  Symbolizer symbolizer_{
      find_in_path("addr2line"), find_in_path("nm"),
      [](const std::vector<std::string>& argv) { return run_capture(argv, 20.0); }};
  std::string exe_;
  std::vector<std::string> env_overrides_;
  std::vector<std::string> env_;
  std::vector<std::uint64_t> launched_;
  std::vector<std::unique_ptr<Running>> running_;
  std::uint64_t failures_ = 0;
  std::uint64_t spawned_ = 0;
  Clock::time_point start_;
  RunEnd end_;
};

}  // namespace

std::string self_executable() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
  return std::string(buf, static_cast<std::size_t>(n));
}

RunEnd run_trials(const RunOptions& options, TrialSink& sink) {
  Supervisor s(options, sink);
  return s.run();
}

}  // namespace gilrace
