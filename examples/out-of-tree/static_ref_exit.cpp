// A Python reference kept in static storage by a C++ object whose destructor takes the GIL
// and drops it: pybind11's documented `static py::exception<MyError> exc(m, "MyError");`.
// Static destructors run at process exit, after Py_FinalizeEx has torn the interpreter down,
// so ~object() calls PyGILState_Ensure and Py_DECREF on a runtime that no longer exists
// (pybind/pybind11#4769, the segfault of pytorch/pytorch#106083 on 3.12). pybind11's fix
// stores such objects with gil_safe_call_once_and_store, whose storage is never destroyed
// (pybind/pybind11#4897): the reference is leaked at exit, on purpose.
//
// The trial plays the process's life in order: start the interpreter, create the object
// the way a module's init does, finalise, then end the static object's lifetime.
#include <gilrace/py.h>
#include <gilrace/scenario.h>

#include <memory>

namespace {

using gilrace::Context;
using gilrace::Result;

// What `static py::exception<T>` amounts to: a strong reference released by a destructor
// that takes the GIL first. Left as the naive pattern on purpose: RAII is what goes wrong
// here, since the destructor runs whenever the static's lifetime ends.
struct StaticRef {
  PyObject* obj;
  explicit StaticRef(PyObject* o) : obj(o) {}
  StaticRef(const StaticRef&) = delete;
  StaticRef& operator=(const StaticRef&) = delete;
  ~StaticRef() {
    PyGILState_STATE s = PyGILState_Ensure();  // gil_scoped_acquire
    Py_DECREF(obj);                            // object::~object -> dec_ref
    PyGILState_Release(s);
  }
};

class StaticRefExit : public gilrace::Scenario {
 public:
  static gilrace::ScenarioInfo info() {
    return {
        .name = "static-ref-exit",
        .summary = "a static C++ object drops its Python reference after Py_FinalizeEx",
        .references = {"pybind/pybind11#4769", "pybind/pybind11#4897", "pytorch/pytorch#106083"},
        .variants = {{"fixed", "gil_safe_call_once_and_store: never destroyed, leaked at exit"},
                     {"naive", "static py::exception<T>: ~object() after finalisation", true}},
        .lifecycle = gilrace::Lifecycle::scenario,
        .default_threads = 1,
        .probes = {{"static_ended_after_finalize",
                    "the static object's lifetime ended after Py_FinalizeEx", true}}};
  }

  Result run(Context& ctx) override {
    ctx.init_python();
    std::unique_ptr<StaticRef> exc;  // the static: lives until the process exits
    {
      auto type = gilrace::py::Ref::steal(
          PyErr_NewException("example.MyError", PyExc_RuntimeError, nullptr));
      if (!type) return Result::error("PyErr_NewException failed");
      exc = std::make_unique<StaticRef>(type.release());
    }
    ctx.heartbeat();
    if (Py_FinalizeEx() < 0) return Result::error("Py_FinalizeEx() failed");
    ctx.probe("static_ended_after_finalize").hit();
    ctx.flush();  // the evidence reaches the supervisor even if the destructor crashes
    if (ctx.variant() == "fixed")
      (void)exc.release();  // leaked at exit, as gil_safe_call_once_and_store's storage is
    else
      exc.reset();  // static destruction at exit
    return Result::pass();
  }
};

GILRACE_SCENARIO(StaticRefExit);

}  // namespace
