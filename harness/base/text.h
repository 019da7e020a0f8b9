// Small string_view helpers for parsing tools' output line by line.
#pragma once

#include <string_view>
#include <vector>

namespace gilrace {

// Without leading and trailing spaces, tabs and carriage returns.
std::string_view trim(std::string_view s);
bool starts_with(std::string_view s, std::string_view p);
bool contains(std::string_view s, std::string_view p);
// The lines of `text`, without their newlines.
std::vector<std::string_view> lines_of(std::string_view text);

}  // namespace gilrace
