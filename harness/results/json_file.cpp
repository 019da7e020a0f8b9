#include "harness/results/json_file.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "harness/base/parse.h"

namespace gilrace {

nlohmann::json read_json_file(const std::string& path, const std::string& label) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UsageError(fmt::format("{}: cannot read it", label));
  std::stringstream ss;
  ss << f.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("{}: not JSON ({})", label, e.what()));
  }
}

}  // namespace gilrace
