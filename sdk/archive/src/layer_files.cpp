#include "berth/sdk/layer_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

namespace berth::sdk::files {

using sdk::Errc;
using sdk::Error;

Fd open_dir(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw Error::from_errno(errno, "open " + path);
  return Fd(fd);
}

void ensure_dir(const std::string& path, unsigned mode) {
  if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) == 0) return;
  const int err = errno;
  struct stat st {};
  if (err == EEXIST && ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return;
  throw Error::from_errno(err == EEXIST ? ENOTDIR : err, "create directory " + path);
}

std::string make_temp_dir(const std::string& dir, std::string_view prefix) {
  std::string pattern = dir + "/" + std::string(prefix) + "XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw Error::from_errno(errno, "create temporary directory in " + dir);
  }
  return pattern;
}

void fsync_dir(const std::string& path) {
  const Fd dir = open_dir(path);
  if (::fsync(dir.get()) != 0) throw Error::from_errno(errno, "fsync " + path);
}

void sync_filesystem(const std::string& path) {
  const Fd dir = open_dir(path);
  if (::syncfs(dir.get()) != 0) throw Error::from_errno(errno, "sync filesystem of " + path);
}

void write_file_synced(const std::string& path, std::string_view content) {
  Fd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (file.get() < 0) throw Error::from_errno(errno, "create " + path);
  while (!content.empty()) {
    const ssize_t n = ::write(file.get(), content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::from_errno(errno, "write " + path);
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(file.get()) != 0) throw Error::from_errno(errno, "fsync " + path);
}

std::string read_file_if_exists(const std::string& path) {
  const Fd file(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (file.get() < 0) {
    if (errno == ENOENT) return {};
    throw Error::from_errno(errno, "open " + path);
  }
  std::string content;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(file.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::from_errno(errno, "read " + path);
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
  }
  return content;
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) throw Error::from_errno(ec.value(), "remove " + path);
}

std::string backing_filesystem(const std::string& path) {
  struct statfs fs {};
  if (::statfs(path.c_str(), &fs) != 0) throw Error::from_errno(errno, "statfs " + path);
  // The magic numbers of linux/magic.h, named as Docker's graphdriver names them.
  static constexpr std::pair<std::uint32_t, const char*> names[] = {
      {0xEF53, "extfs"},        {0x58465342, "xfs"},       {0x9123683E, "btrfs"},
      {0x01021994, "tmpfs"},    {0x794C7630, "overlayfs"}, {0x2FC12FC1, "zfs"},
      {0x6969, "nfs"},          {0x52654973, "reiserfs"},  {0x4D44, "msdos"},
      {0xF15F, "ecryptfs"},     {0x65735546, "fuse"},      {0xF2F52010, "f2fs"},
      {0x73717368, "squashfs"}, {0x858458F6, "ramfs"},     {0xFF534D42, "cifs"},
      {0x5346414F, "afs"},      {0x012FF7B4, "xenix"},     {0x6A656A63, "fakeowner"},
  };
  const auto magic = static_cast<std::uint32_t>(fs.f_type);
  const auto* it = std::find_if(std::begin(names), std::end(names),
                                [&](const auto& entry) { return entry.first == magic; });
  return it != std::end(names) ? it->second : "<unknown>";
}

namespace {

struct InodeId {
  dev_t dev;
  ino_t ino;
  auto operator<=>(const InodeId&) const = default;
};

void add_usage(int dir_fd, const std::string& path, std::set<InodeId>& seen, sdk::Usage& usage) {
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

  for (const std::string& name : names) {
    const std::string child = path + "/" + name;
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed while we walk
      throw Error::from_errno(errno, "stat " + child);
    }
    if (!seen.insert(InodeId{st.st_dev, st.st_ino}).second) continue;
    usage.size_bytes += st.st_size;
    usage.inodes += 1;
    if (S_ISDIR(st.st_mode)) {
      const Fd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.get() < 0) throw Error::from_errno(errno, "open " + child);
      add_usage(sub.get(), child, seen, usage);
    }
  }
}

}  // namespace

sdk::Usage tree_usage(const std::string& root) {
  const Fd dir = open_dir(root);
  struct stat st {};
  if (::fstat(dir.get(), &st) != 0) throw Error::from_errno(errno, "stat " + root);
  sdk::Usage usage{st.st_size, 1};
  std::set<InodeId> seen{InodeId{st.st_dev, st.st_ino}};
  add_usage(dir.get(), root, seen, usage);
  return usage;
}

void check_layer_id(std::string_view id, const std::string& context) {
  constexpr std::size_t max_length = 128;
  const bool valid =
      !id.empty() && id.size() <= max_length && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
      });
  if (valid) return;
  std::string shown(id.substr(0, 64));
  std::replace_if(
      shown.begin(), shown.end(), [](char c) { return c < 0x20 || c == 0x7f; }, '?');
  throw Error(Errc::invalid_argument, context + ": invalid layer id \"" + shown +
                                          "\" (want 1 to 128 characters of [a-zA-Z0-9_-])");
}

}  // namespace berth::sdk::files
