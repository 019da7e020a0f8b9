#include <fmt/format.h>

#include "harness/cli/cli.h"
#include "harness/cli/commands.h"

namespace gilrace {

namespace {

int cmd_info(bool json, bool allow_mixed) {
  BuildInfo b = probe_build_info();
  if (json) {
    fmt::print("{}\n", b.to_json().dump(2));
  } else {
    fmt::print("gilrace {}\n", GILRACE_VERSION);
    fmt::print("python            {} (hexversion 0x{:08x})\n", b.version, b.hexversion);
    fmt::print("free-threaded     {}\n", b.free_threaded ? "yes" : "no");
    fmt::print("GIL at run time   {}\n", b.gil_enabled_at_runtime ? "enabled" : "disabled");
    fmt::print("debug             {}\n", b.debug ? "yes" : "no");
    fmt::print("tsan (python)     {}\n", b.python_tsan ? "yes" : "no");
    fmt::print("tsan (gilrace)    {}\n", b.gilrace_tsan ? "yes" : "no");
    fmt::print("python compiler   {}\n", b.python_compiler);
    fmt::print("gilrace compiler  {}\n", b.gilrace_compiler);
    fmt::print("prefix            {}\n", b.prefix);
    fmt::print("configure         {}\n", b.config_args);
    if (!b.source_revision.empty()) fmt::print("source revision   {}\n", b.source_revision);
  }
  preflight(b, allow_mixed);
  return kExitOk;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  struct Args {
    bool json = false;
    bool allow_mixed = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("info", "Show exactly what CPython gilrace embeds");
  cmd->add_flag("--json", a->json, "JSON output");
  cmd->add_flag("--allow-mixed-sanitizer", a->allow_mixed, "Accept a sanitizer on one side only");
  return {cmd, [a] { return cmd_info(a->json, a->allow_mixed); }};
}

}  // namespace gilrace
