#include "harness/base/seed.h"

#include <random>

namespace gilrace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(std::string_view s, std::uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t derive_seed(std::uint64_t base, std::string_view scenario, std::string_view variant,
                          std::uint64_t trial) {
  std::uint64_t h = fnv1a(scenario);
  h = fnv1a("/", h);
  h = fnv1a(variant, h);
  return splitmix64(splitmix64(base ^ h) + trial);
}

std::uint64_t fresh_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace gilrace
