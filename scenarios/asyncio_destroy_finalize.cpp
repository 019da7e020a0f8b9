// asyncio-destroy-finalize: a native callback thread completes the asyncio future the main
// thread waits on, and is still inside the C API when the interpreter finalises
// (zeroc-ice/ice#3824 crash, zeroc-ice/ice#3840 deadlock; fix zeroc-ice/ice#3838).
//
// IcePy's Communicator.__aexit__ awaits a future that `destroyAsync` completes from an Ice
// thread. The pre-fix callback took the GIL with an RAII guard (AdoptThread), held its Python
// references in RAII handles (PyObjectHandle: Py_XDECREF in the destructor) and completed the
// future. Completing it wakes the event loop (call_soon_threadsafe writes to the loop's
// self-pipe, and the write releases the GIL), so the main thread's run_until_complete returns,
// the script ends and the interpreter finalises at once — while the callback thread is still
// between "future completed" and "destructors done". When that thread next takes the GIL:
//   - 3.11, 3.12, 3.13.0-3.13.7: take_gil() calls PyThread_exit_thread() = pthread_exit(). The
//     forced unwind runs the C++ destructors on the way out: Py_XDECREF without the GIL while
//     the main thread tears the interpreter down, then PyGILState_Release of a thread state that
//     is not current (fatal error) — the #3824 crash (the backtrace ends in
//     ~PyObjectHandle -> Py_DECREF).
//   - 3.13.8+ (gh-87135 backported) and 3.14: take_gil() parks the thread for ever
//     (PyThread_hang_thread). No destructor runs; but the communicator's dealloc, reached during
//     finalisation with the GIL held, joins that thread: deadlock — the #3840 shape.
//
// Variants:
//   fixed  (zeroc-ice/ice#3838) explicit PyGILState_Ensure; the references are dropped only if
//          !Py_IsFinalizing() (leaked on purpose at shutdown); PyGILState_Release only if
//          PyGILState_Check(); and the host never waits for the callback thread while holding
//          the GIL (during finalisation there is nothing safe to wait for: the thread may be
//          parked for ever), so the communicator's dealloc detaches it.
//   naive  the pre-fix code: RAII guard and RAII references (py::Gil / py::Ref, used here on
//          purpose to show what RAII gets wrong), and a join of the callback thread in the
//          dealloc, under the GIL.
// The window: after completing the future the callback calls time.sleep(window_ms), a
// GIL-releasing call (0 = natural timing: the only release is the wake-up write itself);
// --param forced=1 keeps it out of the GIL (1 ms sleeps) until the interpreter is finalising.
//
// The interpreter's lifecycle is the scenario's (Lifecycle::scenario): it calls Py_FinalizeEx
// right after run_until_complete returns, as a script that ends does. The "communicator" is a
// capsule in a module in sys.modules, so finalisation deallocates it with the main thread
// attached, as it deallocated IcePy's Communicator.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "gilrace/py.h"
#include "gilrace/scenario.h"

#define GILRACE_KEEP_FRAME() asm volatile("" ::: "memory")

// The communicator's dealloc waits for the callback thread with the GIL held (naive).
extern "C" __attribute__((noinline)) void gilrace_asyncio_join_callback_holding_gil(
    std::thread* t) {
  t->join();
  GILRACE_KEEP_FRAME();
}

namespace gilrace {
namespace {

// Where the callback thread is; read by the main thread during finalisation.
enum Phase : int { not_started, in_python, completing, in_window, returned };

// The callback is inside a call that released the GIL (the wake-up write or the sleep) and has
// yet to take it back.
bool detached_in_call(int phase) {
  return phase == completing || phase == in_window;
}

struct Communicator {
  Context* ctx = nullptr;
  bool naive = false;
  std::thread callback;
  std::atomic<int> phase{not_started};
  // Owned references handed to the callback (the lambda captures of IcePy's destroyAsync).
  PyObject* loop = nullptr;
  PyObject* future = nullptr;
  PyObject* sleep = nullptr;  // time.sleep
  double window_s = 0;
  bool forced = false;
  long long start_delay_us = 0;
};

// time.sleep(seconds): releases the GIL and takes it back, inside CPython (where CPython ends
// or parks the thread if the interpreter finalises meanwhile). Raw API on purpose: nothing in
// this frame touches the C API while unwinding.
bool sleep_without_gil(PyObject* sleep, double seconds) {
  PyObject* r = PyObject_CallFunction(sleep, "d", seconds);
  if (!r) {
    PyErr_Print();
    return false;
  }
  Py_DECREF(r);
  return true;
}

bool interpreter_finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

// The window after the future is completed. forced: sleep in 1 ms steps until the interpreter
// is finalising, so that the re-take that ends a step is the one CPython refuses (the loop can
// only end if CPython lets the thread back in after finalisation started).
void stay_out_of_the_gil(Communicator& c, PyObject* sleep) {
  if (c.forced) {
    while (!interpreter_finalizing())
      if (!sleep_without_gil(sleep, 0.001)) return;
    return;
  }
  if (c.window_s > 0) sleep_without_gil(sleep, c.window_s);
}

std::string check_params(const std::map<std::string, std::string>& params) {
  auto number = [&](const char* k, double lo, double hi) {
    try {
      std::size_t used = 0;
      const std::string& v = params.at(k);
      double d = std::stod(v, &used);
      return used == v.size() && d >= lo && d <= hi;
    } catch (const std::exception&) {
      return false;
    }
  };
  if (!number("window_ms", 0, 10'000)) return "--param window_ms= needs a number from 0 to 10000";
  if (!number("start_delay_us", 0, 10'000'000))
    return "--param start_delay_us= needs a number from 0 to 10000000";
  const std::string& f = params.at("forced");
  if (f != "0" && f != "1" && f != "true" && f != "false") return "--param forced= must be 0 or 1";
  return "";
}

// Hit when the enclosing frame is left while the callback is still in its GIL-released window:
// only the forced unwind of pthread_exit (PyThread_exit_thread from take_gil) does that.
struct UnwindSentinel {
  Communicator& c;
  ~UnwindSentinel() {
    if (detached_in_call(c.phase.load())) c.ctx->probe("callback_unwound_by_thread_exit").hit();
  }
};

// The pre-fix IcePy callback. RAII on purpose: the destructors below are what runs without the
// GIL when CPython ends the thread with pthread_exit.
void callback_naive(Communicator& c) {
  py::Gil adopt_thread;  // AdoptThread: PyGILState_Ensure now, PyGILState_Release in ~
  c.phase = in_python;
  py::Ref loop = py::Ref::steal(c.loop);  // PyObjectHandle loopGuard{...}
  py::Ref future = py::Ref::steal(c.future);
  py::Ref sleep = py::Ref::steal(c.sleep);
  py::Ref set_result = py::check(PyObject_GetAttrString(future.get(), "set_result"));
  py::Ref value = py::check(PyUnicode_FromString("destroyed"));
  UnwindSentinel sentinel{c};
  // Completes the future: the wake-up write to the self-pipe releases the GIL.
  c.phase = completing;
  py::Ref handle =
      py::call_method(loop.get(), "call_soon_threadsafe", set_result.get(), value.get());
  c.ctx->probe("future_completed_from_callback").hit();
  c.phase = in_window;
  stay_out_of_the_gil(c, sleep.get());
  c.phase = returned;
}  // ~Ref x6: Py_XDECREF; ~Gil: PyGILState_Release

// zeroc-ice/ice#3838: no RAII around the thread state or the references.
void callback_fixed(Communicator& c) {
  PyGILState_STATE gil = PyGILState_Ensure();
  c.phase = in_python;
  PyObject* set_result = PyObject_GetAttrString(c.future, "set_result");
  PyObject* value = PyUnicode_FromString("destroyed");
  PyObject* handle = nullptr;
  c.phase = completing;
  if (set_result && value)
    handle = PyObject_CallMethod(c.loop, "call_soon_threadsafe", "OO", set_result, value);
  if (!handle) PyErr_Print();
  c.ctx->probe("future_completed_from_callback").hit();
  c.phase = in_window;
  stay_out_of_the_gil(c, c.sleep);
  c.phase = returned;
  // If the interpreter is finalising, Py_DECREF is not safe: leak on purpose.
  if (!interpreter_finalizing()) {
    Py_XDECREF(handle);
    Py_XDECREF(value);
    Py_XDECREF(set_result);
    Py_DECREF(c.sleep);
    Py_DECREF(c.future);
    Py_DECREF(c.loop);
  }
  // Release only a thread state this thread still holds.
  if (PyGILState_Check()) PyGILState_Release(gil);
}

// The communicator's dealloc; runs during Py_FinalizeEx with the main thread attached.
void communicator_dealloc(PyObject* capsule) {
  auto* c = static_cast<Communicator*>(PyCapsule_GetPointer(capsule, "gilrace.Communicator"));
  if (!c) {
    PyErr_Clear();
    return;
  }
  if (detached_in_call(c->phase.load())) c->ctx->probe("callback_after_finalize_started").hit();
  c->ctx->heartbeat();
  if (!c->callback.joinable()) return;
  if (c->naive) {
    gilrace_asyncio_join_callback_holding_gil(&c->callback);  // with the GIL: the #3840 hang
  } else {
    // Never wait for the callback thread holding the GIL. During finalisation it may be parked
    // for ever in take_gil (3.13.8+, 3.14) or already gone (pthread_exit): let it go.
    c->callback.detach();
  }
}

class AsyncioDestroyFinalize : public Scenario {
 public:
  static ScenarioInfo info() {
    return {
        .name = "asyncio-destroy-finalize",
        .summary =
            "a native callback thread completes an asyncio future, releases the GIL and "
            "takes it back while the interpreter finalises, then runs RAII destructors",
        .references = {"zeroc-ice/ice#3824", "zeroc-ice/ice#3840", "zeroc-ice/ice#3838",
                       "python/cpython#87135"},
        .variants = {{"fixed",
                      "zeroc-ice#3838: explicit Ensure, no DECREF once finalising, "
                      "Release only if PyGILState_Check(), no wait under the GIL"},
                     {"naive",
                      "RAII thread-state guard and references, and a join of the "
                      "callback thread under the GIL during finalisation",
                      true}},
        .params = {{"window_ms", "5",
                    "after completing the future the callback sleeps this long in time.sleep "
                    "(GIL released); 0 = natural timing"},
                   {"forced", "0",
                    "1: after completing the future the callback stays out of the GIL (1 ms "
                    "sleeps) until the interpreter is finalising; window_ms is not used"},
                   {"start_delay_us", "200",
                    "the callback completes the future after a random delay up to this"}},
        .lifecycle = Lifecycle::scenario,
        .default_threads = 1,
        .validate = check_params,
        .probes = {{"finalize_with_callback_detached",
                    "Py_FinalizeEx began while the callback was out of the GIL inside its call",
                    true},
                   {"callback_after_finalize_started",
                    "the communicator's dealloc, during finalisation, found the callback still "
                    "out of the GIL",
                    true},
                   {"future_completed_from_callback",
                    "the callback thread completed the future (call_soon_threadsafe returned)"},
                   {"callback_unwound_by_thread_exit",
                    "the callback's frame was left by pthread_exit's forced unwind while it was "
                    "out of the GIL"}},
    };
  }

  Result run(Context& ctx) override {
    ctx.init_python();
    ctx.heartbeat();
    comm_.ctx = &ctx;
    comm_.naive = ctx.variant() == "naive";
    comm_.window_s = ctx.param_double("window_ms") / 1000.0;
    comm_.forced = ctx.param_bool("forced");
    long long max_delay = ctx.param_int("start_delay_us");
    std::mt19937_64 rng(ctx.stream_seed(0));
    comm_.start_delay_us =
        max_delay > 0 ? std::uniform_int_distribution<long long>(0, max_delay)(rng) : 0;
    ctx.note("gil_enabled", py::gil_enabled_at_runtime() ? "1" : "0");
    {
      py::Ref ns = py::run_code(
          "import asyncio, sys, time, types\n"
          "loop = asyncio.new_event_loop()\n"
          "fut = loop.create_future()\n"
          "sleep = time.sleep\n"
          "ice = types.ModuleType('_gilrace_ice')\n"
          "sys.modules['_gilrace_ice'] = ice\n",
          "<asyncio-destroy-finalize>");
      ctx.heartbeat();  // importing asyncio can take seconds on a loaded machine
      PyObject* loop = PyDict_GetItemString(ns.get(), "loop");
      PyObject* fut = PyDict_GetItemString(ns.get(), "fut");
      PyObject* ice = PyDict_GetItemString(ns.get(), "ice");
      comm_.loop = Py_NewRef(loop);  // owned by the callback from here on
      comm_.future = Py_NewRef(fut);
      comm_.sleep = Py_NewRef(PyDict_GetItemString(ns.get(), "sleep"));
      py::Ref capsule =
          py::check(PyCapsule_New(&comm_, "gilrace.Communicator", communicator_dealloc));
      py::check(PyObject_SetAttrString(ice, "communicator", capsule.get()));

      // Ice's destroyAsync: the completion arrives on an Ice thread.
      comm_.callback = std::thread([this] {
        if (comm_.start_delay_us)
          std::this_thread::sleep_for(std::chrono::microseconds(comm_.start_delay_us));
        try {
          if (comm_.naive)
            callback_naive(comm_);
          else
            callback_fixed(comm_);
        } catch (const std::exception& e) {  // not abi::__forced_unwind: that must go on
          std::lock_guard l(failure_mu_);
          failure_ = e.what();
        }
      });
      ctx.heartbeat();
      py::Ref result = py::call_method(loop, "run_until_complete", fut);  // `await` in __aexit__
      py::call_method(loop, "close");  // asyncio.run() closes the loop, then the script ends
      ctx.heartbeat();
    }  // every Ref of this thread is gone before finalisation
    if (detached_in_call(comm_.phase.load())) ctx.probe("finalize_with_callback_detached").hit();
    if (Py_FinalizeEx() < 0) return Result::error("Py_FinalizeEx() failed");
    std::lock_guard l(failure_mu_);
    if (!failure_.empty()) return Result::error("callback thread: " + failure_);
    return Result::pass();
  }

 private:
  Communicator comm_;  // never destroyed: the driver ends the process with _exit()
  std::mutex failure_mu_;
  std::string failure_;
};

}  // namespace

GILRACE_SCENARIO(AsyncioDestroyFinalize);

}  // namespace gilrace
