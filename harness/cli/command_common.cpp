#include <fmt/format.h>

#include "harness/base/parse.h"
#include "harness/cli/commands.h"
#include "harness/judge/sanitizer.h"
#include "harness/run/chaos.h"
#include "harness/run/driver.h"
#include "harness/run/registry.h"

namespace gilrace {

void add_trial_options(CLI::App* cmd, TrialArgs& a) {
  cmd->add_option("scenario", a.scenario, "Scenario name")->required();
  cmd->add_option("--variant", a.variant, "Variant (default: the scenario's first)");
  cmd->add_option("--seed", a.seed, "The run's base seed");
  cmd->add_option("--trial", a.trial, "Trial index");
  cmd->add_option("--threads", a.threads, "Threads (default: the scenario's)");
  cmd->add_option("--param", a.params, "key=value, repeatable");
  add_chaos_option(cmd, a.chaos);
  add_plugin_option(cmd);
}

void add_chaos_option(CLI::App* cmd, std::string& level) {
  // A flag with an optional value: --chaos alone is kDefaultLevel, --chaos=N is N.
  cmd->add_flag(fmt::format("--chaos{{{}}}", chaos::kDefaultLevel), level,
                fmt::format("Perturb every thread's schedule, seeded by the trial: --chaos=LEVEL, "
                            "0 (off) to {}; --chaos alone is {}",
                            chaos::kMaxLevel, chaos::kDefaultLevel));
}

int parse_chaos_level(const std::string& text) {
  if (text.empty()) return 0;
  auto level = parse_count(text, "--chaos", 0);
  if (level > static_cast<std::uint64_t>(chaos::kMaxLevel))
    throw UsageError(fmt::format("--chaos must be 0 to {}, got {}", chaos::kMaxLevel, text));
  return static_cast<int>(level);
}

void add_plugin_option(CLI::App* cmd) {
  // Loaded by cli_main before the command line is parsed (scenario names are checked
  // against the registry); declared here so that it is accepted and documented.
  cmd->add_option("--plugin",
                  "A scenario plugin (.so) to load, repeatable; also "
                  "GILRACE_PLUGIN_PATH (files or folders, colon-separated)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

const RegisteredScenario& need_scenario(const std::string& name) {
  const RegisteredScenario* s = find_scenario(name);
  if (!s) throw UsageError(fmt::format("unknown scenario '{}' (see 'gilrace list')", name));
  return *s;
}

void check_variant(const RegisteredScenario& s, const std::string& v) {
  for (const auto& var : s.info.variants)
    if (var.name == v) return;
  std::string known;
  for (const auto& var : s.info.variants) known += (known.empty() ? "" : ", ") + var.name;
  throw UsageError(
      fmt::format("scenario {} has no variant '{}' (it has: {})", s.info.name, v, known));
}

std::map<std::string, std::string> params_for(const RegisteredScenario& s,
                                              const std::map<std::string, std::string>& all,
                                              bool strict) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : all) {
    bool declared = false;
    for (const auto& p : s.info.params) declared |= p.name == k;
    if (declared)
      out[k] = v;
    else if (strict)
      throw UsageError(
          fmt::format("scenario {} has no parameter '{}' (see 'gilrace list')", s.info.name, k));
  }
  return out;
}

std::string invalid_params_reason(const RegisteredScenario& s,
                                  const std::map<std::string, std::string>& given) {
  if (!s.info.validate) return "";
  std::string why = s.info.validate(merged_params(s.info, given));
  return why.empty() ? "" : fmt::format("{}: {}", s.info.name, why);
}

TrialSpec make_spec(const TrialArgs& a) {
  const RegisteredScenario& s = need_scenario(a.scenario);
  TrialSpec spec;
  spec.scenario = a.scenario;
  spec.variant = a.variant.empty() ? s.info.variants.front().name : a.variant;
  check_variant(s, spec.variant);
  spec.base_seed = parse_count(a.seed, "--seed", 0);
  spec.trial = parse_count(a.trial, "--trial", 0);
  spec.threads = a.threads.empty() ? 0 : static_cast<int>(parse_count(a.threads, "--threads"));
  std::map<std::string, std::string> given;
  for (const auto& p : a.params) given.insert(parse_param(p));
  spec.params = params_for(s, given, true);
  spec.chaos = parse_chaos_level(a.chaos);
  spec.plugin = s.plugin;
  return spec;
}

// A TSAN-built gilrace against an uninstrumented libpython, or the reverse,
// gives false reports and misses races.
void preflight(const BuildInfo& b, bool allow_mixed) {
  if (b.runtime_hexversion && (b.runtime_hexversion >> 16) != (b.hexversion >> 16))
    throw UsageError(
        fmt::format("gilrace was compiled against Python {} but loaded libpython {:x}: rebuild it "
                    "(scripts/build-harness.sh)",
                    b.version, b.runtime_hexversion));
  if (!allow_mixed && b.python_tsan != b.gilrace_tsan)
    throw UsageError(b.gilrace_tsan
                         ? "gilrace is built with ThreadSanitizer but libpython is not: use a "
                           "--tsan CPython or pass --allow-mixed-sanitizer"
                         : "libpython is built with ThreadSanitizer but gilrace is not: build it "
                           "with scripts/build-harness.sh --sanitizer thread, or pass "
                           "--allow-mixed-sanitizer");
  // A kernel with more mmap randomisation than the runtime supports: every trial would die
  // at start with "FATAL: ThreadSanitizer: unexpected memory mapping" (or this process did).
  if (b.gilrace_tsan || b.python_tsan) {
    std::string problem = tsan::mmap_rnd_bits_problem(
        tsan::read_mmap_rnd_bits(), b.gilrace_tsan ? b.gilrace_compiler : b.python_compiler);
    if (!problem.empty()) throw UsageError(problem);
  }
}

}  // namespace gilrace
