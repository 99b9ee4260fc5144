// OCI runtime bundles for tests that run containers without berthd (the
// shim's and the runtime's tests): a busybox-static root filesystem in a
// plain directory and a minimal config.json. Nothing is mounted: runtimes
// bind the root themselves.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace berth::testing {

// Fills `rootfs` with /bin/busybox (the host's busybox-static) and a
// symlink per applet in /bin, plus the usual empty mount points.
void make_busybox_rootfs(const std::string& rootfs);

struct BundleSpec {
  std::vector<std::string> args = {"sh"};
  bool terminal = false;
  std::string hostname = "berth-test";
  std::string cgroups_path;  // linux.cgroupsPath; empty: left out
  bool pid_namespace = true;
  std::int64_t memory_limit = 0;  // linux.resources.memory.limit; 0: none
};

// An OCI process object: root, PATH and TERM, cwd "/", Docker's default
// capabilities.
boost::json::object oci_process(const std::vector<std::string>& args, bool terminal = false);

// A minimal runtime-spec config: the process, root "rootfs", /proc, /dev,
// /dev/pts (new instance), /dev/shm, /sys (read-only), and pid (unless
// turned off), ipc, uts, mount and network namespaces.
boost::json::object oci_spec(const BundleSpec& spec);

// Writes <bundle>/config.json and the busybox <bundle>/rootfs.
void write_bundle(const std::string& bundle, const BundleSpec& spec);

}  // namespace berth::testing
