// Reading a JSON file a person named (a report, a baseline): every failure is one UsageError line.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace gilrace {

// The parsed contents of `path`; the messages start with `label` ("--baseline known.json").
nlohmann::json read_json_file(const std::string& path, const std::string& label);

}  // namespace gilrace
