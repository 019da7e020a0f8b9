#include "harness/run/plugin.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "gilrace/plugin.h"
#include "harness/base/parse.h"
#include "harness/run/build_info.h"
#include "harness/run/registry.h"

namespace gilrace {

namespace {

namespace fs = std::filesystem;

void add_file(std::vector<std::string>& out, const std::string& given, const char* from) {
  std::error_code ec;
  if (!fs::is_regular_file(given, ec))
    throw UsageError(fmt::format("{} {}: no such plugin file", from, given));
  std::string path = fs::canonical(given).string();
  if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
}

void add_path_entry(std::vector<std::string>& out, const std::string& entry) {
  std::error_code ec;
  if (!fs::is_directory(entry, ec)) return add_file(out, entry, "GILRACE_PLUGIN_PATH:");
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(entry))
    if (e.is_regular_file() && e.path().extension() == ".so") found.push_back(e.path().string());
  std::sort(found.begin(), found.end());  // a stable order, whatever the folder's
  for (const auto& f : found) add_file(out, f, "GILRACE_PLUGIN_PATH:");
}

std::string python_text(unsigned hex, bool ft, bool debug) {
  return fmt::format("CPython {}{}{}", version_text(hex), ft ? " free-threaded" : "",
                     debug ? " debug" : "");
}

// "" when the plugin may load, else why not (one line).
std::string abi_mismatch(const gilrace_plugin_abi& p, const BuildInfo& b) {
  if (p.api_version != GILRACE_API_VERSION)
    return fmt::format("built for gilrace API {} (gilrace {}), this gilrace has API {}",
                       p.api_version, p.gilrace_version ? p.gilrace_version : "?",
                       GILRACE_API_VERSION);
  // CPython's ABI is fixed within a minor version for one flavour, not across them.
  bool same_minor = (p.py_hexversion >> 16) == (b.hexversion >> 16);
  if (!same_minor || bool(p.py_gil_disabled) != b.free_threaded || bool(p.py_debug) != b.debug)
    return fmt::format(
        "built for {}, this gilrace embeds {}: rebuild it against this gilrace's "
        "package",
        python_text(p.py_hexversion, p.py_gil_disabled, p.py_debug),
        python_text(b.hexversion, b.free_threaded, b.debug));
  if (bool(p.tsan) != b.gilrace_tsan)
    return fmt::format("built {} ThreadSanitizer, this gilrace {}", p.tsan ? "with" : "without",
                       b.gilrace_tsan ? "with it" : "without it");
  return "";
}

}  // namespace

std::vector<std::string> requested_plugins(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--plugin") {
      if (i + 1 >= args.size()) throw UsageError("--plugin needs a file");
      add_file(out, args[++i], "--plugin");
    } else if (a.substr(0, 9) == "--plugin=") {
      add_file(out, std::string(a.substr(9)), "--plugin");
    }
  }
  if (const char* env = std::getenv("GILRACE_PLUGIN_PATH")) {
    std::string_view rest = env;
    while (!rest.empty()) {
      auto colon = rest.find(':');
      std::string entry(rest.substr(0, colon));
      if (!entry.empty()) add_path_entry(out, entry);
      rest = colon == std::string_view::npos ? "" : rest.substr(colon + 1);
    }
  }
  return out;
}

void load_plugins(const std::vector<std::string>& paths) {
  if (paths.empty()) return;
  const BuildInfo self = compile_time_build_info();
  for (const auto& path : paths) {
    // The plugin's static initialisers only queue its scenarios (gilrace/plugin.h), so
    // opening it runs none of its scenario code before the check; RTLD_LAZY lets a plugin
    // built for another CPython open far enough to be told so.
    void* lib = dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);
    if (!lib) throw UsageError(fmt::format("--plugin {}: {}", path, dlerror()));
    auto* abi = static_cast<const gilrace_plugin_abi*>(dlsym(lib, "gilrace_plugin"));
    auto* entry = reinterpret_cast<void (*)()>(dlsym(lib, "gilrace_plugin_register"));
    if (!abi || !entry)
      throw UsageError(
          fmt::format("--plugin {}: not a gilrace plugin (no gilrace_plugin record; build it with "
                      "gilrace_add_scenarios)",
                      path));
    if (std::string why = abi_mismatch(*abi, self); !why.empty())
      throw UsageError(fmt::format("--plugin {}: {}", path, why));
    register_plugin_scenarios(path, entry);  // the library stays loaded for the process
  }
}

}  // namespace gilrace
