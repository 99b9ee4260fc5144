#include "archive_test_support.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace berth::archive_test {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void check(int r, const std::string& what) {
  if (r != 0) fail(what);
}

la_ssize_t append_callback(struct archive*, void* out, const void* buf, size_t len) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), len);
  return static_cast<la_ssize_t>(len);
}

// Mount points at or below `root`, deepest first.
std::vector<std::string> mounts_below(const fs::path& root) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  const std::string prefix = root.string();
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, source_root, target;
    fields >> id >> parent >> devno >> source_root >> target;
    if (target == prefix || target.starts_with(prefix + "/")) out.push_back(target);
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = "/tmp/berth-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) fail("mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  for (const auto& target : mounts_below(path_)) ::umount2(target.c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove_all(path_, ec);
  if (ec) ADD_FAILURE() << "remove " << path_ << ": " << ec.message();
}

Mount::Mount(const std::string& type, const fs::path& target, const std::string& options)
    : target_(target) {
  check(::mount(type.c_str(), target.c_str(), type.c_str(), 0, options.c_str()),
        "mount " + type + " on " + target.string() + " (" + options + ")");
}

Mount::~Mount() { ::umount2(target_.c_str(), MNT_DETACH); }

TarBuilder::TarBuilder(Compression compression) : archive_(archive_write_new()) {
  archive_write_set_format_pax(archive_);
  switch (compression) {
    case Compression::none:
      archive_write_add_filter_none(archive_);
      break;
    case Compression::gzip:
      archive_write_add_filter_gzip(archive_);
      break;
    case Compression::zstd:
      archive_write_add_filter_zstd(archive_);
      break;
  }
  archive_write_set_bytes_in_last_block(archive_, 1);
  if (archive_write_open(archive_, &out_, nullptr, append_callback, nullptr) != ARCHIVE_OK) {
    throw std::runtime_error(std::string("tar builder: ") + archive_error_string(archive_));
  }
}

TarBuilder::~TarBuilder() {
  if (archive_ != nullptr) archive_write_free(archive_);
}

TarBuilder& TarBuilder::add(archive_entry* entry, std::string_view data) {
  if (archive_write_header(archive_, entry) < ARCHIVE_WARN) {
    throw std::runtime_error(std::string("tar builder: header: ") + archive_error_string(archive_));
  }
  if (!data.empty() && archive_write_data(archive_, data.data(), data.size()) < 0) {
    throw std::runtime_error(std::string("tar builder: data: ") + archive_error_string(archive_));
  }
  return *this;
}

namespace {

using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

EntryPtr new_entry(const std::string& name, mode_t type, mode_t perm) {
  EntryPtr e(archive_entry_new(), &archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), type);
  archive_entry_set_perm(e.get(), perm);
  archive_entry_set_mtime(e.get(), 1'600'000'000, 0);
  return e;
}

}  // namespace

TarBuilder& TarBuilder::file(const std::string& name, const std::string& content, mode_t perm,
                             const std::vector<std::pair<std::string, std::string>>& xattrs) {
  auto e = new_entry(name, AE_IFREG, perm);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(content.size()));
  for (const auto& [key, value] : xattrs) {
    archive_entry_xattr_add_entry(e.get(), key.c_str(), value.data(), value.size());
  }
  return add(e.get(), content);
}

TarBuilder& TarBuilder::dir(const std::string& name, mode_t perm) {
  return add(new_entry(name, AE_IFDIR, perm).get());
}

TarBuilder& TarBuilder::symlink(const std::string& name, const std::string& target) {
  auto e = new_entry(name, AE_IFLNK, 0777);
  archive_entry_set_symlink(e.get(), target.c_str());
  return add(e.get());
}

TarBuilder& TarBuilder::hardlink(const std::string& name, const std::string& target) {
  auto e = new_entry(name, AE_IFREG, 0644);
  archive_entry_set_hardlink(e.get(), target.c_str());
  archive_entry_set_size(e.get(), 0);
  return add(e.get());
}

TarBuilder& TarBuilder::node(const std::string& name, mode_t type, dev_t rdev, mode_t perm) {
  auto e = new_entry(name, type, perm);
  archive_entry_set_rdev(e.get(), rdev);
  return add(e.get());
}

std::string TarBuilder::finish() {
  if (archive_write_close(archive_) != ARCHIVE_OK) {
    throw std::runtime_error(std::string("tar builder: close: ") + archive_error_string(archive_));
  }
  archive_write_free(archive_);
  archive_ = nullptr;
  return std::move(out_);
}

namespace {

struct TruncatingSink {
  std::string out;
  bool stop = false;
};

la_ssize_t truncating_callback(struct archive*, void* self, const void* buf, size_t len) {
  auto* sink = static_cast<TruncatingSink*>(self);
  if (sink->stop) return -1;
  sink->out.append(static_cast<const char*>(buf), len);
  return static_cast<la_ssize_t>(len);
}

}  // namespace

std::string truncated_tar(const std::string& name, std::int64_t declared, const std::string& data) {
  TruncatingSink sink;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  archive_write_add_filter_none(a);
  // Unblocked: every write reaches the sink at once, so stopping the sink
  // cuts the archive right after `data`.
  archive_write_set_bytes_per_block(a, 0);
  archive_write_open(a, &sink, nullptr, truncating_callback, nullptr);
  auto e = new_entry(name, AE_IFREG, 0644);
  archive_entry_set_size(e.get(), declared);
  archive_write_header(a, e.get());
  archive_write_data(a, data.data(), data.size());
  // Closing pads the entry to its declared size: the stopped sink fails the
  // first write of that, so nothing more is added.
  sink.stop = true;
  archive_write_close(a);
  archive_write_free(a);
  return sink.out;
}

sdk::archive::ReadFn reader_of(const std::string& data, std::size_t chunk) {
  auto offset = std::make_shared<std::size_t>(0);
  return [&data, chunk, offset](void* buf, std::size_t cap) -> std::size_t {
    const std::size_t n = std::min({cap, chunk, data.size() - *offset});
    std::memcpy(buf, data.data() + *offset, n);
    *offset += n;
    return n;
  };
}

sdk::archive::WriteFn writer_to(std::string& out) {
  return
      [&out](const void* buf, std::size_t len) { out.append(static_cast<const char*>(buf), len); };
}

namespace {

struct ReadState {
  const std::string* data;
  bool done = false;
};

la_ssize_t read_all_callback(struct archive*, void* self, const void** buf) {
  auto* state = static_cast<ReadState*>(self);
  if (state->done) return 0;
  state->done = true;
  *buf = state->data->data();
  return static_cast<la_ssize_t>(state->data->size());
}

}  // namespace

std::vector<TarEntry> list_tar(const std::string& tar) {
  ReadState state{&tar};
  std::unique_ptr<struct archive, decltype(&archive_read_free)> a(archive_read_new(),
                                                                  &archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_all(a.get());
  if (archive_read_open(a.get(), &state, nullptr, read_all_callback, nullptr) != ARCHIVE_OK) {
    throw std::runtime_error(std::string("list tar: ") + archive_error_string(a.get()));
  }
  std::vector<TarEntry> out;
  archive_entry* e = nullptr;
  int r = 0;
  while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    TarEntry entry;
    entry.name = archive_entry_pathname(e);
    entry.type = archive_entry_filetype(e);
    if (const char* link = archive_entry_hardlink(e)) entry.hardlink = link;
    if (const char* link = archive_entry_symlink(e)) entry.symlink = link;
    entry.size = archive_entry_size(e);
    entry.mtime = archive_entry_mtime(e);
    archive_entry_xattr_reset(e);
    const char* key = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
      entry.xattrs.emplace_back(key, std::string(static_cast<const char*>(value), size));
    }
    out.push_back(std::move(entry));
  }
  if (r != ARCHIVE_EOF) {
    throw std::runtime_error(std::string("list tar: ") + archive_error_string(a.get()));
  }
  return out;
}

std::ostream& operator<<(std::ostream& out, const Node& node) {
  out << "{mode " << std::oct << node.mode << std::dec << ", owner " << node.uid << ":" << node.gid
      << ", rdev " << major(node.rdev) << ":" << minor(node.rdev) << ", size " << node.size
      << ", mtime " << node.mtime_sec << "." << node.mtime_nsec;
  if (!node.content.empty()) {
    out << ", content "
        << (node.content.size() > 40 ? node.content.substr(0, 40) + "…" : node.content);
  }
  if (!node.link_group.empty()) out << ", links with " << node.link_group;
  for (const auto& [key, value] : node.xattrs)
    out << ", xattr " << key << "=" << value.size() << "B";
  return out << "}";
}

namespace {

std::vector<std::pair<std::string, std::string>> all_xattrs(const fs::path& path) {
  std::vector<std::pair<std::string, std::string>> out;
  const ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
  if (size <= 0) return out;
  std::string names(static_cast<std::size_t>(size), '\0');
  const ssize_t got = ::llistxattr(path.c_str(), names.data(), names.size());
  if (got < 0) fail("llistxattr " + path.string());
  names.resize(static_cast<std::size_t>(got));
  for (std::size_t begin = 0; begin < names.size();) {
    const std::size_t end = names.find('\0', begin);
    const std::string key = names.substr(begin, end - begin);
    begin = end + 1;
    if (auto value = get_xattr(path, key)) out.emplace_back(key, *value);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void walk(const fs::path& root, const fs::path& dir, const SnapshotOptions& options, Snapshot& out,
          std::map<std::pair<dev_t, ino_t>, std::string>& inodes) {
  std::vector<fs::path> children;
  for (const auto& entry : fs::directory_iterator(dir)) children.push_back(entry.path());
  std::sort(children.begin(), children.end());
  for (const auto& path : children) {
    if (options.skip && path == *options.skip) continue;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) fail("lstat " + path.string());
    Node node;
    node.mode = st.st_mode;
    node.uid = st.st_uid;
    node.gid = st.st_gid;
    node.rdev = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? st.st_rdev : 0;
    node.size = S_ISDIR(st.st_mode) ? 0 : st.st_size;
    const bool with_mtime = options.mtimes && (options.dir_mtimes || !S_ISDIR(st.st_mode));
    node.mtime_sec = with_mtime ? st.st_mtim.tv_sec : 0;
    node.mtime_nsec = with_mtime && !options.whole_seconds ? st.st_mtim.tv_nsec : 0;
    if (S_ISREG(st.st_mode)) node.content = read_file(path);
    if (S_ISLNK(st.st_mode)) node.content = fs::read_symlink(path).string();
    node.xattrs = all_xattrs(path);
    const std::string rel = path.lexically_relative(root).string();
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      node.link_group = inodes.try_emplace({st.st_dev, st.st_ino}, rel).first->second;
    }
    out.emplace(rel, node);
    if (S_ISDIR(st.st_mode)) walk(root, path, options, out, inodes);
  }
}

}  // namespace

Snapshot snapshot(const fs::path& root, const SnapshotOptions& options) {
  Snapshot out;
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;
  walk(root, root, options, out, inodes);
  return out;
}

std::string diff(const Snapshot& expected, const Snapshot& actual) {
  std::ostringstream out;
  for (const auto& [path, node] : expected) {
    const auto it = actual.find(path);
    if (it == actual.end()) {
      out << "missing: " << path << " " << node << "\n";
    } else if (!(it->second == node)) {
      out << "differs: " << path << "\n  expected " << node << "\n  actual   " << it->second
          << "\n";
    }
  }
  for (const auto& [path, node] : actual) {
    if (!expected.contains(path)) out << "unexpected: " << path << " " << node << "\n";
  }
  return out.str();
}

void write_file(const fs::path& path, const std::string& content, mode_t perm) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) fail("create " + path.string());
  const char* data = content.data();
  std::size_t left = content.size();
  while (left != 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      ::close(fd);
      fail("write " + path.string());
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  ::close(fd);
  set_mode(path, perm);
}

void make_dir(const fs::path& path, mode_t perm) {
  check(::mkdir(path.c_str(), 0700), "mkdir " + path.string());
  set_mode(path, perm);
}

void make_symlink(const fs::path& path, const std::string& target) {
  check(::symlink(target.c_str(), path.c_str()), "symlink " + path.string());
}

void make_node(const fs::path& path, mode_t type, dev_t rdev, mode_t perm) {
  check(::mknod(path.c_str(), type | 0600, rdev), "mknod " + path.string());
  set_mode(path, perm);
}

void set_owner(const fs::path& path, uid_t uid, gid_t gid) {
  check(::lchown(path.c_str(), uid, gid), "lchown " + path.string());
}

void set_mode(const fs::path& path, mode_t perm) {
  check(::chmod(path.c_str(), perm), "chmod " + path.string());
}

void set_xattr(const fs::path& path, const std::string& key, const std::string& value) {
  check(::lsetxattr(path.c_str(), key.c_str(), value.data(), value.size(), 0),
        "lsetxattr " + key + " on " + path.string());
}

std::optional<std::string> get_xattr(const fs::path& path, const std::string& key) {
  const ssize_t size = ::lgetxattr(path.c_str(), key.c_str(), nullptr, 0);
  if (size < 0) {
    if (errno == ENODATA) return std::nullopt;
    fail("lgetxattr " + key + " of " + path.string());
  }
  std::string value(static_cast<std::size_t>(size), '\0');
  const ssize_t got = ::lgetxattr(path.c_str(), key.c_str(), value.data(), value.size());
  if (got < 0) fail("lgetxattr " + key + " of " + path.string());
  value.resize(static_cast<std::size_t>(got));
  return value;
}

void set_mtime(const fs::path& path, std::int64_t sec, long nsec) {
  const struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  check(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), "utimensat " + path.string());
}

void make_whiteout(const fs::path& path) {
  check(::mknod(path.c_str(), S_IFCHR, makedev(0, 0)), "mknod whiteout " + path.string());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("open " + path.string());
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string capability_xattr(unsigned cap) {
  vfs_cap_data data{};
  data.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
  data.data[cap / 32].permitted = 1u << (cap % 32);
  return std::string(reinterpret_cast<const char*>(&data), XATTR_CAPS_SZ_2);
}

sdk::Error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sdk::Error& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected berth::sdk::Error, got: " << e.what();
    return sdk::Error(sdk::Errc::ok, "");
  }
  ADD_FAILURE() << "expected berth::sdk::Error, nothing was thrown";
  return sdk::Error(sdk::Errc::ok, "");
}

}  // namespace berth::archive_test
