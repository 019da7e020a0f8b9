// Compiled into every scenario plugin by gilrace_add_scenarios(): the plugin's ABI record
// and the two entry points gilrace looks up with dlsym (gilrace/plugin.h).
#include <Python.h>

#include <utility>
#include <vector>

#include "gilrace/plugin.h"
#include "gilrace/scenario.h"

#if defined(__SANITIZE_THREAD__)
#define GILRACE_PLUGIN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GILRACE_PLUGIN_TSAN 1
#endif
#endif
#ifndef GILRACE_PLUGIN_TSAN
#define GILRACE_PLUGIN_TSAN 0
#endif

#ifdef Py_GIL_DISABLED
#define GILRACE_PLUGIN_FT 1
#else
#define GILRACE_PLUGIN_FT 0
#endif
#ifdef Py_DEBUG
#define GILRACE_PLUGIN_DEBUG 1
#else
#define GILRACE_PLUGIN_DEBUG 0
#endif

namespace gilrace {
namespace {

struct Queued {
  ScenarioInfo (*info)();
  ScenarioFactory make;
};

std::vector<Queued>& queued() {
  static std::vector<Queued> q;
  return q;
}

}  // namespace

bool plugin_queue(ScenarioInfo (*info)(), ScenarioFactory make) {
  queued().push_back({info, std::move(make)});
  return true;
}

}  // namespace gilrace

extern "C" {

// extern: a namespace-scope const would otherwise have internal linkage.
extern __attribute__((visibility("default"))) const gilrace_plugin_abi gilrace_plugin = {
    GILRACE_API_VERSION,  PY_VERSION_HEX,      GILRACE_PLUGIN_FT,
    GILRACE_PLUGIN_DEBUG, GILRACE_PLUGIN_TSAN, GILRACE_PACKAGE_VERSION};

// Called by gilrace once the record above matched: only now do the scenarios' info()
// functions run and reach gilrace's registry.
__attribute__((visibility("default"))) void gilrace_plugin_register() {
  for (auto& q : gilrace::queued()) gilrace::register_scenario(q.info(), std::move(q.make));
  gilrace::queued().clear();
}

}  // extern "C"
