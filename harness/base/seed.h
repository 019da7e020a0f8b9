// Seeds: every trial's seed is a pure function of the run's base seed, the
// scenario, the variant and the trial index, so any trial of any shard can be
// replayed anywhere from those four values.
#pragma once

#include <cstdint>
#include <string_view>

namespace gilrace {

std::uint64_t splitmix64(std::uint64_t x);
std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ULL);
std::uint64_t derive_seed(std::uint64_t base, std::string_view scenario, std::string_view variant,
                          std::uint64_t trial);
// A base seed for runs that were not given one.
std::uint64_t fresh_seed();

}  // namespace gilrace
