#include "harness/run/build_info.h"

#include <Python.h>

#include <fstream>
#include <vector>

#include "gilrace/py.h"
#include "harness/base/tsan.h"
#include "harness/run/embed.h"

namespace gilrace {

std::string BuildInfo::flavour() const {
  std::string s = version;
  s += free_threaded ? " free-threaded" : " with-GIL";
  if (free_threaded && gil_enabled_at_runtime) s += " (GIL re-enabled at run time)";
  if (debug) s += " debug";
  if (python_tsan) s += " tsan";
  return s;
}

nlohmann::json BuildInfo::to_json() const {
  return {{"version", version},
          {"hexversion", hexversion},
          {"runtime_hexversion", runtime_hexversion},
          {"free_threaded", free_threaded},
          {"gil_enabled_at_runtime", gil_enabled_at_runtime},
          {"debug", debug},
          {"python_tsan", python_tsan},
          {"gilrace_tsan", gilrace_tsan},
          {"python_compiler", python_compiler},
          {"gilrace_compiler", gilrace_compiler},
          {"gilrace_version", GILRACE_VERSION},
          {"config_args", config_args},
          {"prefix", prefix},
          {"executable", executable},
          {"source_revision", source_revision},
          {"build_record", build_record}};
}

BuildInfo BuildInfo::from_json(const nlohmann::json& j) {
  BuildInfo b;
  b.version = j.value("version", "");
  b.hexversion = j.value("hexversion", 0u);
  b.runtime_hexversion = j.value("runtime_hexversion", 0u);
  b.free_threaded = j.value("free_threaded", false);
  b.gil_enabled_at_runtime = j.value("gil_enabled_at_runtime", true);
  b.debug = j.value("debug", false);
  b.python_tsan = j.value("python_tsan", false);
  b.gilrace_tsan = j.value("gilrace_tsan", false);
  b.python_compiler = j.value("python_compiler", "");
  b.gilrace_compiler = j.value("gilrace_compiler", "");
  b.config_args = j.value("config_args", "");
  b.prefix = j.value("prefix", "");
  b.executable = j.value("executable", "");
  b.source_revision = j.value("source_revision", "");
  if (j.contains("build_record")) b.build_record = j["build_record"];
  return b;
}

BuildInfo compile_time_build_info() {
  BuildInfo b;
  b.version = PY_VERSION;
  b.hexversion = PY_VERSION_HEX;
#ifdef Py_GIL_DISABLED
  b.free_threaded = true;
#endif
#ifdef Py_DEBUG
  b.debug = true;
#endif
#ifdef GILRACE_TSAN
  b.gilrace_tsan = true;
#endif
  b.gilrace_compiler = GILRACE_CXX_COMPILER;
  return b;
}

namespace {

std::string attr_string(const char* code) {
  py::Ref ns = py::run_code(std::string("value = ") + code);
  PyObject* v = PyDict_GetItemString(ns.get(), "value");  // borrowed
  return v ? py::to_string(v) : std::string();
}

}  // namespace

std::string gdb_python_helper(const BuildInfo& b) {
  std::vector<std::string> candidates = {b.prefix + "/share/gilrace/libpython.py"};
  std::string xy = b.version.substr(0, b.version.rfind('.'));
  for (const char* dir : {"/usr/share/gdb/auto-load/usr/lib/x86_64-linux-gnu/",
                          "/usr/share/gdb/auto-load/usr/lib/aarch64-linux-gnu/"})
    candidates.push_back(std::string(dir) + "libpython" + xy + ".so.1.0-gdb.py");
  for (const auto& c : candidates)
    if (std::ifstream(c)) return c;
  return "";
}

BuildInfo probe_build_info() {
  BuildInfo b = compile_time_build_info();
  bool started = false;
  if (!Py_IsInitialized()) {
    init_python_isolated();
    started = true;
  }
  {
    py::Gil gil;
    b.runtime_hexversion =
        static_cast<unsigned>(std::stoul(attr_string("__import__('sys').hexversion")));
    b.gil_enabled_at_runtime = py::gil_enabled_at_runtime();
    b.config_args = attr_string("__import__('sysconfig').get_config_var('CONFIG_ARGS') or ''");
    b.python_tsan = b.config_args.find("--with-thread-sanitizer") != std::string::npos;
    b.python_compiler = attr_string("__import__('platform').python_compiler()");
    b.prefix = attr_string("__import__('sys').prefix");
    b.executable = attr_string(
        "__import__('os').path.join(__import__('sysconfig').get_config_var('BINDIR'), 'python3')");
  }
  if (started) Py_FinalizeEx();

  std::ifstream rec(b.prefix + "/gilrace-build.json");
  if (rec) {
    try {
      b.build_record = nlohmann::json::parse(rec);
      const auto& src = b.build_record.value("source", nlohmann::json::object());
      if (src.is_object() && src.contains("git_revision") && src["git_revision"].is_string())
        b.source_revision =
            src["git_revision"].get<std::string>() + (src.value("dirty", false) ? " (dirty)" : "");
    } catch (const nlohmann::json::exception&) {
      b.build_record = {{"error", "unreadable gilrace-build.json"}};
    }
  }
  return b;
}

}  // namespace gilrace
