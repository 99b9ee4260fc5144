#include "runtime_support.hpp"

#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "berth/runtime/cgroups.hpp"
#include "oci_bundle.hpp"

namespace berth::testing {

namespace json = boost::json;

std::string unique_name() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string name = "berth-test-";
  for (int i = 0; i < 12; ++i) name += "0123456789abcdef"[hex(rd)];
  return name;
}

json::object docker_spec(const std::vector<std::string>& args, const std::string& rootfs,
                         const std::string& cgroups_path) {
  BundleSpec b;
  b.args = args;
  json::object spec = oci_spec(b);
  spec["root"].as_object()["path"] = rootfs;
  json::array& mounts = spec["mounts"].as_array();
  mounts.push_back(json::object{{"destination", "/sys/fs/cgroup"},
                                {"type", "cgroup"},
                                {"source", "cgroup"},
                                {"options", {"ro", "nosuid", "noexec", "nodev"}}});
  mounts.push_back(json::object{{"destination", "/dev/mqueue"},
                                {"type", "mqueue"},
                                {"source", "mqueue"},
                                {"options", {"nosuid", "noexec", "nodev"}}});
  json::object& linux_ = spec["linux"].as_object();
  linux_["cgroupsPath"] = cgroups_path;
  linux_["maskedPaths"] = {"/proc/asound",
                           "/proc/acpi",
                           "/proc/kcore",
                           "/proc/keys",
                           "/proc/latency_stats",
                           "/proc/timer_list",
                           "/proc/timer_stats",
                           "/proc/sched_debug",
                           "/proc/scsi",
                           "/sys/firmware",
                           "/sys/devices/virtual/powercap"};
  auto rule = [](bool allow, const char* type, int major, int minor, const char* access) {
    json::object r{{"allow", allow}, {"access", access}};
    if (type != nullptr) r["type"] = type;
    if (major >= 0) r["major"] = major;
    if (minor >= 0) r["minor"] = minor;
    return r;
  };
  linux_["resources"] = json::object{
      {"devices",
       {rule(false, nullptr, -1, -1, "rwm"), rule(true, "c", -1, -1, "m"),
        rule(true, "b", -1, -1, "m"), rule(true, "c", 1, 3, "rwm"), rule(true, "c", 1, 8, "rwm"),
        rule(true, "c", 1, 7, "rwm"), rule(true, "c", 5, 0, "rwm"), rule(true, "c", 1, 5, "rwm"),
        rule(true, "c", 1, 9, "rwm"), rule(true, "c", 136, -1, "rwm"), rule(true, "c", 5, 2, "rwm"),
        rule(true, "c", 10, 200, "rwm")}},
  };
  return spec;
}

std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string read_all(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      return out;  // EOF, or EIO once the pty's last slave closed
    }
  }
}

std::vector<std::string> mounts_below(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string id, parent, dev, root, target;
    f >> id >> parent >> dev >> root >> target;
    if (target == dir || target.starts_with(dir + "/")) out.push_back(target);
  }
  return out;
}

std::vector<std::string> cgroup_dirs(const std::string& path) {
  std::vector<std::string> out;
  for (const auto& h : runtime::cgroups::hierarchies()) {
    struct stat st {};
    if (::stat((h.mount_point + path).c_str(), &st) == 0) out.push_back(h.mount_point + path);
  }
  return out;
}

}  // namespace berth::testing
