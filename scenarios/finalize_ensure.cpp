// finalize-ensure: native threads calling PyGILState_Ensure()/PyGILState_Release()
// in a loop while, or after, the main thread runs Py_FinalizeEx().
//
// What each CPython does BY DESIGN with a thread that tries to attach once
// finalisation has begun (never counted as a failure here):
//   - 3.11, 3.12 and 3.13.0-3.13.7: take_gil() ends the thread with
//     PyThread_exit_thread() = pthread_exit(), a forced unwind
//     (abi::__forced_unwind) of the thread's stack;
//   - 3.13.8+ (backport of gh-87135, python/cpython#137827) and 3.14: the
//     thread is parked forever (PyThread_hang_thread()); the process still
//     exits because the driver _exit()s after sending the result.
// So the workers here are raw pthreads whose frames are all unwind-transparent
// (no noexcept, no catch(...), no destructor that touches the C API) and they
// are never joined: after finalisation they may be parked or gone.
//
// What IS the bug (counted as a failure):
//   - a crash in PyGILState_Ensure / PyEval_RestoreThread /
//     _PyThreadState_Attach, a fatal error, or a debug-build assertion
//     (python/cpython#131012: unbind_gilstate_tstate when zapthreads() deletes
//     a thread state another thread created during finalisation) while the
//     workers hammer during finalisation (python/cpython#132948, #124619);
//   - PyGILState_Ensure() called AFTER Py_FinalizeEx() has returned (variant
//     `after`). Before 3.14 it dereferences the cleared autoInterpreterState
//     (new_threadstate(NULL)) and the deleted autoTSSkey: SIGSEGV on 3.11 and
//     3.13. That is python/cpython#124619 ("PyGILState_Ensure() (probably)
//     crashes if called after finalization", open, labelled 3.12-3.14); the
//     fix for the after-finalisation case is python/cpython#131185 (PR
//     #132510, 3.14 only: "PyGILState_Ensure no longer crashes when called
//     after interpreter finalization" - it now hangs the thread). Upstream
//     treats the crash as a bug, not as undefined behaviour of the caller, so
//     this scenario does too: `after` crashes on 3.11 and 3.13 and parks
//     (passes) on 3.14.
//
// Variants:
//   during        workers hammer while the main thread finalises; the GC has to
//                 tear down a deep cyclic nested list first (--param depth), so
//                 the finalisation window is long.
//   import        the shape of python/cpython#132948 and rust-lang/rust#135929:
//                 the workers are started by the exec slot of a built-in
//                 extension module at `import` time, then Python code builds the
//                 deep cycle (`makeloop`) and the program ends.
//   after         each worker calls PyGILState_Ensure() once, after
//                 Py_FinalizeEx() has returned.
//   tail          unsynchronised workers, as in the field (the 3.14.7 PyGObject
//                 report on #124619): native work of a random 0..tail_us between
//                 calls and a short finalisation, so that some Ensure calls land
//                 in the teardown at the end of Py_FinalizeEx or after it. Before
//                 3.14 the after-finalisation crash dominates; on 3.14, where that
//                 case parks, any failure left is #124619's concurrent case.
//   release-macro a worker that released the GIL with Py_BEGIN_ALLOW_THREADS /
//                 Py_END_ALLOW_THREADS re-attaches during finalisation: ended or
//                 parked by design, never a crash (the "works fine" half of
//                 pybind/pybind11#2215).
//   raii-release  the same with an RAII release guard like pybind11's
//                 gil_scoped_release before pybind/pybind11#2657: the guard's
//                 destructor (implicitly noexcept) re-attaches, and where
//                 CPython ends the thread with pthread_exit the forced unwind
//                 leaves a noexcept frame -> std::terminate -> SIGABRT
//                 (pybind/pybind11#2215, pytorch/pytorch#38228). Where CPython
//                 parks the thread (3.13.8+, 3.14) it passes: gh-87135 is the
//                 upstream fix for exactly this.
//
// Probes: ensure_while_finalizing (an Ensure call began while Py_IsFinalizing()
// was true, before the interpreter was deleted: the window was reached),
// ensure_in_teardown (began after the interpreter and its thread states were
// deleted - a Py_AtExit hook marks that - but before Py_FinalizeEx returned),
// ensure_after_finalize (an Ensure call began after Py_FinalizeEx() returned),
// release_scope_exit_while_finalizing (the release variants re-attached while
// finalising).
#include <Python.h>
#include <pthread.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <thread>

#include "gilrace/py.h"
#include "gilrace/scenario.h"

namespace gilrace {

namespace {

// Where each variant fails, measured on real builds (README, "Support table").
//
// PyGILState_Ensure in a thread with no thread state after Py_FinalizeEx returned
// dereferences the cleared autoInterpreterState (python/cpython#124619). Fixed by
// python/cpython#131185 (PR #132510), first in 3.15.0a1 and never backported: 3.14.x
// still crashes, on GIL and free-threaded builds alike.
const KnownFailure kEnsureAfterFinalize{"python/cpython#124619", 0, 0x030F00A1};

// 3.14 hangs only thread states that exist when finalisation marks them shutting
// down (gh-124878, 3.14.0a6); one that Ensure creates later races the teardown
// (python/cpython#132948, reported on 3.14.0a7, closed; PR #132510 says it does not
// fix concurrent use). PEP 788's guard (gh-149101, first in 3.15.0b1) refuses new
// thread states once finalisation begins. Measured, 30 trials each, --seed 314:
//   3.14.7t during 10/30, import 11/30; signatures (no upstream issue names them;
//   searched the cpython issues for each function, found only #132948 and #124619):
//     SIGSEGV in _PyIndexPool_AllocIndex < new_threadstate < PyGILState_Ensure
//       gilrace replay finalize-ensure --variant during --seed 314 --trial 11
//     SIGSEGV in _Py_brc_remove_thread < PyThreadState_Clear < PyGILState_Release
//       gilrace replay finalize-ensure --variant during --seed 314 --trial 21
//     SIGSEGV in _Py_brc_remove_thread < PyThreadState_Clear < interpreter_clear
//       gilrace replay finalize-ensure --variant during --seed 314 --trial 13
//     SIGSEGV in _PyIndexPool_FreeIndex < PyThreadState_Clear < PyGILState_Release
//       gilrace replay finalize-ensure --variant import --seed 314 --trial 17
//     Fatal Python error: gilstate_tss_set: failed to set current tstate (TSS)
//       gilrace replay finalize-ensure --variant during --seed 314 --trial 29
//   3.14.7 (GIL) during 18/30, import 14/30:
//     SIGSEGV in PyGILState_Ensure < hammer_entry (13 of 18)
//       gilrace replay finalize-ensure --variant during --seed 314 --trial 0
//     SIGSEGV in _PyThreadState_DeleteCurrent < hammer_entry
//       gilrace replay finalize-ensure --variant during --seed 314 --trial 6
//     Fatal Python error: gilstate_tss_set (as above, trial 9)
//   3.15.0rc1t: 0/20 for every variant of this scenario.
// The thread states are created after finalisation deleted the interpreter's index
// pool and biased-refcount state (free-threaded) or its TSS key (GIL): one bug,
// several faces. The 3.15.0b1 bound comes from the fixing commit; 3.15.0rc1 is the
// build measured.
const KnownFailure kEnsureDuringFinalize314{"python/cpython#132948", 0x030E0000, 0x030F00B1};

// CPython ended a thread attaching during finalisation with pthread_exit until
// gh-87135 (3.14.0a1, backported to 3.13.8) parked it instead: the forced unwind through
// raii-release's noexcept destructor is std::terminate there, and nowhere else
// (passes 0/20 on 3.13.15t and 3.14.7t). Not `naive`: it passes where CPython parks.
const KnownFailure kThreadExitUnwind{"python/cpython#87135", 0, 0x030D0800};

// Debug builds: zapthreads deletes a thread state a worker's Ensure is binding, and
// unbind_gilstate_tstate's `tstate == gilstate_tss_get(...)` (3.13.15: 177/200) or
// PyThreadState_Clear's `initialized && !cleared` (3.14.0a7: during 19/20, import 16/20)
// fails (python/cpython#131012, closed without a fix found in the history). No 3.15 debug build was
// measured: the bound is PEP 788's, as above.
const KnownFailure kUnbindAssertion{"python/cpython#131012", 0, 0x030F00B1, GilMode::any, true};

bool runtime_finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

void sleep_us(long us) {
  if (us <= 0) return;
  timespec ts{us / 1'000'000, (us % 1'000'000) * 1000};
  nanosleep(&ts, nullptr);
}

// One worker's progress, read by the main thread. Lives in the scenario object,
// which outlives run() (the driver _exit()s without destroying it), because the
// workers outlive run().
struct Slot {
  std::atomic<std::uint64_t> cycles{0};
  std::atomic<bool> in_ensure{false};        // inside an Ensure that has not returned
  std::atomic<bool> ensure_returned{false};  // `after`: the post-finalize Ensure returned
  std::atomic<bool> released{false};         // release variants: GIL released, waiting
  std::mt19937_64 rng;                       // tail: this worker's native work durations
  std::atomic<bool> leaving_release{false};  // release variants: about to re-attach
};

}  // namespace

class FinalizeEnsure : public Scenario {
 public:
  static ScenarioInfo info() {
    return {
        .name = "finalize-ensure",
        .summary =
            "native threads call PyGILState_Ensure/Release while or after the main thread "
            "runs Py_FinalizeEx",
        .references = {"python/cpython#132948", "python/cpython#124619", "python/cpython#131185",
                       "python/cpython#131012", "python/cpython#87135", "rust-lang/rust#135929",
                       "pybind/pybind11#2215", "pytorch/pytorch#38228"},
        .variants = {{"during",
                      "workers hammer Ensure/Release while the main thread finalises",
                      false,
                      {kUnbindAssertion, kEnsureDuringFinalize314}},
                     {"import",
                      "workers started by a built-in extension module's exec slot at import "
                      "(the #132948 shape), then the program ends",
                      false,
                      {kUnbindAssertion, kEnsureDuringFinalize314}},
                     {"after",
                      "each worker calls PyGILState_Ensure once after Py_FinalizeEx returned",
                      false,
                      {kEnsureAfterFinalize}},
                     {"tail",
                      "workers with irregular native work (0..tail_us) keep calling Ensure through "
                      "the end of Py_FinalizeEx: thread-state teardown, runtime teardown, after",
                      false,
                      {kEnsureAfterFinalize}},
                     {"release-macro",
                      "a worker re-attaches with Py_END_ALLOW_THREADS during finalisation"},
                     {"raii-release",
                      "a worker re-attaches in an RAII guard's (noexcept) destructor during "
                      "finalisation: std::terminate where CPython pthread_exits the thread",
                      false,
                      {kThreadExitUnwind}}},
        .params =
            {{"depth", "100000",
              "nesting depth of the cyclic list the GC tears down while finalising"},
             {"native_us", "50",
              "microseconds of native work (a sleep) between a worker's Ensure/Release calls"},
             {"tail_us", "20000",
              "tail: a worker's native work between calls is uniform in 0..tail_us "
              "microseconds (no deep structure: finalisation is short)"},
             {"warmup", "20", "cycles every worker completes before finalisation starts"},
             {"settle_ms", "500",
              "after, tail, release variants: how long the main thread waits for the consequence "
              "of a re-attach (a crash, or a parked thread) before returning"}},
        .lifecycle = Lifecycle::scenario,
        .default_threads = 4,
        .probes = {{"ensure_while_finalizing",
                    "an Ensure call began while Py_IsFinalizing() was true, before the "
                    "interpreter was deleted",
                    true,
                    {"during", "import", "tail"}},
                   {"ensure_in_teardown",
                    "an Ensure call began after the interpreter and its thread states were "
                    "deleted, before Py_FinalizeEx returned",
                    true,
                    {"during", "import", "tail"}},
                   {"ensure_after_finalize",
                    "an Ensure call began after Py_FinalizeEx returned",
                    true,
                    {"after", "tail"}},
                   {"release_scope_exit_while_finalizing",
                    "a worker that released the GIL re-attached while the interpreter finalised",
                    true,
                    {"release-macro", "raii-release"}}}};
  }

  void before_init(Context& ctx) override {
    // The module's exec slot and the Py_AtExit hook are C callbacks with no user data.
    active_ = this;
    if (ctx.variant() == "import") {
      if (PyImport_AppendInittab(kModuleName, init_module) != 0)
        throw ScenarioError("PyImport_AppendInittab failed");
    }
  }

  Result run(Context& ctx) override {
    ctx_ = &ctx;
    native_us_ = static_cast<long>(ctx.param_int("native_us"));
    long long depth = ctx.param_int("depth");
    long long warmup = ctx.param_int("warmup");
    long long settle_ms = ctx.param_int("settle_ms");
    if (ctx.threads() < 1) throw ScenarioError("needs at least one thread");
    while_finalizing_ = &ctx.probe("ensure_while_finalizing");
    after_finalize_ = &ctx.probe("ensure_after_finalize");
    in_teardown_ = &ctx.probe("ensure_in_teardown");
    scope_exit_ = &ctx.probe("release_scope_exit_while_finalizing");
    for (int i = 0; i < ctx.threads(); ++i) slots_.emplace_back();

    std::uint64_t stream = 0;
    for (Slot& s : slots_) s.rng.seed(ctx.stream_seed(stream++));
    tail_us_ = ctx.param_int("tail_us");

    ctx.init_python();
    // Runs inside Py_FinalizeEx once the interpreter and its thread states are
    // deleted, just before the runtime's own teardown.
    if (Py_AtExit(&FinalizeEnsure::on_low_level_exit) != 0) throw ScenarioError("Py_AtExit failed");
    ctx.heartbeat();
    const std::string& v = ctx.variant();
    tail_mode_ = v == "tail";

    if (v == "after") return run_after(ctx, settle_ms);

    if (v == "import") {
      // The module's exec slot starts the workers; they wait for the GIL (or,
      // free-threaded, run at once) while Python builds the deep cycle.
      py::Ref mod = py::import(kModuleName);
      build_cycle(depth);
      py::Unlocked unlocked;  // re-attached before finalising
      wait_for_warmup(warmup);
    } else if (v == "during") {
      build_cycle(depth);
      py::Unlocked unlocked;  // let the workers in; re-attached before finalising
      start_workers(&FinalizeEnsure::hammer_entry);
      wait_for_warmup(warmup);
    } else if (v == "tail") {
      py::Unlocked unlocked;
      start_workers(&FinalizeEnsure::hammer_entry);
      wait_for_warmup(warmup);
    } else {
      build_cycle(depth);
      py::Unlocked unlocked;
      start_workers(v == "raii-release" ? &FinalizeEnsure::raii_release_entry
                                        : &FinalizeEnsure::macro_release_entry);
      wait_until([&] {
        for (const Slot& s : slots_)
          if (!s.released.load()) return false;
        return true;
      });
    }

    ctx.heartbeat();
    ctx.note("gil_enabled", py::gil_enabled_at_runtime() ? "1" : "0");
    int rc = Py_FinalizeEx();
    finalized_.store(true);
    ctx.heartbeat();

    if (v == "tail") {
      // Workers asleep in their native work when finalisation ended call Ensure
      // within tail_us: wait until every worker is inside an Ensure (ended,
      // parked, or about to crash), then for the consequence.
      wait_until([&] {
        for (const Slot& s : slots_)
          if (!s.in_ensure.load()) return false;
        return true;
      });
      sleep_us(settle_ms * 1000);
    }
    if (v == "release-macro" || v == "raii-release") {
      // The workers noticed finalisation and are re-attaching (or already
      // ended/parked/aborted). Give the consequence time to happen before the
      // driver _exit()s: an abort takes microseconds, a park never ends.
      wait_until([&] {
        for (const Slot& s : slots_)
          if (!s.leaving_release.load()) return false;
        return true;
      });
      sleep_us(settle_ms * 1000);
    }
    note_stuck(ctx);
    if (rc < 0) return Result::error("Py_FinalizeEx() failed (could not flush buffered data)");
    return Result::pass();
  }

 private:
  static constexpr const char* kModuleName = "_gilrace_finalize_ensure";
  static inline FinalizeEnsure* active_ = nullptr;  // set in before_init, for init_module

  // --- the workers: raw pthreads, never joined ------------------------------

  void start_workers(void* (*entry)(void*)) {
    for (Slot& s : slots_) {
      worker_args_.push_back({this, &s});
      pthread_attr_t attr;
      pthread_attr_init(&attr);
      pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
      pthread_t tid;
      int rc = pthread_create(&tid, &attr, entry, &worker_args_.back());
      pthread_attr_destroy(&attr);
      if (rc != 0) throw ScenarioError("pthread_create failed");
    }
  }

  struct WorkerArg {
    FinalizeEnsure* self;
    Slot* slot;
  };

  void count_entry() {
    if (finalized_.load() || interp_deleted_.load()) {
      (finalized_.load() ? after_finalize_ : in_teardown_)->hit();
      // The Ensure that follows may crash this process at once: send the
      // evidence from this thread first (a probe's first hit is sent by
      // whichever thread made it, which may not get to it).
      ctx_->flush();
    } else if (runtime_finalizing()) {
      while_finalizing_->hit();
    }
  }

  static void on_low_level_exit() {
    if (active_) active_->interp_deleted_.store(true);
  }

  // The native work a callback thread does between two calls into Python.
  void native_work(Slot& slot) {
    if (tail_mode_)
      sleep_us(static_cast<long>(std::uniform_int_distribution<long long>(0, tail_us_)(slot.rng)));
    else
      sleep_us(native_us_);
  }

  // Every frame from here to start_thread must let a forced unwind through:
  // no noexcept, no catch(...), no object whose destructor calls the C API.
  // That is why this loop uses the raw Ensure/Release pair and not py::Gil.
  static void* hammer_entry(void* p) {
    auto* a = static_cast<WorkerArg*>(p);
    FinalizeEnsure& self = *a->self;
    Slot& slot = *a->slot;
    for (std::uint64_t i = 0;; ++i) {
      self.count_entry();
      slot.in_ensure.store(true);
      PyGILState_STATE st = PyGILState_Ensure();
      slot.in_ensure.store(false);
      // A little attached work that never releases the GIL by itself.
      PyObject* n = PyLong_FromUnsignedLongLong(i << 20);
      Py_XDECREF(n);
      PyGILState_Release(st);
      slot.cycles.fetch_add(1);
      self.ctx_->heartbeat();
      self.native_work(slot);
    }
    return nullptr;
  }

  // Releases the GIL around a "blocking native call" that returns once the
  // interpreter is finalising, with the C API's own macros: nothing on this
  // frame runs during a forced unwind.
  static void* macro_release_entry(void* p) {
    auto* a = static_cast<WorkerArg*>(p);
    FinalizeEnsure& self = *a->self;
    Slot& slot = *a->slot;
    slot.in_ensure.store(true);
    PyGILState_STATE st = PyGILState_Ensure();
    slot.in_ensure.store(false);
    Py_BEGIN_ALLOW_THREADS
    self.wait_in_native_call(slot);
    Py_END_ALLOW_THREADS  // ends or parks the thread, by design
    slot.cycles.fetch_add(1);
    PyGILState_Release(st);
    return nullptr;
  }

  // NAIVE on purpose: an RAII release guard shaped like pybind11's
  // gil_scoped_release before pybind/pybind11#2657 (and like harness py::Unlocked).
  // Its destructor is implicitly noexcept; when PyEval_RestoreThread() calls
  // pthread_exit() inside it, the forced unwind cannot leave the destructor and
  // the C++ runtime calls std::terminate().
  class ScopedRelease {
   public:
    ScopedRelease() : ts_(PyEval_SaveThread()) {}
    ~ScopedRelease() { PyEval_RestoreThread(ts_); }
    ScopedRelease(const ScopedRelease&) = delete;
    ScopedRelease& operator=(const ScopedRelease&) = delete;

   private:
    PyThreadState* ts_;
  };

  static void* raii_release_entry(void* p) {
    auto* a = static_cast<WorkerArg*>(p);
    FinalizeEnsure& self = *a->self;
    Slot& slot = *a->slot;
    slot.in_ensure.store(true);
    PyGILState_STATE st = PyGILState_Ensure();
    slot.in_ensure.store(false);
    {
      ScopedRelease release;
      self.wait_in_native_call(slot);
    }
    slot.cycles.fetch_add(1);
    PyGILState_Release(st);
    return nullptr;
  }

  // The "blocking native call": returns once finalisation has begun.
  void wait_in_native_call(Slot& slot) {
    slot.released.store(true);
    while (!runtime_finalizing()) {
      ctx_->heartbeat();
      sleep_us(native_us_ > 0 ? native_us_ : 1);
    }
    if (!finalized_.load()) scope_exit_->hit();
    slot.leaving_release.store(true);
  }

  // --- the `after` variant ----------------------------------------------------

  static void* after_entry(void* p) {
    auto* a = static_cast<WorkerArg*>(p);
    FinalizeEnsure& self = *a->self;
    Slot& slot = *a->slot;
    self.go_.wait(false);
    self.count_entry();
    slot.in_ensure.store(true);
    PyGILState_STATE st = PyGILState_Ensure();  // after Py_FinalizeEx has returned
    slot.in_ensure.store(false);
    slot.ensure_returned.store(true);
    PyGILState_Release(st);
    slot.cycles.fetch_add(1);
    return nullptr;
  }

  Result run_after(Context& ctx, long long settle_ms) {
    {
      py::Unlocked unlocked;
      start_workers(&FinalizeEnsure::after_entry);  // they wait for go_
    }
    ctx.note("gil_enabled", py::gil_enabled_at_runtime() ? "1" : "0");
    int rc = Py_FinalizeEx();
    finalized_.store(true);
    ctx.heartbeat();
    go_.store(true);
    go_.notify_all();
    wait_until([&] {
      for (const Slot& s : slots_)
        if (!s.in_ensure.load() && !s.ensure_returned.load()) return false;
      return true;
    });
    // An Ensure that crashes does so within microseconds; one that parks never
    // returns. Wait long enough for either to show before the driver _exit()s.
    sleep_us(settle_ms * 1000);
    note_stuck(ctx);
    int returned = 0;
    for (const Slot& s : slots_) returned += s.ensure_returned.load() ? 1 : 0;
    ctx.note("after_ensure_returned", std::to_string(returned));
    if (rc < 0) return Result::error("Py_FinalizeEx() failed (could not flush buffered data)");
    return Result::pass();
  }

  // --- main-thread helpers ---------------------------------------------------

  // The rust-lang/rust#135929 `makeloop`: a nested list `depth` deep whose
  // innermost list refers back to the outermost, kept in __main__ so that it is
  // torn down by the finalising interpreter (module teardown + its GC pass).
  void build_cycle(long long depth) {
    PyObject* main_mod = PyImport_AddModule("__main__");  // borrowed
    if (!main_mod) throw py::Error();
    PyObject* main_dict = PyModule_GetDict(main_mod);  // borrowed
    std::string src =
        "def _gilrace_makeloop(n):\n"
        "    start = []\n"
        "    cur = [start]\n"
        "    for _ in range(n):\n"
        "        cur = [cur]\n"
        "    start.append(cur)\n"
        "    return start\n"
        "_gilrace_keep = _gilrace_makeloop(" +
        std::to_string(depth) + ")\n";
    py::check(PyRun_String(src.c_str(), Py_file_input, main_dict, main_dict));
    ctx_->heartbeat();
  }

  // Waits (detached) until every worker has done `warmup` cycles, so the
  // hammering is in full swing when finalisation begins.
  void wait_for_warmup(long long warmup) {
    wait_until([&] {
      for (const Slot& s : slots_)
        if (s.cycles.load() < static_cast<std::uint64_t>(warmup)) return false;
      return true;
    });
  }

  // Polls without heartbeating: if the workers stop making progress, the
  // supervisor's stall detector must see it.
  template <typename Pred>
  static void wait_until(Pred done) {
    while (!done()) sleep_us(200);
  }

  void note_stuck(Context& ctx) {
    int stuck = 0;
    std::uint64_t cycles = 0;
    for (const Slot& s : slots_) {
      stuck += s.in_ensure.load() ? 1 : 0;
      cycles += s.cycles.load();
    }
    ctx.note("stuck_in_ensure", std::to_string(stuck));
    ctx.note("cycles", std::to_string(cycles));
  }

  // --- the built-in module of the `import` variant --------------------------

  static int module_exec(PyObject*) {
    FinalizeEnsure* self = active_;
    if (!self) {
      PyErr_SetString(PyExc_RuntimeError, "no finalize-ensure trial is active");
      return -1;
    }
    try {
      self->start_workers(&FinalizeEnsure::hammer_entry);
    } catch (const std::exception& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
      return -1;
    }
    return 0;
  }

  static inline PyModuleDef_Slot module_slots_[] = {
    {Py_mod_exec, reinterpret_cast<void*>(&FinalizeEnsure::module_exec)},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#ifdef Py_GIL_DISABLED
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, nullptr}
  };

  static inline PyModuleDef module_def_ = {PyModuleDef_HEAD_INIT,
                                           kModuleName,
                                           "starts threads that hammer PyGILState_Ensure on import",
                                           0,
                                           nullptr,
                                           module_slots_,
                                           nullptr,
                                           nullptr,
                                           nullptr};

  static PyObject* init_module() {
    return PyModuleDef_Init(&module_def_);
  }

  Context* ctx_ = nullptr;
  long native_us_ = 0;
  Probe* while_finalizing_ = nullptr;
  Probe* after_finalize_ = nullptr;
  Probe* scope_exit_ = nullptr;
  Probe* in_teardown_ = nullptr;
  long long tail_us_ = 0;
  bool tail_mode_ = false;
  std::deque<Slot> slots_;             // stable addresses; never resized once workers run
  std::deque<WorkerArg> worker_args_;  // likewise
  std::atomic<bool> interp_deleted_{
      false};                           // inside Py_FinalizeEx, past the interpreter's deletion
  std::atomic<bool> finalized_{false};  // Py_FinalizeEx() has returned
  std::atomic<bool> go_{false};         // `after`: the workers may call Ensure
};
GILRACE_SCENARIO(FinalizeEnsure);

}  // namespace gilrace
