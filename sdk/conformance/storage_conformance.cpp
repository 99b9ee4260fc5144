#include <archive.h>
#include <archive_entry.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "berth/sdk/testing/conformance.hpp"
#include "berth/sdk/types.hpp"

namespace berth::sdk::testing {

namespace detail {
int storage_conformance_anchor() { return 0; }
}  // namespace detail

// ---------------------------------------------------------------------------
// Tars

void PrintTo(const TarEntry& e, std::ostream* os) {
  static constexpr const char* types[] = {"file",    "dir",      "symlink", "hardlink",
                                          "chardev", "blockdev", "fifo"};
  *os << "{" << types[static_cast<int>(e.type)] << " \"" << e.path << "\" mode 0" << std::oct
      << e.mode << std::dec << " " << e.uid << ":" << e.gid << " mtime " << e.mtime;
  if (e.type == TarEntry::Type::file) *os << " content \"" << e.content << "\"";
  if (!e.link.empty()) *os << " -> \"" << e.link << "\"";
  if (e.type == TarEntry::Type::char_device || e.type == TarEntry::Type::block_device) {
    *os << " dev " << e.dev_major << ":" << e.dev_minor;
  }
  for (const auto& [name, value] : e.xattrs) *os << " " << name << "=\"" << value << "\"";
  *os << "}";
}

TarEntry tar_file(std::string path, std::string content, std::uint32_t mode) {
  TarEntry e;
  e.path = std::move(path);
  e.content = std::move(content);
  e.mode = mode;
  return e;
}

TarEntry tar_dir(std::string path, std::uint32_t mode) {
  TarEntry e;
  e.path = std::move(path);
  e.type = TarEntry::Type::dir;
  e.mode = mode;
  return e;
}

TarEntry tar_symlink(std::string path, std::string target) {
  TarEntry e;
  e.path = std::move(path);
  e.type = TarEntry::Type::symlink;
  e.link = std::move(target);
  e.mode = 0777;
  return e;
}

TarEntry tar_hardlink(std::string path, std::string target) {
  TarEntry e;
  e.path = std::move(path);
  e.type = TarEntry::Type::hardlink;
  e.link = std::move(target);
  return e;
}

namespace {

std::pair<std::string, std::string> split_path(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

std::string join_path(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

}  // namespace

TarEntry tar_whiteout(const std::string& path) {
  const auto [dir, name] = split_path(path);
  return tar_file(join_path(dir, ".wh." + name), "");
}

TarEntry tar_opaque(const std::string& dir) { return tar_file(join_path(dir, ".wh..wh..opq"), ""); }

namespace {

struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

[[noreturn]] void archive_failure(archive* a, const std::string& what) {
  const char* message = archive_error_string(a);
  throw std::runtime_error(what + ": " + (message != nullptr ? message : "libarchive error"));
}

la_ssize_t append_to_string(archive* /*a*/, void* client, const void* buf, std::size_t len) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), len);
  return static_cast<la_ssize_t>(len);
}

std::string normalise_tar_path(std::string path) {
  while (path.starts_with("./")) path.erase(0, 2);
  while (path.starts_with('/')) path.erase(0, 1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path == ".") path.clear();
  return path;
}

}  // namespace

std::string make_tar(const std::vector<TarEntry>& entries) {
  std::string out;
  const std::unique_ptr<archive, ArchiveWriteFree> a(archive_write_new());
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_open(a.get(), &out, nullptr, &append_to_string, nullptr) != ARCHIVE_OK) {
    archive_failure(a.get(), "make tar");
  }
  for (const TarEntry& t : entries) {
    const std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), t.path.c_str());
    switch (t.type) {
      case TarEntry::Type::file:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(t.content.size()));
        break;
      case TarEntry::Type::dir:
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        break;
      case TarEntry::Type::symlink:
        archive_entry_set_filetype(e.get(), AE_IFLNK);
        archive_entry_set_symlink(e.get(), t.link.c_str());
        break;
      case TarEntry::Type::hardlink:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_hardlink(e.get(), t.link.c_str());
        archive_entry_set_size(e.get(), 0);
        break;
      case TarEntry::Type::char_device:
      case TarEntry::Type::block_device:
        archive_entry_set_filetype(e.get(),
                                   t.type == TarEntry::Type::char_device ? AE_IFCHR : AE_IFBLK);
        archive_entry_set_rdevmajor(e.get(), t.dev_major);
        archive_entry_set_rdevminor(e.get(), t.dev_minor);
        break;
      case TarEntry::Type::fifo:
        archive_entry_set_filetype(e.get(), AE_IFIFO);
        break;
    }
    archive_entry_set_perm(e.get(), static_cast<__LA_MODE_T>(t.mode & 07777));
    archive_entry_set_uid(e.get(), t.uid);
    archive_entry_set_gid(e.get(), t.gid);
    archive_entry_set_mtime(e.get(), t.mtime, 0);
    for (const auto& [name, value] : t.xattrs) {
      archive_entry_xattr_add_entry(e.get(), name.c_str(), value.data(), value.size());
    }
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) {
      archive_failure(a.get(), "make tar: entry " + t.path);
    }
    if (t.type == TarEntry::Type::file && !t.content.empty() &&
        archive_write_data(a.get(), t.content.data(), t.content.size()) !=
            static_cast<la_ssize_t>(t.content.size())) {
      archive_failure(a.get(), "make tar: data of " + t.path);
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) archive_failure(a.get(), "make tar");
  return out;
}

std::vector<TarEntry> read_tar(std::string_view tar) {
  const std::unique_ptr<archive, ArchiveReadFree> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), tar.data(), tar.size()) != ARCHIVE_OK) {
    archive_failure(a.get(), "read tar");
  }
  std::vector<TarEntry> entries;
  archive_entry* e = nullptr;
  for (;;) {
    const int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) archive_failure(a.get(), "read tar");
    TarEntry t;
    t.path = normalise_tar_path(archive_entry_pathname(e));
    if (const char* hardlink = archive_entry_hardlink(e)) {
      t.type = TarEntry::Type::hardlink;
      t.link = normalise_tar_path(hardlink);
    } else {
      switch (archive_entry_filetype(e)) {
        case AE_IFREG:
          t.type = TarEntry::Type::file;
          break;
        case AE_IFDIR:
          t.type = TarEntry::Type::dir;
          break;
        case AE_IFLNK:
          t.type = TarEntry::Type::symlink;
          t.link = archive_entry_symlink(e);
          break;
        case AE_IFCHR:
          t.type = TarEntry::Type::char_device;
          break;
        case AE_IFBLK:
          t.type = TarEntry::Type::block_device;
          break;
        case AE_IFIFO:
          t.type = TarEntry::Type::fifo;
          break;
        default:
          throw std::runtime_error("read tar: entry " + t.path + " has an unexpected type");
      }
    }
    if (t.type == TarEntry::Type::char_device || t.type == TarEntry::Type::block_device) {
      t.dev_major = static_cast<std::uint32_t>(archive_entry_rdevmajor(e));
      t.dev_minor = static_cast<std::uint32_t>(archive_entry_rdevminor(e));
    }
    t.mode = static_cast<std::uint32_t>(archive_entry_perm(e)) & 07777;
    t.uid = archive_entry_uid(e);
    t.gid = archive_entry_gid(e);
    t.mtime = archive_entry_mtime(e);
    archive_entry_xattr_reset(e);
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      t.xattrs.emplace(name, std::string(static_cast<const char*>(value), size));
    }
    if (t.type == TarEntry::Type::file) {
      char buf[8192];
      for (;;) {
        const la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
        if (n < 0) archive_failure(a.get(), "read tar: data of " + t.path);
        if (n == 0) break;
        t.content.append(buf, static_cast<std::size_t>(n));
      }
    }
    entries.push_back(std::move(t));
  }
  return entries;
}

// ---------------------------------------------------------------------------
// Mounting a description

namespace {

struct MountFlag {
  std::string_view name;
  unsigned long flags;
};

constexpr MountFlag mount_flags[] = {
    {"bind", MS_BIND},
    {"rbind", MS_BIND | MS_REC},
    {"ro", MS_RDONLY},
    {"rw", 0},
    {"nosuid", MS_NOSUID},
    {"nodev", MS_NODEV},
    {"noexec", MS_NOEXEC},
    {"relatime", MS_RELATIME},
    {"noatime", MS_NOATIME},
    {"nodiratime", MS_NODIRATIME},
    {"strictatime", MS_STRICTATIME},
    {"sync", MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC},
    {"defaults", 0},
    {"suid", 0},
    {"dev", 0},
    {"exec", 0},
};

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  if (text.empty()) return parts;
  for (;;) {
    const std::size_t at = text.find(separator);
    parts.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

std::string joined(const std::vector<std::string>& parts, char separator) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

[[noreturn]] void mount_failure(int err, const FakeMount& m, const std::string& target,
                                const std::string& detail = {}) {
  std::string options = m.options.size() > 300 ? m.options.substr(0, 300) + "..." : m.options;
  throw std::runtime_error("mount " + m.type + " " + m.source + " at " + target + " (" + options +
                           "): " + std::strerror(err) + detail);
}

// The longest directory all of `paths` are inside.
std::string common_dir(const std::vector<std::string>& paths) {
  std::string prefix = paths.front();
  for (const std::string& path : paths) {
    std::size_t n = 0;
    while (n < prefix.size() && n < path.size() && prefix[n] == path[n]) ++n;
    prefix.resize(n);
  }
  // Cut back to a whole directory name that is a proper prefix of each path.
  const bool whole = std::all_of(paths.begin(), paths.end(), [&](const std::string& path) {
    return path.size() > prefix.size() && path[prefix.size()] == '/';
  });
  if (!whole) prefix.resize(prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
  return prefix;
}

// An overlay whose options exceed a page: lowerdirs (and upper/work when they
// share the directory) relative to their common directory, mounted from
// there on a thread with its own working directory.
void mount_overlay_compacted(const FakeMount& m, const std::string& target, unsigned long flags,
                             const std::vector<std::string>& data_options) {
  std::vector<std::string> options = data_options;
  auto lowerdir = std::find_if(options.begin(), options.end(),
                               [](const std::string& o) { return o.starts_with("lowerdir="); });
  if (lowerdir == options.end()) mount_failure(E2BIG, m, target, ": no lowerdir to compact");
  const std::vector<std::string> lowers = split(lowerdir->substr(9), ':');
  const std::string dir = common_dir(lowers);
  if (dir.empty()) mount_failure(E2BIG, m, target, ": lowerdirs share no directory");
  const auto relative = [&](const std::string& path) {
    return path.starts_with(dir + "/") ? path.substr(dir.size() + 1) : path;
  };
  std::vector<std::string> relative_lowers;
  for (const std::string& lower : lowers) relative_lowers.push_back(relative(lower));
  *lowerdir = "lowerdir=" + joined(relative_lowers, ':');
  for (std::string& option : options) {
    for (const char* key : {"upperdir=", "workdir="}) {
      if (option.starts_with(key)) option = key + relative(option.substr(std::strlen(key)));
    }
  }
  const std::string data = joined(options, ',');
  if (data.size() >= static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))) {
    mount_failure(E2BIG, m, target,
                  ": still " + std::to_string(data.size()) + " bytes relative to " + dir);
  }
  int err = 0;
  std::thread([&] {
    // Only this thread's working directory changes: the process's stays.
    if (::unshare(CLONE_FS) != 0 || ::chdir(dir.c_str()) != 0 ||
        ::mount(m.source.c_str(), target.c_str(), m.type.c_str(), flags, data.c_str()) != 0) {
      err = errno;
    }
  }).join();
  if (err != 0) mount_failure(err, m, target, " (compacted relative to " + dir + ")");
}

void mount_one(const FakeMount& m, const std::string& target) {
  unsigned long flags = 0;
  std::vector<std::string> data_options;
  for (const std::string& option : split(m.options, ',')) {
    const auto* flag = std::find_if(std::begin(mount_flags), std::end(mount_flags),
                                    [&](const MountFlag& f) { return f.name == option; });
    if (flag != std::end(mount_flags)) {
      flags |= flag->flags;
    } else if (!option.empty()) {
      data_options.push_back(option);
    }
  }
  if ((flags & MS_BIND) != 0) {
    if (::mount(m.source.c_str(), target.c_str(), nullptr, flags & (MS_BIND | MS_REC), nullptr) !=
        0) {
      mount_failure(errno, m, target);
    }
    // Flags other than bind/rbind only take effect on a remount of the bind.
    if (const unsigned long rest = flags & ~static_cast<unsigned long>(MS_BIND | MS_REC);
        rest != 0) {
      if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | rest, nullptr) != 0) {
        const int err = errno;
        ::umount2(target.c_str(), MNT_DETACH);
        mount_failure(err, m, target, " (remount)");
      }
    }
    return;
  }
  const std::string data = joined(data_options, ',');
  if (m.type == "overlay" && data.size() >= static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))) {
    mount_overlay_compacted(m, target, flags, data_options);
    return;
  }
  if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), flags, data.c_str()) != 0) {
    mount_failure(errno, m, target);
  }
}

}  // namespace

MountedView::MountedView(const std::vector<FakeMount>& mounts) {
  if (mounts.empty()) throw std::runtime_error("mount layer: the description has no mount");
  std::string pattern = "/tmp/berth-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  path_ = pattern;
  try {
    for (const FakeMount& m : mounts) {
      mount_one(m, path_);
      ++mounted_;
    }
  } catch (...) {
    release();
    throw;
  }
}

MountedView::~MountedView() { release(); }

void MountedView::release() noexcept {
  for (; mounted_ > 0; --mounted_) {
    if (::umount2(path_.c_str(), 0) != 0 && ::umount2(path_.c_str(), MNT_DETACH) != 0) {
      // Leave the directory: removing it would reach into the mounted tree.
      std::fprintf(stderr, "unmount %s: %s\n", path_.c_str(), std::strerror(errno));
      return;
    }
  }
  ::rmdir(path_.c_str());
}

// ---------------------------------------------------------------------------
// StorageClient

berth_status StorageClient::done(berth_status status, const FakeError& err) {
  if (status != BERTH_OK) error_ = err.is_set() ? err.message() : std::string();
  return status;
}

berth_status StorageClient::create(std::string_view id, std::string_view parent,
                                   std::string_view opts_json) {
  FakeError err;
  return done(driver_.storage().create(driver_.instance(), to_berth_str(id), to_berth_str(parent),
                                       to_berth_str(opts_json), err.raw()),
              err);
}

berth_status StorageClient::create_rw(std::string_view id, std::string_view parent,
                                      std::string_view opts_json) {
  FakeError err;
  return done(driver_.storage().create_rw(driver_.instance(), to_berth_str(id),
                                          to_berth_str(parent), to_berth_str(opts_json), err.raw()),
              err);
}

berth_status StorageClient::get(std::string_view id, std::vector<FakeMount>* mounts,
                                std::string_view mount_label) {
  FakeError err;
  FakeOut out;
  const berth_status status = driver_.storage().get(
      driver_.instance(), to_berth_str(id), to_berth_str(mount_label), out.raw(), err.raw());
  if (status == BERTH_OK && mounts != nullptr) *mounts = out.mounts();
  return done(status, err);
}

berth_status StorageClient::put(std::string_view id) {
  FakeError err;
  return done(driver_.storage().put(driver_.instance(), to_berth_str(id), err.raw()), err);
}

berth_status StorageClient::remove(std::string_view id) {
  FakeError err;
  return done(driver_.storage().remove(driver_.instance(), to_berth_str(id), err.raw()), err);
}

bool StorageClient::exists(std::string_view id) {
  return driver_.storage().exists(driver_.instance(), to_berth_str(id)) == 1;
}

berth_status StorageClient::apply_diff(std::string_view id, std::string_view parent,
                                       std::string tar, std::int64_t* size) {
  FakeError err;
  FakeReader reader(std::move(tar));
  std::int64_t unpacked = -1;
  const berth_status status =
      driver_.storage().apply_diff(driver_.instance(), to_berth_str(id), to_berth_str(parent),
                                   reader.raw(), &unpacked, err.raw());
  if (size != nullptr) *size = unpacked;
  return done(status, err);
}

berth_status StorageClient::diff(std::string_view id, std::string_view parent, std::string* tar) {
  FakeError err;
  FakeWriter writer;
  const berth_status status = driver_.storage().diff(driver_.instance(), to_berth_str(id),
                                                     to_berth_str(parent), writer.raw(), err.raw());
  if (tar != nullptr) *tar = writer.data();
  return done(status, err);
}

berth_status StorageClient::changes(std::string_view id, std::string_view parent,
                                    std::string* json) {
  FakeError err;
  FakeOut out;
  const berth_status status = driver_.storage().changes(driver_.instance(), to_berth_str(id),
                                                        to_berth_str(parent), out.raw(), err.raw());
  if (json != nullptr) *json = out.text();
  return done(status, err);
}

berth_status StorageClient::usage(std::string_view id, berth_usage* usage) {
  FakeError err;
  return done(driver_.storage().usage(driver_.instance(), to_berth_str(id), usage, err.raw()), err);
}

berth_status StorageClient::status(std::string* json) {
  FakeError err;
  FakeOut out;
  const berth_status status = driver_.storage().status(driver_.instance(), out.raw(), err.raw());
  if (json != nullptr) *json = out.text();
  return done(status, err);
}

// ---------------------------------------------------------------------------
// The suite

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StorageConformance);

TEST_P(StorageConformance, DescriptorIsStorage) { check_descriptor(BERTH_KIND_STORAGE_V1, 16, 31); }

TEST_P(StorageConformance, TableIsComplete) {
  const berth_storage_v1& t = driver().storage();
  EXPECT_GE(t.struct_size, abi_v1_0::storage_size);
  EXPECT_NE(t.create, nullptr);
  EXPECT_NE(t.create_rw, nullptr);
  EXPECT_NE(t.get, nullptr);
  EXPECT_NE(t.put, nullptr);
  EXPECT_NE(t.remove, nullptr);
  EXPECT_NE(t.exists, nullptr);
  EXPECT_NE(t.apply_diff, nullptr);
  EXPECT_NE(t.diff, nullptr);
  EXPECT_NE(t.changes, nullptr);
  EXPECT_NE(t.usage, nullptr);
  EXPECT_NE(t.status, nullptr);
}

TEST_P(StorageConformance, InitThenShutdown) {
  if (!init_driver()) GTEST_SKIP() << driver().init_error();
  driver().shutdown();
  EXPECT_FALSE(driver().initialised());
}

namespace {

namespace fs = std::filesystem;

#define BERTH_SKIP_UNLESS_USABLE()                             \
  do {                                                         \
    if (!init_driver()) GTEST_SKIP() << driver().init_error(); \
  } while (false)

#define BERTH_SKIP_UNLESS_ROOT()                                        \
  do {                                                                  \
    if (::geteuid() != 0) GTEST_SKIP() << "mounting layers needs root"; \
  } while (false)

// A layer's mounted view for a scope: get(), mount; unmount, put().
class LayerView {
 public:
  LayerView(StorageClient& client, std::string id) : client_(client), id_(std::move(id)) {
    std::vector<FakeMount> mounts;
    if (client_.get(id_, &mounts) != BERTH_OK) {
      throw std::runtime_error(client_.error().empty() ? "get layer " + id_ + " failed"
                                                       : client_.error());
    }
    try {
      view_ = std::make_unique<MountedView>(mounts);
    } catch (...) {
      client_.put(id_);
      throw;
    }
  }
  ~LayerView() {
    view_.reset();
    client_.put(id_);
  }
  LayerView(const LayerView&) = delete;
  LayerView& operator=(const LayerView&) = delete;

  const std::string& path() const { return view_->path(); }
  std::string operator/(const std::string& rel) const { return path() + "/" + rel; }

 private:
  StorageClient& client_;
  std::string id_;
  std::unique_ptr<MountedView> view_;
};

// What a path in a mounted tree looks like, for comparing trees.
struct Node {
  TarEntry::Type type = TarEntry::Type::file;
  std::uint32_t mode = 0;
  std::int64_t uid = 0;
  std::int64_t gid = 0;
  std::string content;
  std::string link;  // symlink target
  std::uint32_t dev_major = 0;
  std::uint32_t dev_minor = 0;
  std::int64_t mtime = 0;  // not kept for directories: creating entries changes it
  std::map<std::string, std::string> xattrs;  // user.* only
  ino_t ino = 0;                              // not compared
  bool operator==(const Node& o) const {
    return std::tie(type, mode, uid, gid, content, link, dev_major, dev_minor, mtime, xattrs) ==
           std::tie(o.type, o.mode, o.uid, o.gid, o.content, o.link, o.dev_major, o.dev_minor,
                    o.mtime, o.xattrs);
  }
};

void PrintTo(const Node& n, std::ostream* os) {
  TarEntry e;
  e.type = n.type;
  e.mode = n.mode;
  e.uid = n.uid;
  e.gid = n.gid;
  e.content = n.content.size() > 64 ? n.content.substr(0, 64) + "..." : n.content;
  e.link = n.link;
  e.dev_major = n.dev_major;
  e.dev_minor = n.dev_minor;
  e.mtime = n.mtime;
  e.xattrs = n.xattrs;
  PrintTo(e, os);
}

using Tree = std::map<std::string, Node>;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out.flush()) throw std::runtime_error("write " + path);
}

std::map<std::string, std::string> user_xattrs(const std::string& path) {
  std::map<std::string, std::string> xattrs;
  std::vector<char> names(
      static_cast<std::size_t>(std::max<ssize_t>(::llistxattr(path.c_str(), nullptr, 0), 0)));
  const ssize_t size = ::llistxattr(path.c_str(), names.data(), names.size());
  for (ssize_t at = 0; at < size;) {
    const std::string name(names.data() + at);
    at += static_cast<ssize_t>(name.size()) + 1;
    if (!name.starts_with("user.")) continue;
    std::string value(static_cast<std::size_t>(std::max<ssize_t>(
                          ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0), 0)),
                      '\0');
    const ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    value.resize(static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    xattrs.emplace(name, value);
  }
  return xattrs;
}

// Everything below `root` (not root itself), by relative path.
Tree snapshot(const std::string& root) {
  Tree tree;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string path = entry.path().string();
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      throw std::system_error(errno, std::generic_category(), "lstat " + path);
    }
    Node n;
    n.mode = st.st_mode & 07777;
    n.uid = st.st_uid;
    n.gid = st.st_gid;
    n.mtime = st.st_mtim.tv_sec;
    n.ino = st.st_ino;
    switch (st.st_mode & S_IFMT) {
      case S_IFREG:
        n.type = TarEntry::Type::file;
        n.content = read_file(path);
        break;
      case S_IFDIR:
        n.type = TarEntry::Type::dir;
        n.mtime = 0;
        break;
      case S_IFLNK:
        n.type = TarEntry::Type::symlink;
        n.link = fs::read_symlink(entry.path()).string();
        n.mode = 0777;
        break;
      case S_IFCHR:
      case S_IFBLK:
        n.type = S_ISCHR(st.st_mode) ? TarEntry::Type::char_device : TarEntry::Type::block_device;
        n.dev_major = major(st.st_rdev);
        n.dev_minor = minor(st.st_rdev);
        break;
      case S_IFIFO:
        n.type = TarEntry::Type::fifo;
        break;
      default:
        throw std::runtime_error("snapshot: unexpected file type at " + path);
    }
    n.xattrs = user_xattrs(path);
    tree.emplace(entry.path().lexically_relative(root).string(), std::move(n));
  }
  return tree;
}

void erase_below(Tree& tree, const std::string& dir) {
  for (auto it = tree.begin(); it != tree.end();) {
    if (dir.empty() || it->first.starts_with(dir + "/")) {
      it = tree.erase(it);
    } else {
      ++it;
    }
  }
}

bool is_whiteout(const TarEntry& e) { return split_path(e.path).second.starts_with(".wh."); }

// The tree that layers of tars, bottom first, should show when stacked: OCI
// image-spec layer semantics, whiteouts hiding only what lower layers hold.
Tree expected_tree(const std::vector<std::vector<TarEntry>>& layers) {
  Tree tree;
  for (const std::vector<TarEntry>& layer : layers) {
    for (const TarEntry& e : layer) {
      if (!is_whiteout(e)) continue;
      const auto [dir, name] = split_path(e.path);
      if (name == ".wh..wh..opq") {
        erase_below(tree, dir);
      } else {
        const std::string target = join_path(dir, name.substr(4));
        tree.erase(target);
        erase_below(tree, target);
      }
    }
    for (const TarEntry& e : layer) {
      if (is_whiteout(e) || e.path.empty()) continue;
      Node n;
      if (e.type == TarEntry::Type::hardlink) {
        n = tree.at(e.link);
      } else {
        n.type = e.type;
        n.mode = e.type == TarEntry::Type::symlink ? 0777 : e.mode;
        n.uid = e.uid;
        n.gid = e.gid;
        n.content = e.content;
        n.link = e.link;
        n.dev_major = e.dev_major;
        n.dev_minor = e.dev_minor;
        n.mtime = e.type == TarEntry::Type::dir ? 0 : e.mtime;
        n.xattrs = e.xattrs;
      }
      if (n.type != TarEntry::Type::dir) erase_below(tree, e.path);
      tree[e.path] = n;
    }
  }
  return tree;
}

// Paths that are hard links of each other in `tars` must share an inode in
// the mounted `tree`.
void expect_hardlinks_kept(const std::vector<TarEntry>& tar, const Tree& tree) {
  for (const TarEntry& e : tar) {
    if (e.type != TarEntry::Type::hardlink) continue;
    ASSERT_TRUE(tree.contains(e.path) && tree.contains(e.link)) << e.path << " -> " << e.link;
    EXPECT_EQ(tree.at(e.path).ino, tree.at(e.link).ino)
        << e.path << " should be a hard link of " << e.link;
  }
}

std::string pseudo_random(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  unsigned x = seed;
  for (char& c : out) {
    x = x * 1103515245U + 12345U;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

TarEntry owned(TarEntry e, std::int64_t uid, std::int64_t gid) {
  e.uid = uid;
  e.gid = gid;
  return e;
}

TarEntry with_xattr(TarEntry e, std::string name, std::string value) {
  e.xattrs.emplace(std::move(name), std::move(value));
  return e;
}

TarEntry with_mtime(TarEntry e, std::int64_t mtime) {
  e.mtime = mtime;
  return e;
}

TarEntry device(std::string path, TarEntry::Type type, std::uint32_t major_number,
                std::uint32_t minor_number, std::uint32_t mode) {
  TarEntry e;
  e.path = std::move(path);
  e.type = type;
  e.dev_major = major_number;
  e.dev_minor = minor_number;
  e.mode = mode;
  return e;
}

// A base layer with one of each kind of entry a layer holds.
std::vector<TarEntry> rich_layer() {
  TarEntry fifo;
  fifo.path = "var/fifo";
  fifo.type = TarEntry::Type::fifo;
  fifo.mode = 0600;
  return {
      tar_dir("etc"),
      tar_file("etc/hosts", "127.0.0.1 localhost\n"),
      owned(tar_file("etc/shadow", "root:*:19000:0:99999:7:::\n", 0640), 0, 42),
      tar_dir("usr"),
      tar_dir("usr/bin"),
      with_mtime(tar_file("usr/bin/tool", "#!/bin/sh\necho tool\n", 04755), 1'600'000'000),
      tar_hardlink("usr/bin/tool-link", "usr/bin/tool"),
      tar_symlink("usr/bin/sh", "/bin/busybox"),
      tar_symlink("usr/lib", "../lib-elsewhere"),
      tar_dir("home"),
      owned(tar_dir("home/user", 0700), 1000, 1000),
      with_xattr(owned(tar_file("home/user/notes", "remember\n", 0600), 1000, 1000),
                 "user.berth.test", "value"),
      tar_dir("tmp", 01777),
      tar_dir("var"),
      tar_dir("var/empty"),
      fifo,
      device("var/null", TarEntry::Type::char_device, 1, 3, 0666),
      tar_file("var/big", pseudo_random(200'000, 7)),
  };
}

std::int64_t content_bytes(const std::vector<TarEntry>& tar) {
  std::int64_t total = 0;
  for (const TarEntry& e : tar) total += static_cast<std::int64_t>(e.content.size());
  return total;
}

struct ChangeKind {
  std::string path;
  int kind;
  auto operator<=>(const ChangeKind&) const = default;
};

void PrintTo(const ChangeKind& c, std::ostream* os) {
  static constexpr const char* kinds[] = {"modified", "added", "deleted"};
  *os << c.path << " " << (c.kind >= 0 && c.kind <= 2 ? kinds[c.kind] : "?");
}

std::set<ChangeKind> parse_changes(const std::string& json) {
  std::set<ChangeKind> out;
  const boost::json::value value = boost::json::parse(json);
  for (const boost::json::value& item : value.as_array()) {
    const boost::json::object& change = item.as_object();
    out.insert(ChangeKind{std::string(change.at("Path").as_string()),
                          static_cast<int>(change.at("Kind").to_number<std::int64_t>())});
  }
  return out;
}

bool is_ancestor(const std::string& dir, const std::string& path) {
  return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

// Splits what a driver reported into `expected` plus what Docker also
// reports: parent directories of changes, as modified. Fails on anything else.
void expect_changes(const std::set<ChangeKind>& reported, const std::set<ChangeKind>& expected) {
  for (const ChangeKind& c : expected) {
    EXPECT_TRUE(reported.contains(c)) << "missing change: " << ::testing::PrintToString(c);
  }
  for (const ChangeKind& c : reported) {
    if (expected.contains(c)) continue;
    const bool parent_dir = c.kind == 0 && c.path != "/" &&
                            std::any_of(expected.begin(), expected.end(), [&](const ChangeKind& e) {
                              return is_ancestor(c.path, e.path);
                            });
    EXPECT_TRUE(parent_dir) << "unexpected change: " << ::testing::PrintToString(c);
  }
}

std::map<std::string, TarEntry> by_path(const std::vector<TarEntry>& entries) {
  std::map<std::string, TarEntry> out;
  for (const TarEntry& e : entries) {
    EXPECT_TRUE(out.emplace(e.path, e).second) << "duplicate tar entry " << e.path;
  }
  return out;
}

}  // namespace

TEST_P(StorageConformance, CreateBuildsParentChains) {
  BERTH_SKIP_UNLESS_USABLE();
  StorageClient c(driver());
  ASSERT_EQ(c.create("base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.create("mid", "base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.create("top", "mid"), BERTH_OK) << c.error();
  ASSERT_EQ(c.create_rw("container", "top"), BERTH_OK) << c.error();
  ASSERT_EQ(c.create_rw("scratch"), BERTH_OK) << c.error();
  for (const char* id : {"base", "mid", "top", "container", "scratch"}) {
    EXPECT_TRUE(c.exists(id)) << id;
  }
  EXPECT_FALSE(c.exists("absent"));
  EXPECT_FALSE(c.exists(""));
}

TEST_P(StorageConformance, CreateOnAMissingParentIsNotFound) {
  BERTH_SKIP_UNLESS_USABLE();
  StorageClient c(driver());
  EXPECT_EQ(c.create("orphan", "absent"), BERTH_E_NOT_FOUND);
  EXPECT_NE(c.error().find("absent"), std::string::npos) << c.error();
  EXPECT_EQ(c.create_rw("orphan", "absent"), BERTH_E_NOT_FOUND);
  EXPECT_FALSE(c.exists("orphan"));
  // Nothing half-made stands in the way of a proper create.
  ASSERT_EQ(c.create("absent"), BERTH_OK) << c.error();
  EXPECT_EQ(c.create("orphan", "absent"), BERTH_OK) << c.error();
}

TEST_P(StorageConformance, CreateTwiceIsAlreadyExists) {
  BERTH_SKIP_UNLESS_USABLE();
  StorageClient c(driver());
  ASSERT_EQ(c.create("layer"), BERTH_OK) << c.error();
  EXPECT_EQ(c.create("layer"), BERTH_E_ALREADY_EXISTS);
  EXPECT_NE(c.error().find("layer"), std::string::npos) << c.error();
  EXPECT_EQ(c.create_rw("layer"), BERTH_E_ALREADY_EXISTS);
  ASSERT_EQ(c.create("child", "layer"), BERTH_OK) << c.error();
  EXPECT_EQ(c.create("child", "layer"), BERTH_E_ALREADY_EXISTS);
  EXPECT_TRUE(c.exists("layer"));
}

TEST_P(StorageConformance, InvalidIdsAndOptionsAreRefused) {
  BERTH_SKIP_UNLESS_USABLE();
  StorageClient c(driver());
  for (const char* id : {"", "../escape", "a/b", ".", "..", "with space", "new\nline"}) {
    EXPECT_EQ(c.create(id), BERTH_E_INVALID_ARGUMENT) << "id \"" << id << "\"";
    EXPECT_FALSE(c.exists(id)) << "id \"" << id << "\"";
  }
  EXPECT_FALSE(fs::exists(host().root() / "escape"));
  EXPECT_FALSE(fs::exists(fs::path(host().state_dir()) / "escape"));
  const berth_status bad_option = c.create("opts", "", R"({"no-such-option": "1"})");
  EXPECT_TRUE(bad_option == BERTH_E_INVALID_ARGUMENT || bad_option == BERTH_E_UNSUPPORTED)
      << bad_option << " " << c.error();
  EXPECT_EQ(c.create("opts", "", "not json"), BERTH_E_INVALID_ARGUMENT);
  EXPECT_FALSE(c.exists("opts"));
  EXPECT_EQ(c.create("opts", "", "{}"), BERTH_OK) << c.error();
  EXPECT_EQ(c.create("no-opts", "", ""), BERTH_OK) << c.error();
}

TEST_P(StorageConformance, MissingLayersAreNotFound) {
  BERTH_SKIP_UNLESS_USABLE();
  StorageClient c(driver());
  std::vector<FakeMount> mounts;
  berth_usage u{struct_size_of<berth_usage>(), -1, -1};
  std::string out;
  EXPECT_EQ(c.get("absent", &mounts), BERTH_E_NOT_FOUND);
  EXPECT_NE(c.error().find("absent"), std::string::npos) << c.error();
  EXPECT_EQ(c.put("absent"), BERTH_E_NOT_FOUND);
  EXPECT_EQ(c.remove("absent"), BERTH_E_NOT_FOUND);
  EXPECT_NE(c.error().find("absent"), std::string::npos) << c.error();
  EXPECT_EQ(c.usage("absent", &u), BERTH_E_NOT_FOUND);
  EXPECT_EQ(c.apply_diff("absent", "", make_tar({tar_file("f", "x")})), BERTH_E_NOT_FOUND);
  EXPECT_EQ(c.diff("absent", "", &out), BERTH_E_NOT_FOUND);
  EXPECT_EQ(c.changes("absent", "", &out), BERTH_E_NOT_FOUND);
}

TEST_P(StorageConformance, GetIsReferenceCounted) {
  BERTH_SKIP_UNLESS_USABLE();
  StorageClient c(driver());
  ASSERT_EQ(c.create("base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.create("layer", "base"), BERTH_OK) << c.error();
  std::vector<FakeMount> first;
  std::vector<FakeMount> second;
  ASSERT_EQ(c.get("layer", &first), BERTH_OK) << c.error();
  ASSERT_FALSE(first.empty()) << "get described no mount";
  ASSERT_EQ(c.get("layer", &second), BERTH_OK) << c.error();
  EXPECT_EQ(first, second) << "two gets of one layer describe different mounts";

  EXPECT_EQ(c.remove("layer"), BERTH_E_CONFLICT);
  EXPECT_FALSE(c.error().empty());
  ASSERT_EQ(c.put("layer"), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("layer"), BERTH_E_CONFLICT) << "one reference is still held";
  ASSERT_EQ(c.put("layer"), BERTH_OK) << c.error();
  EXPECT_TRUE(c.exists("layer"));
  EXPECT_EQ(c.remove("layer"), BERTH_OK) << c.error();
  EXPECT_FALSE(c.exists("layer"));
  EXPECT_EQ(c.get("layer", &first), BERTH_E_NOT_FOUND);
}

TEST_P(StorageConformance, RemoveWithAChildIsConflict) {
  BERTH_SKIP_UNLESS_USABLE();
  StorageClient c(driver());
  ASSERT_EQ(c.create("base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.create("image", "base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.create_rw("container", "image"), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("base"), BERTH_E_CONFLICT);
  EXPECT_NE(c.error().find("base"), std::string::npos) << c.error();
  EXPECT_EQ(c.remove("image"), BERTH_E_CONFLICT);
  EXPECT_TRUE(c.exists("base"));
  EXPECT_TRUE(c.exists("image"));
  ASSERT_EQ(c.remove("container"), BERTH_OK) << c.error();
  ASSERT_EQ(c.remove("image"), BERTH_OK) << c.error();
  ASSERT_EQ(c.remove("base"), BERTH_OK) << c.error();
  for (const char* id : {"base", "image", "container"}) EXPECT_FALSE(c.exists(id)) << id;
  // The ids are free again.
  ASSERT_EQ(c.create("base"), BERTH_OK) << c.error();
  EXPECT_EQ(c.create("image", "base"), BERTH_OK) << c.error();
}

TEST_P(StorageConformance, ApplyDiffThenMountShowsTheFiles) {
  BERTH_SKIP_UNLESS_USABLE();
  BERTH_SKIP_UNLESS_ROOT();
  StorageClient c(driver());
  const std::vector<TarEntry> tar = rich_layer();
  ASSERT_EQ(c.create("base"), BERTH_OK) << c.error();
  std::int64_t size = -1;
  ASSERT_EQ(c.apply_diff("base", "", make_tar(tar), &size), BERTH_OK) << c.error();
  EXPECT_GE(size, content_bytes(tar));

  const LayerView view(c, "base");
  const Tree tree = snapshot(view.path());
  EXPECT_EQ(tree, expected_tree({tar}));
  expect_hardlinks_kept(tar, tree);
}

TEST_P(StorageConformance, ApplyDiffOnTopShowsTheMergedTree) {
  BERTH_SKIP_UNLESS_USABLE();
  BERTH_SKIP_UNLESS_ROOT();
  StorageClient c(driver());
  const std::vector<TarEntry> base = rich_layer();
  const std::vector<TarEntry> top = {
      tar_dir("etc"),
      tar_file("etc/hosts", "10.0.0.1 changed\n"),
      tar_file("etc/motd", "hello\n"),
      tar_dir("opt"),
      tar_file("opt/app", pseudo_random(5000, 3), 0755),
  };
  ASSERT_EQ(c.create("base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.apply_diff("base", "", make_tar(base)), BERTH_OK) << c.error();
  ASSERT_EQ(c.create("top", "base"), BERTH_OK) << c.error();
  std::int64_t size = -1;
  ASSERT_EQ(c.apply_diff("top", "base", make_tar(top), &size), BERTH_OK) << c.error();
  EXPECT_GE(size, content_bytes(top));

  {
    const LayerView view(c, "top");
    EXPECT_EQ(snapshot(view.path()), expected_tree({base, top}));
  }
  // The parent is untouched.
  const LayerView view(c, "base");
  EXPECT_EQ(snapshot(view.path()), expected_tree({base}));
}

TEST_P(StorageConformance, ApplyDiffNeedsAFreshLayerAndItsParent) {
  BERTH_SKIP_UNLESS_USABLE();
  StorageClient c(driver());
  ASSERT_EQ(c.create("base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.apply_diff("base", "", make_tar({tar_file("a", "a")})), BERTH_OK) << c.error();
  const berth_status again = c.apply_diff("base", "", make_tar({tar_file("b", "b")}));
  EXPECT_TRUE(again == BERTH_E_FAILED_PRECONDITION || again == BERTH_E_CONFLICT)
      << again << " " << c.error();

  ASSERT_EQ(c.create("child", "base"), BERTH_OK) << c.error();
  EXPECT_EQ(c.apply_diff("child", "other", make_tar({tar_file("c", "c")})),
            BERTH_E_INVALID_ARGUMENT);

  ASSERT_EQ(c.create("mounted", "base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.get("mounted"), BERTH_OK) << c.error();
  const berth_status in_use = c.apply_diff("mounted", "base", make_tar({tar_file("d", "d")}));
  EXPECT_TRUE(in_use == BERTH_E_FAILED_PRECONDITION || in_use == BERTH_E_CONFLICT)
      << in_use << " " << c.error();
  EXPECT_EQ(c.put("mounted"), BERTH_OK) << c.error();
}

TEST_P(StorageConformance, ApplyDiffRefusesEntriesOutsideTheLayer) {
  BERTH_SKIP_UNLESS_USABLE();
  StorageClient c(driver());
  const std::string root = host().root().string();
  const std::string climb = "../../../../../../../../../../../../../../../..";
  ASSERT_EQ(c.create("dotdot"), BERTH_OK) << c.error();
  EXPECT_EQ(c.apply_diff("dotdot", "", make_tar({tar_file(climb + root + "/escaped", "x")})),
            BERTH_E_INVALID_ARGUMENT);
  ASSERT_EQ(c.create("symlink"), BERTH_OK) << c.error();
  EXPECT_EQ(c.apply_diff("symlink", "",
                         make_tar({tar_symlink("evil", root), tar_file("evil/escaped", "x")})),
            BERTH_E_INVALID_ARGUMENT);
  EXPECT_FALSE(c.error().empty());
  EXPECT_FALSE(fs::exists(host().root() / "escaped"));
}

TEST_P(StorageConformance, WhiteoutsAndOpaqueDirectoriesAcrossThreeLayers) {
  BERTH_SKIP_UNLESS_USABLE();
  BERTH_SKIP_UNLESS_ROOT();
  StorageClient c(driver());
  const std::vector<TarEntry> l1 = {
      tar_dir("a"),
      tar_file("a/1", "one"),
      tar_file("a/2", "two"),
      tar_dir("a/sub"),
      tar_file("a/sub/deep", "deep"),
      tar_dir("b"),
      tar_file("b/x", "x"),
      tar_file("b/y", "lower y"),
      tar_dir("c"),
      tar_file("c/keep", "keep"),
      tar_dir("d"),
      tar_file("d/old", "old"),
      tar_file("top", "top v1"),
  };
  const std::vector<TarEntry> l2 = {
      tar_dir("a"),    tar_whiteout("a/1"),        tar_dir("b"),
      tar_opaque("b"), tar_file("b/y", "upper y"), tar_file("b/z", "z"),
      tar_dir("e"),    tar_file("e/new", "new"),   tar_file("top", "top v2"),
  };
  const std::vector<TarEntry> l3 = {
      tar_dir("a"),
      tar_file("a/1", "one again"),
      tar_dir("a/sub"),
      tar_opaque("a/sub"),
      tar_file("a/sub/fresh", "fresh"),
      tar_dir("b"),
      tar_whiteout("b/z"),
      tar_whiteout("c"),
      tar_dir("d"),
      tar_opaque("d"),
      tar_file("d/new", "d new"),
      tar_whiteout("top"),
  };
  ASSERT_EQ(c.create("l1"), BERTH_OK) << c.error();
  ASSERT_EQ(c.apply_diff("l1", "", make_tar(l1)), BERTH_OK) << c.error();
  ASSERT_EQ(c.create("l2", "l1"), BERTH_OK) << c.error();
  ASSERT_EQ(c.apply_diff("l2", "l1", make_tar(l2)), BERTH_OK) << c.error();
  ASSERT_EQ(c.create("l3", "l2"), BERTH_OK) << c.error();
  ASSERT_EQ(c.apply_diff("l3", "l2", make_tar(l3)), BERTH_OK) << c.error();

  {
    const LayerView view(c, "l2");
    EXPECT_EQ(snapshot(view.path()), expected_tree({l1, l2}));
  }
  const LayerView view(c, "l3");
  const Tree tree = snapshot(view.path());
  EXPECT_EQ(tree, expected_tree({l1, l2, l3}));
  // Spelled out, in case the model above is wrong in the same way as a driver.
  EXPECT_EQ(read_file(view / "a/1"), "one again");
  EXPECT_TRUE(fs::exists(view / "a/2"));
  EXPECT_FALSE(fs::exists(view / "a/sub/deep"));
  EXPECT_TRUE(fs::exists(view / "a/sub/fresh"));
  EXPECT_FALSE(fs::exists(view / "b/x"));
  EXPECT_EQ(read_file(view / "b/y"), "upper y");
  EXPECT_FALSE(fs::exists(view / "b/z"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(view / "c")));
  EXPECT_FALSE(fs::exists(view / "d/old"));
  EXPECT_EQ(read_file(view / "d/new"), "d new");
  EXPECT_EQ(read_file(view / "e/new"), "new");
  EXPECT_FALSE(fs::exists(fs::symlink_status(view / "top")));
  for (const auto& [path, node] : tree) {
    EXPECT_FALSE(split_path(path).second.starts_with(".wh.")) << "whiteout visible: " << path;
    EXPECT_FALSE(node.type == TarEntry::Type::char_device && node.dev_major == 0 &&
                 node.dev_minor == 0)
        << "whiteout device visible: " << path;
  }
}

TEST_P(StorageConformance, ReadWriteLayerReportsItsChangesAndDiff) {
  BERTH_SKIP_UNLESS_USABLE();
  BERTH_SKIP_UNLESS_ROOT();
  StorageClient c(driver());
  const std::vector<TarEntry> base = {
      tar_dir("etc"),
      tar_file("etc/hosts", "hosts"),
      tar_file("etc/mod", "old content"),
      tar_file("etc/gone", "bye"),
      tar_dir("olddir"),
      tar_file("olddir/f1", "1"),
      tar_dir("olddir/sub"),
      tar_file("olddir/sub/f2", "2"),
      tar_file("keep", "keep"),
  };
  ASSERT_EQ(c.create("base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.apply_diff("base", "", make_tar(base)), BERTH_OK) << c.error();
  ASSERT_EQ(c.create_rw("rw", "base"), BERTH_OK) << c.error();
  {
    const LayerView view(c, "rw");
    write_file(view / "etc/new", "new file");
    write_file(view / "etc/mod", "modified content");
    fs::remove(view / "etc/gone");
    fs::remove_all(view / "olddir");
    fs::create_directory(view / "newdir");
    write_file(view / "newdir/f", "f");
  }

  std::string json;
  ASSERT_EQ(c.changes("rw", "base", &json), BERTH_OK) << c.error();
  expect_changes(parse_changes(json), {
                                          {"/etc/new", 1},
                                          {"/etc/mod", 0},
                                          {"/etc/gone", 2},
                                          {"/olddir", 2},
                                          {"/newdir", 1},
                                          {"/newdir/f", 1},
                                      });

  std::string tar;
  ASSERT_EQ(c.diff("rw", "base", &tar), BERTH_OK) << c.error();
  const std::map<std::string, TarEntry> entries = by_path(read_tar(tar));
  const std::map<std::string, std::string> files = {
      {"etc/new", "new file"}, {"etc/mod", "modified content"},
      {"newdir/f", "f"},       {"etc/.wh.gone", ""},
      {".wh.olddir", ""},
  };
  for (const auto& [path, content] : files) {
    ASSERT_TRUE(entries.contains(path)) << "diff lacks " << path;
    EXPECT_EQ(entries.at(path).type, TarEntry::Type::file) << path;
    EXPECT_EQ(entries.at(path).content, content) << path;
  }
  ASSERT_TRUE(entries.contains("newdir"));
  EXPECT_EQ(entries.at("newdir").type, TarEntry::Type::dir);
  for (const auto& [path, entry] : entries) {
    if (files.contains(path) || path == "newdir") continue;
    EXPECT_TRUE(
        entry.type == TarEntry::Type::dir &&
        (path.empty() || std::any_of(files.begin(), files.end(),
                                     [&](const auto& f) { return is_ancestor(path, f.first); })))
        << "unexpected diff entry: " << ::testing::PrintToString(entry);
  }
}

TEST_P(StorageConformance, DiffOfAnAppliedLayerReproducesIt) {
  BERTH_SKIP_UNLESS_USABLE();
  BERTH_SKIP_UNLESS_ROOT();
  StorageClient c(driver());
  const std::vector<TarEntry> base = rich_layer();
  ASSERT_EQ(c.create("base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.apply_diff("base", "", make_tar(base)), BERTH_OK) << c.error();

  // A base layer's diff is its tar again, entry for entry.
  std::string tar;
  ASSERT_EQ(c.diff("base", "", &tar), BERTH_OK) << c.error();
  std::map<std::string, TarEntry> got = by_path(read_tar(tar));
  got.erase("");
  std::map<std::string, TarEntry> want = by_path(base);
  // Directories' times change as entries are created in them; a hard link
  // entry's metadata is its target's.
  for (auto* entries : {&got, &want}) {
    for (auto& [path, entry] : *entries) {
      if (entry.type == TarEntry::Type::dir) entry.mtime = 0;
      if (entry.type == TarEntry::Type::hardlink) entry = tar_hardlink(path, entry.link);
    }
  }
  EXPECT_EQ(got, want);
  std::string again;
  ASSERT_EQ(c.diff("base", "", &again), BERTH_OK) << c.error();
  EXPECT_TRUE(again == tar) << "two diffs of an unchanged layer differ";

  // A layer with whiteouts: its diff applied to the same parent gives the
  // same tree.
  const std::vector<TarEntry> child = {
      tar_dir("etc"),
      tar_file("etc/hosts", "changed\n"),
      tar_whiteout("etc/shadow"),
      tar_dir("home"),
      tar_opaque("home"),
      tar_file("home/readme", "only me"),
      tar_whiteout("var/big"),
      tar_dir("var"),
      tar_dir("srv", 0750),
      with_xattr(tar_file("srv/data", pseudo_random(3000, 11)), "user.kind", "data"),
  };
  ASSERT_EQ(c.create("child", "base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.apply_diff("child", "base", make_tar(child)), BERTH_OK) << c.error();
  std::string child_tar;
  ASSERT_EQ(c.diff("child", "base", &child_tar), BERTH_OK) << c.error();
  ASSERT_EQ(c.create("replay", "base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.apply_diff("replay", "base", child_tar), BERTH_OK) << c.error();
  const LayerView original(c, "child");
  const LayerView replayed(c, "replay");
  const Tree want_tree = expected_tree({base, child});
  EXPECT_EQ(snapshot(original.path()), want_tree);
  EXPECT_EQ(snapshot(replayed.path()), want_tree);
}

TEST_P(StorageConformance, UsageCountsTheLayersOwnContent) {
  BERTH_SKIP_UNLESS_USABLE();
  StorageClient c(driver());
  std::vector<TarEntry> tar = {tar_dir("data")};
  for (unsigned i = 0; i < 10; ++i) {
    tar.push_back(tar_file("data/f" + std::to_string(i), pseudo_random(10'000 + i, i)));
  }
  ASSERT_EQ(c.create("base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.apply_diff("base", "", make_tar(tar)), BERTH_OK) << c.error();
  berth_usage u{struct_size_of<berth_usage>(), -1, -1};
  ASSERT_EQ(c.usage("base", &u), BERTH_OK) << c.error();
  EXPECT_GE(u.size_bytes, content_bytes(tar));
  EXPECT_GE(u.inodes, 11);

  ASSERT_EQ(c.create("child", "base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.apply_diff("child", "base", make_tar({tar_file("extra", pseudo_random(4096, 1))})),
            BERTH_OK)
      << c.error();
  berth_usage child{struct_size_of<berth_usage>(), -1, -1};
  ASSERT_EQ(c.usage("child", &child), BERTH_OK) << c.error();
  EXPECT_GE(child.size_bytes, 4096);
  EXPECT_GE(child.inodes, 1);
}

TEST_P(StorageConformance, StatusIsJsonPairs) {
  BERTH_SKIP_UNLESS_USABLE();
  StorageClient c(driver());
  std::string json;
  ASSERT_EQ(c.status(&json), BERTH_OK) << c.error();
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(json, ec);
  ASSERT_FALSE(ec) << json;
  ASSERT_TRUE(value.is_array()) << json;
  for (const boost::json::value& pair : value.as_array()) {
    ASSERT_TRUE(pair.is_array() && pair.as_array().size() == 2) << json;
    EXPECT_TRUE(pair.as_array()[0].is_string() && pair.as_array()[1].is_string()) << json;
  }
}

TEST_P(StorageConformance, ConcurrentCallsOnSharedParents) {
  BERTH_SKIP_UNLESS_USABLE();
  StorageClient c(driver());
  ASSERT_EQ(c.create("base"), BERTH_OK) << c.error();
  ASSERT_EQ(c.apply_diff("base", "", make_tar({tar_file("f", "shared")})), BERTH_OK) << c.error();
  constexpr int threads = 6;
  constexpr int layers_each = 8;
  std::vector<std::string> failures(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      StorageClient mine(driver());
      for (int i = 0; i < layers_each; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        std::vector<FakeMount> mounts;
        if (mine.create(id, "base") != BERTH_OK || !mine.exists(id) ||
            mine.get(id, &mounts) != BERTH_OK) {
          failures[static_cast<std::size_t>(t)] = id + ": " + mine.error();
          return;
        }
        if (mine.remove("base") != BERTH_E_CONFLICT) {
          failures[static_cast<std::size_t>(t)] = "base could be removed under " + id;
          return;
        }
        if (mine.put(id) != BERTH_OK || (i % 2 == 0 && mine.remove(id) != BERTH_OK)) {
          failures[static_cast<std::size_t>(t)] = id + ": " + mine.error();
          return;
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  for (const std::string& failure : failures) EXPECT_EQ(failure, "");
  for (int t = 0; t < threads; ++t) {
    for (int i = 0; i < layers_each; ++i) {
      const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
      EXPECT_EQ(c.exists(id), i % 2 == 1) << id;
      if (i % 2 == 1) {
        EXPECT_EQ(c.remove(id), BERTH_OK) << c.error();
      }
    }
  }
  EXPECT_EQ(c.remove("base"), BERTH_OK) << c.error();
}

TEST_P(StorageConformance, LayersSurviveARestartOfTheDriver) {
  BERTH_SKIP_UNLESS_USABLE();
  {
    StorageClient c(driver());
    ASSERT_EQ(c.create("base"), BERTH_OK) << c.error();
    ASSERT_EQ(c.apply_diff("base", "", make_tar({tar_file("f", "kept")})), BERTH_OK) << c.error();
    ASSERT_EQ(c.create_rw("rw", "base"), BERTH_OK) << c.error();
  }
  driver().shutdown();
  DriverUnderTest again(GetParam(), host());
  ASSERT_EQ(again.init(), BERTH_OK) << again.init_error();
  StorageClient c(again);
  EXPECT_TRUE(c.exists("base"));
  EXPECT_TRUE(c.exists("rw"));
  EXPECT_EQ(c.create("base"), BERTH_E_ALREADY_EXISTS);
  EXPECT_EQ(c.remove("base"), BERTH_E_CONFLICT) << "the restarted driver forgot the child";
  if (::geteuid() == 0) {
    const LayerView view(c, "rw");
    EXPECT_EQ(read_file(view / "f"), "kept");
  }
  EXPECT_EQ(c.remove("rw"), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("base"), BERTH_OK) << c.error();
}

}  // namespace berth::sdk::testing
