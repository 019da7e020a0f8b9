// The evidence behind a verdict: rates, intervals, and how many trials a
// clean run needs before it says something.
#pragma once

#include <cstdint>
#include <string>

namespace gilrace {

struct Interval {
  double low;
  double high;
};

// Wilson score interval for failures/trials at the given two-sided confidence.
Interval wilson_interval(std::uint64_t failures, std::uint64_t trials, double confidence = 0.95);

// For 0 failures in n trials: the rate ruled out at this one-sided confidence,
// 1 - (1-confidence)^(1/n) (about 3/n at 95%, the rule of three).
double clean_upper_bound(std::uint64_t trials, double confidence = 0.95);

// Trials needed so that a build failing at `rate` shows at least one failure
// with probability `confidence`: ceil(log(1-confidence) / log(1-rate)).
std::uint64_t trials_for_confidence(double rate, double confidence);

// The z value of a two-sided normal interval (0.95 -> 1.96).
double z_for_confidence(double confidence);

// "3/200 = 1.5% [0.5%, 4.3%] at 95%" or "0/300: rate < 1.0% at 95%".
std::string describe_rate(std::uint64_t failures, std::uint64_t trials, double confidence = 0.95);

}  // namespace gilrace
