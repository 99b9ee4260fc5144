// The host side of the opaque handles in abi.h. A core module that calls a
// driver function creates these on its stack, passes them, and reads them
// after the call.
#pragma once

#include <berth/sdk/abi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

// These complete the opaque types declared in abi.h; only the host defines
// them, and only the host's callbacks touch their members.
struct berth_error {
  std::string message;
};

struct berth_out {
  struct Mount {
    std::string type, source, options;
  };
  std::string text;
  std::vector<Mount> mounts;
};

struct berth_reader {
  // Returns bytes read, 0 at the end, -1 on error.
  std::function<std::int64_t(void* buf, std::size_t cap)> read;
};

struct berth_writer {
  // Returns false when the consumer went away.
  std::function<bool(const void* buf, std::size_t len)> write;
};

namespace berth::core {

inline berth_str to_berth_str(std::string_view s) { return berth_str{s.data(), s.size()}; }
inline std::string_view to_view(berth_str s) {
  return s.data == nullptr ? std::string_view() : std::string_view(s.data, s.len);
}

}  // namespace berth::core
