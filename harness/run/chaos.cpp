#include "harness/run/chaos.h"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "harness/base/seed.h"

namespace gilrace::chaos {

std::atomic<int> g_level{0};

namespace {

// What a level does. Probabilities are per 1024 draws; a sleep lasts
// [2^k, 2^(k+1)) microseconds with k uniform in [0, sleep_shift], so short sleeps
// are as common as long ones in each octave (log-uniform), at most kMaxSleepUs.
struct Spec {
  long tick_min_us, tick_max_us;  // CPU time of the thread between two ticks
  unsigned p_sleep, p_yield, p_migrate;
  unsigned sleep_shift;
  unsigned p_probe;  // a probe hit is delayed (yield or sleep)
  bool one_cpu;
};
constexpr long kMaxSleepUs = 4096;
// A tick comes at most once per kernel tick of the thread's CPU time (CPU-time timers are
// checked there: about 4 ms here), so a sleep on most ticks costs little (at level 2 about
// 0.5 x 0.5 ms per 4 ms of CPU) and is what holds a thread up inside a short critical section
// long enough for the others to notice.
constexpr Spec kSpecs[kMaxLevel + 1] = {
    {},
    {100, 1000, 256, 256, 0, 9, 0, false},
    {100, 1000, 512, 205, 102, 11, 512, false},
    {100, 1000, 512, 205, 0, 11, 512, true},
};
static_assert((2L << kSpecs[2].sleep_shift) <= kMaxSleepUs);

// Read by the handler: set once by start(), before any thread is armed.
Spec g_spec;
std::uint64_t g_seed = 0;
cpu_set_t g_allowed;  // the CPUs the trial may use, as it started
int g_cpus[CPU_SETSIZE];
int g_ncpus = 0;
int g_signal = 0;
std::atomic<std::uint64_t> g_threads{0};  // threads armed so far: the next one's index
// Lock-free, so the handler may count.
std::atomic<std::uint64_t> g_ticks{0}, g_sleeps{0}, g_yields{0}, g_migrations{0}, g_probe_delays{0};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

void count(std::atomic<std::uint64_t>& c) {
  c.fetch_add(1, std::memory_order_relaxed);
}

// Per thread, trivially constructed, so that the handler can read it at any time.
struct ThreadState {
  std::uint64_t tick_rng;   // the timer handler's draws
  std::uint64_t probe_rng;  // probe hits' draws: a separate stream, as the handler
                            // may interrupt a probe hit's draw on the same thread
  timer_t timer;
  bool armed, tried, pinned;
};
thread_local ThreadState tl{};

std::uint64_t draw(std::uint64_t& state) {
  return splitmix64(state++);
}

void sleep_us(long us) {
  timespec ts{us / 1'000'000, (us % 1'000'000) * 1000};
  nanosleep(&ts, nullptr);  // EINTR: a shorter sleep, nothing more
}

// A sleep in [2^k, 2^(k+1)) us, k uniform in [0, shift].
long log_uniform_us(std::uint64_t r, unsigned shift) {
  long base = 1L << (r % (shift + 1));
  return base + static_cast<long>((r >> 8) % static_cast<std::uint64_t>(base));
}

void rearm(ThreadState& t) {
  std::uint64_t r = draw(t.tick_rng);
  long us = g_spec.tick_min_us +
            static_cast<long>(
                r % static_cast<std::uint64_t>(g_spec.tick_max_us - g_spec.tick_min_us + 1));
  itimerspec its{};
  its.it_value = {us / 1'000'000, (us % 1'000'000) * 1000};
  timer_settime(t.timer, 0, &its, nullptr);
}

// Pins the thread to a CPU other than the one it is on (the scheduler must move it
// now); the next tick gives it back every CPU.
void migrate(ThreadState& t, std::uint64_t r) {
  if (g_ncpus < 2) return;
  int here = sched_getcpu();
  int to = g_cpus[r % static_cast<std::uint64_t>(g_ncpus)];
  if (to == here) to = g_cpus[(r % static_cast<std::uint64_t>(g_ncpus) + 1) % g_ncpus];
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(to, &one);
  if (sched_setaffinity(0, sizeof one, &one) == 0) t.pinned = true;
}

// The timer's handler. Async-signal-safe: syscalls and arithmetic on this thread's
// own state only.
void on_tick(int) {
  const int saved = errno;
  ThreadState& t = tl;
  if (t.armed) {
    if (t.pinned) {
      sched_setaffinity(0, sizeof g_allowed, &g_allowed);
      t.pinned = false;
    }
    std::uint64_t r = draw(t.tick_rng);
    unsigned u = static_cast<unsigned>(r & 1023);
    count(g_ticks);
    if (u < g_spec.p_sleep) {
      count(g_sleeps);
      sleep_us(log_uniform_us(r >> 10, g_spec.sleep_shift));
    } else if ((u -= g_spec.p_sleep) < g_spec.p_yield) {
      count(g_yields);
      sched_yield();
    } else if ((u -= g_spec.p_yield) < g_spec.p_migrate) {
      count(g_migrations);
      migrate(t, r >> 10);
    }
    rearm(t);
  }
  errno = saved;
}

// Deletes the thread's timer when the thread ends.
struct TimerOwner {
  ~TimerOwner() {
    if (!tl.armed) return;
    tl.armed = false;  // first: a tick still pending finds nothing to do
    timer_delete(tl.timer);
  }
};

}  // namespace

int signal_number() {
  // Not SIGUSR1 (faulthandler's dump on a stall) nor a fatal signal (the crash handler,
  // faulthandler); glibc keeps the realtime signals below SIGRTMIN for itself.
  return SIGRTMIN + 2;
}

void start(int level, std::uint64_t seed) {
  if (level <= 0) return;
  g_spec = kSpecs[level > kMaxLevel ? kMaxLevel : level];
  g_seed = seed;
  g_signal = signal_number();
  CPU_ZERO(&g_allowed);
  sched_getaffinity(0, sizeof g_allowed, &g_allowed);
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &g_allowed)) g_cpus[g_ncpus++] = c;
  if (g_spec.one_cpu && g_ncpus > 1) {
    // Threads inherit it: every thread the trial starts from here on shares the CPU.
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(g_cpus[splitmix64(seed ^ 0x6f6e65637075ULL) % static_cast<std::uint64_t>(g_ncpus)],
            &one);
    sched_setaffinity(0, sizeof one, &one);
  }
  struct sigaction sa {};
  sa.sa_handler = on_tick;
  sa.sa_flags = SA_RESTART | SA_ONSTACK;  // on the thread's alternate stack where it has one:
                                          // a tick on a nearly exhausted stack is no new crash
  sigemptyset(&sa.sa_mask);
  sigaction(g_signal, &sa, nullptr);
  g_level.store(level > kMaxLevel ? kMaxLevel : level, std::memory_order_release);
  arm_this_thread();
}

void arm_this_thread() {
  if (g_level.load(std::memory_order_acquire) == 0 || tl.tried) return;
  tl.tried = true;
  thread_local TimerOwner owner;
  std::uint64_t index = g_threads.fetch_add(1, std::memory_order_relaxed);
  tl.tick_rng = splitmix64(g_seed ^ splitmix64(2 * index + 1));
  tl.probe_rng = splitmix64(g_seed ^ splitmix64(2 * index + 2));
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = g_signal;
  sev._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
  timer_t timer{};
  if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &timer) != 0) return;
  tl.timer = timer;
  tl.armed = true;
  rearm(tl);
}

std::vector<std::pair<std::string, std::uint64_t>> counts() {
  auto get = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  return {{"chaos_threads", get(g_threads)},       {"chaos_ticks", get(g_ticks)},
          {"chaos_sleeps", get(g_sleeps)},         {"chaos_yields", get(g_yields)},
          {"chaos_migrations", get(g_migrations)}, {"chaos_probe_delays", get(g_probe_delays)}};
}

void probe_delay_slow() {
  arm_this_thread();
  if (g_level.load(std::memory_order_relaxed) < kProbeDelayLevel) return;
  std::uint64_t r = draw(tl.probe_rng);
  if ((r & 1023) >= g_spec.p_probe) return;
  r >>= 10;
  count(g_probe_delays);
  if (r % 3 == 0)
    sched_yield();
  else
    sleep_us(log_uniform_us(r >> 2, 9));
}

}  // namespace gilrace::chaos
