// The writing side: one open container log, rotated like Docker's json-file
// (file, file.1, …, file.<max-file − 1>, the oldest dropped).
#ifndef BERTH_PLUGINS_LOG_JSON_FILE_LOG_FILE_HPP
#define BERTH_PLUGINS_LOG_JSON_FILE_LOG_FILE_HPP

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

#include "berth/sdk/logging.hpp"
#include "options.hpp"

namespace berth::plugins::log_json_file {

// Owns a file descriptor; -1 when empty.
class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  void reset(int fd = -1) noexcept;
  // Closes, returning close()'s errno (0 on success).
  int close() noexcept;

 private:
  int fd_ = -1;
};

// `path`.n: the n-th most recent rotated file.
std::filesystem::path rotated_path(const std::filesystem::path& path, int n);

class LogFile final : public sdk::ContainerLog {
 public:
  // Opens (appending) or creates info.log_path, mode 0640.
  explicit LogFile(LogInfo info);

  void log(const sdk::LogMessage& message) override;
  void close() override;

 private:
  void open(int extra_flags);
  void rotate();

  LogInfo info_;
  Fd fd_;
  std::int64_t size_ = 0;
  std::string record_;
};

}  // namespace berth::plugins::log_json_file

#endif  // BERTH_PLUGINS_LOG_JSON_FILE_LOG_FILE_HPP
