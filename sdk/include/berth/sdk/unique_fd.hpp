// An owned file descriptor, closed when its owner goes away. Move-only.
// Header-only, so the SDK's users, the core and the runtime share one.
#ifndef BERTH_SDK_UNIQUE_FD_HPP
#define BERTH_SDK_UNIQUE_FD_HPP

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace berth::sdk {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  // Gives the descriptor up without closing it.
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Closes now, returning close()'s errno (0 on success), for writers that
  // must know whether their data reached the file.
  int close() noexcept {
    if (fd_ < 0) return 0;
    return ::close(release()) == 0 ? 0 : errno;
  }

 private:
  int fd_ = -1;
};

}  // namespace berth::sdk

#endif  // BERTH_SDK_UNIQUE_FD_HPP
