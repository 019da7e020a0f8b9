// py-script: runs a user's Python reproducer, the form most reports to
// CPython's tracker take.
//
//   gilrace run py-script --param script=FILE [--param worker=NAME]
//                         [--param iterations=M] [--threads N]
//                         [--param window=P[,P...]] [--param probes=P[,P...]]
//
// FILE runs once as __main__ (its directory first on sys.path, as `python FILE`
// would do). Then N native threads (std::thread, each attached for its lifetime
// with PyGILState_Ensure) wait at a latch and call worker(i), i = 0..N-1, M
// times each, heartbeating after every call. setup() runs before the threads
// start and check() after they are joined, on the main thread, when FILE
// defines them. Any exception - at module level, in worker(), setup() or
// check() - ends the trial as `error` with the Python traceback; a worker
// thread's exception stops the other workers early and the first one is
// reported. Python code can `import _gilrace` for heartbeat(), probe(name),
// note(key, value), seed() and trial(). The script's probes are declared with the
// parameters: `window` names those whose hit proves the racy window was reached (a
// clean group that hit none is window_not_reached), `probes` the others; a probe
// the script hits without naming it ends the trial as `error`.
//
// A relative FILE is resolved against the directory gilrace was started in
// (trials inherit it). A missing FILE is a usage error (exit 2), found before
// any trial runs. Examples: scenarios/py/.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <latch>
#include <mutex>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "gilrace/py.h"
#include "gilrace/scenario.h"

namespace gilrace {

namespace {

namespace fs = std::filesystem;

// "a,b" -> {"a", "b"}; "" -> {}.
std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  for (std::size_t comma; (comma = text.find(',', start)) != std::string::npos; start = comma + 1)
    out.push_back(text.substr(start, comma - start));
  out.push_back(text.substr(start));
  return out;
}

std::string check_params(const std::map<std::string, std::string>& params) {
  auto get = [&](const char* k) {
    auto it = params.find(k);
    return it == params.end() ? std::string() : it->second;
  };
  std::string script = get("script");
  if (script.empty()) return "needs --param script=FILE (a Python file to run)";
  std::error_code ec;
  fs::path path = fs::absolute(script, ec);
  if (ec || !fs::exists(path, ec)) return "script " + script + ": no such file";
  if (!fs::is_regular_file(path, ec)) return "script " + script + ": not a regular file";
  if (!std::ifstream(path)) return "script " + script + ": cannot be read";
  if (get("worker").empty()) return "--param worker= needs a function name";
  for (const char* k : {"window", "probes"})
    for (const std::string& name : split_names(get(k)))
      if (name.empty() || name.find_first_of(" \t\n") != std::string::npos)
        return std::string("--param ") + k + "= takes probe names separated by commas, got '" +
               get(k) + "'";
  return "";
}

// The probes the script hits, as the parameters name them.
std::vector<ProbeSpec> script_probes(const std::map<std::string, std::string>& params) {
  std::vector<ProbeSpec> out;
  auto add = [&](const std::string& names, bool window) {
    for (const std::string& name : split_names(names))
      if (std::none_of(out.begin(), out.end(), [&](const auto& p) { return p.name == name; }))
        out.push_back({name,
                       window ? "the script's window probe (--param window)"
                              : "a probe of the script's (--param probes)",
                       window});
  };
  add(params.at("window"), true);
  add(params.at("probes"), false);
  return out;
}

// A callable global of the script's namespace, or an empty Ref when absent.
py::Ref find_function(PyObject* globals, const std::string& name, const std::string& script) {
  PyObject* f = PyDict_GetItemString(globals, name.c_str());  // borrowed
  if (!f) return {};
  if (!PyCallable_Check(f)) throw ScenarioError(script + ": " + name + " is not callable");
  return py::Ref::borrow(f);
}

}  // namespace

class PyScript : public Scenario {
 public:
  static ScenarioInfo info() {
    return {.name = "py-script",
            .summary =
                "runs a Python reproducer: FILE once as __main__, then its worker(i) in N "
                "native threads behind a barrier, M times each",
            .params = {{"script", "",
                        "the Python file (a relative path is taken from the "
                        "directory gilrace was started in)"},
                       {"worker", "worker", "the function each thread calls as worker(i)"},
                       {"iterations", "100", "calls of worker(i) per thread"},
                       {"window", "",
                        "probes (comma-separated) whose hit proves the racy window was reached"},
                       {"probes", "", "the script's other probes (comma-separated)"}},
            .default_threads = 4,
            .validate = check_params,
            .param_probes = script_probes};
  }

  Result run(Context& ctx) override {
    const std::string script = ctx.param("script");
    const fs::path path = fs::absolute(script);
    const long long iterations = ctx.param_int("iterations");
    const int threads = ctx.threads();
    if (iterations < 0) throw ScenarioError("iterations must not be negative");

    std::ifstream in(path, std::ios::binary);
    if (!in) throw ScenarioError("cannot read " + path.string());
    std::stringstream source;
    source << in.rdbuf();

    // Run FILE as __main__, the way `python FILE` does.
    PyObject* main_mod = PyImport_AddModule("__main__");  // borrowed
    if (!main_mod) throw py::Error();
    PyObject* globals = PyModule_GetDict(main_mod);  // borrowed
    py::Ref file = py::check(PyUnicode_DecodeFSDefault(path.c_str()));
    py::check(PyDict_SetItemString(globals, "__file__", file.get()));
    py::Ref sys = py::import("sys");
    py::Ref sys_path = py::check(PyObject_GetAttrString(sys.get(), "path"));
    py::Ref dir = py::check(PyUnicode_DecodeFSDefault(path.parent_path().c_str()));
    py::check(PyList_Insert(sys_path.get(), 0, dir.get()));
    py::Ref argv = py::check(Py_BuildValue("[O]", file.get()));
    py::check(PyObject_SetAttrString(sys.get(), "argv", argv.get()));
    try {
      py::Ref code = py::check(Py_CompileString(source.str().c_str(), path.c_str(), Py_file_input));
      py::check(PyEval_EvalCode(code.get(), globals, globals));
    } catch (const py::Error& e) {
      return Result::error(script + " raised at module level:\n" + e.what());
    }
    ctx.heartbeat();

    const std::string worker_name = ctx.param("worker");
    py::Ref worker = find_function(globals, worker_name, script);
    if (!worker) return Result::error(script + " defines no function " + worker_name + "()");
    py::Ref setup = find_function(globals, "setup", script);
    py::Ref check = find_function(globals, "check", script);

    if (setup) {
      try {
        py::check(PyObject_CallNoArgs(setup.get()));
      } catch (const py::Error& e) {
        return Result::error(std::string("setup() raised:\n") + e.what());
      }
    }

    std::mutex error_mu;
    std::string first_error;
    std::atomic<bool> stop{false};
    {
      std::latch start(threads);
      py::Unlocked unlocked;  // the main thread only waits for the workers
      std::vector<std::jthread> pool;
      pool.reserve(static_cast<std::size_t>(threads));
      for (int i = 0; i < threads; ++i) {
        auto body = [&, i] {
          try {
            py::Gil gil;  // attached for the thread's lifetime
            {
              py::Unlocked wait;  // never block on the latch while attached
              start.arrive_and_wait();
            }
            py::Ref index = py::check(PyLong_FromLong(i));
            for (long long m = 0; m < iterations && !stop.load(std::memory_order_relaxed); ++m) {
              PyObject* r = PyObject_CallOneArg(worker.get(), index.get());
              if (!r) {
                std::string tb = py::Error().what();
                std::lock_guard lock(error_mu);
                if (first_error.empty())
                  first_error = worker_name + "(" + std::to_string(i) + ") raised on call " +
                                std::to_string(m + 1) + ":\n" + tb;
                stop.store(true);
                break;
              }
              Py_DECREF(r);
              ctx.heartbeat();
            }
          } catch (const std::exception& e) {
            std::lock_guard lock(error_mu);
            if (first_error.empty()) first_error = std::string("worker thread: ") + e.what();
            stop.store(true);
          }
        };
        try {
          pool.emplace_back(body);
        } catch (const std::system_error& e) {
          // The threads already started must not wait at the latch forever.
          start.count_down(threads - i);
          stop.store(true);
          std::lock_guard lock(error_mu);
          first_error = std::string("could not start worker threads: ") + e.what();
          break;
        }
      }
    }  // joins the workers, then re-attaches the main thread
    if (!first_error.empty()) return Result::error(first_error);

    if (check) {
      try {
        py::check(PyObject_CallNoArgs(check.get()));
      } catch (const py::Error& e) {
        return Result::error(std::string("check() raised:\n") + e.what());
      }
    }
    return Result::pass();
  }
};
GILRACE_SCENARIO(PyScript);

}  // namespace gilrace
