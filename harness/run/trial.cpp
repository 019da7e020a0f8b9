#include "harness/run/trial.h"

#include <fmt/format.h>

namespace gilrace {

std::vector<std::string> trial_args(const TrialSpec& spec) {
  std::vector<std::string> a = {"__trial",   spec.scenario,
                                "--variant", spec.variant,
                                "--seed",    std::to_string(spec.base_seed),
                                "--trial",   std::to_string(spec.trial)};
  if (spec.threads > 0) {
    a.push_back("--threads");
    a.push_back(std::to_string(spec.threads));
  }
  for (const auto& [k, v] : spec.params) {
    a.push_back("--param");
    a.push_back(k + "=" + v);
  }
  if (spec.chaos > 0) a.push_back(fmt::format("--chaos={}", spec.chaos));
  if (!spec.plugin.empty()) {
    a.push_back("--plugin");
    a.push_back(spec.plugin);
  }
  return a;
}

static std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_=./:,+@%") == std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string replay_command(const TrialSpec& spec, std::string_view program) {
  std::string cmd = fmt::format("{} replay {} --variant {} --seed {} --trial {}", program,
                                shell_quote(spec.scenario), shell_quote(spec.variant),
                                spec.base_seed, spec.trial);
  if (spec.threads > 0) cmd += fmt::format(" --threads {}", spec.threads);
  for (const auto& [k, v] : spec.params) cmd += " --param " + shell_quote(k + "=" + v);
  if (spec.chaos > 0) cmd += fmt::format(" --chaos={}", spec.chaos);
  if (!spec.plugin.empty()) cmd += " --plugin " + shell_quote(spec.plugin);
  return cmd;
}

}  // namespace gilrace
