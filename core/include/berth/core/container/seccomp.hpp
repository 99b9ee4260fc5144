// Seccomp profiles in Docker's format (moby profiles/seccomp: defaultAction,
// archMap, syscalls entries with includes/excludes on caps, arches and
// minKernel, args, errnoRet) turned into an OCI linux.seccomp object for one
// host architecture and one container's capabilities — the filtering Docker
// does before it hands the spec to runc. The result names syscalls; the
// runtime (libseccomp) maps them to numbers.
//
// Docker's default profile is compiled into berth (from
// core/data/seccomp/docker-default.json, generated at build time).
// Pure functions; thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/core/error.hpp"

namespace berth::core::container {

// The text of Docker's default profile.
std::string_view default_seccomp_profile();

struct SeccompTarget {
  std::string go_arch = "amd64";  // Go's name for the host architecture (amd64, arm64, ...)
  std::string kernel_release;     // uname -r, compared with minKernel ("4.8")
};

// `capabilities` are the container's (its bounding set): entries whose
// includes.caps are all held apply, entries whose excludes.caps has one held
// do not. Returns nullopt when the profile has neither a defaultAction nor
// syscalls (Docker: no filter). Errors are invalid_argument, with Docker's
// "Decoding seccomp profile failed: ..." for malformed JSON.
Result<std::optional<boost::json::object>> seccomp_to_oci(
    std::string_view profile_json, const std::vector<std::string>& capabilities,
    const SeccompTarget& target);

}  // namespace berth::core::container
