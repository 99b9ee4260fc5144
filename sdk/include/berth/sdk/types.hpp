// Small bridges between abi.h's C types and C++: string conversion and the
// sizes of the v1.0 structs, which tell which members a peer's struct has.
#ifndef BERTH_SDK_TYPES_HPP
#define BERTH_SDK_TYPES_HPP

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "berth/sdk/abi.h"

// The offset just past `member` of `type`: a struct whose struct_size is at
// least this has the member.
#define BERTH_SDK_MEMBER_END(type, member) (offsetof(type, member) + sizeof(type::member))

namespace berth::sdk {

// Borrows `s` as ABI text; valid as long as `s`'s storage.
constexpr berth_str to_berth_str(std::string_view s) noexcept { return {s.data(), s.size()}; }

// Borrows ABI text; a NULL pointer reads as "".
constexpr std::string_view to_string_view(berth_str s) noexcept {
  return s.data != nullptr ? std::string_view(s.data, s.len) : std::string_view();
}

// Minimum struct_size of each struct as ABI 1.0 defines it. A peer built
// against a later minor sends a larger struct_size; never a smaller one.
namespace abi_v1_0 {
inline constexpr std::size_t host_size = BERTH_SDK_MEMBER_END(berth_host, writer_write);
inline constexpr std::size_t plugin_size = BERTH_SDK_MEMBER_END(berth_plugin, table);
inline constexpr std::size_t mount_size = BERTH_SDK_MEMBER_END(berth_mount, options);
inline constexpr std::size_t usage_size = BERTH_SDK_MEMBER_END(berth_usage, inodes);
inline constexpr std::size_t storage_size = BERTH_SDK_MEMBER_END(berth_storage_v1, status);
inline constexpr std::size_t network_size =
    BERTH_SDK_MEMBER_END(berth_network_v1, revoke_external_connectivity);
inline constexpr std::size_t volume_size = BERTH_SDK_MEMBER_END(berth_volume_v1, capabilities);
inline constexpr std::size_t logging_size = BERTH_SDK_MEMBER_END(berth_logging_v1, read);
inline constexpr std::size_t log_message_size = BERTH_SDK_MEMBER_END(berth_log_message, line);
inline constexpr std::size_t log_read_options_size =
    BERTH_SDK_MEMBER_END(berth_log_read_options, follow);
inline constexpr std::size_t log_sink_size = BERTH_SDK_MEMBER_END(berth_log_sink, stopped);
}  // namespace abi_v1_0

// The struct_size this SDK writes into a struct it fills in.
template <class T>
constexpr std::uint32_t struct_size_of() noexcept {
  return static_cast<std::uint32_t>(sizeof(T));
}

}  // namespace berth::sdk

#endif  // BERTH_SDK_TYPES_HPP
