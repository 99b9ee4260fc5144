#include "tar_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <streambuf>
#include <vector>

#include "client.hpp"

namespace berth::cli {

namespace {

[[noreturn]] void fail_errno(const std::string& what, int err) {
  throw CliError(what + ": " + std::strerror(err));
}

using WriteArchive = std::unique_ptr<struct archive, decltype(&archive_write_free)>;
using ReadArchive = std::unique_ptr<struct archive, decltype(&archive_read_free)>;
using Entry = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

// The names in directory `path`, sorted bytewise as Go's filepath.Walk
// visits them.
std::vector<std::string> sorted_names(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) fail_errno("open " + path, errno);
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* d = ::readdir(dir)) {
    std::string name = d->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) fail_errno("read directory " + path, err);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

struct TarWriter::Impl {
  WriteArchive out{archive_write_new(), &archive_write_free};
  // Metadata readers: one that looks user and group names up (cp), one
  // that does not and leaves extended attributes out (build contexts).
  ReadArchive lookup{archive_read_disk_new(), &archive_read_free};
  ReadArchive plain{archive_read_disk_new(), &archive_read_free};
  std::vector<char> buffer = std::vector<char>(std::size_t{1} << 16);

  [[noreturn]] void fail(struct archive* a, const std::string& what) const {
    const char* message = archive_error_string(a);
    throw CliError("tar " + what + ": " + (message != nullptr ? message : "unknown error"));
  }

  void write_header(archive_entry* e, const std::string& what) {
    if (archive_write_header(out.get(), e) < ARCHIVE_WARN) fail(out.get(), what);
  }

  void write_data(std::string_view data, const std::string& what) {
    while (!data.empty()) {
      la_ssize_t n = archive_write_data(out.get(), data.data(), data.size());
      if (n < 0) fail(out.get(), what);
      if (n == 0) break;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void write_entry(const std::string& path, const std::string& name, const struct stat& st,
                   const std::string& relative, const TarTreeOptions& options) {
    struct archive* disk = options.root_owned ? plain.get() : lookup.get();
    Entry e(archive_entry_new(), &archive_entry_free);
    archive_entry_copy_pathname(e.get(), name.c_str());
    archive_entry_copy_sourcepath(e.get(), path.c_str());
    if (archive_read_disk_entry_from_file(disk, e.get(), -1, &st) < ARCHIVE_WARN) fail(disk, path);
    archive_entry_unset_atime(e.get());
    archive_entry_unset_ctime(e.get());
    archive_entry_unset_birthtime(e.get());
    if (options.root_owned) {
      archive_entry_set_uid(e.get(), 0);
      archive_entry_set_gid(e.get(), 0);
    }
    if (!S_ISREG(st.st_mode)) {
      archive_entry_set_size(e.get(), 0);
      write_header(e.get(), path);
      return;
    }
    std::optional<std::string> replaced;
    if (options.replace) replaced = options.replace(relative);
    if (replaced) {
      archive_entry_set_size(e.get(), static_cast<la_int64_t>(replaced->size()));
      write_header(e.get(), path);
      write_data(*replaced, path);
      return;
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) fail_errno("open " + path, errno);
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    write_header(e.get(), path);
    // A file that grows while it is read is cut at the size in its header,
    // one that shrinks is padded with zeros (libarchive does both).
    for (;;) {
      ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail_errno("read " + path, errno);
      if (n == 0) break;
      write_data({buffer.data(), static_cast<std::size_t>(n)}, path);
    }
  }

  void walk(const std::string& dir, const std::string& prefix, const TarTreeOptions& options) {
    for (const auto& name : sorted_names(dir)) {
      std::string path = dir + "/" + name;
      std::string relative = prefix.empty() ? name : prefix + "/" + name;
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0) fail_errno("lstat " + path, errno);
      if (S_ISSOCK(st.st_mode)) continue;
      bool is_dir = S_ISDIR(st.st_mode);
      TarVisit visit = options.filter ? options.filter(relative, is_dir) : TarVisit::include;
      if (visit == TarVisit::skip || (visit == TarVisit::walk_only && !is_dir)) continue;
      if (visit == TarVisit::include) {
        std::string entry = options.top.empty() ? relative : options.top + "/" + relative;
        write_entry(path, entry, st, relative, options);
      }
      if (is_dir) walk(path, relative, options);
    }
  }
};

TarWriter::TarWriter(int fd, bool gzip) : impl_(std::make_unique<Impl>()) {
  struct archive* out = impl_->out.get();
  archive_write_set_format_pax_restricted(out);
  if (gzip && archive_write_add_filter_gzip(out) != ARCHIVE_OK) impl_->fail(out, "gzip");
  // Like Go's tar writer: the end-of-archive blocks, no padding to a
  // 10 KiB record.
  archive_write_set_bytes_in_last_block(out, 1);
  if (archive_write_open_fd(out, fd) != ARCHIVE_OK) impl_->fail(out, "open");
  archive_read_disk_set_symlink_physical(impl_->lookup.get());
  archive_read_disk_set_standard_lookup(impl_->lookup.get());
  archive_read_disk_set_symlink_physical(impl_->plain.get());
  archive_read_disk_set_behavior(impl_->plain.get(), ARCHIVE_READDISK_NO_XATTR |
                                                         ARCHIVE_READDISK_NO_ACL |
                                                         ARCHIVE_READDISK_NO_FFLAGS);
}

TarWriter::~TarWriter() = default;

void TarWriter::add_tree(const std::string& root, const TarTreeOptions& options) {
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0) fail_errno("lstat " + root, errno);
  if (S_ISSOCK(st.st_mode)) return;
  if (!options.top.empty()) impl_->write_entry(root, options.top, st, "", options);
  if (S_ISDIR(st.st_mode)) impl_->walk(root, "", options);
}

void TarWriter::add_file(const std::string& name, std::string_view content, mode_t mode,
                         std::time_t mtime) {
  Entry e(archive_entry_new(), &archive_entry_free);
  archive_entry_copy_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), mode);
  archive_entry_set_uid(e.get(), 0);
  archive_entry_set_gid(e.get(), 0);
  archive_entry_set_mtime(e.get(), mtime, 0);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(content.size()));
  impl_->write_header(e.get(), name);
  impl_->write_data(content, name);
}

void TarWriter::finish() {
  if (archive_write_close(impl_->out.get()) != ARCHIVE_OK) impl_->fail(impl_->out.get(), "close");
}

// Reads the spool's file in blocks, counting them for on_read.
class Spool::Buffer : public std::streambuf {
 public:
  Buffer(int fd, std::function<void(std::uint64_t, bool)> on_read)
      : fd_(fd), on_read_(std::move(on_read)) {}

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    ssize_t n = 0;
    do {
      n = ::read(fd_, data_.data(), data_.size());
    } while (n < 0 && errno == EINTR);
    // A read error ends the stream as badbit would: the client reports it.
    if (n <= 0) {
      if (n == 0 && !done_) {
        done_ = true;
        if (on_read_) on_read_(read_, true);
      }
      return traits_type::eof();
    }
    read_ += static_cast<std::uint64_t>(n);
    if (on_read_) on_read_(read_, false);
    setg(data_.data(), data_.data(), data_.data() + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  int fd_;
  std::function<void(std::uint64_t, bool)> on_read_;
  std::vector<char> data_ = std::vector<char>(std::size_t{1} << 16);
  std::uint64_t read_ = 0;
  bool done_ = false;
};

Spool::Spool(const std::string& what) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string path = std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") +
                     "/berth-" + what + "-XXXXXX";
  fd_ = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd_ < 0) fail_errno("create a temporary file in " + path.substr(0, path.rfind('/')), errno);
  ::unlink(path.c_str());
}

Spool::~Spool() {
  stream_.reset();
  buffer_.reset();
  if (fd_ >= 0) ::close(fd_);
}

void Spool::append(std::istream& in) {
  std::vector<char> data(std::size_t{1} << 16);
  while (in) {
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    std::string_view chunk(data.data(), static_cast<std::size_t>(in.gcount()));
    while (!chunk.empty()) {
      ssize_t n = ::write(fd_, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail_errno("write a temporary file", errno);
      chunk.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  if (in.bad()) throw CliError("read standard input: input/output error");
}

std::uint64_t Spool::rewind() {
  off_t size = ::lseek(fd_, 0, SEEK_END);
  if (size < 0 || ::lseek(fd_, 0, SEEK_SET) < 0) fail_errno("seek a temporary file", errno);
  return static_cast<std::uint64_t>(size);
}

std::istream& Spool::body(std::function<void(std::uint64_t read, bool done)> on_read) {
  buffer_ = std::make_unique<Buffer>(fd_, std::move(on_read));
  stream_ = std::make_unique<std::istream>(buffer_.get());
  return *stream_;
}

}  // namespace berth::cli
