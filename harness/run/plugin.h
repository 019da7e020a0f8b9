// Scenario plugins: shared libraries built out of tree against the installed package
// (gilrace_add_scenarios). Each is checked against this gilrace and the CPython it embeds
// (gilrace/plugin.h) before it may register a scenario; a mismatch is a UsageError (exit 2)
// before any trial runs.
#pragma once

#include <string>
#include <vector>

namespace gilrace {

// The plugins a command line asks for: every `--plugin FILE` / `--plugin=FILE` in `args`,
// then each entry of GILRACE_PLUGIN_PATH (colon-separated files, or folders whose *.so files
// are all loaded). Absolute, canonical, without repeats. Throws UsageError for a missing file.
std::vector<std::string> requested_plugins(const std::vector<std::string>& args);

// Loads each plugin, checks its ABI record and registers its scenarios, tagged with the path.
void load_plugins(const std::vector<std::string>& paths);

}  // namespace gilrace
