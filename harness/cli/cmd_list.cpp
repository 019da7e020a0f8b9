#include <fmt/format.h>
#include <fmt/ranges.h>

#include "harness/cli/cli.h"
#include "harness/cli/commands.h"
#include "harness/run/registry.h"

namespace gilrace {

namespace {

nlohmann::json known_failures_json(const Variant& v) {
  nlohmann::json out = nlohmann::json::array();
  for (const KnownFailure& f : v.fails_on) {
    const char* builds = f.builds == GilMode::gil_only             ? "gil"
                         : f.builds == GilMode::free_threaded_only ? "free-threaded"
                                                                   : "any";
    out.push_back({{"issue", f.issue},
                   {"since", f.since ? nlohmann::json(version_text(f.since)) : nullptr},
                   {"fixed", f.fixed ? nlohmann::json(version_text(f.fixed)) : nullptr},
                   {"builds", builds},
                   {"debug_only", f.debug_only}});
  }
  return out;
}

int cmd_list(bool json) {
  BuildInfo build = probe_build_info();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : all_scenarios()) {
    std::string reason = not_applicable_reason(s.info, build);
    if (json) {
      nlohmann::json vars = nlohmann::json::array();
      for (const auto& v : s.info.variants)
        vars.push_back({{"name", v.name},
                        {"help", v.help},
                        {"naive", v.naive},
                        {"known_failures", known_failures_json(v)},
                        {"expected_to_fail", expected_failure_reason(v, build)}});
      nlohmann::json params = nlohmann::json::array();
      for (const auto& p : s.info.params)
        params.push_back({{"name", p.name}, {"default", p.default_value}, {"help", p.help}});
      nlohmann::json probes = nlohmann::json::array();
      for (const auto& p : s.info.probes)
        probes.push_back({{"name", p.name},
                          {"meaning", p.meaning},
                          {"window", p.window},
                          {"window_in", p.window_in}});
      out.push_back(
          {{"name", s.info.name},
           {"summary", s.info.summary},
           {"references", s.info.references},
           {"variants", vars},
           {"params", params},
           {"probes", probes},
           {"param_probes", static_cast<bool>(s.info.param_probes)},
           {"default_threads", s.info.default_threads},
           {"control", s.info.control},
           {"plugin", s.plugin.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.plugin)},
           {"applies", reason.empty()},
           {"reason", reason}});
      continue;
    }
    fmt::print("{}{}\n    {}\n", s.info.name, s.info.control ? "  (control)" : "", s.info.summary);
    if (!s.plugin.empty()) fmt::print("    plugin: {}\n", s.plugin);
    if (!s.info.references.empty())
      fmt::print("    refs: {}\n", fmt::join(s.info.references, ", "));
    for (const auto& v : s.info.variants) {
      std::string why = expected_failure_reason(v, build);
      fmt::print("    variant {}{}{}\n", v.name, why.empty() ? "" : " (" + why + ")",
                 v.help.empty() ? "" : ": " + v.help);
    }
    for (const auto& p : s.info.params)
      fmt::print("    --param {}={}  {}\n", p.name, p.default_value, p.help);
    for (const auto& p : s.info.probes)
      fmt::print("    probe {}{}: {}\n", p.name,
                 !p.window ? ""
                 : p.window_in.empty()
                     ? " (window)"
                     : fmt::format(" (window in {})", fmt::join(p.window_in, ", ")),
                 p.meaning);
    fmt::print("    {}\n", reason.empty() ? "applies to this build" : "does not apply: " + reason);
  }
  if (json) fmt::print("{}\n", out.dump(2));
  return kExitOk;
}

}  // namespace

Command add_list_command(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("list", "List scenarios and whether each applies to this build");
  cmd->add_flag("--json", *json, "JSON output");
  add_plugin_option(cmd);
  return {cmd, [json] { return cmd_list(*json); }};
}

}  // namespace gilrace
