// Pieces of the OCI spec builder shared by oci_spec.cpp (assembly),
// host_config.cpp (create-time defaults and checks, resources) and
// spec_mounts.cpp (binds, tmpfs, devices). Private to the container sources.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "berth/core/container/mount_points.hpp"
#include "berth/core/error.hpp"

namespace berth::core::container::detail {

// HostConfig.SecurityOpt, parsed as dockerd's parseSecurityOpt.
struct SecurityOptions {
  bool no_new_privileges = false;
  std::string seccomp;  // "" = the daemon's choice, "unconfined", "builtin", or profile JSON
  std::string apparmor;
  std::vector<std::string> labels;
};
Result<SecurityOptions> parse_security_opts(const boost::json::object& host_config,
                                            bool default_no_new_privileges);

// HostConfig's memory, cpu, pids and blkio settings as OCI linux.resources
// (without the device rules). Expects an adapted HostConfig.
Result<boost::json::object> linux_resources(const boost::json::object& host_config);

// HostConfig.Ulimits plus the daemon's defaults for names not given, as
// OCI process.rlimits.
Result<boost::json::array> rlimits(const boost::json::object& host_config,
                                   const boost::json::object& default_ulimits);

// Which namespaces the container shares with the host, from its modes.
struct HostNamespaces {
  bool net = false, ipc = false, uts = false, pid = false;
};
HostNamespaces host_namespaces(const boost::json::object& host_config);

// Sysctls may only name what the container's own namespaces isolate (runc's
// rule): IPC ones need a private IPC namespace, net.* a private network.
Result<void> validate_sysctls(const boost::json::object& sysctls, const HostNamespaces& shared);

// A mount the user asked for (-v, --mount, --tmpfs) in OCI form.
struct UserMount {
  std::string destination, type, source;
  std::vector<std::string> options;
  std::string propagation;  // a bind's: "rprivate", "rshared", ...
};
// The mount points (mount_points.hpp; volumes with their host paths) and
// HostConfig.Tmpfs in OCI form, sorted by destination depth as Docker
// mounts them. Errors: "Duplicate mount point: /x"; unsupported for a
// volume without a source.
Result<std::vector<UserMount>> user_mounts(const boost::json::object& host_config,
                                           const std::vector<MountPoint>& points);
// Stable sort by the number of path components of the destination.
void sort_by_depth(std::vector<UserMount>& mounts);

// Docker's mount.MergeTmpfsOptions: later options win, "defaults" dropped,
// data options limited to tmpfs's (size, mode, uid, gid, nr_inodes,
// nr_blocks, mpol).
Result<std::vector<std::string>> merge_tmpfs_options(const std::vector<std::string>& options);

// linux.devices and the device cgroup rules: Docker's default allow list
// plus HostConfig.Devices and DeviceCgroupRules, or for --privileged every
// device under `dev_dir` and "allow all".
struct DeviceSpec {
  boost::json::array devices;
  boost::json::array rules;
};
Result<DeviceSpec> container_devices(const boost::json::object& host_config, bool privileged,
                                     const std::string& dev_dir);

}  // namespace berth::core::container::detail
