#include "berth/core/random_id.hpp"

#include <random>

namespace berth::core {

std::string random_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (int i = 0; i < 64; ++i) out += hex[rng() & 0xf];
  return out;
}

}  // namespace berth::core
