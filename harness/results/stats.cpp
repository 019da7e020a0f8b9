#include "harness/results/stats.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace gilrace {

double z_for_confidence(double confidence) {
  // Inverse of the normal CDF by bisection on erfc: precise and dependency-free.
  double alpha = 1.0 - confidence;
  double lo = 0.0, hi = 10.0;
  for (int i = 0; i < 100; ++i) {
    double mid = (lo + hi) / 2;
    if (std::erfc(mid / std::sqrt(2.0)) > alpha)
      lo = mid;
    else
      hi = mid;
  }
  return (lo + hi) / 2;
}

Interval wilson_interval(std::uint64_t failures, std::uint64_t trials, double confidence) {
  if (trials == 0) return {0.0, 1.0};
  double n = static_cast<double>(trials);
  double p = static_cast<double>(failures) / n;
  double z = z_for_confidence(confidence);
  double z2 = z * z;
  double denom = 1 + z2 / n;
  double centre = (p + z2 / (2 * n)) / denom;
  double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

double clean_upper_bound(std::uint64_t trials, double confidence) {
  if (trials == 0) return 1.0;
  return 1.0 - std::pow(1.0 - confidence, 1.0 / static_cast<double>(trials));
}

std::uint64_t trials_for_confidence(double rate, double confidence) {
  if (rate >= 1.0) return 1;
  if (rate <= 0.0) return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(std::ceil(std::log(1.0 - confidence) / std::log(1.0 - rate)));
}

static std::string percent(double x) {
  double pct = x * 100;
  return pct < 0.1 && pct > 0 ? fmt::format("{:.3f}%", pct) : fmt::format("{:.1f}%", pct);
}

std::string describe_rate(std::uint64_t failures, std::uint64_t trials, double confidence) {
  int conf = static_cast<int>(std::lround(confidence * 100));
  if (trials == 0) return "no trials";
  if (failures == 0)
    return fmt::format("0/{}: rate < {} at {}%", trials,
                       percent(clean_upper_bound(trials, confidence)), conf);
  Interval ci = wilson_interval(failures, trials, confidence);
  return fmt::format("{}/{} = {} [{}, {}] at {}%", failures, trials,
                     percent(static_cast<double>(failures) / static_cast<double>(trials)),
                     percent(ci.low), percent(ci.high), conf);
}

}  // namespace gilrace
