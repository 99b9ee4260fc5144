#include "berth/core/host_info.hpp"

#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <linux/magic.h>

namespace berth::core {
namespace {

std::string os_release_value(const std::string& key) {
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.starts_with(key + "=")) continue;
      std::string v = line.substr(key.size() + 1);
      if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return {};
}

}  // namespace

HostInfo read_host_info() {
  HostInfo info;
  struct utsname u{};
  if (::uname(&u) == 0) {
    info.hostname = u.nodename;
    info.kernel_version = u.release;
    info.architecture = u.machine;
  }
  info.go_arch = info.architecture == "x86_64"    ? "amd64"
                 : info.architecture == "aarch64" ? "arm64"
                                                  : info.architecture;
  info.operating_system = os_release_value("PRETTY_NAME");
  info.os_version = os_release_value("VERSION_ID");
  info.ncpu = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  struct sysinfo si{};
  if (::sysinfo(&si) == 0) info.mem_total = static_cast<std::int64_t>(si.totalram) * si.mem_unit;
  struct statfs fs{};
  if (::statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) info.cgroup_version = 2;
  std::ifstream fwd("/proc/sys/net/ipv4/ip_forward");
  int v = 0;
  info.ipv4_forwarding = (fwd >> v) && v == 1;
  return info;
}

}  // namespace berth::core
