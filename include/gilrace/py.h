// Small RAII wrappers over the CPython C API, used by the driver and scenarios.
// Every owned PyObject* lives in a Ref; every thread-state acquisition in a
// Gil / Unlocked guard. Scenarios that exist to show what RAII gets wrong use
// the raw API on purpose and say so.
#pragma once

#include <Python.h>

#include <stdexcept>
#include <string>
#include <utility>

// Default visibility, also in a plugin built with hidden visibility: these are gilrace's.
#pragma GCC visibility push(default)
namespace gilrace::py {

// An owned (strong) reference.
class Ref {
 public:
  Ref() = default;
  static Ref steal(PyObject* p) { return Ref(p); }
  static Ref borrow(PyObject* p) {
    Py_XINCREF(p);
    return Ref(p);
  }
  Ref(const Ref& o) : p_(o.p_) { Py_XINCREF(p_); }
  Ref(Ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Ref& operator=(Ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~Ref() { Py_XDECREF(p_); }

  PyObject* get() const { return p_; }
  PyObject* release() { return std::exchange(p_, nullptr); }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  explicit Ref(PyObject* p) : p_(p) {}
  PyObject* p_ = nullptr;
};

// The current Python exception, formatted with its traceback, as a C++ exception.
// Construct only while attached and with an exception set; it clears it.
class Error : public std::runtime_error {
 public:
  Error();
  explicit Error(const std::string& context);
};

// Throws Error if p is null; otherwise takes ownership.
inline Ref check(PyObject* p) {
  if (!p) throw Error();
  return Ref::steal(p);
}
inline void check(int rc) {
  if (rc < 0) throw Error();
}

// Attaches the calling native thread (PyGILState_Ensure) for its lifetime.
class Gil {
 public:
  Gil() : state_(PyGILState_Ensure()) {}
  ~Gil() { PyGILState_Release(state_); }
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;

 private:
  PyGILState_STATE state_;
};

// Detaches the calling thread (Py_BEGIN_ALLOW_THREADS) for its lifetime.
class Unlocked {
 public:
  Unlocked() : ts_(PyEval_SaveThread()) {}
  ~Unlocked() { PyEval_RestoreThread(ts_); }
  Unlocked(const Unlocked&) = delete;
  Unlocked& operator=(const Unlocked&) = delete;

 private:
  PyThreadState* ts_;
};

// Runs Python source in a fresh __main__-like namespace; returns that namespace.
Ref run_code(const std::string& source, const std::string& filename = "<gilrace>");

// Imports a module or throws.
Ref import(const char* name);

// Calls obj.name(*args) or throws.
template <typename... Args>
Ref call_method(PyObject* obj, const char* name, Args... args) {
  Ref meth = check(PyObject_GetAttrString(obj, name));
  return check(PyObject_CallFunctionObjArgs(meth.get(), static_cast<PyObject*>(args)..., nullptr));
}

// str(obj) as UTF-8, or "<unprintable>".
std::string to_string(PyObject* obj);

// True if this interpreter runs with the GIL (always true before 3.13).
bool gil_enabled_at_runtime();

// Pre-initialises CPython with its debug memory hooks (PYMEM_ALLOCATOR_DEBUG, what
// PYTHONMALLOC=debug asks for and every debug build has): freed memory is overwritten at
// once, so a use-after-free crashes where it reads. Call before CPython starts (after, a
// no-op). Returns "" or why it failed.
std::string preinit_debug_allocator();

}  // namespace gilrace::py
#pragma GCC visibility pop
