// The plugin ABI: what a scenario plugin (a shared library built with the installed
// package's gilrace_add_scenarios()) exports, so that gilrace can refuse one built for
// another gilrace or another CPython before any of its code runs a scenario.
//
// In a plugin, GILRACE_SCENARIO does not register at load time: it only queues the
// scenario inside the plugin (gilrace_plugin_entry.cpp, compiled into every plugin).
// gilrace reads `gilrace_plugin` (plain C data), checks it against itself, and only
// then calls `gilrace_plugin_register`, which calls register_scenario for each one.
#pragma once

#include <stdint.h>

// Bumped whenever anything in include/gilrace changes layout or meaning.
#define GILRACE_API_VERSION 1

extern "C" {

struct gilrace_plugin_abi {
  uint32_t api_version;         // GILRACE_API_VERSION the plugin was compiled with
  uint32_t py_hexversion;       // PY_VERSION_HEX of the CPython headers it was compiled with
  uint8_t py_gil_disabled;      // Py_GIL_DISABLED
  uint8_t py_debug;             // Py_DEBUG
  uint8_t tsan;                 // compiled with -fsanitize=thread
  const char* gilrace_version;  // the installed gilrace's version, for messages
};

}  // extern "C"

#ifdef GILRACE_PLUGIN
#include <functional>
#include <memory>

namespace gilrace {
struct ScenarioInfo;
class Scenario;
// Queues a scenario in the plugin until gilrace asks for it (defined by the plugin's entry file).
bool plugin_queue(ScenarioInfo (*info)(), std::function<std::unique_ptr<Scenario>()> make);
}  // namespace gilrace
#endif
