#include "berth/core/container/archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <vector>

#include "../registry/base64.hpp"
#include "berth/core/container/exec_user.hpp"

namespace berth::core::container {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= path.size()) {
    auto end = path.find('/', at);
    if (end == std::string_view::npos) end = path.size();
    if (end > at) out.emplace_back(path.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// filepath.Clean of an absolute path.
std::string clean_abs(std::string_view path) {
  std::vector<std::string> parts;
  for (auto& c : components(path)) {
    if (c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(std::move(c));
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

// Go's os.FileMode of a stat mode.
std::uint32_t go_file_mode(mode_t m) {
  std::uint32_t mode = static_cast<std::uint32_t>(m & 0777);
  if (S_ISDIR(m)) mode |= 1u << 31;
  if (S_ISLNK(m)) mode |= 1u << 27;
  if (S_ISFIFO(m)) mode |= 1u << 25;
  if (S_ISSOCK(m)) mode |= 1u << 24;
  if (S_ISBLK(m)) mode |= 1u << 26;
  if (S_ISCHR(m)) mode |= (1u << 26) | (1u << 21);
  if ((m & S_ISUID) != 0) mode |= 1u << 23;
  if ((m & S_ISGID) != 0) mode |= 1u << 22;
  if ((m & S_ISVTX) != 0) mode |= 1u << 20;
  return mode;
}

// Go's time.RFC3339Nano in UTC (trailing zeros of the fraction dropped).
std::string rfc3339_nano(const timespec& ts) {
  std::tm tm{};
  ::gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (ts.tv_nsec != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09ld", static_cast<long>(ts.tv_nsec));
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

class TarOut {
 public:
  explicit TarOut(const image::WriteFn& write) : write_(write), a_(archive_write_new()) {
    archive_write_set_format_pax_restricted(a_);
    archive_write_set_bytes_in_last_block(a_, 1);
    archive_write_open(a_, this, nullptr, &TarOut::on_write, nullptr);
  }
  ~TarOut() { archive_write_free(a_); }
  TarOut(const TarOut&) = delete;
  TarOut& operator=(const TarOut&) = delete;

  Result<void> add(const std::string& host, const std::string& name) {
    struct stat st {};
    if (::lstat(host.c_str(), &st) != 0) return errno_error(Errc::internal, "lstat " + host, errno);
    if (S_ISSOCK(st.st_mode)) return ok();
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                    &archive_entry_free);
    archive_entry_copy_stat(e.get(), &st);
    archive_entry_unset_atime(e.get());
    archive_entry_unset_ctime(e.get());
    archive_entry_unset_birthtime(e.get());
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, 0);
    archive_entry_copy_pathname(
        e.get(), (S_ISDIR(st.st_mode) && !name.ends_with("/") ? name + "/" : name).c_str());
    bool data = S_ISREG(st.st_mode);
    if (S_ISLNK(st.st_mode)) {
      std::string target(4096, '\0');
      auto n = ::readlink(host.c_str(), target.data(), target.size());
      if (n < 0) return errno_error(Errc::internal, "readlink " + host, errno);
      target.resize(static_cast<std::size_t>(n));
      archive_entry_copy_symlink(e.get(), target.c_str());
    } else if (data && st.st_nlink > 1) {
      auto key = std::make_pair(st.st_dev, st.st_ino);
      if (auto it = links_.find(key); it != links_.end()) {
        archive_entry_copy_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        data = false;
      } else {
        links_.emplace(key, name);
      }
    }
    int fd = -1;
    if (data) {
      fd = ::open(host.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return errno_error(Errc::internal, "open " + host, errno);
    }
    struct Closer {
      int fd;
      ~Closer() {
        if (fd >= 0) ::close(fd);
      }
    } closer{fd};
    if (archive_write_header(a_, e.get()) != ARCHIVE_OK) return failure();
    if (!data) return ok();
    std::vector<char> buf(1 << 16);
    std::int64_t left = st.st_size;
    while (left > 0) {
      auto n =
          ::read(fd, buf.data(), static_cast<std::size_t>(std::min<std::int64_t>(left, 1 << 16)));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error(Errc::internal, "read " + host, errno);
      if (n == 0) break;  // shrank meanwhile: the header promised more, pad with zeros
      if (archive_write_data(a_, buf.data(), static_cast<std::size_t>(n)) < 0) return failure();
      left -= n;
    }
    if (left > 0) {
      std::fill(buf.begin(), buf.end(), '\0');
      while (left > 0) {
        auto chunk = static_cast<std::size_t>(std::min<std::int64_t>(left, 1 << 16));
        if (archive_write_data(a_, buf.data(), chunk) < 0) return failure();
        left -= static_cast<std::int64_t>(chunk);
      }
    }
    return ok();
  }

  // `host` and, for a directory, everything below it, sorted by name.
  Result<void> add_tree(const std::string& host, const std::string& name, bool self) {
    if (self) {
      BERTH_TRY(add(host, name));
    }
    struct stat st {};
    if (::lstat(host.c_str(), &st) != 0) return errno_error(Errc::internal, "lstat " + host, errno);
    if (!S_ISDIR(st.st_mode)) return ok();
    std::vector<std::string> names;
    {
      DIR* dir = ::opendir(host.c_str());
      if (dir == nullptr) return errno_error(Errc::internal, "open " + host, errno);
      while (const dirent* d = ::readdir(dir)) {
        std::string n = d->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
      }
      ::closedir(dir);
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      std::string child = name.empty() ? n : (name.ends_with("/") ? name + n : name + "/" + n);
      BERTH_TRY(add_tree(host + "/" + n, child, true));
    }
    return ok();
  }

  // Writes entry `e` of `in` with its data.
  Result<void> copy(struct archive* in, archive_entry* e) {
    if (archive_write_header(a_, e) != ARCHIVE_OK) return failure();
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
      int r = archive_read_data_block(in, &block, &size, &offset);
      if (r == ARCHIVE_EOF) return ok();
      if (r < ARCHIVE_WARN) {
        const char* msg = archive_error_string(in);
        return make_error(Errc::internal,
                          std::string("read tar: ") + (msg != nullptr ? msg : "unknown error"));
      }
      if (archive_write_data(a_, block, size) < 0) return failure();
    }
  }

  Result<void> close() {
    if (archive_write_close(a_) != ARCHIVE_OK) return failure();
    return ok();
  }

 private:
  static la_ssize_t on_write(struct archive*, void* self, const void* buf, size_t len) {
    auto* t = static_cast<TarOut*>(self);
    if (!t->write_(buf, len)) {
      t->gone_ = true;
      return -1;
    }
    return static_cast<la_ssize_t>(len);
  }
  Error failure() const {
    if (gone_) return make_error(Errc::unavailable, "the client went away");
    const char* msg = archive_error_string(a_);
    return make_error(Errc::internal,
                      std::string("write tar: ") + (msg != nullptr ? msg : "unknown error"));
  }

  const image::WriteFn& write_;
  struct archive* a_;
  bool gone_ = false;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

}  // namespace

Result<ContainerPath> resolve_container_path(const std::string& rootfs, std::string_view path) {
  ContainerPath out;
  std::string abs = clean_abs(path);
  // archive.PreserveTrailingDotOrSeparator
  if (path.ends_with("/.") || path == ".") {
    if (abs != "/") abs += "/.";
  } else if (path.ends_with("/") && abs != "/") {
    abs += "/";
  }
  out.abs = abs;
  auto slash = abs.rfind('/');
  std::string dir = abs.substr(0, slash + 1), base = abs.substr(slash + 1);
  BERTH_TRY(auto resolved_dir, resolve_in_root(rootfs, dir));
  if (base.empty()) {
    // "/a/b/": the last component is resolved too.
    out.host = resolved_dir;
    out.name = abs == "/" ? "/" : fs::path(clean_abs(abs)).filename().string();
  } else if (base == ".") {
    out.host = resolved_dir;
    out.name = ".";
  } else {
    out.host = resolved_dir + "/" + base;
    out.name = base;
  }
  return out;
}

Result<PathStat> stat_container_path(const std::string& rootfs, const ContainerPath& path) {
  struct stat st {};
  if (::lstat(path.host.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return make_error(Errc::not_found, "lstat " + path.abs + ": no such file or directory");
    return errno_error(Errc::internal, "lstat " + path.abs, errno);
  }
  PathStat s;
  s.name = path.name;
  s.size = st.st_size;
  s.mode = go_file_mode(st.st_mode);
  s.mtime = rfc3339_nano(st.st_mtim);
  if (S_ISLNK(st.st_mode)) {
    BERTH_TRY(auto host, resolve_in_root(rootfs, path.abs));
    std::string rel = host.size() > rootfs.size() ? host.substr(rootfs.size()) : "/";
    s.link_target = clean_abs(rel);
  }
  return s;
}

std::string path_stat_header(const PathStat& s) {
  boost::json::object o{{"name", s.name},
                        {"size", s.size},
                        {"mode", s.mode},
                        {"mtime", s.mtime},
                        {"linkTarget", s.link_target}};
  return registry::base64_encode(boost::json::serialize(o));
}

Result<void> write_tree_tar(const std::string& host_path, const std::string& top,
                            const image::WriteFn& write) {
  TarOut out(write);
  BERTH_TRY(out.add_tree(host_path, top == "." ? "./" : top, !top.empty()));
  return out.close();
}

namespace {

struct ReadCtx {
  const image::ReadFn* read;
  std::vector<char> buf = std::vector<char>(1 << 16);
};

la_ssize_t on_read(struct archive*, void* self, const void** out) {
  auto* ctx = static_cast<ReadCtx*>(self);
  *out = ctx->buf.data();
  return static_cast<la_ssize_t>((*ctx->read)(ctx->buf.data(), ctx->buf.size()));
}

struct ArchivePair {
  struct archive* in = archive_read_new();
  struct archive* disk = archive_write_disk_new();
  ~ArchivePair() {
    archive_read_free(in);
    archive_write_free(disk);
  }
};

Error archive_failure(struct archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return make_error(Errc::invalid_argument, what + ": " + (msg != nullptr ? msg : "unknown error"));
}

}  // namespace

Result<void> extract_into(const std::string& rootfs, const std::string& dest_in,
                          const image::ReadFn& read, const ExtractOptions& options) {
  const std::string dest = clean_abs(dest_in);
  ArchivePair ar;
  archive_read_support_filter_all(ar.in);
  archive_read_support_format_tar(ar.in);
  archive_write_disk_set_options(ar.disk, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                              ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_XATTR |
                                              ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  ReadCtx ctx{&read};
  if (archive_read_open(ar.in, &ctx, nullptr, &on_read, nullptr) != ARCHIVE_OK) {
    return archive_failure(ar.in, "read tar");
  }
  // An entry's name: its parent resolved in the rootfs, its last component
  // as given. Empty for `dest` itself.
  auto host_of = [&](const std::string& entry_name,
                     std::string& in_container) -> Result<std::string> {
    std::vector<std::string> parts;
    for (auto& c : components(entry_name)) {
      if (c == ".") continue;
      if (c == "..") {
        if (parts.empty()) {
          return make_error(Errc::invalid_argument,
                            "\"" + entry_name + "\" is outside of \"" + dest + "\"");
        }
        parts.pop_back();
        continue;
      }
      parts.push_back(std::move(c));
    }
    if (parts.empty()) return std::string();
    std::string parent = dest;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) parent = join(parent, parts[i]);
    in_container = join(parent, parts.back());
    BERTH_TRY(auto host_parent, resolve_in_root(rootfs, parent));
    return host_parent + "/" + parts.back();
  };
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(ar.in, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return archive_failure(ar.in, "read tar");
    const char* raw = archive_entry_pathname(e);
    std::string name = raw != nullptr ? raw : "";
    std::string in_container;
    BERTH_TRY(auto host, host_of(name, in_container));
    if (host.empty()) continue;  // "." : Docker leaves the destination's own metadata be
    const bool is_dir = archive_entry_filetype(e) == AE_IFDIR;
    struct stat st {};
    if (::lstat(host.c_str(), &st) == 0) {
      const bool was_dir = S_ISDIR(st.st_mode);
      if (options.no_overwrite_dir_non_dir && was_dir && !is_dir) {
        return make_error(Errc::invalid_argument, "cannot overwrite directory \"" + in_container +
                                                      "\" with non-directory \"" + dest + "\"");
      }
      if (options.no_overwrite_dir_non_dir && !was_dir && is_dir) {
        return make_error(Errc::invalid_argument, "cannot overwrite non-directory \"" +
                                                      in_container + "\" with directory \"" + dest +
                                                      "\"");
      }
      if (!(was_dir && is_dir)) {
        std::error_code ec;
        fs::remove_all(host, ec);
        if (ec) return make_error(Errc::internal, "remove " + in_container + ": " + ec.message());
      }
    } else {
      std::error_code ec;
      fs::create_directories(fs::path(host).parent_path(), ec);
      if (ec)
        return make_error(Errc::internal,
                          "create the parent of " + in_container + ": " + ec.message());
    }
    if (const char* link = archive_entry_hardlink(e); link != nullptr) {
      std::string ignored;
      BERTH_TRY(auto target, host_of(link, ignored));
      if (target.empty())
        return make_error(Errc::invalid_argument, "invalid hardlink target in " + name);
      archive_entry_copy_hardlink(e, target.c_str());
    }
    if (options.owner) {
      archive_entry_set_uid(e, options.owner->first);
      archive_entry_set_gid(e, options.owner->second);
    }
    archive_entry_copy_pathname(e, host.c_str());
    if (archive_write_header(ar.disk, e) < ARCHIVE_WARN)
      return archive_failure(ar.disk, "extract " + name);
    if (archive_entry_size(e) > 0) {
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      for (;;) {
        r = archive_read_data_block(ar.in, &block, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) return archive_failure(ar.in, "read tar");
        if (archive_write_data_block(ar.disk, block, size, offset) < ARCHIVE_WARN) {
          return archive_failure(ar.disk, "extract " + name);
        }
      }
    }
    if (archive_write_finish_entry(ar.disk) < ARCHIVE_WARN)
      return archive_failure(ar.disk, "extract " + name);
  }
  if (archive_write_close(ar.disk) < ARCHIVE_WARN) return archive_failure(ar.disk, "extract");
  return ok();
}

bool is_runtime_stub(std::string_view path) {
  static constexpr std::string_view kStubs[] = {
      "/dev",       "/dev/pts",      "/dev/shm",         "/dev/console", "/proc",      "/sys",
      "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/mtab",    "/.dockerenv"};
  return std::find(std::begin(kStubs), std::end(kStubs), path) != std::end(kStubs);
}

Result<void> filter_tar(const image::ReadFn& read, const image::WriteFn& write,
                        const std::function<bool(std::string_view)>& skip) {
  std::unique_ptr<struct archive, decltype(&archive_read_free)> in(archive_read_new(),
                                                                   &archive_read_free);
  archive_read_support_format_tar(in.get());
  ReadCtx ctx{&read};
  if (archive_read_open(in.get(), &ctx, nullptr, &on_read, nullptr) != ARCHIVE_OK) {
    return archive_failure(in.get(), "read tar");
  }
  TarOut out(write);
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(in.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return archive_failure(in.get(), "read tar");
    const char* raw = archive_entry_pathname(e);
    std::string name = raw != nullptr ? raw : "";
    while (name.ends_with("/")) name.pop_back();
    if (skip(clean_abs(name))) continue;
    BERTH_TRY(out.copy(in.get(), e));
  }
  return out.close();
}

}  // namespace berth::core::container
