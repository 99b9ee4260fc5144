// The writing side of a file-based log: the live file, rotated like Docker's
// loggerutils.LogFile once it reached max-size (file, file.1, …,
// file.<max-file − 1>, the oldest dropped). With compress, a rotated file is
// gzipped on a thread of its own (file.1 becomes file.1.gz) so that the
// container's output is not held up; the next rotation waits for it. The
// gzip header's extra field names the inode the file had before, so that a
// reader following the log recognises it (see log_reader.hpp).
#ifndef BERTH_PLUGINS_LOG_COMMON_ROTATING_FILE_HPP
#define BERTH_PLUGINS_LOG_COMMON_ROTATING_FILE_HPP

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "berth/plugins/log_common/log_info.hpp"
#include "berth/sdk/unique_fd.hpp"

namespace berth::plugins::log_common {

using Fd = sdk::UniqueFd;

// A file's identity, which survives renames.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};

// `path`.n (`path`.n.gz when compressed): the n-th most recent rotated file.
std::filesystem::path rotated_path(const std::filesystem::path& path, int n,
                                   bool compressed = false);

class RotatingFile {
 public:
  // Opens (appending) or creates info.log_path, mode 0640, rotating by
  // info.rotation. Throws sdk::Error naming the container and the file.
  explicit RotatingFile(const LogInfo& info);
  ~RotatingFile();
  RotatingFile(const RotatingFile&) = delete;
  RotatingFile& operator=(const RotatingFile&) = delete;

  // Appends one encoded record. Like Docker, rotates before a write once the
  // file reached max-size, so a file exceeds it by at most one record.
  void write(std::string_view record);
  // Closes the live file and waits for a compression in flight.
  void close();

 private:
  void open(int extra_flags);
  void rotate();
  void compress_in_background(const std::filesystem::path& plain);

  std::string container_;  // short id, for messages
  std::filesystem::path path_;
  Rotation rotation_;
  Fd fd_;
  std::int64_t size_ = 0;
  std::thread compressor_;
};

// Gzips `plain` into `plain`.gz (through a temporary file renamed into
// place), recording `plain`'s identity in the gzip header, then removes
// `plain`. Throws sdk::Error.
void compress_rotated(const std::filesystem::path& plain);

// The identity compress_rotated recorded in the gzip file open at `fd`;
// nullopt when it is not such a file.
std::optional<FileId> gzip_source(int fd);

}  // namespace berth::plugins::log_common

#endif  // BERTH_PLUGINS_LOG_COMMON_ROTATING_FILE_HPP
