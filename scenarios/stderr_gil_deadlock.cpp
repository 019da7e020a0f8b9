// stderr-gil-deadlock: a process-wide output lock held while an error is formatted, and the
// formatting gives the GIL away and takes it back (PyO3/pyo3#4764, fixed by PyO3/pyo3#4766;
// seen in Polars, pola-rs/polars#20111).
//
// PyO3 0.23.0-0.23.3 normalised a fetched `PyErr` lazily inside `impl Display for PyErr`:
// `py.allow_threads(|| once.call_once(|| Python::with_gil(|py| normalize(py))))`. Polars printed
// such errors with `eprintln!("{e}")` from inside `Python::with_gil`, and `eprintln!` takes
// Rust's process-wide stderr lock BEFORE it calls Display. So a thread holding the stderr lock
// released the GIL; another thread took the GIL and then wanted the stderr lock to print its
// own warning; the first thread wanted the GIL back. Lock-order inversion.
//
// Here the stderr lock is a std::mutex (Output::mu) and the threads are:
//   reporters: with the GIL, call warnings.warn() with warnings turned into errors (as
//              Polars' _polars_warn under pytest -W error), fetch the exception without
//              normalising it, then print it the way the variant says;
//   warners:   with the GIL, print a warning line through the same lock.
// Variants:
//   fixed      (PyO3/pyo3#4766) normalise and format into a string while holding the GIL,
//              release the GIL, then take the output lock: the output lock is never held by
//              a thread that waits for the GIL.
//   naive      the 0.23.0-0.23.3 order: lock, then format, releasing/re-taking the GIL inside.
//              Needs the GIL (skipped when the GIL is off at run time: see stw).
//   stw        the free-threaded form: no GIL hand-off, but a thread that blocks on a plain
//              mutex while attached can never reach a safe point, so a gc.collect() (stop the
//              world) in the thread that holds the mutex waits for it forever. Needs the GIL
//              off at run time: with a GIL only one thread is attached at a time, no
//              collection stops the world, and the same shape is `naive`'s inversion instead.
//   stw-fixed  the same workload, but every wait for the output lock detaches first
//              (py::Unlocked around the blocking acquisition, as PyMutex does).
// The blocking points are exported extern "C" noinline functions so the native stacks of a
// deadlocked trial name them: gilrace_stderr_wait_output_lock (a thread attached / holding the
// GIL waits for the output lock), gilrace_stderr_wait_gil_* (the output-lock holder waits for
// the GIL) and gilrace_stderr_collect_holding_output_lock (the holder stops the world).
#include <algorithm>
#include <latch>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gilrace/py.h"
#include "gilrace/scenario.h"

// Keeps a frame on the stack: without it a call in tail position becomes a jump, and the
// function that names the wait would vanish from the backtrace.
#define GILRACE_KEEP_FRAME() asm volatile("" ::: "memory")

// A thread that holds the GIL (or is attached) waits for the output lock.
extern "C" __attribute__((noinline)) void gilrace_stderr_wait_output_lock(std::mutex* m) {
  m->lock();
  GILRACE_KEEP_FRAME();
}

// The output-lock holder takes the GIL back inside Display (Python::with_gil in call_once).
extern "C" __attribute__((noinline)) PyGILState_STATE gilrace_stderr_wait_gil_in_display() {
  PyGILState_STATE s = PyGILState_Ensure();
  GILRACE_KEEP_FRAME();
  return s;
}

// The output-lock holder takes the GIL back at the end of allow_threads.
extern "C" __attribute__((noinline)) void gilrace_stderr_wait_gil_after_allow_threads(
    PyThreadState* ts) {
  PyEval_RestoreThread(ts);
  GILRACE_KEEP_FRAME();
}

// The output-lock holder runs a collection, which stops the world on free-threaded builds.
extern "C" __attribute__((noinline)) PyObject* gilrace_stderr_collect_holding_output_lock(
    PyObject* collect) {
  PyObject* r = PyObject_CallNoArgs(collect);
  GILRACE_KEEP_FRAME();
  return r;
}

namespace gilrace {
namespace {

enum class Mode { fixed, naive, stw, stw_fixed };

// Stands for Rust's process-wide stderr: a lock and where the bytes go.
struct Output {
  std::mutex mu;
  std::string text;  // the recent output, kept short
  std::uint64_t lines = 0;
  void write(const std::string& line) {  // call with mu held
    if (text.size() > 64 * 1024) text.clear();
    text += line;
    text += '\n';
    ++lines;
  }
};

// A fetched exception, not normalised yet: PyO3's lazy PyErr state (PyErrStateInner::FfiTuple
// for a fetched error before 3.12). Owns its references; touch only while attached.
struct LazyErr {
  py::Ref type, value, tb;
  static LazyErr fetch() {
    LazyErr e;
#if PY_VERSION_HEX >= 0x030C0000
    // 3.12+ stores the exception normalised; keep it as the "value" and let normalise() be the
    // same call as before it (PyO3 took the allow_threads path for any not-yet-normalised state,
    // e.g. errors made with PyErr::new, on every version).
    e.value = py::Ref::steal(PyErr_GetRaisedException());
    if (e.value) e.type = py::Ref::borrow(reinterpret_cast<PyObject*>(Py_TYPE(e.value.get())));
#else
    PyObject *t = nullptr, *v = nullptr, *b = nullptr;
    PyErr_Fetch(&t, &v, &b);
    e.type = py::Ref::steal(t);
    e.value = py::Ref::steal(v);
    e.tb = py::Ref::steal(b);
#endif
    if (!e.type) throw ScenarioError("the warning did not raise");
    return e;
  }
  void normalise() {
#if PY_VERSION_HEX < 0x030C0000
    PyObject *t = type.release(), *v = value.release(), *b = tb.release();
    PyErr_NormalizeException(&t, &v, &b);
    type = py::Ref::steal(t);
    value = py::Ref::steal(v);
    tb = py::Ref::steal(b);
#endif
  }
  // Display: "<type qualname>: <str(value)>". Call attached, after normalise().
  std::string display() const {
    py::Ref qualname = py::Ref::steal(PyObject_GetAttrString(type.get(), "__qualname__"));
    std::string out = qualname ? py::to_string(qualname.get()) : "<unknown>";
    if (!qualname) PyErr_Clear();
    return out + ": " + (value ? py::to_string(value.get()) : std::string("<no value>"));
  }
};

// The latches of --param forced=1: one reporter and one warner meet at the racy point.
struct Lineup {
  std::latch holder_in_window{1};  // the reporter holds the output lock and is in the window
  std::latch other_ready{1};       // the warner holds the GIL / is attached, about to lock
};

// Waits on a latch without holding the GIL / staying attached (when the caller is attached).
void wait_detached(std::latch& l, bool attached) {
  if (!attached) return l.wait();
  py::Unlocked detached;
  l.wait();
}

std::string check_params(const std::map<std::string, std::string>& params) {
  auto count = [&](const char* k) {
    try {
      std::size_t used = 0;
      const std::string& v = params.at(k);
      long long n = std::stoll(v, &used);
      return used == v.size() && n >= 1 && n <= 100'000'000;
    } catch (const std::exception&) {
      return false;
    }
  };
  if (!count("iterations")) return "--param iterations= needs an integer from 1 to 100000000";
  if (!count("gc_every")) return "--param gc_every= needs an integer from 1 to 100000000";
  const std::string& f = params.at("forced");
  if (f != "0" && f != "1" && f != "true" && f != "false") return "--param forced= must be 0 or 1";
  return "";
}

class StderrGilDeadlock : public Scenario {
 public:
  static ScenarioInfo info() {
    return {
        .name = "stderr-gil-deadlock",
        .summary =
            "an output lock held while error formatting releases and re-takes the GIL "
            "(or stops the world): lock-order inversion with threads printing under the GIL",
        .references = {"PyO3/pyo3#4764", "PyO3/pyo3#4766", "pola-rs/polars#20111"},
        .variants = {{"fixed",
                      "normalise and format under the GIL, release it, then take the output lock"},
                     {"naive",
                      "take the output lock, then format: the GIL is released and re-taken "
                      "inside (PyO3 0.23.0-0.23.3 Display); needs the GIL",
                      true},
                     {"stw",
                      "free-threaded form: block on the output lock while attached while its "
                      "holder runs gc.collect() (stop the world); needs the GIL off",
                      true},
                     {"stw-fixed", "as stw, but detach while blocking on the output lock"}},
        .params = {{"forced", "0",
                    "1: line a reporter and a warner up with latches so that "
                    "every trial reaches the inversion"},
                   {"iterations", "300", "messages per thread (natural timing)"},
                   {"gc_every", "1", "stw variants: collect on every Nth formatted error"}},
        .default_threads = 4,
        .validate = check_params,
        .probes = {{"formatting_released_gil",
                    "formatting an error released the GIL and took it back (PyO3's Display); "
                    "fixed holds no output lock there",
                    true,
                    {"fixed"}},
                   {"formatting_with_output_lock_held",
                    "an error was formatted (naive), or a collection ran (stw variants), with "
                    "the output lock held"},
                   {"gil_holder_blocked_on_output_lock",
                    "a thread holding the GIL found the output lock taken and waited for it",
                    true,
                    {"naive"}},
                   {"attached_thread_blocked_on_output_lock",
                    "an attached thread found the output lock taken (stw waits attached, "
                    "stw-fixed detaches first)",
                    true,
                    {"stw", "stw-fixed"}}},
    };
  }

  Result run(Context& ctx) override {
    const std::string& v = ctx.variant();
    mode_ = v == "naive"       ? Mode::naive
            : v == "stw"       ? Mode::stw
            : v == "stw-fixed" ? Mode::stw_fixed
                               : Mode::fixed;
    const bool gil = py::gil_enabled_at_runtime();
    ctx.note("gil_enabled", gil ? "1" : "0");
    if (mode_ == Mode::naive && !gil)
      throw ScenarioSkip(
          "naive needs the GIL: with the GIL off there is no GIL hand-off inside Display "
          "(variant stw reproduces the free-threaded form)");
    if (mode_ == Mode::stw && gil)
      throw ScenarioSkip(
          "stw needs the GIL off: with a GIL no collection stops the world, and a thread "
          "holding the output lock and the GIL at once is variant naive's inversion");

    forced_ = ctx.param_bool("forced");
    iterations_ = ctx.param_int("iterations");
    gc_every_ = ctx.param_int("gc_every");
    ns_ = py::run_code(
        "import gc, warnings\n"
        "class GilraceWarning(UserWarning):\n"
        "    pass\n"
        "warnings.simplefilter('error', GilraceWarning)  # as pytest -W error does\n"
        "def polars_warn(msg):\n"
        "    warnings.warn(msg, GilraceWarning, stacklevel=1)\n"
        "collect = gc.collect\n",
        "<stderr-gil-deadlock>");
    warn_ = py::Ref::borrow(PyDict_GetItemString(ns_.get(), "polars_warn"));
    collect_ = py::Ref::borrow(PyDict_GetItemString(ns_.get(), "collect"));

    int threads = std::max(2, ctx.threads());
    int reporters = forced_ ? 1 : threads / 2;
    int warners = forced_ ? 1 : threads - reporters;
    Lineup lineup;
    {
      py::Unlocked no_gil;  // the main thread only waits
      std::vector<std::jthread> pool;
      for (int i = 0; i < reporters; ++i)
        pool.emplace_back([&, i] { guarded(ctx, [&] { reporter(ctx, i, lineup); }); });
      for (int i = 0; i < warners; ++i)
        pool.emplace_back([&, i] { guarded(ctx, [&] { warner(ctx, i, lineup); }); });
    }
    ctx.note("lines_written", std::to_string(out_.lines));
    if (!failure_.empty()) return Result::error(failure_);
    return Result::pass();
  }

 private:
  // Runs a thread body; a setup failure becomes the trial's error, not a silent pass.
  template <typename F>
  void guarded(Context&, F&& body) {
    try {
      body();
    } catch (const std::exception& e) {
      std::lock_guard l(failure_mu_);
      if (failure_.empty()) failure_ = e.what();
    }
  }

  bool stw_mode() const { return mode_ == Mode::stw || mode_ == Mode::stw_fixed; }

  // Takes the output lock. Called attached (holding the GIL on GIL builds).
  void lock_output(Context& ctx) {
    if (out_.mu.try_lock()) return;
    ctx.probe(stw_mode() ? "attached_thread_blocked_on_output_lock"
                         : "gil_holder_blocked_on_output_lock")
        .hit();
    if (mode_ == Mode::stw_fixed) {
      // The fix: never block attached. Detach (release the GIL) while waiting, as PyMutex does.
      py::Unlocked detached;
      gilrace_stderr_wait_output_lock(&out_.mu);
      return;
    }
    gilrace_stderr_wait_output_lock(&out_.mu);  // blocks attached: the bug in naive and stw
  }

  // Raises through warnings.warn and fetches the error. Called attached.
  LazyErr raise_and_fetch(long long i) {
    py::Ref msg = py::check(PyUnicode_FromFormat("deprecated option used (message %lld)", i));
    PyObject* r = PyObject_CallOneArg(warn_.get(), msg.get());
    if (r) {
      Py_DECREF(r);
      throw ScenarioError("warnings.warn did not raise: the 'error' filter is not in effect");
    }
    return LazyErr::fetch();
  }

  // PyO3 0.23.0-0.23.3 `Display for PyErr` on a lazy state: normalisation runs inside
  // py.allow_threads(|| once.call_once(|| Python::with_gil(...))), so the GIL is released and
  // taken back, twice, by whoever formats. Called holding the GIL; returns holding it.
  std::string display_releasing_gil(Context& ctx, LazyErr& err, Lineup& lineup, bool locked) {
    ctx.probe("formatting_released_gil").hit();
    if (locked) ctx.probe("formatting_with_output_lock_held").hit();
    PyThreadState* ts = PyEval_SaveThread();  // allow_threads
    if (forced_) {
      lineup.holder_in_window.count_down();
      lineup.other_ready.wait();  // the warner now holds the GIL
    }
    PyGILState_STATE s = gilrace_stderr_wait_gil_in_display();  // with_gil inside call_once
    err.normalise();
    PyGILState_Release(s);
    gilrace_stderr_wait_gil_after_allow_threads(ts);  // allow_threads returns
    return err.display();
  }

  // Formats, then collects (a collection triggered by formatting's allocations, made certain).
  // Called attached; on free-threaded builds the collection stops the world.
  std::string display_collecting(Context& ctx, LazyErr& err, Lineup& lineup, long long i) {
    err.normalise();
    std::string text = err.display();
    if (forced_) {
      lineup.holder_in_window.count_down();
      wait_detached(lineup.other_ready, true);  // the warner is attached, about to lock
    }
    if (forced_ || i % gc_every_ == 0) {
      ctx.probe("formatting_with_output_lock_held").hit();
      py::Ref r = py::check(gilrace_stderr_collect_holding_output_lock(collect_.get()));
    }
    return text;
  }

  void reporter(Context& ctx, int id, Lineup& lineup) {
    py::Gil thread_state;  // one thread state for the thread's life
    py::Unlocked idle;
    long long n = forced_ ? 1 : iterations_;
    for (long long i = 0; i < n; ++i) {
      ctx.heartbeat();
      py::Gil gil;  // Python::with_gil around the warning call, as in Polars
      LazyErr err = raise_and_fetch(id * 1'000'000LL + i);
      switch (mode_) {
        case Mode::naive: {  // eprintln!("{e}"): lock stderr, then Display
          lock_output(ctx);
          std::lock_guard held(out_.mu, std::adopt_lock);
          out_.write(display_releasing_gil(ctx, err, lineup, true));
          break;
        }
        case Mode::fixed: {  // format into a String under the GIL, then print without it
          std::string text = display_releasing_gil(ctx, err, lineup, false);
          err = LazyErr{};  // drop the references while attached
          py::Unlocked detached;
          std::lock_guard held(out_.mu);
          out_.write(text);
          break;
        }
        case Mode::stw:
        case Mode::stw_fixed: {
          lock_output(ctx);
          std::lock_guard held(out_.mu, std::adopt_lock);
          out_.write(display_collecting(ctx, err, lineup, i));
          break;
        }
      }
    }
  }

  void warner(Context& ctx, int id, Lineup& lineup) {
    if (forced_) lineup.holder_in_window.wait();  // not attached yet: a plain wait
    py::Gil thread_state;
    py::Unlocked idle;
    long long n = forced_ ? 1 : iterations_;
    for (long long i = 0; i < n; ++i) {
      ctx.heartbeat();
      py::Gil gil;
      py::Ref msg =
          py::check(PyUnicode_FromFormat("UserWarning: gilrace warner %d, warning %lld", id, i));
      std::string line = py::to_string(msg.get());
      if (forced_) lineup.other_ready.count_down();  // holds the GIL, about to lock
      // Waits for the output lock holding the GIL in every variant but stw-fixed. With `fixed`
      // that is safe: the output lock is never held by a thread that waits for the GIL.
      lock_output(ctx);
      std::lock_guard held(out_.mu, std::adopt_lock);
      out_.write(line);
    }
  }

  Mode mode_ = Mode::fixed;
  bool forced_ = false;
  long long iterations_ = 0, gc_every_ = 1;
  py::Ref ns_, warn_, collect_;
  Output out_;
  std::mutex failure_mu_;
  std::string failure_;
};

}  // namespace

GILRACE_SCENARIO(StderrGilDeadlock);

}  // namespace gilrace
