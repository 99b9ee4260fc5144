// sha256 digests as the image and distribution specs spell them
// ("sha256:<64 lower-case hex>"), computed while streaming.
#pragma once

#include "berth/core/error.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace berth::core::image {

// Incremental sha256. Not thread-safe; one per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(const void* data, std::size_t len);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // "sha256:<hex>"; the object is spent afterwards.
  std::string finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string sha256_digest(std::string_view data);

// True for "sha256:<64 lower-case hex>".
bool is_sha256_digest(std::string_view digest);

// Validates a digest and returns its hex part; invalid_argument otherwise.
Result<std::string> digest_hex(std::string_view digest);

}  // namespace berth::core::image
