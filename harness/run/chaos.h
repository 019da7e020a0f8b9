// Chaos mode (--chaos[=LEVEL]): seeded perturbation of a trial's schedule, so that a
// race that needs the scheduler's luck (a thread preempted inside a short window,
// a lock holder held up while others wait) shows in seconds rather than never.
//
// In the trial's child, when on, every thread gets a timer on its own CPU time
// (timer_create, CLOCK_THREAD_CPUTIME_ID, delivered to that thread) whose handler
// yields, sleeps for microseconds to a few milliseconds, or moves the thread to
// another CPU; a probe hit (where a scenario's window is) may be delayed too; and
// the highest level puts every thread of the trial on one CPU. From level 2, on
// free-threaded builds, a sampler thread signals a random armed thread every few tens
// of microseconds, and one caught holding a critical section may sleep: a lock holder
// held up, so that whoever wants its lock parks, and parking suspends the waiter's own
// critical sections (the CPU-time ticks are kernel-tick granular, too coarse to land
// inside sections that last microseconds). Also from level 2, CPython starts with its
// debug memory hooks, which fill a freed block with 0xDD at once: a race whose harm is a
// use-after-free then crashes at the first read of the freed object, where otherwise it
// reads memory that is stale but intact (or reused by an object of the same kind) and
// goes on. Threads are armed
// as they start, through the pthread_create that signal_stack.cpp defines, and
// lazily at their first probe hit or heartbeat (the only way under
// ThreadSanitizer, whose runtime owns pthread_create).
//
// Every decision comes from a per-thread generator seeded from the trial's seed
// and the thread's index (the order threads were armed in), so a replay draws the
// same decisions; the CPU time at which each is taken, and so the schedule, differ.
// A sleep lasts at most kMaxSleepUs and comes only after CPU time was used, so a
// trial that stops making progress still stops sending heartbeats: a deadlock is
// still told apart from a slow trial.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gilrace::chaos {

constexpr int kMaxLevel = 3;
constexpr int kProbeDelayLevel = 2;  // probe delays from this level on
constexpr int kDefaultLevel = 2;     // --chaos without a level
constexpr int kPoisonLevel = 2;      // CPython's debug memory hooks from this level on

// The level in force in this process: 0 (off) unless start() armed it.
extern std::atomic<int> g_level;

// Arms chaos at `level` (0: nothing at all) with decisions from `seed`. Call once,
// on the trial's main thread, before it starts any other.
void start(int level, std::uint64_t seed);

// Arms the calling thread's timer, once; nothing when chaos is off.
void arm_this_thread();

// True when the trial's CPython is to start with its debug memory hooks
// (PYMEM_ALLOCATOR_DEBUG: freed blocks filled with 0xDD, allocations checked): level >=
// kPoisonLevel, and not under ThreadSanitizer, whose runtime owns malloc and reports a
// racing access to freed memory itself.
bool poisons_freed_memory();

// What chaos did in this process so far, for the trial's notes: threads armed, ticks,
// sleeps, yields, migrations, probe delays, samples, lock-holder sleeps, and whether
// freed memory is poisoned (1 or 0).
std::vector<std::pair<std::string, std::uint64_t>> counts();

// The realtime signal the timers use (for `handle SIGnn nostop` under gdb).
int signal_number();

// At a probe hit: with level >= kProbeDelayLevel a seeded delay (and the thread's
// timer, if it has none yet). Off, one relaxed load.
void probe_delay_slow();
inline void at_probe() {
  if (g_level.load(std::memory_order_relaxed) != 0) probe_delay_slow();
}
// At a heartbeat: arms a thread pthread_create could not (ThreadSanitizer). Off, one
// relaxed load.
inline void at_heartbeat() {
  if (g_level.load(std::memory_order_relaxed) != 0) arm_this_thread();
}

}  // namespace gilrace::chaos
