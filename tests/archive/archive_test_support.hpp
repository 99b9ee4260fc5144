// Shared pieces of the layer-archive tests: self-removing temp directories
// (mounts included), a tar builder on libarchive that writes entry names
// exactly as given, and tree snapshots to compare trees by lstat, content
// and xattrs. The tests run as root: they chown, mknod and mount overlays.
#ifndef BERTH_TESTS_ARCHIVE_TEST_SUPPORT_HPP
#define BERTH_TESTS_ARCHIVE_TEST_SUPPORT_HPP

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/sdk/layer_archive.hpp"
#include "berth/sdk/status.hpp"

struct archive;
struct archive_entry;

namespace berth::archive_test {

namespace fs = std::filesystem;

// /tmp/berth-test-XXXXXX; on destruction every mount below it is detached
// and the directory removed, also when the test failed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path operator/(std::string_view rel) const { return path_ / rel; }

 private:
  fs::path path_;
};

// Unmounts (lazily) on destruction.
class Mount {
 public:
  Mount(const std::string& type, const fs::path& target, const std::string& options);
  ~Mount();
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;

 private:
  fs::path target_;
};

enum class Compression { none, gzip, zstd };

// Builds a tar in memory with libarchive's PAX writer. Names, link targets
// and types go in untouched, so hostile archives can be made too.
class TarBuilder {
 public:
  explicit TarBuilder(Compression compression = Compression::none);
  ~TarBuilder();
  TarBuilder(const TarBuilder&) = delete;
  TarBuilder& operator=(const TarBuilder&) = delete;

  TarBuilder& file(const std::string& name, const std::string& content, mode_t perm = 0644,
                   const std::vector<std::pair<std::string, std::string>>& xattrs = {});
  TarBuilder& dir(const std::string& name, mode_t perm = 0755);
  TarBuilder& symlink(const std::string& name, const std::string& target);
  TarBuilder& hardlink(const std::string& name, const std::string& target);
  TarBuilder& node(const std::string& name, mode_t type, dev_t rdev, mode_t perm = 0600);
  // Any entry the caller set up, then `data`.
  TarBuilder& add(archive_entry* entry, std::string_view data = {});
  // Closes the archive and returns its bytes.
  std::string finish();

 private:
  struct archive* archive_;
  std::string out_;
};

// A tar whose one entry `name` declares `declared` bytes but ends after
// `data`, with no end-of-archive blocks.
std::string truncated_tar(const std::string& name, std::int64_t declared, const std::string& data);

// A ReadFn over `data`, handing out at most `chunk` bytes per call.
sdk::archive::ReadFn reader_of(const std::string& data, std::size_t chunk = 64 * 1024);
// A WriteFn appending to `out`.
sdk::archive::WriteFn writer_to(std::string& out);

// The entries of a tar, in order: name, type (AE_IF*), hardlink target.
struct TarEntry {
  std::string name;
  unsigned type;
  std::string hardlink;
  std::string symlink;
  std::int64_t size;
  std::int64_t mtime;
  std::vector<std::pair<std::string, std::string>> xattrs;
};
std::vector<TarEntry> list_tar(const std::string& tar);

// What the tree comparison looks at for one path.
struct Node {
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  dev_t rdev = 0;
  std::int64_t size = 0;
  std::int64_t mtime_sec = 0;
  long mtime_nsec = 0;
  std::string content;     // file content or symlink target
  std::string link_group;  // first path (in order) sharing the inode, for non-directories
  std::vector<std::pair<std::string, std::string>> xattrs;

  bool operator==(const Node&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Node& node);

struct SnapshotOptions {
  bool mtimes = true;  // compare mtimes
  bool dir_mtimes = true;
  bool whole_seconds = false;    // compare mtimes to the second (layers keep seconds)
  std::optional<fs::path> skip;  // a subtree left out
};

// Every path under `root` (relative, root itself excluded).
using Snapshot = std::map<std::string, Node>;
Snapshot snapshot(const fs::path& root, const SnapshotOptions& options = {});

// "" when equal, else a description of the first differences.
std::string diff(const Snapshot& expected, const Snapshot& actual);

// Tree building, all without following symlinks.
void write_file(const fs::path& path, const std::string& content, mode_t perm = 0644);
void make_dir(const fs::path& path, mode_t perm = 0755);
void make_symlink(const fs::path& path, const std::string& target);
void make_node(const fs::path& path, mode_t type, dev_t rdev, mode_t perm);
void set_owner(const fs::path& path, uid_t uid, gid_t gid);
void set_mode(const fs::path& path, mode_t perm);
void set_xattr(const fs::path& path, const std::string& key, const std::string& value);
std::optional<std::string> get_xattr(const fs::path& path, const std::string& key);
void set_mtime(const fs::path& path, std::int64_t sec, long nsec = 0);
// An overlayfs whiteout.
void make_whiteout(const fs::path& path);
std::string read_file(const fs::path& path);
// A v2 security.capability value granting `cap` (permitted, effective).
std::string capability_xattr(unsigned cap);

// Runs `f`, expecting it to throw berth::sdk::Error; returns it (or a
// placeholder with Errc::ok after recording a failure).
sdk::Error error_of(const std::function<void()>& f);

}  // namespace berth::archive_test

#endif  // BERTH_TESTS_ARCHIVE_TEST_SUPPORT_HPP
