// Facts about the host for /info and /version, read from the kernel.
#pragma once

#include <cstdint>
#include <string>

namespace berth::core {

struct HostInfo {
  std::string hostname;
  std::string kernel_version;    // uname -r
  std::string operating_system;  // PRETTY_NAME from /etc/os-release
  std::string os_version;        // VERSION_ID
  std::string architecture;      // uname -m, e.g. x86_64
  std::string go_arch;           // Docker's name for it, e.g. amd64
  int ncpu = 0;
  std::int64_t mem_total = 0;
  int cgroup_version = 1;  // 2 when /sys/fs/cgroup is a cgroup2 mount
  bool ipv4_forwarding = false;
};

HostInfo read_host_info();

}  // namespace berth::core
