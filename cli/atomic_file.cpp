#include "atomic_file.hpp"

#include "client.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace berth::cli {
namespace fs = std::filesystem;

namespace {
std::string errno_text(int err) { return std::strerror(err); }
}  // namespace

AtomicFile::AtomicFile(std::string target, int mode) : target_(std::move(target)), mode_(mode) {}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::write(std::string_view data) {
  if (fd_ < 0) open();
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw CliError("write " + temp_ + ": " + errno_text(errno));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) open();
  if (::fsync(fd_) != 0) throw CliError("sync " + temp_ + ": " + errno_text(errno));
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw CliError("close " + temp_ + ": " + errno_text(errno));
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    throw CliError("rename " + temp_ + " " + target_ + ": " + errno_text(errno));
  }
  temp_.clear();
}

void AtomicFile::open() {
  fs::path dir = fs::path(target_).parent_path();
  std::string pattern = (dir.empty() ? std::string(".") : dir.string()) + "/.berth_temp_XXXXXX";
  fd_ = ::mkstemp(pattern.data());
  if (fd_ < 0) {
    throw CliError("failed to create temporary file in " + pattern + ": " + errno_text(errno));
  }
  temp_ = pattern;
  // mkstemp makes it 0600, which is what a credentials file wants; an
  // ordinary file (a saved tar) gets 0666 minus the umask.
  if (mode_ < 0) {
    mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd_, 0666 & ~mask);
  } else {
    ::fchmod(fd_, static_cast<mode_t>(mode_));
  }
}

}  // namespace berth::cli
