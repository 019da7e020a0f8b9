// Control: a check-then-act over an atomic pair that only a preemption inside a short
// window breaks, for chaos mode's tests (--chaos, harness/run/chaos.h).
//
// Two native threads (no CPython) update a pair (value, generation). Each iteration does
// some arithmetic (no sleeps, no locks), reads the pair (the check) and writes
// (value + 1, generation + 1) (the act). The naive variant reads and writes the two halves
// with separate atomic operations, a few instructions apart. Should the other thread
// complete two whole iterations in there (its arithmetic alone takes tens of
// microseconds), this one's act overwrites both: the generation it replaces is two or more
// ahead of the one it checked, and it crashes on purpose in gilrace_selftest_lost_updates.
// Two threads running side by side interleave their acts (one lost update, not counted),
// but never fit two iterations into a few instructions: only a thread preempted or held up
// between its check and its act does. The fixed variant packs the pair into one word and
// acts by compare-and-swap on the pair as checked: it loses none.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <latch>
#include <thread>
#include <vector>

#include "gilrace/scenario.h"

extern "C" __attribute__((noinline)) void gilrace_selftest_lost_updates(volatile int* p) {
  *p = 1;  // null: a SIGSEGV whose signature names this function
}

namespace gilrace {

namespace {

// Arithmetic the compiler cannot drop: the time between two check-then-acts.
__attribute__((noinline)) std::uint64_t busy_work(std::uint64_t x, long rounds) {
  for (long i = 0; i < rounds; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return x;
}

struct Pair {
  std::atomic<std::uint64_t> value{0}, generation{0};  // naive: two halves
  std::atomic<std::uint64_t> packed{0};                // fixed: generation << 32 | value
};

void act_naive(Pair& p, Probe* window) {
  const std::uint64_t g = p.generation.load(std::memory_order_acquire);  // check
  const std::uint64_t v = p.value.load(std::memory_order_acquire);
  if (window) window->hit();
  p.value.store(v + 1, std::memory_order_release);  // act
  if (p.generation.exchange(g + 1, std::memory_order_acq_rel) >= g + 2)
    gilrace_selftest_lost_updates(nullptr);
}

void act_fixed(Pair& p, Probe* window) {
  std::uint64_t seen = p.packed.load(std::memory_order_acquire);  // check
  if (window) window->hit();
  std::uint64_t want;
  do {  // act on the pair as checked, else check again
    want = (((seen >> 32) + 1) << 32) | ((seen + 1) & 0xffffffffULL);
  } while (!p.packed.compare_exchange_weak(seen, want, std::memory_order_acq_rel));
}

}  // namespace

class SelftestCheckThenAct : public Scenario {
 public:
  static ScenarioInfo info() {
    return {
        .name = "selftest-check-then-act",
        .summary =
            "control: two threads check-then-act on an atomic pair; naive loses "
            "two updates (SIGSEGV) only when a thread is held up between its check "
            "and its act (for --chaos)",
        .variants = {{"fixed", "the pair in one word, acted on by compare-and-swap"},
                     {"naive", "the pair's halves checked and written separately", true}},
        .params = {{"iterations", "200", "check-then-acts per thread"},
                   {"work", "20000", "arithmetic rounds between two check-then-acts"},
                   {"probe_every", "4", "hit the window probe every N iterations"}},
        .lifecycle = Lifecycle::scenario,  // never starts CPython
        .default_threads = 2,
        .control = true,
        .probes = {{"check_then_act_window", "a thread was between its check and its act", true}}};
  }

  Result run(Context& ctx) override {
    const long iterations = static_cast<long>(ctx.param_int("iterations"));
    const long work = static_cast<long>(ctx.param_int("work"));
    const long probe_every = static_cast<long>(std::max(1LL, ctx.param_int("probe_every")));
    if (iterations < 1 || work < 0) throw ScenarioError("--param iterations >= 1, work >= 0");
    const auto act = ctx.variant() == "naive" ? act_naive : act_fixed;
    Probe& window = ctx.probe("check_then_act_window");
    Pair pair;
    // One check-then-act before the threads start: a probe's first hit writes to the
    // supervisor's pipe, and that syscall (it wakes the supervisor) is a chance to be
    // preempted that the harness, not the scheduler, would put inside the window.
    act(pair, &window);
    std::atomic<std::uint64_t> sink{0};  // keeps the arithmetic
    const int n = std::max(2, ctx.threads());
    std::latch start(n);
    {
      std::vector<std::jthread> threads;
      for (int t = 0; t < n; ++t)
        threads.emplace_back([&, t] {
          std::uint64_t x = static_cast<std::uint64_t>(t) + 1;
          start.arrive_and_wait();
          for (long i = 0; i < iterations; ++i) {
            x = busy_work(x, work);
            const bool probe = i % probe_every == 0;
            act(pair, probe ? &window : nullptr);
            if (probe) ctx.heartbeat();
          }
          sink.fetch_add(x, std::memory_order_relaxed);
        });
    }
    return Result::pass();
  }
};
GILRACE_SCENARIO(SelftestCheckThenAct);

}  // namespace gilrace
