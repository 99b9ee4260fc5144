#include "rootfs.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <fstream>

namespace berth::runtime::detail {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string parent_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos || slash == 0 ? std::string("/") : path.substr(0, slash);
}

Result<void> sys_mount(const std::string& source, const std::string& target,
                       const std::string& type, unsigned long flags, const std::string& data) {
  if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
              type.empty() ? nullptr : type.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    const int err = errno;
    std::string what = "mount " + (source.empty() ? type : source) + " to " + target;
    if (!type.empty()) what += " (" + type + (data.empty() ? "" : ", " + data) + ")";
    return sys_error(what, err);
  }
  return core::ok();
}

// The flags a bind remount must keep: in a user namespace the kernel locks
// nosuid/nodev/noexec/atime flags of mounts inherited from the host and
// refuses a remount that would clear them.
unsigned long locked_flags(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return 0;
  unsigned long flags = 0;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

Result<void> remount_bind(const std::string& target, unsigned long flags) {
  flags |= MS_BIND | MS_REMOUNT;
  if (::mount(nullptr, target.c_str(), nullptr, flags, nullptr) == 0) return core::ok();
  if (errno == EPERM &&
      ::mount(nullptr, target.c_str(), nullptr, flags | locked_flags(target), nullptr) == 0) {
    return core::ok();
  }
  return sys_error("remount " + target);
}

Result<void> make_file(const std::string& path, mode_t mode = 0644) {
  BERTH_TRY(make_dirs(parent_of(path)));
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd && errno != EEXIST && errno != EISDIR) return sys_error("create " + path);
  return core::ok();
}

bool has_mount_at(const Spec& spec, const std::string& destination) {
  for (const MountEntry& m : spec.mounts) {
    if (m.destination == destination) return true;
  }
  return false;
}

const MountEntry* mount_at(const Spec& spec, const std::string& destination) {
  const MountEntry* found = nullptr;
  for (const MountEntry& m : spec.mounts) {
    if (m.destination == destination) found = &m;
  }
  return found;
}

std::string basename_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The "cgroup" mount type: the hierarchies under a tmpfs on v1 and hybrid
// hosts, the v2 hierarchy itself on a pure v2 host.
Result<void> mount_cgroups(const MountEntry& m, const std::string& target, const CgroupView& cg) {
  BERTH_TRY(make_dirs(target));
  const bool ro = (m.flags & MS_RDONLY) != 0;
  const unsigned long flags =
      (m.flags & ~static_cast<unsigned long>(MS_RDONLY)) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  auto mount_one = [&](const cgroups::Hierarchy& h, const std::string& dest) -> Result<void> {
    if (!cg.namespaced) {
      const std::string source = h.mount_point + cg.path;
      if (!exists(source)) return core::ok();
      BERTH_TRY(make_dirs(dest));
      BERTH_TRY(sys_mount(source, dest, "", MS_BIND | MS_REC, ""));
      return remount_bind(dest, flags | (ro ? MS_RDONLY : 0));
    }
    BERTH_TRY(make_dirs(dest));
    std::string data;
    for (const std::string& c : h.controllers) data += (data.empty() ? "" : ",") + c;
    const unsigned long f = flags | (ro ? MS_RDONLY : 0);
    return h.unified ? sys_mount("cgroup2", dest, "cgroup2", f, "")
                     : sys_mount("cgroup", dest, "cgroup", f, data);
  };
  if (cg.hierarchies.size() == 1 && cg.hierarchies.front().unified) {
    return mount_one(cg.hierarchies.front(), target);
  }
  BERTH_TRY(sys_mount("tmpfs", target, "tmpfs", flags, "mode=755"));
  for (const cgroups::Hierarchy& h : cg.hierarchies) {
    const std::string name = basename_of(h.mount_point);
    BERTH_TRY(mount_one(h, target + "/" + name));
    // A co-mounted hierarchy ("cpu,cpuacct") is reachable by each name.
    if (name.find(',') != std::string::npos) {
      for (const std::string& part : split(name, ',')) {
        if (!exists(target + "/" + part))
          (void)::symlink(name.c_str(), (target + "/" + part).c_str());
      }
    }
  }
  if (ro) return remount_bind(target, flags | MS_RDONLY);
  return core::ok();
}

Result<void> mount_entry(const Spec& spec, const MountEntry& m, const CgroupView& cg) {
  BERTH_TRY(const std::string target, secure_join(spec.root, m.destination));
  if (m.type == "cgroup" && !m.bind()) return mount_cgroups(m, target, cg);
  if (m.bind()) {
    struct stat st {};
    if (::stat(m.source.c_str(), &st) != 0) {
      return sys_error("mount " + m.source + " to " + m.destination + ": stat " + m.source);
    }
    if (S_ISDIR(st.st_mode)) {
      BERTH_TRY(make_dirs(target));
    } else {
      BERTH_TRY(make_file(target));
    }
    BERTH_TRY(sys_mount(m.source, target, "", MS_BIND | (m.flags & MS_REC), ""));
    const unsigned long extra =
        m.flags & ~static_cast<unsigned long>(MS_BIND | MS_REC | MS_REMOUNT);
    if (extra != 0) {
      BERTH_TRY(remount_bind(target, extra));
    }
  } else {
    BERTH_TRY(make_dirs(target));
    const std::string source = m.source.empty() ? m.type : m.source;
    auto try_mount = [&](const std::string& data) {
      return ::mount(source.c_str(), target.c_str(), m.type.c_str(), m.flags,
                     data.empty() ? nullptr : data.c_str()) == 0
                 ? 0
                 : errno;
    };
    int err = try_mount(m.data);
    if (err == EINVAL && m.type == "devpts" && m.data.find("gid=") != std::string::npos) {
      // gid=5 cannot be given when gid 5 is not mapped in a user namespace.
      std::string data;
      for (const std::string& opt : split(m.data, ',')) {
        if (!opt.starts_with("gid=")) data += (data.empty() ? "" : ",") + opt;
      }
      err = try_mount(data);
    }
    if (err == EPERM && m.type == "sysfs") {
      // A user namespace without its own network namespace may not mount
      // sysfs; show the host's instead, as runc does.
      BERTH_TRY(sys_mount("/sys", target, "", MS_BIND | MS_REC, ""));
      if (m.flags & MS_RDONLY) {
        BERTH_TRY(remount_bind(target, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
      }
      err = 0;
    }
    if (err != 0) {
      return sys_error("mount " + source + " to " + m.destination + " (" + m.type +
                           (m.data.empty() ? "" : ", " + m.data) + ")",
                       err);
    }
  }
  for (unsigned long p : m.propagation) {
    if (::mount(nullptr, target.c_str(), nullptr, p, nullptr) != 0) {
      return sys_error("set propagation of " + m.destination);
    }
  }
  if (m.attr_set != 0 || m.attr_clr != 0) {
    mount_attr attr{};
    attr.attr_set = m.attr_set;
    attr.attr_clr = m.attr_clr;
    if (::mount_setattr(AT_FDCWD, target.c_str(), AT_RECURSIVE, &attr, sizeof attr) != 0) {
      return sys_error("set recursive mount options of " + m.destination);
    }
  }
  return core::ok();
}

Result<void> make_device(const std::string& root, const DeviceSpec& d) {
  BERTH_TRY(const std::string path, secure_join(root, d.path));
  BERTH_TRY(make_dirs(parent_of(path)));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("remove " + path);
  const mode_t kind = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
  const dev_t dev = makedev(static_cast<unsigned int>(d.major), static_cast<unsigned int>(d.minor));
  if (::mknod(path.c_str(), kind | d.mode, dev) == 0) {
    if (::chown(path.c_str(), d.uid, d.gid) != 0) return sys_error("chown " + path);
    if (::chmod(path.c_str(), d.mode) != 0) return sys_error("chmod " + path);
    return core::ok();
  }
  if (errno != EPERM) return sys_error("mknod " + d.path);
  // No CAP_MKNOD over the host here (a user namespace): show the host's node.
  BERTH_TRY(make_file(path, 0));
  return sys_mount(d.path, path, "", MS_BIND, "");
}

Result<void> populate_dev(const Spec& spec) {
  const std::string& root = spec.root;
  BERTH_TRY(const std::string dev, secure_join(root, "/dev"));
  if (!has_mount_at(spec, "/dev/pts")) {
    BERTH_TRY(make_dirs(dev + "/pts"));
    MountEntry pts;
    pts.destination = "/dev/pts";
    pts.type = "devpts";
    pts.source = "devpts";
    pts.flags = MS_NOSUID | MS_NOEXEC;
    pts.data = "newinstance,ptmxmode=0666,mode=0620,gid=5";
    BERTH_TRY(mount_entry(spec, pts, {}));
  }
  if (!has_mount_at(spec, "/dev/shm")) {
    BERTH_TRY(make_dirs(dev + "/shm"));
    BERTH_TRY(sys_mount("shm", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                        "mode=1777,size=65536k"));
  }
  static const DeviceSpec defaults[] = {
      {"/dev/null", 'c', 1, 3, 0666, 0, 0},    {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
      {"/dev/full", 'c', 1, 7, 0666, 0, 0},    {"/dev/random", 'c', 1, 8, 0666, 0, 0},
      {"/dev/urandom", 'c', 1, 9, 0666, 0, 0}, {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
  };
  for (const DeviceSpec& d : defaults) {
    bool overridden = false;
    for (const DeviceSpec& s : spec.devices) overridden = overridden || s.path == d.path;
    if (!overridden) {
      BERTH_TRY(make_device(root, d));
    }
  }
  for (const DeviceSpec& d : spec.devices) {
    BERTH_TRY(make_device(root, d));
  }
  static const std::pair<const char*, const char*> links[] = {
      {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"/proc/kcore", "core"},
  };
  for (const auto& [to, name] : links) {
    const std::string link = dev + "/" + name;
    if (std::string(name) == "core" && !exists(root + "/proc/kcore")) continue;
    if (::symlink(to, link.c_str()) != 0 && errno != EEXIST) return sys_error("symlink " + link);
  }
  const std::string ptmx = dev + "/ptmx";
  if (::unlink(ptmx.c_str()) != 0 && errno != ENOENT) return sys_error("remove " + ptmx);
  if (::symlink("pts/ptmx", ptmx.c_str()) != 0) return sys_error("symlink " + ptmx);
  return core::ok();
}

// With shared root propagation the rootfs' parent mount would be shared,
// which pivot_root refuses.
Result<void> make_parent_mount_private(const std::string& root) {
  std::ifstream in("/proc/self/mountinfo");
  std::string best;
  for (std::string line; std::getline(in, line);) {
    const auto f = split(line, ' ');
    if (f.size() < 5) continue;
    const std::string& mp = f[4];
    const std::string parent = parent_of(root);
    if ((parent == mp || parent.starts_with(mp == "/" ? mp : mp + "/")) &&
        mp.size() > best.size()) {
      best = mp;
    }
  }
  if (best.empty()) best = "/";
  if (::mount(nullptr, best.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) {
    return sys_error("make " + best + " private");
  }
  return core::ok();
}

}  // namespace

Result<std::string> secure_join(const std::string& root, const std::string& path) {
  std::deque<std::string> pending;
  for (std::string& part : split(path, '/')) pending.push_back(std::move(part));
  std::vector<std::string> resolved;
  int links = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    std::string host = root;
    for (const std::string& r : resolved) host += "/" + r;
    host += "/" + part;
    struct stat st {};
    if (::lstat(host.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
      resolved.push_back(std::move(part));
      continue;
    }
    if (++links > 255) return sys_error("resolve " + path, ELOOP);
    char target[PATH_MAX];
    const ssize_t n = ::readlink(host.c_str(), target, sizeof target - 1);
    if (n < 0) return sys_error("readlink " + host);
    const std::string link(target, static_cast<std::size_t>(n));
    if (!link.empty() && link[0] == '/') resolved.clear();
    const auto parts = split(link, '/');
    pending.insert(pending.begin(), parts.begin(), parts.end());
  }
  std::string out = root;
  for (const std::string& r : resolved) out += "/" + r;
  return out;
}

Result<void> prepare_rootfs(const Spec& spec, const CgroupView& cg) {
  const unsigned long propagation =
      spec.rootfs_propagation != 0 ? spec.rootfs_propagation : MS_SLAVE | MS_REC;
  if (::mount(nullptr, "/", nullptr, propagation, nullptr) != 0) {
    return sys_error("set propagation of /");
  }
  if (propagation & MS_SHARED) {
    BERTH_TRY(make_parent_mount_private(spec.root));
  }
  BERTH_TRY(sys_mount(spec.root, spec.root, "", MS_BIND | MS_REC, ""));
  if (!has_mount_at(spec, "/dev")) {
    BERTH_TRY(const std::string dev, secure_join(spec.root, "/dev"));
    BERTH_TRY(make_dirs(dev));
    BERTH_TRY(sys_mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"));
  }
  for (const MountEntry& m : spec.mounts) {
    if (auto r = mount_entry(spec, m, cg); !r) return std::move(r).error();
  }
  const MountEntry* dev = mount_at(spec, "/dev");
  if (dev == nullptr || !dev->bind()) {
    BERTH_TRY(populate_dev(spec));
  }
  return core::ok();
}

Result<void> enter_rootfs(const std::string& rootfs) {
  Fd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!old_root) return sys_error("open /");
  Fd new_root(::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!new_root) return sys_error("open " + rootfs);
  // pivot_root(".", ".") stacks the old root over the new one at "/"; it is
  // then detached from there (runc's way, no directory for the old root).
  if (::fchdir(new_root.get()) != 0) return sys_error("chdir " + rootfs);
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return sys_error("pivot_root " + rootfs);
  if (::fchdir(old_root.get()) != 0) return sys_error("chdir to the old root");
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    return sys_error("make the old root rslave");
  }
  if (::umount2(".", MNT_DETACH) != 0) return sys_error("unmount the old root");
  if (::chdir("/") != 0) return sys_error("chdir /");
  return core::ok();
}

Result<void> bind_console(const std::string& slave_path) {
  BERTH_TRY(make_file("/dev/console", 0600));
  return sys_mount(slave_path, "/dev/console", "", MS_BIND, "");
}

Result<void> write_sysctls(const std::vector<std::pair<std::string, std::string>>& sysctl) {
  for (const auto& [key, value] : sysctl) {
    std::string rel = key;
    if (rel.find('/') == std::string::npos) {
      for (char& c : rel) c = c == '.' ? '/' : c;
    }
    if (auto r = write_existing("/proc/sys/" + rel, value); !r) {
      return std::move(r).error().wrap("sysctl " + key);
    }
  }
  return core::ok();
}

Result<void> make_readonly_paths(const std::vector<std::string>& paths) {
  for (const std::string& p : paths) {
    if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;
      return sys_error("bind readonly path " + p);
    }
    BERTH_TRY(remount_bind(p, MS_RDONLY | MS_REC));
  }
  return core::ok();
}

Result<void> mask_paths(const std::vector<std::string>& paths) {
  for (const std::string& p : paths) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      return sys_error("stat masked path " + p);
    }
    const int rc = S_ISDIR(st.st_mode) ? ::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, nullptr)
                                       : ::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr);
    if (rc != 0) return sys_error("mask " + p);
  }
  return core::ok();
}

Result<void> remount_root_readonly() { return remount_bind("/", MS_RDONLY); }

}  // namespace berth::runtime::detail
