// Linux capabilities by Docker's rules (moby oci/caps): the default set a
// container gets, --cap-add/--cap-drop with "ALL", names with or without the
// "CAP_" prefix in any case, and --privileged. "All capabilities" means those
// this kernel defines and the daemon itself holds (its bounding set): a host
// where root lacks CAP_SYS_RESOURCE cannot hand it to a container, and
// asking for it is an error rather than a runtime failure at start.
//
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "berth/core/error.hpp"

namespace berth::core::container {

// Docker's 14 default capabilities, in Docker's order ("CAP_CHOWN", ...).
std::span<const std::string_view> default_capabilities();

// Every capability name the kernel ABI defines (linux/capability.h),
// indexed by number ("CAP_CHOWN" is 0, "CAP_CHECKPOINT_RESTORE" 40). Header
// only, with capability_number(), so the native runtime can use them without
// linking the core.
inline constexpr std::array<std::string_view, 41> kCapabilityNames = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

inline std::span<const std::string_view> known_capabilities() { return kCapabilityNames; }

// The number of a capability name in canonical form ("CAP_SYS_ADMIN" -> 21).
constexpr std::optional<int> capability_number(std::string_view name) {
  for (std::size_t i = 0; i < kCapabilityNames.size(); ++i) {
    if (kCapabilityNames[i] == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

// Which capabilities exist and may be granted here: bit n set = capability n
// available (the kernel defines it and the daemon's bounding set holds it;
// SpecHost::capabilities in oci_spec.hpp).
using CapabilityMask = std::uint64_t;

// The available capabilities' names, in number order (what --privileged and
// --cap-add ALL grant).
std::vector<std::string> all_capabilities(CapabilityMask available);

// Upper-cases and prefixes "CAP_"; keeps "ALL". Errors, as Docker:
// `unknown capability: "CAP_FOO"` and `capability not supported by your
// kernel or not available in the current environment: "CAP_BPF"`.
Result<std::vector<std::string>> normalize_capabilities(const std::vector<std::string>& caps,
                                                        CapabilityMask available);

// The effective list from the defaults and HostConfig's CapAdd/CapDrop
// (privileged: everything available). Errors are prefixed like Docker's:
// "invalid CapAdd: unknown capability: \"CAP_FOO\"". No duplicates.
Result<std::vector<std::string>> tweak_capabilities(const std::vector<std::string>& add,
                                                    const std::vector<std::string>& drop,
                                                    bool privileged, CapabilityMask available);

}  // namespace berth::core::container
