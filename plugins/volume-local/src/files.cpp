#include "files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "berth/sdk/status.hpp"
#include "berth/sdk/unique_fd.hpp"

namespace berth::plugins::volume_local {

namespace {

using sdk::Errc;
using sdk::Error;
using sdk::UniqueFd;

std::string parent_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

void write_all(int fd, std::string_view text, const std::string& what) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::from_errno(errno, what);
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::vector<std::string> names_in(int dir_fd, const std::string& path) {
  const int fd = ::dup(dir_fd);
  if (fd < 0) throw Error::from_errno(errno, "read directory " + path);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    const int err = errno;
    ::close(fd);
    throw Error::from_errno(err, "read directory " + path);
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int err = errno;
  ::closedir(dir);
  if (err != 0) throw Error::from_errno(err, "read directory " + path);
  return names;
}

// Empties the directory open as `dir_fd` (at `path`, for messages), which is
// on device `dev`. Every step goes through a descriptor of the directory it
// works in, so a symlink swapped in while we walk is removed, never followed.
void remove_entries(int dir_fd, const std::string& path, dev_t dev) {
  for (const std::string& name : names_in(dir_fd, path)) {
    const std::string child = path + "/" + name;
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      throw Error::from_errno(errno, "remove " + child);
    }
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != dev) {
        throw Error(Errc::conflict, "remove " + child + ": another filesystem is mounted there");
      }
      const UniqueFd fd(
          ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) throw Error::from_errno(errno, "remove " + child);
      remove_entries(fd.get(), child, dev);
      if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
        throw Error::from_errno(errno, "remove " + child);
      }
    } else if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      throw Error::from_errno(errno, "remove " + child);
    }
  }
}

}  // namespace

std::string read_file(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return {};
    throw Error::from_errno(errno, "read " + path);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::from_errno(errno, "read " + path);
    if (n == 0) return text;
    text.append(buf, static_cast<std::size_t>(n));
  }
}

void write_file_synced(const std::string& path, std::string_view text) {
  const std::string what = "write " + path;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw Error::from_errno(errno, what);
  write_all(fd.get(), text, what);
  if (::fsync(fd.get()) != 0) throw Error::from_errno(errno, what);
  if (const int err = fd.close(); err != 0) throw Error::from_errno(err, what);
}

void write_file_atomic(const std::string& path, std::string_view text) {
  const std::string tmp = path + ".tmp";
  write_file_synced(tmp, text);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error::from_errno(err, "write " + path);
  }
  fsync_dir(parent_of(path));
}

void remove_file_durably(const std::string& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return;
    throw Error::from_errno(errno, "remove " + path);
  }
  fsync_dir(parent_of(path));
}

void fsync_dir(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) throw Error::from_errno(errno, "sync directory " + path);
}

void ensure_dir(const std::string& path, unsigned mode) {
  if (::mkdir(path.c_str(), mode) == 0) {
    if (::chmod(path.c_str(), mode) != 0) throw Error::from_errno(errno, "chmod " + path);
    return;
  }
  const int err = errno;
  struct stat st {};
  if (err == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return;
  throw Error::from_errno(err == EEXIST ? ENOTDIR : err, "create directory " + path);
}

std::string make_temp_dir(const std::string& dir, std::string_view prefix, unsigned mode) {
  std::string path = dir + "/" + std::string(prefix) + "XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) throw Error::from_errno(errno, "create directory " + path);
  if (::chmod(path.c_str(), mode) != 0) {
    const int err = errno;
    ::rmdir(path.c_str());
    throw Error::from_errno(err, "chmod " + path);
  }
  return path;
}

void rename_no_replace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
  // Filesystems without RENAME_NOREPLACE (EINVAL): check, then rename. The
  // driver's lock keeps its own calls from racing in between.
  if (errno != EINVAL) throw Error::from_errno(errno, "rename " + from + " to " + to);
  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0)
    throw Error::from_errno(EEXIST, "rename " + from + " to " + to);
  if (::rename(from.c_str(), to.c_str()) != 0) {
    throw Error::from_errno(errno, "rename " + from + " to " + to);
  }
}

std::vector<std::string> list_dir(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw Error::from_errno(errno, "read directory " + path);
  return names_in(fd.get(), path);
}

void remove_tree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw Error::from_errno(errno, "remove " + path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      throw Error::from_errno(errno, "remove " + path);
    }
    return;
  }
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw Error::from_errno(errno, "remove " + path);
  struct stat dir {};
  if (::fstat(fd.get(), &dir) != 0) throw Error::from_errno(errno, "remove " + path);
  remove_entries(fd.get(), path, dir.st_dev);
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
    throw Error::from_errno(errno, "remove " + path);
  }
}

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) throw Error::from_errno(errno, "resolve " + path);
  return buf;
}

}  // namespace berth::plugins::volume_local
