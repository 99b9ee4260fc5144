// Timestamps as the Engine API and image configs spell them (RFC 3339).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace berth::core {

// Now, UTC, with nanoseconds: "2026-11-27T23:59:59.123456789Z".
std::string rfc3339_now();

// RFC 3339 to unix seconds (fractions and zone suffix "Z" ignored); 0 when
// unparsable.
std::int64_t parse_rfc3339(std::string_view text);

}  // namespace berth::core
