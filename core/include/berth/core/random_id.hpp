// Docker-style object IDs: 64 random lower-case hex digits (containers,
// networks, anonymous volumes, exec instances).
#pragma once

#include <string>

namespace berth::core {

// Thread-safe; each thread draws from its own generator seeded by
// std::random_device.
std::string random_id();

}  // namespace berth::core
