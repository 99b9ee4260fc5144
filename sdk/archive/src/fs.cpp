#include "fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <new>

#include "berth/sdk/status.hpp"

namespace berth::sdk::archive::detail {

void throw_errno(int err, std::string_view context) { throw Error::from_errno(err, context); }

void rethrow_with_context(std::string_view context) {
  std::string prefix(context);
  prefix += ": ";
  try {
    throw;
  } catch (const Error& e) {
    throw Error(e.code(), prefix + e.what());
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(Errc::internal, prefix + e.what());
  }
}

std::optional<Components> clean_path(std::string_view raw) {
  Components out;
  std::size_t begin = 0;
  while (begin <= raw.size()) {
    std::size_t end = raw.find('/', begin);
    if (end == std::string_view::npos) end = raw.size();
    const std::string_view part = raw.substr(begin, end - begin);
    if (part == "..") {
      if (out.empty()) return std::nullopt;
      out.pop_back();
    } else if (!part.empty() && part != ".") {
      out.emplace_back(part);
    }
    begin = end + 1;
  }
  return out;
}

std::string join(const Components& components, std::size_t count) {
  count = std::min(count, components.size());
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i != 0) out += '/';
    out += components[i];
  }
  return out;
}

UniqueFd open_root(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw_errno(errno, "open " + path);
  return fd;
}

namespace {

// One openat2() for the whole path; the component-wise walk below is the
// fallback (and gives the precise error) whenever this does not succeed.
UniqueFd open_beneath_fast(int root, const std::string& path) {
  struct open_how how {};
  how.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const long fd = ::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how);
  return UniqueFd(fd >= 0 ? static_cast<int>(fd) : -1);
}

}  // namespace

UniqueFd open_dir_beneath(int root, const Components& path, std::size_t count, bool create) {
  count = std::min(count, path.size());
  if (count != 0) {
    if (UniqueFd fd = open_beneath_fast(root, join(path, count))) return fd;
  }
  UniqueFd current(::openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!current) throw_errno(errno, "open layer root");
  for (std::size_t i = 0; i < count; ++i) {
    const std::string& name = path[i];
    while (true) {
      const int fd =
          ::openat(current.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        current.reset(fd);
        break;
      }
      const int err = errno;
      if (err == ENOENT) {
        if (!create) return {};
        if (::mkdirat(current.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
          throw_errno(errno, "create directory " + join(path, i + 1));
        }
        // The mode must not depend on the caller's umask.
        UniqueFd made(
            ::openat(current.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (made && ::fchmod(made.get(), 0755) != 0) {
          throw_errno(errno, "chmod directory " + join(path, i + 1));
        }
        continue;
      }
      if (err == ENOTDIR || err == ELOOP) {
        const auto st = stat_at(current.get(), name);
        if (st && S_ISLNK(st->st_mode)) {
          throw Error(Errc::invalid_argument, join(path, i + 1) + " is a symbolic link");
        }
        throw Error(Errc::invalid_argument, join(path, i + 1) + " is not a directory");
      }
      throw_errno(err, "open directory " + join(path, i + 1));
    }
  }
  return current;
}

UniqueFd open_subdir(int dir, const std::string& name) {
  UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw_errno(errno, "open directory " + name);
  return fd;
}

std::optional<struct stat> stat_at(int dir, const std::string& name) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return st;
  if (errno == ENOENT) return std::nullopt;
  throw_errno(errno, "stat " + name);
}

std::vector<std::string> list_dir(int dir) {
  const int fd = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno(errno, "open directory");
  DIR* stream = ::fdopendir(fd);
  if (stream == nullptr) {
    const int err = errno;
    ::close(fd);
    throw_errno(err, "read directory");
  }
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(stream);
    if (entry == nullptr) break;
    const std::string_view name(entry->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int err = errno;
  ::closedir(stream);
  if (err != 0) throw_errno(err, "read directory");
  std::sort(names.begin(), names.end());
  return names;
}

void check_depth(std::size_t depth) {
  if (depth > kMaxDepth) {
    throw Error(Errc::invalid_argument,
                "tree is deeper than " + std::to_string(kMaxDepth) + " levels");
  }
}

void remove_at(int dir, const std::string& name, std::size_t depth) {
  const auto st = stat_at(dir, name);
  if (!st) return;
  if (S_ISDIR(st->st_mode)) {
    UniqueFd sub;
    std::vector<std::string> children;
    try {
      check_depth(depth);
      sub = open_subdir(dir, name);
      children = list_dir(sub.get());
    } catch (...) {
      rethrow_with_context("remove " + name);
    }
    for (const auto& child : children) remove_at(sub.get(), child, depth + 1);
    if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      throw_errno(errno, "remove " + name);
    }
  } else if (::unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT) {
    throw_errno(errno, "remove " + name);
  }
}

std::string fd_path(int dir, const std::string& name) {
  std::string path = "/proc/self/fd/" + std::to_string(dir);
  if (!name.empty()) path += "/" + name;
  return path;
}

namespace {

// With an empty `name` the path is the magic link of `dir` itself, which must
// be followed to reach the directory; otherwise the last component must not.
ssize_t get_xattr(const std::string& path, bool follow, const char* key, void* buf,
                  std::size_t len) {
  return follow ? ::getxattr(path.c_str(), key, buf, len)
                : ::lgetxattr(path.c_str(), key, buf, len);
}

ssize_t list_xattr(const std::string& path, bool follow, char* buf, std::size_t len) {
  return follow ? ::listxattr(path.c_str(), buf, len) : ::llistxattr(path.c_str(), buf, len);
}

}  // namespace

std::optional<std::string> read_xattr(int dir, const std::string& name, const char* key) {
  const std::string path = fd_path(dir, name);
  const bool follow = name.empty();
  std::string value;
  while (true) {
    const ssize_t size = get_xattr(path, follow, key, nullptr, 0);
    if (size < 0) {
      if (errno == ENODATA || errno == ENOTSUP) return std::nullopt;
      throw_errno(errno, "read xattr " + std::string(key) + " of " + name);
    }
    value.resize(static_cast<std::size_t>(size));
    const ssize_t got = get_xattr(path, follow, key, value.data(), value.size());
    if (got >= 0) {
      value.resize(static_cast<std::size_t>(got));
      return value;
    }
    if (errno == ENODATA) return std::nullopt;
    if (errno != ERANGE) throw_errno(errno, "read xattr " + std::string(key) + " of " + name);
  }
}

std::vector<std::pair<std::string, std::string>> read_xattrs(int dir, const std::string& name) {
  const std::string path = fd_path(dir, name);
  const bool follow = name.empty();
  std::string list;
  while (true) {
    const ssize_t size = list_xattr(path, follow, nullptr, 0);
    if (size < 0) {
      if (errno == ENOTSUP) return {};
      throw_errno(errno, "list xattrs of " + name);
    }
    list.resize(static_cast<std::size_t>(size));
    const ssize_t got = list_xattr(path, follow, list.data(), list.size());
    if (got >= 0) {
      list.resize(static_cast<std::size_t>(got));
      break;
    }
    if (errno != ERANGE) throw_errno(errno, "list xattrs of " + name);
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t begin = 0; begin < list.size();) {
    const std::size_t end = list.find('\0', begin);
    std::string key =
        list.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    begin = end == std::string::npos ? list.size() : end + 1;
    if (key.empty()) continue;
    if (auto value = read_xattr(dir, name, key.c_str())) {
      out.emplace_back(std::move(key), std::move(*value));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool is_whiteout_device(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0;
}

bool is_opaque_dir(int dir, const std::string& name) {
  const auto value = read_xattr(dir, name, kOpaqueXattr);
  return value && *value == "y";
}

}  // namespace berth::sdk::archive::detail
