#include "log_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "log_file.hpp"
#include "record.hpp"

namespace berth::plugins::log_json_file {

namespace {

using namespace std::chrono_literals;
using sdk::Error;

// Within the SDK's 100 ms bound for noticing stopped().
constexpr auto poll_interval = 50ms;

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};

std::optional<FileId> stat_id(const std::filesystem::path& path, off_t* size = nullptr) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  if (size != nullptr) *size = st.st_size;
  return FileId{st.st_dev, st.st_ino};
}

// One log file open for reading, handed out line by line. A line counts
// only once its newline is there: the writer may be in the middle of one.
class LogSource {
 public:
  static std::optional<LogSource> open(const std::filesystem::path& path, const LogInfo& info) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return std::nullopt;
      throw Error::from_errno(errno,
                              "read log of container " + info.short_id() + ": " + path.string());
    }
    Fd owned(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      throw Error::from_errno(errno,
                              "read log of container " + info.short_id() + ": " + path.string());
    }
    return LogSource(std::move(owned), FileId{st.st_dev, st.st_ino}, path);
  }

  const FileId& id() const noexcept { return id_; }
  off_t offset() const noexcept { return offset_; }

  bool next_line(std::string& line, const LogInfo& info) {
    for (;;) {
      if (const auto newline = buffer_.find('\n', pos_); newline != std::string::npos) {
        line.assign(buffer_, pos_, newline - pos_);
        pos_ = newline + 1;
        return true;
      }
      buffer_.erase(0, pos_);
      pos_ = 0;
      char chunk[64 * 1024];
      const ssize_t n = ::read(fd_.get(), chunk, sizeof chunk);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Error::from_errno(errno,
                                "read log of container " + info.short_id() + ": " + path_.string());
      }
      if (n == 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
      offset_ += n;
    }
  }

  // The file shrank under us (truncated in place, e.g. by copytruncate):
  // start over.
  void rewind() {
    ::lseek(fd_.get(), 0, SEEK_SET);
    buffer_.clear();
    pos_ = 0;
    offset_ = 0;
  }

 private:
  LogSource(Fd fd, FileId id, std::filesystem::path path)
      : fd_(std::move(fd)), id_(id), path_(std::move(path)) {}

  Fd fd_;
  FileId id_;
  std::filesystem::path path_;
  std::string buffer_;
  std::size_t pos_ = 0;
  off_t offset_ = 0;
};

// The log's files, oldest first. Opened newest first: a rotation during the
// walk then shows one file twice (dropped by inode) rather than hiding one.
std::vector<LogSource> open_all(const LogInfo& info) {
  std::vector<LogSource> newest_first;
  for (int n = 0;; ++n) {
    const std::filesystem::path path = n == 0 ? info.log_path : rotated_path(info.log_path, n);
    std::optional<LogSource> source = LogSource::open(path, info);
    if (!source) {
      if (n == 0) continue;  // no live file right now; rotated ones may exist
      break;
    }
    bool seen = false;
    for (const LogSource& s : newest_first) seen = seen || s.id() == source->id();
    if (!seen) newest_first.push_back(std::move(*source));
  }
  return {std::make_move_iterator(newest_first.rbegin()),
          std::make_move_iterator(newest_first.rend())};
}

// The file that follows `current` in the rotation order once the live file
// became another one: the next newer rotated file, or the oldest one left
// when `current` was dropped already.
std::optional<LogSource> open_next(const FileId& current, const LogInfo& info) {
  std::vector<std::filesystem::path> newest_first{info.log_path};
  for (int n = 1; stat_id(rotated_path(info.log_path, n)); ++n) {
    newest_first.push_back(rotated_path(info.log_path, n));
  }
  std::size_t next = newest_first.size() - 1;  // the oldest
  for (std::size_t i = 1; i < newest_first.size(); ++i) {
    if (stat_id(newest_first[i]) == current) {
      next = i - 1;
      break;
    }
  }
  return LogSource::open(newest_first[next], info);
}

class Reader {
 public:
  Reader(const LogInfo& info, const sdk::LogReadOptions& options, const sdk::LogSink& sink,
         const sdk::Host& host)
      : info_(info), options_(options), sink_(sink), host_(host) {}

  ~Reader() {
    if (malformed_ != 0) {
      host_.warn("read log of container " + info_.short_id() + ": skipped " +
                 std::to_string(malformed_) + " lines that are not json-file records");
    }
  }

  void run() {
    std::vector<LogSource> sources = open_all(info_);
    if (!read_existing(sources)) return;
    if (!options_.follow) return;
    std::optional<LogSource> current;
    if (!sources.empty()) current = std::move(sources.back());
    follow(current);
  }

 private:
  enum class Verdict { before, keep, after };

  Verdict select(const Record& r) const {
    if (options_.since_unix_nano != 0 && r.time_unix_nano < options_.since_unix_nano) {
      return Verdict::before;
    }
    if (options_.until_unix_nano != 0 && r.time_unix_nano > options_.until_unix_nano) {
      return Verdict::after;
    }
    return Verdict::keep;
  }

  std::optional<Record> decode(const std::string& line) {
    std::optional<Record> record = decode_record(line);
    if (!record) ++malformed_;
    return record;
  }

  // Returns false when reading is over (the sink asked to stop).
  bool read_existing(std::vector<LogSource>& sources) {
    std::deque<Record> tail;
    std::string line;
    for (LogSource& source : sources) {
      while (source.next_line(line, info_)) {
        std::optional<Record> record = decode(line);
        if (!record || select(*record) != Verdict::keep) continue;
        if (options_.tail < 0) {
          if (!sink_.deliver(record->message())) return false;
          continue;
        }
        if (options_.tail == 0) continue;
        tail.push_back(std::move(*record));
        if (tail.size() > static_cast<std::size_t>(options_.tail)) tail.pop_front();
      }
    }
    for (const Record& record : tail) {
      if (!sink_.deliver(record.message())) return false;
    }
    return true;
  }

  // Returns false when following is over.
  bool deliver_new(LogSource& source) {
    std::string line;
    while (source.next_line(line, info_)) {
      std::optional<Record> record = decode(line);
      if (!record) continue;
      const Verdict verdict = select(*record);
      if (verdict == Verdict::after) return false;
      if (verdict == Verdict::keep && !sink_.deliver(record->message())) return false;
    }
    return true;
  }

  bool past_until() const {
    if (options_.until_unix_nano == 0) return false;
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(now).count() >
           options_.until_unix_nano;
  }

  void follow(std::optional<LogSource>& current) {
    for (;;) {
      if (current && !deliver_new(*current)) return;
      if (sink_.stopped() || past_until()) return;
      off_t live_size = 0;
      const std::optional<FileId> live = stat_id(info_.log_path, &live_size);
      if (!current) {
        if (live) {
          current = LogSource::open(info_.log_path, info_);
          continue;
        }
      } else if (live && *live != current->id()) {
        // Rotated: what was written before the rotation is complete now.
        if (!deliver_new(*current)) return;
        if (std::optional<LogSource> next = open_next(current->id(), info_);
            next && next->id() != current->id()) {
          current = std::move(next);
          continue;
        }
      } else if (live && live_size < current->offset()) {
        current->rewind();
        continue;
      }
      std::this_thread::sleep_for(poll_interval);
    }
  }

  const LogInfo& info_;
  const sdk::LogReadOptions& options_;
  const sdk::LogSink& sink_;
  const sdk::Host& host_;
  std::size_t malformed_ = 0;
};

}  // namespace

void read_log(const LogInfo& info, const sdk::LogReadOptions& options, const sdk::LogSink& sink,
              const sdk::Host& host) {
  Reader(info, options, sink, host).run();
}

}  // namespace berth::plugins::log_json_file
