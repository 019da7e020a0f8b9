#include "gilrace/py.h"

namespace gilrace::py {
namespace {

std::string format_current_exception() {
#if PY_VERSION_HEX >= 0x030C0000
  Ref exc = Ref::steal(PyErr_GetRaisedException());
#else
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (value && tb) PyException_SetTraceback(value, tb);
  Py_XDECREF(type);
  Py_XDECREF(tb);
  Ref exc = Ref::steal(value);
#endif
  if (!exc) return "unknown Python error (no exception set)";
  std::string text = to_string(exc.get());
  Ref tb_mod = Ref::steal(PyImport_ImportModule("traceback"));
  if (tb_mod) {
    Ref lines = Ref::steal(PyObject_CallMethod(tb_mod.get(), "format_exception", "O", exc.get()));
    if (lines) {
      Ref empty = Ref::steal(PyUnicode_FromString(""));
      Ref joined = Ref::steal(PyUnicode_Join(empty.get(), lines.get()));
      if (joined) text = to_string(joined.get());
    }
  }
  PyErr_Clear();
  return text;
}

}  // namespace

Error::Error() : std::runtime_error(format_current_exception()) {}
Error::Error(const std::string& context)
    : std::runtime_error(context + ": " + format_current_exception()) {}

Ref run_code(const std::string& source, const std::string& filename) {
  Ref globals = check(PyDict_New());
  check(PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins()));
  Ref name = check(PyUnicode_FromString("__main__"));
  check(PyDict_SetItemString(globals.get(), "__name__", name.get()));
  Ref code = check(Py_CompileString(source.c_str(), filename.c_str(), Py_file_input));
  check(PyEval_EvalCode(code.get(), globals.get(), globals.get()));
  return globals;
}

Ref import(const char* name) {
  return check(PyImport_ImportModule(name));
}

std::string to_string(PyObject* obj) {
  Ref s = Ref::steal(PyObject_Str(obj));
  if (!s) {
    PyErr_Clear();
    return "<unprintable>";
  }
  Py_ssize_t n = 0;
  const char* utf8 = PyUnicode_AsUTF8AndSize(s.get(), &n);
  if (!utf8) {
    PyErr_Clear();
    return "<unprintable>";
  }
  return std::string(utf8, static_cast<size_t>(n));
}

std::string preinit_debug_allocator() {
  // The preconfig an isolated config implies, plus the allocator.
  PyPreConfig pre;
  PyPreConfig_InitIsolatedConfig(&pre);
  pre.allocator = PYMEM_ALLOCATOR_DEBUG;
  PyStatus status = Py_PreInitialize(&pre);
  if (!PyStatus_Exception(status)) return "";
  return status.err_msg ? status.err_msg : "unknown error";
}

bool gil_enabled_at_runtime() {
#ifdef Py_GIL_DISABLED
  Ref sys = Ref::steal(PyImport_ImportModule("sys"));
  if (!sys) {
    PyErr_Clear();
    return true;
  }
  Ref r = Ref::steal(PyObject_CallMethod(sys.get(), "_is_gil_enabled", nullptr));
  if (!r) {
    PyErr_Clear();
    return true;
  }
  return PyObject_IsTrue(r.get()) == 1;
#else
  return true;
#endif
}

}  // namespace gilrace::py
