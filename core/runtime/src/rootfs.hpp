// The container's filesystem view, built by the child inside its new mount
// namespace with mount(2) and pivot_root(2) (runc's order):
//   / made rslave (or linux.rootfsPropagation), the rootfs bound onto
//   itself, a tmpfs /dev unless the spec mounts one, the spec's mounts in
//   order, devpts (newinstance) and /dev/shm unless the spec has them, the
//   default devices (null, zero, full, random, urandom, tty) and the spec's,
//   /dev/fd, stdin, stdout, stderr, core and ptmx -> pts/ptmx symlinks;
//   then pivot_root; later the masked and read-only paths, sysctls and the
//   read-only root.
// Mount destinations are resolved inside the rootfs with symlinks followed
// as if the rootfs were "/", so a symlink in the image cannot send a mount
// outside it. Device nodes that cannot be made (mknod refused in a user
// namespace) are bind mounts of the host's.
#pragma once

#include <string>
#include <vector>

#include "berth/runtime/cgroups.hpp"
#include "spec.hpp"

namespace berth::runtime::detail {

// What a "cgroup" mount shows: with a cgroup namespace a fresh mount of
// each hierarchy (rooted at the container's cgroup), without one a bind of
// the container's own directory in each.
struct CgroupView {
  std::vector<cgroups::Hierarchy> hierarchies;
  std::string path;  // the container's cgroup path
  bool namespaced = false;
};

// Everything before pivot_root.
Result<void> prepare_rootfs(const Spec& spec, const CgroupView& cgroups);
// pivot_root to `rootfs` and detach the old root.
Result<void> enter_rootfs(const std::string& rootfs);

// After pivot_root.
Result<void> bind_console(const std::string& slave_path);
Result<void> write_sysctls(const std::vector<std::pair<std::string, std::string>>& sysctl);
Result<void> make_readonly_paths(const std::vector<std::string>& paths);
Result<void> mask_paths(const std::vector<std::string>& paths);
Result<void> remount_root_readonly();

// `path` (inside the container) resolved under `root` with symlinks kept
// inside it; components that do not exist are kept as given.
Result<std::string> secure_join(const std::string& root, const std::string& path);

}  // namespace berth::runtime::detail
