// Timestamps as the Engine API and image configs spell them (RFC 3339).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "berth/core/error.hpp"

namespace berth::core {

// Now, UTC, with nanoseconds: "2026-11-27T23:59:59.123456789Z".
std::string rfc3339_now();

// RFC 3339 to unix seconds (fractions and zone suffix "Z" ignored); 0 when
// unparsable.
std::int64_t parse_rfc3339(std::string_view text);

// An API timestamp (`since`, `until`) to Unix nanoseconds: "seconds[.fraction]"
// (what the docker CLI sends; up to nine fraction digits) or RFC 3339 with an
// optional fraction and a "Z" or ±hh:mm zone. Anything else is
// invalid_argument.
Result<std::int64_t> parse_timestamp(std::string_view text);

}  // namespace berth::core
