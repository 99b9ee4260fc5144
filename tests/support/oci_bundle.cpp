#include "oci_bundle.hpp"

#include <boost/json/serialize.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace berth::testing {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr const char* kBusybox = "/bin/busybox";

// `busybox --list`: the applets this build has.
std::vector<std::string> applets() {
  std::vector<std::string> out;
  FILE* p = ::popen("/bin/busybox --list", "r");
  if (p == nullptr) throw std::runtime_error("run busybox --list");
  char line[256];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    std::string name(line);
    while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
    if (!name.empty() && name.find('/') == std::string::npos) out.push_back(name);
  }
  ::pclose(p);
  return out;
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

}  // namespace

void make_busybox_rootfs(const std::string& rootfs) {
  for (const char* dir : {"bin", "dev", "proc", "sys", "tmp", "etc", "root"}) {
    fs::create_directories(fs::path(rootfs) / dir);
  }
  fs::copy_file(kBusybox, fs::path(rootfs) / "bin/busybox", fs::copy_options::overwrite_existing);
  for (const auto& name : applets()) {
    fs::path link = fs::path(rootfs) / "bin" / name;
    if (name != "busybox" && !fs::is_symlink(link)) fs::create_symlink("busybox", link);
  }
  std::ofstream(fs::path(rootfs) / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n";
  std::ofstream(fs::path(rootfs) / "etc/group") << "root:x:0:\n";
}

json::object oci_process(const std::vector<std::string>& args, bool terminal) {
  // Docker's default capability set.
  json::array caps = strings({"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                              "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                              "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"});
  return json::object{
      {"terminal", terminal},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", strings(args)},
      {"env", strings({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       terminal ? "TERM=xterm" : "HOME=/root"})},
      {"cwd", "/"},
      {"capabilities",
       {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"noNewPrivileges", true},
  };
}

json::object oci_spec(const BundleSpec& spec) {
  json::array namespaces;
  for (const char* ns : {"pid", "ipc", "uts", "mount", "network"}) {
    if (std::string(ns) == "pid" && !spec.pid_namespace) continue;
    namespaces.push_back(json::object{{"type", ns}});
  }
  json::object linux_{
      {"namespaces", namespaces},
      {"maskedPaths", strings({"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"})},
      {"readonlyPaths", strings({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})},
  };
  if (!spec.cgroups_path.empty()) linux_["cgroupsPath"] = spec.cgroups_path;
  if (spec.memory_limit > 0) linux_["resources"] = {{"memory", {{"limit", spec.memory_limit}}}};
  auto mount = [](const char* dest, const char* type, const char* source, std::vector<std::string> options) {
    return json::object{{"destination", dest}, {"type", type}, {"source", source}, {"options", strings(options)}};
  };
  return json::object{
      {"ociVersion", "1.0.2"},
      {"process", oci_process(spec.args, spec.terminal)},
      {"root", {{"path", "rootfs"}, {"readonly", false}}},
      {"hostname", spec.hostname},
      {"mounts",
       {mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
        mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        mount("/dev/pts", "devpts", "devpts",
              {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
        mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
        mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"})}},
      {"linux", linux_},
  };
}

void write_bundle(const std::string& bundle, const BundleSpec& spec) {
  make_busybox_rootfs(bundle + "/rootfs");
  std::ofstream out(bundle + "/config.json", std::ios::trunc);
  out << json::serialize(oci_spec(spec));
  if (!out.flush()) throw std::runtime_error("write " + bundle + "/config.json");
}

}  // namespace berth::testing
