#include "berth/sdk/layer_files.hpp"
#include "tree_copy.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string_view>
#include <vector>

#include "berth/sdk/status.hpp"

namespace berth::plugins::storage_vfs {

using namespace ::berth::sdk::files;

namespace {

using sdk::Error;

struct InodeId {
  dev_t dev;
  ino_t ino;
  auto operator<=>(const InodeId&) const = default;
};

std::string shown(const std::string& rel) { return rel.empty() ? "/" : rel; }

[[noreturn]] void fail(int err, const std::string& rel, std::string_view op) {
  throw Error::from_errno(err, "copy " + shown(rel) + ": " + std::string(op));
}

// Where an inode's extended attributes are read or written: through an open
// descriptor for files and directories; otherwise (symlinks, devices, fifos,
// sockets, which must not be opened) by a path below /proc/self/fd of the
// directory holding it, which no concurrent rename can redirect.
struct XattrTarget {
  int fd = -1;
  std::string path;

  static XattrTarget of_fd(int fd) { return {fd, {}}; }
  static XattrTarget in_dir(int dir_fd, const std::string& name) {
    return {-1, "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name};
  }

  ssize_t list(char* buf, std::size_t size) const {
    return fd >= 0 ? ::flistxattr(fd, buf, size) : ::llistxattr(path.c_str(), buf, size);
  }
  ssize_t get(const char* name, void* buf, std::size_t size) const {
    return fd >= 0 ? ::fgetxattr(fd, name, buf, size) : ::lgetxattr(path.c_str(), name, buf, size);
  }
  int set(const char* name, const void* value, std::size_t size) const {
    return fd >= 0 ? ::fsetxattr(fd, name, value, size, 0)
                   : ::lsetxattr(path.c_str(), name, value, size, 0);
  }
};

class TreeCopier {
 public:
  explicit TreeCopier(const std::string& dst_root) : dst_root_(open_dir(dst_root)) {}

  void copy_root(int src_fd) {
    struct stat st {};
    if (::fstat(src_fd, &st) != 0) fail(errno, "", "stat");
    copy_dir_contents(src_fd, dst_root_.get(), "");
    apply_metadata(st, dst_root_.get(), XattrTarget::of_fd(src_fd),
                   XattrTarget::of_fd(dst_root_.get()), "");
  }

 private:
  void copy_dir_contents(int src_dir, int dst_dir, const std::string& rel) {
    for (const std::string& name : list_dir(src_dir, rel)) {
      copy_entry(src_dir, dst_dir, name, rel.empty() ? name : rel + "/" + name);
    }
  }

  static std::vector<std::string> list_dir(int dir_fd, const std::string& rel) {
    const int fd = ::dup(dir_fd);
    if (fd < 0) fail(errno, rel, "read directory");
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      const int err = errno;
      ::close(fd);
      fail(err, rel, "read directory");
    }
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* entry = ::readdir(dir)) {
      const std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    const int err = errno;
    ::closedir(dir);
    if (err != 0) fail(err, rel, "read directory");
    return names;
  }

  void copy_entry(int src_dir, int dst_dir, const std::string& name, const std::string& rel) {
    struct stat st {};
    if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) fail(errno, rel, "stat");

    // A second name of an inode already copied becomes a hard link to that
    // copy (directories cannot have more than one).
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      const auto [it, first] = links_.try_emplace(InodeId{st.st_dev, st.st_ino}, rel);
      if (!first) {
        if (::linkat(dst_root_.get(), it->second.c_str(), dst_dir, name.c_str(), 0) != 0) {
          fail(errno, rel, "link to " + it->second);
        }
        return;
      }
    }

    switch (st.st_mode & S_IFMT) {
      case S_IFDIR:
        copy_dir(src_dir, dst_dir, name, rel, st);
        break;
      case S_IFREG:
        copy_file(src_dir, dst_dir, name, rel, st);
        break;
      case S_IFLNK:
        copy_symlink(src_dir, dst_dir, name, rel, st);
        break;
      case S_IFCHR:
      case S_IFBLK:
      case S_IFIFO:
      case S_IFSOCK:
        if (::mknodat(dst_dir, name.c_str(), (st.st_mode & S_IFMT) | S_IRUSR | S_IWUSR,
                      st.st_rdev) != 0) {
          fail(errno, rel, "mknod");
        }
        apply_metadata(st, -1, XattrTarget::in_dir(src_dir, name),
                       XattrTarget::in_dir(dst_dir, name), rel, dst_dir, name);
        break;
      default:
        fail(EINVAL, rel, "unknown file type");
    }
  }

  void copy_dir(int src_dir, int dst_dir, const std::string& name, const std::string& rel,
                const struct stat& st) {
    const Fd src(::openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (src.get() < 0) fail(errno, rel, "open");
    if (::mkdirat(dst_dir, name.c_str(), S_IRWXU) != 0) fail(errno, rel, "mkdir");
    const Fd dst(::openat(dst_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dst.get() < 0) fail(errno, rel, "open copy");
    copy_dir_contents(src.get(), dst.get(), rel);
    // After the contents: creating them changed the directory's times.
    apply_metadata(st, dst.get(), XattrTarget::of_fd(src.get()), XattrTarget::of_fd(dst.get()),
                   rel);
  }

  void copy_file(int src_dir, int dst_dir, const std::string& name, const std::string& rel,
                 const struct stat& st) {
    const Fd src(::openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (src.get() < 0) fail(errno, rel, "open");
    const Fd dst(::openat(dst_dir, name.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, S_IRUSR | S_IWUSR));
    if (dst.get() < 0) fail(errno, rel, "create");
    copy_data(src.get(), dst.get(), rel);
    apply_metadata(st, dst.get(), XattrTarget::of_fd(src.get()), XattrTarget::of_fd(dst.get()),
                   rel);
  }

  static void copy_data(int src, int dst, const std::string& rel) {
    if (::ioctl(dst, FICLONE, src) == 0) return;
    bool copied_any = false;
    for (;;) {
      const ssize_t n = ::copy_file_range(src, nullptr, dst, nullptr, std::size_t{1} << 30, 0);
      if (n > 0) {
        copied_any = true;
        continue;
      }
      if (n == 0) return;
      if (errno == EINTR) continue;
      // Filesystems (and kernels) that cannot copy in the kernel: copy by hand.
      if (!copied_any && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP ||
                          errno == EINVAL || errno == EIO)) {
        break;
      }
      fail(errno, rel, "copy data");
    }
    std::vector<char> buf(std::size_t{1} << 17);
    for (;;) {
      const ssize_t n = ::read(src, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail(errno, rel, "read");
      if (n == 0) return;
      std::size_t done = 0;
      while (done < static_cast<std::size_t>(n)) {
        const ssize_t w = ::write(dst, buf.data() + done, static_cast<std::size_t>(n) - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) fail(errno, rel, "write");
        done += static_cast<std::size_t>(w);
      }
    }
  }

  void copy_symlink(int src_dir, int dst_dir, const std::string& name, const std::string& rel,
                    const struct stat& st) {
    std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
    for (;;) {
      const ssize_t n = ::readlinkat(src_dir, name.c_str(), target.data(), target.size());
      if (n < 0) fail(errno, rel, "readlink");
      if (static_cast<std::size_t>(n) < target.size()) {
        target.resize(static_cast<std::size_t>(n));
        break;
      }
      target.resize(target.size() * 2);  // the link grew since the stat
    }
    if (::symlinkat(target.c_str(), dst_dir, name.c_str()) != 0) fail(errno, rel, "symlink");
    apply_metadata(st, -1, XattrTarget::in_dir(src_dir, name), XattrTarget::in_dir(dst_dir, name),
                   rel, dst_dir, name);
  }

  // Owner first (chown clears set-id bits and security.capability), then
  // mode, then extended attributes, then times. `fd` is the open copy, or -1
  // for inodes that are reached by `dir_fd` and `name` instead.
  void apply_metadata(const struct stat& st, int fd, const XattrTarget& from, const XattrTarget& to,
                      const std::string& rel, int dir_fd = -1, const std::string& name = {}) {
    const int chown_rc =
        fd >= 0 ? ::fchown(fd, st.st_uid, st.st_gid)
                : ::fchownat(dir_fd, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
    if (chown_rc != 0 && (privileged_ || errno != EPERM)) fail(errno, rel, "chown");

    if (!S_ISLNK(st.st_mode)) {
      const mode_t mode = st.st_mode & 07777;
      const int chmod_rc = fd >= 0 ? ::fchmod(fd, mode) : ::fchmodat(dir_fd, name.c_str(), mode, 0);
      if (chmod_rc != 0) fail(errno, rel, "chmod");
    }

    copy_xattrs(from, to, rel);

    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    const int time_rc = fd >= 0 ? ::futimens(fd, times)
                                : ::utimensat(dir_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW);
    if (time_rc != 0) fail(errno, rel, "set times");
  }

  void copy_xattrs(const XattrTarget& from, const XattrTarget& to, const std::string& rel) {
    std::vector<char> names;
    for (;;) {
      const ssize_t size = from.list(nullptr, 0);
      if (size < 0 && (errno == ENOTSUP || errno == ENODATA)) return;
      if (size < 0) fail(errno, rel, "list xattrs");
      if (size == 0) return;
      names.resize(static_cast<std::size_t>(size));
      const ssize_t got = from.list(names.data(), names.size());
      if (got >= 0) {
        names.resize(static_cast<std::size_t>(got));
        break;
      }
      if (errno != ERANGE) fail(errno, rel, "list xattrs");  // ERANGE: one was added meanwhile
    }
    std::vector<char> value;
    for (std::size_t at = 0; at < names.size();) {
      const char* name = names.data() + at;
      at += std::string_view(name).size() + 1;
      ssize_t size = 0;
      for (;;) {
        size = from.get(name, nullptr, 0);
        if (size < 0 && errno == ENODATA) break;
        if (size < 0) fail(errno, rel, std::string("read xattr ") + name);
        value.resize(static_cast<std::size_t>(size));
        size = from.get(name, value.data(), value.size());
        if (size >= 0 || errno != ERANGE) break;
      }
      if (size < 0 && errno == ENODATA) continue;  // removed meanwhile
      if (size < 0) fail(errno, rel, std::string("read xattr ") + name);
      if (to.set(name, value.data(), static_cast<std::size_t>(size)) != 0) {
        if (!privileged_ && (errno == EPERM || errno == EACCES)) continue;
        fail(errno, rel, std::string("write xattr ") + name);
      }
    }
  }

  Fd dst_root_;
  std::map<InodeId, std::string> links_;  // first copy of each multiply-linked inode
  bool privileged_ = ::geteuid() == 0;
};

}  // namespace

void copy_tree(const std::string& src, const std::string& dst) {
  const Fd src_root = open_dir(src);
  if (::mkdir(dst.c_str(), S_IRWXU) != 0) throw Error::from_errno(errno, "create " + dst);
  TreeCopier(dst).copy_root(src_root.get());
}

}  // namespace berth::plugins::storage_vfs
