#include "log_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "record.hpp"

namespace berth::plugins::log_json_file {

using sdk::Errc;
using sdk::Error;

void Fd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

int Fd::close() noexcept {
  if (fd_ < 0) return 0;
  const int rc = ::close(std::exchange(fd_, -1));
  return rc == 0 ? 0 : errno;
}

std::filesystem::path rotated_path(const std::filesystem::path& path, int n) {
  std::filesystem::path rotated = path;
  rotated += "." + std::to_string(n);
  return rotated;
}

LogFile::LogFile(LogInfo info) : info_(std::move(info)) { open(0); }

void LogFile::open(int extra_flags) {
  const int fd =
      ::open(info_.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | extra_flags, 0640);
  if (fd < 0) {
    throw Error::from_errno(
        errno, "open log of container " + info_.short_id() + ": " + info_.log_path.string());
  }
  fd_.reset(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw Error::from_errno(
        errno, "stat log of container " + info_.short_id() + ": " + info_.log_path.string());
  }
  size_ = st.st_size;
}

void LogFile::log(const sdk::LogMessage& message) {
  record_.clear();
  encode_record(message, record_);
  // Like Docker: rotate before a write once the file reached max-size, so a
  // file exceeds it by at most one record.
  if (info_.max_size > 0 && size_ >= info_.max_size) rotate();
  std::size_t written = 0;
  while (written < record_.size()) {
    const ssize_t n = ::write(fd_.get(), record_.data() + written, record_.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error::from_errno(
          errno, "write log of container " + info_.short_id() + ": " + info_.log_path.string());
    }
    written += static_cast<std::size_t>(n);
  }
  size_ += static_cast<std::int64_t>(written);
}

void LogFile::rotate() {
  const std::filesystem::path& path = info_.log_path;
  const auto fail = [&](const std::filesystem::path& which) {
    return Error::from_errno(errno,
                             "rotate log of container " + info_.short_id() + ": " + which.string());
  };
  if (info_.max_file > 1) {
    for (int n = info_.max_file - 1; n > 1; --n) {
      const std::filesystem::path from = rotated_path(path, n - 1);
      if (std::rename(from.c_str(), rotated_path(path, n).c_str()) != 0 && errno != ENOENT) {
        throw fail(from);
      }
    }
    if (std::rename(path.c_str(), rotated_path(path, 1).c_str()) != 0) throw fail(path);
  } else if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    // A new file rather than truncating in place: a reader following the old
    // one sees a new inode and switches, instead of reading from a stale offset.
    throw fail(path);
  }
  open(O_TRUNC);
}

void LogFile::close() {
  if (const int err = fd_.close(); err != 0) {
    throw Error::from_errno(
        err, "close log of container " + info_.short_id() + ": " + info_.log_path.string());
  }
}

}  // namespace berth::plugins::log_json_file
