// Parsing of the values a person types: counts, durations, seeds, params,
// shards. Each failure is an exception whose text is the one line shown.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace gilrace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A whole number >= min; `what` names the option in the message.
std::uint64_t parse_count(std::string_view text, std::string_view what, std::uint64_t min = 1);
// "90s", "10m", "2h", "1.5s", "500ms", or plain seconds.
double parse_duration(std::string_view text, std::string_view what);
// "key=value".
std::pair<std::string, std::string> parse_param(std::string_view text);
// "K/N" with 0 <= K < N.
std::pair<int, int> parse_shard(std::string_view text);
// A probability or confidence strictly between 0 and 1 (or up to 1 when allow_one).
double parse_fraction(std::string_view text, std::string_view what, bool allow_one = false);

// The folder of `path` exists and is writable, else UsageError naming `option`.
void require_writable_file(const std::string& path, const char* option);

}  // namespace gilrace
