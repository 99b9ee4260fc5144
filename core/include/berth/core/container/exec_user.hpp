// Resolving Docker's `--user` and `--group-add` against the image's own
// /etc/passwd and /etc/group, the way runc's libcontainer/user does for
// Docker: "name|uid[:group|gid]", numeric IDs allowed without an entry,
// supplementary groups from /etc/group membership when the group is not
// given explicitly, and runc's messages ("unable to find user nobody: no
// matching entries in passwd file").
//
// The files are read inside `rootfs` with symlinks resolved within it (an
// image's /etc/passwd -> /host/... symlink cannot reach out of the rootfs).
// Used for the container's process and for `exec -u`. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "berth/core/error.hpp"

namespace berth::core::container {

struct ExecUser {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> sgids;  // from /etc/group membership
  std::string home = "/";            // passwd's home; "/" without an entry
};

// `spec` is Config.User ("" = root). Errors are invalid_argument.
Result<ExecUser> resolve_exec_user(const std::string& rootfs, std::string_view spec);

// HostConfig.GroupAdd: names or numbers; duplicates collapse, order kept.
Result<std::vector<std::uint32_t>> resolve_additional_groups(
    const std::string& rootfs, const std::vector<std::string>& groups);

// `path` ("/etc/passwd") inside `root` with every symlink resolved as if
// `root` were "/": the host path to open. A missing tail is kept as given.
Result<std::string> resolve_in_root(const std::string& root, std::string_view path);

}  // namespace berth::core::container
