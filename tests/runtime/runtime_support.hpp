// Helpers for the native runtime's and the cgroups library's tests: unique
// berth-test- names, a Docker-shaped spec on top of tests/support's
// oci_bundle, and the checks that nothing was left behind (cgroup
// directories, mounts, processes).
#pragma once

#include <sys/types.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace berth::testing {

// "berth-test-<12 random hex>".
std::string unique_name();

// A config.json like the one Docker generates for `args`: oci_spec() plus
// Docker's remaining default mounts (/sys/fs/cgroup, /dev/mqueue), masked
// paths, device rules and cgroupsPath; root.path is `rootfs` (absolute).
boost::json::object docker_spec(const std::vector<std::string>& args, const std::string& rootfs,
                                const std::string& cgroups_path);

// Waits up to `timeout` for `pid` (a child) to exit; its status as a shell
// reports it (code, or 128 + signal), nullopt on timeout.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout);

// Reads `fd` until EOF, EIO (a pty whose other side closed) or `timeout`.
std::string read_all(int fd, std::chrono::milliseconds timeout);

// Mount points at or below `dir` in this process's mount table.
std::vector<std::string> mounts_below(const std::string& dir);

// Directories of cgroup `path` that exist in any mounted hierarchy.
std::vector<std::string> cgroup_dirs(const std::string& path);

}  // namespace berth::testing
