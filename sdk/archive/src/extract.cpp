#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <map>
#include <string>
#include <unordered_set>

#include "berth/sdk/layer_archive.hpp"
#include "berth/sdk/status.hpp"
#include "fs.hpp"
#include "tar_io.hpp"

namespace berth::sdk::archive {

namespace {

using detail::clean_path;
using detail::Components;
using detail::join;
using detail::open_dir_beneath;
using detail::remove_at;
using detail::stat_at;
using detail::throw_errno;
using detail::UniqueFd;

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

[[noreturn]] void refuse(const std::string& why) { throw Error(Errc::invalid_argument, why); }

struct Owner {
  uid_t uid;
  gid_t gid;
};

Owner owner_of(archive_entry* e) {
  const la_int64_t uid = archive_entry_uid(e);
  const la_int64_t gid = archive_entry_gid(e);
  // (uid_t)-1 means "leave unchanged" to chown(2); it is no owner.
  constexpr la_int64_t limit = std::numeric_limits<uid_t>::max();
  if (uid < 0 || uid >= limit) refuse("owner uid " + std::to_string(uid) + " is out of range");
  if (gid < 0 || gid >= limit) refuse("owner gid " + std::to_string(gid) + " is out of range");
  return {static_cast<uid_t>(uid), static_cast<gid_t>(gid)};
}

struct Times {
  struct timespec atime, mtime;
};

Times times_of(archive_entry* e) {
  Times t{};
  if (archive_entry_mtime_is_set(e) != 0) {
    t.mtime = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
  } else {
    t.mtime = {0, UTIME_OMIT};
  }
  if (archive_entry_atime_is_set(e) != 0) {
    t.atime = {archive_entry_atime(e), archive_entry_atime_nsec(e)};
  } else {
    t.atime = t.mtime;
  }
  return t;
}

// Extended attributes worth setting. Overlay's own trusted.overlay.* come
// only from whiteout markers: from a tar they could turn a file into a
// redirect or metacopy into another layer.
template <class Set>
void for_each_xattr(archive_entry* e, const Set& set) {
  archive_entry_xattr_reset(e);
  const char* key = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
    if (key == nullptr || *key == '\0') continue;
    if (std::string_view(key).starts_with(detail::kOverlayXattrPrefix)) continue;
    if (set(key, value, size) != 0) {
      // Docker's rule: a file system (or a namespace: user.* on a symlink)
      // that cannot hold the attribute is not an error.
      if (errno == ENOTSUP || errno == EPERM) continue;
      throw_errno(errno, std::string("set xattr ") + key);
    }
  }
}

class Extractor {
 public:
  Extractor(const std::string& dest, const ExtractOptions& options)
      : root_(detail::open_root(dest)), options_(options) {}

  std::int64_t run(const ReadFn& read) {
    detail::TarReader reader(read);
    while (archive_entry* e = reader.next()) {
      const char* raw = archive_entry_pathname(e);
      if (raw == nullptr) refuse("extract: an entry has no readable name");
      try {
        entry(reader, e, raw);
      } catch (...) {
        detail::rethrow_with_context(std::string("extract ") + raw);
      }
    }
    set_directory_times();
    return bytes_;
  }

 private:
  void entry(detail::TarReader& reader, archive_entry* e, const std::string& raw) {
    auto cleaned = clean_path(raw);
    if (!cleaned) refuse("path leaves the layer root");
    const Components& path = *cleaned;
    detail::check_depth(path.size());
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
      // aufs' metadata directories (.wh..wh.plnk, …): not part of the tree.
      if (path[i].starts_with(kWhiteoutMetaPrefix)) return;
      if (path[i].starts_with(kWhiteoutPrefix))
        refuse("whiteout prefix in directory " + join(path, i + 1));
    }
    // Refused before anything is created for the entry.
    if (options_.preserve_owner) owner_of(e);
    if (path.empty()) return root_entry(e);
    if (path.back().starts_with(kWhiteoutPrefix)) return whiteout(path);
    if (const char* target = archive_entry_hardlink(e)) return hardlink(path, target);
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR:
        return directory(path, e);
      case AE_IFREG:
        return regular_file(reader, path, e);
      case AE_IFLNK:
        return symlink(path, e);
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO:
        return special_file(path, e);
      default:
        refuse("unsupported entry type " + std::to_string(archive_entry_filetype(e)));
    }
  }

  void root_entry(archive_entry* e) {
    if (archive_entry_filetype(e) != AE_IFDIR || archive_entry_hardlink(e) != nullptr) {
      refuse("names the layer root but is not a directory");
    }
    set_fd_metadata(root_.get(), e);
    dir_times_[""] = times_of(e);
  }

  void directory(const Components& path, archive_entry* e) {
    const UniqueFd parent = open_dir_beneath(root_.get(), path, path.size() - 1, true);
    const std::string& name = path.back();
    auto existing = stat_at(parent.get(), name);
    // A directory over a directory merges into it, as Docker does.
    if (existing && !S_ISDIR(existing->st_mode)) {
      remove_at(parent.get(), name);
      existing.reset();
    }
    if (!existing && ::mkdirat(parent.get(), name.c_str(), 0700) != 0) throw_errno(errno, "mkdir");
    const UniqueFd dir = detail::open_subdir(parent.get(), name);
    set_fd_metadata(dir.get(), e);
    // Its mtime is set last: creating its contents would change it.
    dir_times_[join(path)] = times_of(e);
    mark_extracted(path);
  }

  void regular_file(detail::TarReader& reader, const Components& path, archive_entry* e) {
    const UniqueFd parent = open_dir_beneath(root_.get(), path, path.size() - 1, true);
    const std::string& name = path.back();
    remove_at(parent.get(), name);
    const UniqueFd file(::openat(parent.get(), name.c_str(),
                                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file) throw_errno(errno, "create");
    reader.read_data([&](std::int64_t offset, const void* data, std::size_t size) {
      const auto* bytes = static_cast<const char*>(data);
      while (size != 0) {
        const ssize_t n = ::pwrite(file.get(), bytes, size, offset);
        if (n < 0) {
          if (errno == EINTR) continue;
          throw_errno(errno, "write");
        }
        bytes += n;
        size -= static_cast<std::size_t>(n);
        offset += n;
        bytes_ += n;
      }
    });
    // A sparse file's trailing hole.
    if (archive_entry_size_is_set(e) != 0 && ::ftruncate(file.get(), archive_entry_size(e)) != 0) {
      throw_errno(errno, "truncate");
    }
    set_fd_metadata(file.get(), e);
    const Times t = times_of(e);
    const struct timespec ts[2] = {t.atime, t.mtime};
    if (::futimens(file.get(), ts) != 0) throw_errno(errno, "set times");
    mark_extracted(path);
  }

  void symlink(const Components& path, archive_entry* e) {
    const char* target = archive_entry_symlink(e);
    if (target == nullptr || *target == '\0') refuse("symlink has no target");
    const UniqueFd parent = open_dir_beneath(root_.get(), path, path.size() - 1, true);
    const std::string& name = path.back();
    remove_at(parent.get(), name);
    if (::symlinkat(target, parent.get(), name.c_str()) != 0) throw_errno(errno, "create symlink");
    set_path_metadata(parent.get(), name, e, false);
    mark_extracted(path);
  }

  void special_file(const Components& path, archive_entry* e) {
    const auto type = archive_entry_filetype(e);
    if (type != AE_IFIFO && !options_.allow_devices) refuse("device nodes are not allowed");
    const UniqueFd parent = open_dir_beneath(root_.get(), path, path.size() - 1, true);
    const std::string& name = path.back();
    remove_at(parent.get(), name);
    const dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(e);
    if (::mknodat(parent.get(), name.c_str(), static_cast<mode_t>(type) | 0600, dev) != 0) {
      throw_errno(errno, "mknod");
    }
    set_path_metadata(parent.get(), name, e, true);
    mark_extracted(path);
  }

  void hardlink(const Components& path, const char* raw_target) {
    const std::string context = std::string("hardlink target ") + raw_target;
    const auto target = clean_path(raw_target);
    if (!target) refuse(context + " leaves the layer root");
    if (target->empty()) refuse(context + " is the layer root");
    UniqueFd target_parent;
    try {
      target_parent = open_dir_beneath(root_.get(), *target, target->size() - 1, false);
    } catch (...) {
      detail::rethrow_with_context(context);
    }
    const auto target_st =
        target_parent ? stat_at(target_parent.get(), target->back()) : std::nullopt;
    if (!target_st) refuse(context + " is not extracted");
    if (S_ISDIR(target_st->st_mode)) refuse(context + " is a directory");

    const UniqueFd parent = open_dir_beneath(root_.get(), path, path.size() - 1, true);
    const std::string& name = path.back();
    if (const auto existing = stat_at(parent.get(), name)) {
      if (existing->st_dev == target_st->st_dev && existing->st_ino == target_st->st_ino) {
        return mark_extracted(path);
      }
      remove_at(parent.get(), name);
    }
    // No AT_SYMLINK_FOLLOW: a link to a symlink is a link to the symlink.
    if (::linkat(target_parent.get(), target->back().c_str(), parent.get(), name.c_str(), 0) != 0) {
      throw_errno(errno, "link to " + join(*target));
    }
    mark_extracted(path);
  }

  void whiteout(const Components& path) {
    const std::string& marker = path.back();
    Components dir(path.begin(), path.end() - 1);
    if (marker == kOpaqueMarker) return opaque(dir);
    if (marker.starts_with(kWhiteoutMetaPrefix)) return;  // other aufs metadata
    const std::string victim = marker.substr(kWhiteoutPrefix.size());
    if (victim.empty() || victim == "." || victim == "..") refuse("whiteout names no file");

    if (options_.whiteouts == WhiteoutMode::apply) {
      const UniqueFd parent = open_dir_beneath(root_.get(), dir, dir.size(), false);
      if (parent) remove_at(parent.get(), victim);
      return;
    }
    const UniqueFd parent = open_dir_beneath(root_.get(), dir, dir.size(), true);
    remove_at(parent.get(), victim);
    if (::mknodat(parent.get(), victim.c_str(), S_IFCHR, makedev(0, 0)) != 0) {
      throw_errno(errno, "create whiteout " + victim);
    }
    dir.push_back(victim);
    mark_extracted(dir);
  }

  void opaque(const Components& dir) {
    if (options_.whiteouts == WhiteoutMode::apply) {
      const UniqueFd fd = open_dir_beneath(root_.get(), dir, dir.size(), false);
      if (fd) clear_opaque(fd.get(), join(dir), dir.size());
      return;
    }
    const UniqueFd path_fd = open_dir_beneath(root_.get(), dir, dir.size(), true);
    const UniqueFd fd(::openat(path_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno(errno, "open directory");
    if (::fsetxattr(fd.get(), detail::kOpaqueXattr, "y", 1, 0) != 0) {
      throw_errno(errno, std::string("set xattr ") + detail::kOpaqueXattr);
    }
    mark_extracted(dir);
  }

  // Removes what the directory held before this layer, keeping what this
  // layer put there whichever order the tar listed the marker in.
  void clear_opaque(int dir, const std::string& rel, std::size_t depth) {
    detail::check_depth(depth);
    for (const auto& name : detail::list_dir(dir)) {
      const std::string child = rel.empty() ? name : rel + "/" + name;
      if (!extracted_.contains(child)) {
        remove_at(dir, name, depth + 1);
        continue;
      }
      const auto st = stat_at(dir, name);
      if (st && S_ISDIR(st->st_mode)) {
        const UniqueFd sub(
            ::openat(dir, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) throw_errno(errno, "open directory " + child);
        clear_opaque(sub.get(), child, depth + 1);
      }
    }
  }

  void set_fd_metadata(int fd, archive_entry* e) {
    if (options_.preserve_owner) {
      const Owner owner = owner_of(e);
      if (::fchown(fd, owner.uid, owner.gid) != 0) throw_errno(errno, "chown");
    }
    // After chown, which clears set-user-ID and set-group-ID bits.
    if (::fchmod(fd, archive_entry_perm(e)) != 0) throw_errno(errno, "chmod");
    // After chown too, which drops security.capability.
    for_each_xattr(e, [fd](const char* key, const void* value, std::size_t size) {
      return ::fsetxattr(fd, key, value, size, 0);
    });
  }

  void set_path_metadata(int parent, const std::string& name, archive_entry* e, bool chmod) {
    if (options_.preserve_owner) {
      const Owner owner = owner_of(e);
      if (::fchownat(parent, name.c_str(), owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) != 0) {
        throw_errno(errno, "chown");
      }
    }
    if (chmod) {
      // fchmodat() would follow a symlink and fchmod() refuses O_PATH; the
      // magic link of an O_PATH descriptor reaches the node itself.
      const UniqueFd node(::openat(parent, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!node) throw_errno(errno, "open");
      if (::chmod(detail::fd_path(node.get()).c_str(), archive_entry_perm(e)) != 0) {
        throw_errno(errno, "chmod");
      }
    }
    const std::string path = detail::fd_path(parent, name);
    for_each_xattr(e, [&path](const char* key, const void* value, std::size_t size) {
      return ::lsetxattr(path.c_str(), key, value, size, 0);
    });
    const Times t = times_of(e);
    const struct timespec ts[2] = {t.atime, t.mtime};
    if (::utimensat(parent, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
      throw_errno(errno, "set times");
    }
  }

  void set_directory_times() {
    for (const auto& [rel, t] : dir_times_) {
      const struct timespec ts[2] = {t.atime, t.mtime};
      if (rel.empty()) {
        if (::futimens(root_.get(), ts) != 0) throw_errno(errno, "set times of the layer root");
        continue;
      }
      const Components path = *clean_path(rel);
      UniqueFd parent;
      try {
        parent = open_dir_beneath(root_.get(), path, path.size() - 1, false);
      } catch (const Error&) {
        continue;  // a later entry replaced an ancestor with a non-directory
      }
      if (!parent) continue;
      const auto st = stat_at(parent.get(), path.back());
      if (!st || !S_ISDIR(st->st_mode)) continue;
      if (::utimensat(parent.get(), path.back().c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
        throw_errno(errno, "set times of " + rel);
      }
    }
  }

  // Records `path` and its ancestors as put there by this layer.
  void mark_extracted(const Components& path) {
    for (std::size_t n = path.size(); n > 0; --n) {
      if (!extracted_.insert(join(path, n)).second) break;
    }
  }

  UniqueFd root_;
  const ExtractOptions& options_;
  std::unordered_set<std::string> extracted_;
  std::map<std::string, Times> dir_times_;
  std::int64_t bytes_ = 0;
};

}  // namespace

std::int64_t extract_layer(const ReadFn& read, const std::string& dest,
                           const ExtractOptions& options) {
  Extractor extractor(dest, options);
  return extractor.run(read);
}

}  // namespace berth::sdk::archive
