#include "harness/cli/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

#include "harness/base/parse.h"
#include "harness/cli/commands.h"
#include "harness/run/plugin.h"

namespace gilrace {

int cli_main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  try {
    load_plugins(requested_plugins(args));
  } catch (const std::exception& e) {
    fmt::print(stderr, "gilrace: error: {}\n", e.what());
    return kExitUsage;
  }
  CLI::App app{
      "gilrace: reproduce concurrency crashes and deadlocks between native threads and CPython"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(GILRACE_VERSION));
  std::vector<Command> commands = {add_list_command(app), add_info_command(app),
                                   add_run_command(app, args), add_replay_command(app),
                                   add_trial_command(app)};
  commands.push_back(add_merge_command(app, args));
  commands.push_back(add_baseline_command(app));
  commands.push_back(add_report_command(app));
  try {
    std::vector<std::string> names;
    for (const auto& c : commands) names.push_back(c.app->get_name());
    if (argc > 1 && argv[1][0] != '-' &&
        std::find(names.begin(), names.end(), argv[1]) == names.end())
      throw UsageError(fmt::format("unknown command '{}' (see gilrace --help)", argv[1]));
    app.parse(argc, argv);
    for (const auto& c : commands)
      if (*c.app) return c.run();
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return kExitOk;
  } catch (const CLI::CallForVersion&) {
    std::cout << GILRACE_VERSION << "\n";
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    fmt::print(stderr, "gilrace: error: {}\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    // UsageError and anything else that stops a command before it ran.
    fmt::print(stderr, "gilrace: error: {}\n", e.what());
    return kExitUsage;
  }
  return kExitUsage;
}

}  // namespace gilrace
