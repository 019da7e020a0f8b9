#include "harness/base/parse.h"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <filesystem>

namespace gilrace {

std::uint64_t parse_count(std::string_view text, std::string_view what, std::uint64_t min) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < min)
    throw UsageError(fmt::format("{} must be a whole number >= {}, got '{}'", what, min, text));
  return v;
}

static bool to_double(std::string_view text, double& out) {
  std::string s(text);
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(out);
}

double parse_duration(std::string_view text, std::string_view what) {
  std::size_t split = text.find_first_not_of("0123456789.");
  std::string_view number = text.substr(0, split);
  std::string_view unit = split == std::string_view::npos ? "" : text.substr(split);
  double scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "ms") {
    scale = 0.001;
  } else if (unit == "m" || unit == "min") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  }
  double v = 0;
  if (scale == 0 || !to_double(number, v) || v < 0)
    throw UsageError(
        fmt::format("{} must be a duration such as 90s, 10m, 2h or 500ms, got '{}'", what, text));
  return v * scale;
}

std::pair<std::string, std::string> parse_param(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    throw UsageError(fmt::format("--param must be key=value, got '{}'", text));
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

std::pair<int, int> parse_shard(std::string_view text) {
  auto slash = text.find('/');
  int k = -1, n = 0;
  bool ok = slash != std::string_view::npos;
  if (ok) {
    auto [p1, e1] = std::from_chars(text.data(), text.data() + slash, k);
    auto [p2, e2] = std::from_chars(text.data() + slash + 1, text.data() + text.size(), n);
    ok = e1 == std::errc() && e2 == std::errc() && p1 == text.data() + slash &&
         p2 == text.data() + text.size() && n >= 1 && k >= 0 && k < n;
  }
  if (!ok) throw UsageError(fmt::format("--shard must be K/N with 0 <= K < N, got '{}'", text));
  return {k, n};
}

double parse_fraction(std::string_view text, std::string_view what, bool allow_one) {
  double v = 0;
  if (!to_double(text, v) || v <= 0 || v > 1 || (!allow_one && v == 1))
    throw UsageError(fmt::format("{} must be a number between 0 and 1, got '{}'", what, text));
  return v;
}

void require_writable_file(const std::string& path, const char* option) {
  namespace fs = std::filesystem;
  if (path.empty()) return;
  fs::path p(path);
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  if (!fs::is_directory(dir))
    throw UsageError(fmt::format("{} {}: directory {} does not exist", option, path, dir.string()));
  if (::access(dir.c_str(), W_OK) != 0)
    throw UsageError(
        fmt::format("{} {}: directory {} is not writable", option, path, dir.string()));
}

}  // namespace gilrace
