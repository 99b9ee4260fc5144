#include "berth/core/fs_copy.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>

#include "berth/core/unique_fd.hpp"

namespace berth::core {

namespace {

using LinkMap = std::map<std::pair<dev_t, ino_t>, std::string>;

struct Copy {
  const CopyOptions& options;
  int root;  // the destination's root: hard links are made relative to it
  LinkMap links;
};

Error copy_error(const std::string& what, int err) { return errno_error(Errc::internal, "copy: " + what, err); }

uid_t owner_uid(const Copy& c, const struct stat& st) { return c.options.owner ? c.options.owner->first : st.st_uid; }
gid_t owner_gid(const Copy& c, const struct stat& st) { return c.options.owner ? c.options.owner->second : st.st_gid; }

// Makes room for a non-directory at `name`: what is there goes, unless it
// is a directory (an error, as Docker's "cannot overwrite directory").
Result<void> clear_name(int dir, const std::string& name, const std::string& path) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return ok();
  if (S_ISDIR(st.st_mode)) return make_error(Errc::invalid_argument, "cannot overwrite directory " + path + " with a file");
  if (::unlinkat(dir, name.c_str(), 0) != 0) return copy_error("replace " + path, errno);
  return ok();
}

Result<void> copy_file(Copy& c, int src_dir, const std::string& name, int dst_dir, const std::string& dst_name,
                       const struct stat& st, const std::string& path) {
  UniqueFd in(::openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (in.get() < 0) return copy_error("open " + path, errno);
  UniqueFd out(::openat(dst_dir, dst_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        st.st_mode & 07777));
  if (out.get() < 0) return copy_error("create " + path, errno);
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return copy_error("read " + path, errno);
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out.get(), buf + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return copy_error("write " + path, errno);
      done += w;
    }
  }
  if (::fchown(out.get(), owner_uid(c, st), owner_gid(c, st)) != 0 || ::fchmod(out.get(), st.st_mode & 07777) != 0) {
    return copy_error("set owner of " + path, errno);
  }
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  (void)::futimens(out.get(), times);
  return ok();
}

Result<void> copy_tree(Copy& c, int src_dir, int dst_dir, const std::string& rel, int depth);

// One entry of `src_dir` (stat `st`) to `dst_name` in `dst_dir`.
Result<void> copy_one(Copy& c, int src_dir, const std::string& name, int dst_dir, const std::string& dst_name,
                      const struct stat& st, const std::string& path, int depth) {
  if (S_ISDIR(st.st_mode)) {
    struct stat existing {};
    const bool merge = c.options.replace && ::fstatat(dst_dir, dst_name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0 &&
                       S_ISDIR(existing.st_mode);
    if (!merge) {
      if (c.options.replace) {
        BERTH_TRY(clear_name(dst_dir, dst_name, path));
      }
      if (::mkdirat(dst_dir, dst_name.c_str(), 0700) != 0) return copy_error("mkdir " + path, errno);
    }
    UniqueFd src(::openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    UniqueFd dst(::openat(dst_dir, dst_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (src.get() < 0 || dst.get() < 0) return copy_error("open directory " + path, errno);
    BERTH_TRY(copy_tree(c, src.get(), dst.get(), path, depth + 1));
    if (::fchown(dst.get(), owner_uid(c, st), owner_gid(c, st)) != 0 || ::fchmod(dst.get(), st.st_mode & 07777) != 0) {
      return copy_error("set owner of " + path, errno);
    }
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    (void)::futimens(dst.get(), times);
    return ok();
  }
  if (c.options.replace) {
    BERTH_TRY(clear_name(dst_dir, dst_name, path));
  }
  if (S_ISREG(st.st_mode)) {
    // Every directory on the way to an earlier copy was made by this copy:
    // the path holds no symlink.
    if (auto it = c.links.find({st.st_dev, st.st_ino});
        it != c.links.end() && ::linkat(c.root, it->second.c_str(), dst_dir, dst_name.c_str(), 0) == 0) {
      return ok();
    }
    BERTH_TRY(copy_file(c, src_dir, name, dst_dir, dst_name, st, path));
    if (st.st_nlink > 1) c.links[{st.st_dev, st.st_ino}] = path;
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
    const ssize_t n = ::readlinkat(src_dir, name.c_str(), target.data(), target.size());
    if (n < 0) return copy_error("readlink " + path, errno);
    target.resize(static_cast<std::size_t>(n));
    if (::symlinkat(target.c_str(), dst_dir, dst_name.c_str()) != 0) return copy_error("symlink " + path, errno);
    (void)::fchownat(dst_dir, dst_name.c_str(), owner_uid(c, st), owner_gid(c, st), AT_SYMLINK_NOFOLLOW);
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
    if (::mknodat(dst_dir, dst_name.c_str(), st.st_mode, st.st_rdev) != 0) return copy_error("mknod " + path, errno);
    (void)::fchownat(dst_dir, dst_name.c_str(), owner_uid(c, st), owner_gid(c, st), AT_SYMLINK_NOFOLLOW);
  }
  return ok();
}

Result<void> copy_tree(Copy& c, int src_dir, int dst_dir, const std::string& rel, int depth) {
  if (depth > 256) return copy_error("tree too deep at " + rel, ELOOP);
  const int dup_fd = ::dup(src_dir);
  if (dup_fd < 0) return copy_error("dup", errno);
  DIR* d = ::fdopendir(dup_fd);
  if (d == nullptr) {
    ::close(dup_fd);
    return copy_error("read directory " + rel, errno);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> dir(d, ::closedir);
  while (auto* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = rel.empty() ? name : rel + "/" + name;
    struct stat st {};
    if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return copy_error("stat " + path, errno);
    BERTH_TRY(copy_one(c, src_dir, name, dst_dir, name, st, path, depth));
  }
  return ok();
}

}  // namespace

Result<void> copy_dir_contents(int src_dir, int dst_dir, const CopyOptions& options) {
  Copy c{options, dst_dir, {}};
  return copy_tree(c, src_dir, dst_dir, "", 0);
}

Result<void> copy_entry(int src_dir, const std::string& name, int dst_dir, const std::string& dst_name,
                        const CopyOptions& options) {
  struct stat st {};
  if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return copy_error("stat " + name, errno);
  CopyOptions replace = options;
  replace.replace = true;
  Copy r{replace, dst_dir, {}};
  return copy_one(r, src_dir, name, dst_dir, dst_name, st, dst_name, 0);
}

}  // namespace berth::core
