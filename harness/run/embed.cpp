#include "harness/run/embed.h"

#include <Python.h>

#include <csignal>
#include <string>

#include "gilrace/py.h"
#include "gilrace/scenario.h"
#include "harness/run/chaos.h"
#include "harness/run/messages.h"

namespace gilrace {
namespace {

struct ModuleState {
  Context* ctx;
  bool faulthandler_armed;  // this instance told the supervisor so
};

Context* context_of(PyObject* module) {
  auto* st = static_cast<ModuleState*>(PyModule_GetState(module));
  return st ? st->ctx : nullptr;
}

PyObject* mod_heartbeat(PyObject* module, PyObject* args) {
  unsigned long long n = 1;
  if (!PyArg_ParseTuple(args, "|K", &n)) return nullptr;
  if (Context* ctx = context_of(module)) ctx->heartbeat(n);
  Py_RETURN_NONE;
}

PyObject* mod_probe(PyObject* module, PyObject* args) {
  const char* name = nullptr;
  unsigned long long n = 1;
  if (!PyArg_ParseTuple(args, "s|K", &name, &n)) return nullptr;
  if (Context* ctx = context_of(module)) ctx->probe(name).hit(n);
  Py_RETURN_NONE;
}

PyObject* mod_note(PyObject* module, PyObject* args) {
  const char* key = nullptr;
  const char* value = nullptr;
  if (!PyArg_ParseTuple(args, "ss", &key, &value)) return nullptr;
  if (Context* ctx = context_of(module)) ctx->note(key, value);
  Py_RETURN_NONE;
}

PyObject* mod_seed(PyObject* module, PyObject*) {
  Context* ctx = context_of(module);
  return PyLong_FromUnsignedLongLong(ctx ? ctx->seed() : 0);
}

PyObject* mod_trial(PyObject* module, PyObject*) {
  Context* ctx = context_of(module);
  return PyLong_FromUnsignedLongLong(ctx ? ctx->trial() : 0);
}

// Finalisation frees the module in finalize_modules(), before _PyFaulthandler_Fini()
// unregisters SIGUSR1 (Python/pylifecycle.c): from here on the supervisor must
// not count on a dump, and gdb alone takes the stacks of a stall.
void free_module(void* module) {
  auto* st = static_cast<ModuleState*>(PyModule_GetState(static_cast<PyObject*>(module)));
  if (st && st->ctx && st->faulthandler_armed) st->ctx->send_line(encode_faulthandler(false));
}

PyMethodDef methods[] = {
    {"heartbeat", mod_heartbeat, METH_VARARGS, "heartbeat(n=1): report progress"},
    {"probe", mod_probe, METH_VARARGS, "probe(name, n=1): count a hit of a racy window"},
    {"note", mod_note, METH_VARARGS, "note(key, value): attach a fact to the trial's result"},
    {"seed", mod_seed, METH_NOARGS, "seed(): this trial's seed"},
    {"trial", mod_trial, METH_NOARGS, "trial(): this trial's index"},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef_Slot slots[] = {
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_GIL_DISABLED
    // The module keeps no Python state of its own: it must not turn the GIL back on.
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, nullptr}};

PyModuleDef module_def = {PyModuleDef_HEAD_INIT,
                          "_gilrace",
                          "gilrace's hooks for Python code running inside a trial",
                          sizeof(ModuleState),
                          methods,
                          slots,
                          nullptr,
                          nullptr,
                          free_module};

PyObject* init_module() {
  return PyModuleDef_Init(&module_def);
}

}  // namespace

void register_harness_module() {
  // Idempotent within a process: replay and info may start CPython more than once.
  static bool done = PyImport_AppendInittab("_gilrace", init_module) == 0;
  (void)done;
}

void init_python_isolated() {
  register_harness_module();
  if (chaos::poisons_freed_memory())
    if (std::string err = py::preinit_debug_allocator(); !err.empty())
      throw ScenarioError("CPython's debug memory hooks failed to start: " + err);
  PyConfig config;
  PyConfig_InitIsolatedConfig(&config);
  config.site_import = 0;
  config.install_signal_handlers = 0;
  PyStatus status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) {
    throw ScenarioError(std::string("CPython failed to start: ") +
                        (status.err_msg ? status.err_msg : "unknown error"));
  }
}

void attach_trial(Context& ctx, int stacks_fd) {
  py::Ref mod = py::import("_gilrace");
  auto* st = static_cast<ModuleState*>(PyModule_GetState(mod.get()));
  if (st) st->ctx = &ctx;
  if (stacks_fd < 0) return;
  py::Ref fh = py::import("faulthandler");
  py::Ref fd = py::check(PyLong_FromLong(stacks_fd));
  py::Ref enable = py::check(PyObject_GetAttrString(fh.get(), "enable"));
  py::Ref kwargs = py::check(Py_BuildValue("{s:O,s:O}", "file", fd.get(), "all_threads", Py_True));
  py::Ref empty = py::check(PyTuple_New(0));
  py::check(PyObject_Call(enable.get(), empty.get(), kwargs.get()));
  py::Ref reg = py::check(PyObject_GetAttrString(fh.get(), "register"));
  py::Ref args = py::check(Py_BuildValue("(i)", SIGUSR1));
  py::check(PyObject_Call(reg.get(), args.get(), kwargs.get()));
  // Only now may the supervisor ask for a dump: before, SIGUSR1 would find no handler.
  if (st) st->faulthandler_armed = true;
  ctx.send_line(encode_faulthandler(true));
}

}  // namespace gilrace
