#include "harness/run/chaos.h"

#include <Python.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "harness/base/seed.h"
#include "harness/base/tsan.h"

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
  // The lock-holder sampler (free-threaded builds): every sample_min_us..sample_max_us of
  // wall time one armed thread, drawn at random, is signalled; if it holds an active
  // critical section it sleeps with p_holder, [2^k, 2^(k+1)) us, k in [holder_min_shift,
  // holder_shift].
  long sample_min_us, sample_max_us;
  unsigned p_holder;
  unsigned holder_min_shift, holder_shift;
};
constexpr long kMaxSleepUs = 4096;
// A tick comes at most once per kernel tick of the thread's CPU time (CPU-time timers are
// checked there: about 4 ms here), so a sleep on most ticks costs little (at level 2 about
// 0.5 x 0.5 ms per 4 ms of CPU) and is what holds a thread up inside a short critical section
// long enough for the others to notice.
constexpr Spec kSpecs[kMaxLevel + 1] = {
    {},
    {100, 1000, 256, 256, 0, 9, 0, false, 0, 0, 0, 0, 0},
    {100, 1000, 512, 205, 102, 11, 512, false, 20, 200, 512, 4, 10},
    {100, 1000, 512, 205, 0, 11, 512, true, 20, 200, 512, 4, 10},
};
static_assert((2L << kSpecs[2].sleep_shift) <= kMaxSleepUs);
static_assert((2L << kSpecs[2].holder_shift) <= kMaxSleepUs);

// Read by the handler: set once by start(), before any thread is armed.
Spec g_spec;
std::uint64_t g_seed = 0;
cpu_set_t g_allowed;  // the CPUs the trial may use, as it started
int g_cpus[CPU_SETSIZE];
int g_ncpus = 0;
int g_signal = 0;
std::atomic<std::uint64_t> g_threads{0};  // threads armed so far: the next one's index
// The armed threads' kernel ids, by index (0 once a thread has ended), for the sampler.
constexpr std::uint64_t kMaxSampled = 1024;
std::atomic<pid_t> g_tids[kMaxSampled];
std::atomic<int> g_live{0};  // armed threads that have not ended
// Lock-free, so the handler may count.
std::atomic<std::uint64_t> g_ticks{0}, g_sleeps{0}, g_yields{0}, g_migrations{0}, g_probe_delays{0},
    g_samples{0}, g_holder_sleeps{0};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

void count(std::atomic<std::uint64_t>& c) {
  c.fetch_add(1, std::memory_order_relaxed);
}

// Per thread, trivially constructed, so that the handler can read it at any time.
struct ThreadState {
  std::uint64_t tick_rng;    // the timer handler's draws
  std::uint64_t probe_rng;   // probe hits' draws: a separate stream, as the handler
                             // may interrupt a probe hit's draw on the same thread
  std::uint64_t holder_rng;  // the sampler's signals' draws
  std::uint64_t index;
  std::int64_t quiet_until_ns;  // CPU time before which samples are ignored
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

// A sleep in [2^k, 2^(k+1)) us, k uniform in [lo, hi].
long log_uniform_us(std::uint64_t r, unsigned lo, unsigned hi) {
  long base = 1L << (lo + r % (hi - lo + 1));
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

constexpr bool holder_sampling_possible() {
#if defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030D0000
  return true;
#else
  return false;  // no critical sections: nothing for the sampler to find
#endif
}

// True when the calling thread is attached and holds a critical section that is not
// suspended: a free-threaded CPython's per-object lock, the thing that parks whoever
// else wants it (and parking detaches, suspending the waiter's own critical
// sections: the window of python/cpython#132713 and its kind). Reads only this
// thread's own state (the thread-state pointer is a thread-local), so a handler may.
bool holds_critical_section() {
#if defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030D0000
  PyThreadState* ts = PyThreadState_GetUnchecked();
  if (!ts) return false;
  // Internal/pycore_critical_section.h: the low bit marks a suspended section (the
  // same in 3.13, 3.14 and 3.15).
  std::uintptr_t cs = ts->critical_section;
  return cs != 0 && (cs & 1) == 0;
#else
  return false;
#endif
}

// A sampler's signal: a lock holder held up while others wait for its lock. The CPU-time
// ticks come too seldom (kernel-tick granular) to land inside critical sections that
// last microseconds; the sampler's signals come every few tens of microseconds.
// After a sleep a thread ignores samples until it has run as long as it slept: at most
// half its time asleep, whatever the sampler's rate (a thread that holds critical
// sections most of the time, as CPython's start-up does, still makes progress).
void on_sample(ThreadState& t) {
  count(g_samples);
  if (!holds_critical_section()) return;
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  const std::int64_t now_ns = now.tv_sec * 1'000'000'000LL + now.tv_nsec;
  if (now_ns < t.quiet_until_ns) return;
  std::uint64_t r = draw(t.holder_rng);
  if ((r & 1023) >= g_spec.p_holder) return;
  count(g_holder_sleeps);
  const long us = log_uniform_us(r >> 10, g_spec.holder_min_shift, g_spec.holder_shift);
  sleep_us(us);
  t.quiet_until_ns = now_ns + us * 1000LL;
}

// A CPU-time tick: all CPUs back if the last tick pinned the thread, then a sleep, a yield,
// a migration or nothing, and the next tick armed.
void on_tick(ThreadState& t) {
  if (t.pinned) {
    sched_setaffinity(0, sizeof g_allowed, &g_allowed);
    t.pinned = false;
  }
  std::uint64_t r = draw(t.tick_rng);
  unsigned u = static_cast<unsigned>(r & 1023);
  count(g_ticks);
  if (u < g_spec.p_sleep) {
    count(g_sleeps);
    sleep_us(log_uniform_us(r >> 10, 0, g_spec.sleep_shift));
  } else if ((u -= g_spec.p_sleep) < g_spec.p_yield) {
    count(g_yields);
    sched_yield();
  } else if ((u -= g_spec.p_yield) < g_spec.p_migrate) {
    count(g_migrations);
    migrate(t, r >> 10);
  }
  rearm(t);
}

// The handler of the timers' and the sampler's signal (the sampler's come by tgkill).
// Async-signal-safe: syscalls and arithmetic on this thread's own state only.
void on_signal(int, siginfo_t* info, void*) {
  const int saved = errno;
  if (ThreadState& t = tl; t.armed) {
    if (info->si_code == SI_TKILL)
      on_sample(t);
    else
      on_tick(t);
  }
  errno = saved;
}

// Deletes the thread's timer when the thread ends.
struct TimerOwner {
  ~TimerOwner() {
    if (!tl.armed) return;
    tl.armed = false;  // first: a tick still pending finds nothing to do
    if (tl.index < kMaxSampled) g_tids[tl.index].store(0, std::memory_order_relaxed);
    g_live.fetch_sub(1, std::memory_order_relaxed);
    timer_delete(tl.timer);
  }
};

// The sampler: a thread of chaos's own, never armed, that signals a random armed thread
// every sample_min_us..sample_max_us. Its draws are seeded too; which thread is
// running when each lands is not.
void sampler(std::uint64_t rng) {
  const pid_t pid = getpid();
  for (;;) {
    std::uint64_t r = draw(rng);
    sleep_us(g_spec.sample_min_us +
             static_cast<long>(
                 r % static_cast<std::uint64_t>(g_spec.sample_max_us - g_spec.sample_min_us + 1)));
    std::uint64_t n = g_threads.load(std::memory_order_relaxed);
    if (n > kMaxSampled) n = kMaxSampled;
    // A lone thread has nobody to hold up.
    if (n == 0 || g_live.load(std::memory_order_relaxed) < 2) continue;
    pid_t tid = g_tids[(r >> 20) % n].load(std::memory_order_relaxed);
    if (tid != 0) syscall(SYS_tgkill, pid, tid, g_signal);
  }
}

// Starts the sampler before chaos is armed (g_level still 0), so that the pthread_create
// hook arms nothing in it, and waits until it runs: armed threads' indices stay in the
// order the trial starts them.
void start_sampler() {
  static std::atomic<bool> running{false};
  std::thread([seed = splitmix64(g_seed ^ 0x73616d706c6572ULL)] {
    pthread_setname_np(pthread_self(), "gilrace-chaos");
    running.store(true, std::memory_order_release);
    sampler(seed);
  }).detach();
  while (!running.load(std::memory_order_acquire)) sched_yield();
}

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
  sa.sa_sigaction = on_signal;
  sa.sa_flags =
      SA_SIGINFO | SA_RESTART | SA_ONSTACK;  // on the thread's alternate stack where it has one:
                                             // a tick on a nearly exhausted stack is no new crash
  sigemptyset(&sa.sa_mask);
  sigaction(g_signal, &sa, nullptr);
  if (g_spec.sample_max_us > 0 && holder_sampling_possible()) start_sampler();
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
  tl.holder_rng = splitmix64(g_seed ^ splitmix64(~index));
  tl.index = index;
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = g_signal;
  const auto tid = static_cast<pid_t>(syscall(SYS_gettid));
  sev._sigev_un._tid = tid;
  timer_t timer{};
  if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &timer) != 0) return;
  tl.timer = timer;
  tl.armed = true;
  if (index < kMaxSampled) g_tids[index].store(tid, std::memory_order_relaxed);
  g_live.fetch_add(1, std::memory_order_relaxed);
  rearm(tl);
}

bool poisons_freed_memory() {
#ifdef GILRACE_TSAN
  return false;
#else
  return g_level.load(std::memory_order_acquire) >= kPoisonLevel;
#endif
}

std::vector<std::pair<std::string, std::uint64_t>> counts() {
  auto get = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  return {{"chaos_threads", get(g_threads)},
          {"chaos_ticks", get(g_ticks)},
          {"chaos_sleeps", get(g_sleeps)},
          {"chaos_yields", get(g_yields)},
          {"chaos_migrations", get(g_migrations)},
          {"chaos_probe_delays", get(g_probe_delays)},
          {"chaos_samples", get(g_samples)},
          {"chaos_holder_sleeps", get(g_holder_sleeps)},
          {"chaos_freed_memory_poisoned", poisons_freed_memory() ? 1U : 0U}};
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
    sleep_us(log_uniform_us(r >> 2, 0, 9));
}

}  // namespace gilrace::chaos
