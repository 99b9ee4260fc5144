// Base64 for the registry client (internal): basic-auth headers, the
// X-Registry-Auth header, JWT-ish payloads.
#pragma once

#include "berth/core/error.hpp"

#include <string>
#include <string_view>

namespace berth::core::registry {

// Standard alphabet, padded.
std::string base64_encode(std::string_view data);

// Accepts the standard and the URL-safe alphabet, with or without padding;
// ASCII whitespace is ignored. invalid_argument on anything else.
Result<std::string> base64_decode(std::string_view text);

}  // namespace berth::core::registry
