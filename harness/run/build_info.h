// What gilrace embeds: the CPython it was compiled against, as seen at compile
// time and at run time. Goes into `gilrace info` and every report.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace gilrace {

struct BuildInfo {
  std::string version;              // "3.13.15"
  unsigned hexversion = 0;          // PY_VERSION_HEX of the headers
  unsigned runtime_hexversion = 0;  // Py_Version of the loaded libpython
  bool free_threaded = false;       // Py_GIL_DISABLED
  bool gil_enabled_at_runtime = true;
  bool debug = false;           // Py_DEBUG
  bool python_tsan = false;     // libpython built --with-thread-sanitizer
  bool gilrace_tsan = false;    // gilrace itself built with -fsanitize=thread
  std::string python_compiler;  // platform.python_compiler()
  std::string gilrace_compiler;
  std::string config_args;
  std::string prefix;           // sys.prefix
  std::string executable;       // the python3 of that prefix, for scripts
  std::string source_revision;  // from <prefix>/gilrace-build.json, when built from git
  nlohmann::json build_record;  // <prefix>/gilrace-build.json as written by build-cpython.sh

  // "3.13.15 free-threaded debug tsan" and the like.
  std::string flavour() const;
  nlohmann::json to_json() const;
  static BuildInfo from_json(const nlohmann::json& j);
};

// Compile-time facts only; no interpreter needed.
BuildInfo compile_time_build_info();

// CPython's gdb helpers (libpython.py) for this build, or "" when it has none:
// scripts/build-cpython.sh copies them into <prefix>/share/gilrace, Debian's
// pythonX.Y-dbg package installs them under gdb's auto-load folder.
std::string gdb_python_helper(const BuildInfo& b);

// Everything, asking a running interpreter. Starts and finalises one if none is running.
BuildInfo probe_build_info();

}  // namespace gilrace
