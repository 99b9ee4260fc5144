#include "berth/core/image/content_store.hpp"

#include "berth/core/image/digest.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>

namespace berth::core::image {
namespace fs = std::filesystem;

namespace {

Result<void> fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error(Errc::internal, "open " + dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return errno_error(Errc::internal, "fsync " + dir, err);
  return ok();
}

std::string random_name() {
  static std::atomic<std::uint64_t> counter{0};
  std::random_device rd;
  return std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(rd());
}

}  // namespace

struct BlobWriter::Hash {
  Sha256 sha;
};

BlobWriter::BlobWriter(ContentStore& store, int fd, std::string temp_path)
    : store_(store), fd_(fd), temp_path_(std::move(temp_path)), hash_(std::make_unique<Hash>()) {}

BlobWriter::~BlobWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!done_) ::unlink(temp_path_.c_str());
}

Result<void> BlobWriter::write(const void* data, std::size_t len) {
  if (done_) return make_error(Errc::failed_precondition, "write to a committed blob");
  const char* p = static_cast<const char*>(data);
  std::size_t left = len;
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(Errc::internal, "write " + temp_path_, errno);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  hash_->sha.update(data, len);
  written_ += static_cast<std::int64_t>(len);
  return ok();
}

Result<std::string> BlobWriter::commit(const std::string& expected_digest,
                                       std::optional<std::int64_t> expected_size) {
  if (done_) return make_error(Errc::failed_precondition, "blob already committed");
  std::string digest = hash_->sha.finish();
  if (expected_size && *expected_size != written_) {
    return make_error(Errc::invalid_argument,
                      "blob " + (expected_digest.empty() ? digest : expected_digest) + ": expected " +
                          std::to_string(*expected_size) + " bytes, got " +
                          std::to_string(written_));
  }
  if (!expected_digest.empty() && expected_digest != digest) {
    return make_error(Errc::invalid_argument,
                      "blob " + expected_digest + ": digest mismatch (content is " + digest + ")");
  }
  if (::fsync(fd_) != 0) return errno_error(Errc::internal, "fsync " + temp_path_, errno);
  ::close(fd_);
  fd_ = -1;
  std::string final_path = store_.blob_path(digest.substr(7));
  if (::rename(temp_path_.c_str(), final_path.c_str()) != 0) {
    return errno_error(Errc::internal, "rename " + temp_path_ + " to " + final_path, errno);
  }
  done_ = true;
  BERTH_TRY(fsync_dir(store_.root_ + "/blobs/sha256"));
  return digest;
}

Result<std::unique_ptr<ContentStore>> ContentStore::open(const std::string& root) {
  std::error_code ec;
  for (const char* sub : {"/blobs/sha256", "/ingest"}) {
    fs::create_directories(root + sub, ec);
    if (ec) return make_error(Errc::internal, "create " + root + sub + ": " + ec.message());
  }
  // Interrupted writes: never published, safe to drop.
  for (const auto& entry : fs::directory_iterator(root + "/ingest", ec)) {
    fs::remove_all(entry.path(), ec);
  }
  return std::unique_ptr<ContentStore>(new ContentStore(root));
}

Result<std::unique_ptr<BlobWriter>> ContentStore::writer() {
  std::string temp = root_ + "/ingest/" + random_name();
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error(Errc::internal, "create " + temp, errno);
  return std::unique_ptr<BlobWriter>(new BlobWriter(*this, fd, temp));
}

Result<std::string> ContentStore::put(std::string_view data, const std::string& expected_digest) {
  if (!expected_digest.empty() && exists(expected_digest)) return expected_digest;
  BERTH_TRY(auto w, writer());
  BERTH_TRY(w->write(data.data(), data.size()));
  return w->commit(expected_digest, static_cast<std::int64_t>(data.size()));
}

bool ContentStore::exists(const std::string& digest) const {
  if (!is_sha256_digest(digest)) return false;
  struct stat st{};
  return ::stat(blob_path(digest.substr(7)).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> ContentStore::path(const std::string& digest) const {
  BERTH_TRY(auto hex, digest_hex(digest));
  std::string p = blob_path(hex);
  if (::access(p.c_str(), F_OK) != 0) {
    return make_error(Errc::not_found, "blob " + digest + " not found");
  }
  return p;
}

Result<std::int64_t> ContentStore::size(const std::string& digest) const {
  BERTH_TRY(auto p, path(digest));
  struct stat st{};
  if (::stat(p.c_str(), &st) != 0) return errno_error(Errc::internal, "stat " + p, errno);
  return static_cast<std::int64_t>(st.st_size);
}

Result<std::string> ContentStore::read(const std::string& digest, std::size_t limit) const {
  BERTH_TRY(auto p, path(digest));
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(Errc::internal, "open " + p, errno);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return errno_error(Errc::internal, "read " + p, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > limit) {
      ::close(fd);
      return make_error(Errc::invalid_argument, "blob " + digest + " is larger than " +
                                                    std::to_string(limit) + " bytes");
    }
  }
  ::close(fd);
  return out;
}

Result<void> ContentStore::remove(const std::string& digest) {
  BERTH_TRY(auto hex, digest_hex(digest));
  if (::unlink(blob_path(hex).c_str()) != 0 && errno != ENOENT) {
    return errno_error(Errc::internal, "remove blob " + digest, errno);
  }
  return ok();
}

std::vector<std::string> ContentStore::list() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ + "/blobs/sha256", ec)) {
    std::string d = "sha256:" + entry.path().filename().string();
    if (is_sha256_digest(d)) out.push_back(d);
  }
  return out;
}

}  // namespace berth::core::image
