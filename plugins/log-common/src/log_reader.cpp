#include "berth/plugins/log_common/log_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "berth/plugins/log_common/rotating_file.hpp"
#include "berth/sdk/status.hpp"

namespace berth::plugins::log_common {

namespace {

using namespace std::chrono_literals;
using sdk::Error;

// Within the SDK's 100 ms bound for noticing stopped().
constexpr auto poll_interval = 50ms;

std::optional<FileId> stat_id(const std::filesystem::path& path, off_t* size = nullptr) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  if (size != nullptr) *size = st.st_size;
  return FileId{st.st_dev, st.st_ino};
}

// Where the n-th file of the log is (0: the live one) and whether it is
// gzipped; nullopt when there is none.
struct Place {
  std::filesystem::path path;
  bool compressed = false;
};

std::optional<Place> locate(const LogInfo& info, int n) {
  if (n == 0) return Place{info.log_path, false};
  for (bool gz : {false, true}) {
    std::filesystem::path path = rotated_path(info.log_path, n, gz);
    if (stat_id(path)) return Place{std::move(path), gz};
  }
  return std::nullopt;
}

// One log file open for reading, handed out record by record. Rotated files
// are complete; the live one may end in the middle of a record, which then
// counts only once it is all there. A gzipped file has two identities: its
// own, and the one of the plain file it was made from (origin), which is how
// a follower finds the file it was reading after it was compressed. The
// latter's inode may be in use again by a newer file, so only the newest
// match counts.
class LogSource {
 public:
  static std::optional<LogSource> open(const Place& place, const LogInfo& info) {
    const auto fail = [&] {
      return Error::from_errno(errno, "read log of container " + info.short_id() + ": " +
                                          place.path.string());
    };
    const int fd = ::open(place.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return std::nullopt;
      throw fail();
    }
    Fd owned(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw fail();
    const FileId id{st.st_dev, st.st_ino};
    FileId origin = id;
    gzFile gz = nullptr;
    if (place.compressed) {
      if (std::optional<FileId> source = gzip_source(fd)) origin = *source;
      const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (dup < 0 || (gz = gzdopen(dup, "rb")) == nullptr) {
        if (dup >= 0) ::close(dup);
        throw Error(sdk::Errc::internal, "read log of container " + info.short_id() + ": " +
                                             place.path.string() + ": cannot open gzip stream");
      }
    }
    return LogSource(std::move(owned), gz, id, origin, place.path);
  }

  LogSource(LogSource&& o) noexcept
      : fd_(std::move(o.fd_)),
        gz_(std::exchange(o.gz_, nullptr)),
        id_(o.id_),
        origin_(o.origin_),
        path_(std::move(o.path_)),
        buffer_(std::move(o.buffer_)),
        pos_(o.pos_),
        offset_(o.offset_) {}
  LogSource& operator=(LogSource&& o) noexcept {
    if (this != &o) {
      if (gz_ != nullptr) gzclose(gz_);
      fd_ = std::move(o.fd_);
      gz_ = std::exchange(o.gz_, nullptr);
      id_ = o.id_;
      origin_ = o.origin_;
      path_ = std::move(o.path_);
      buffer_ = std::move(o.buffer_);
      pos_ = o.pos_;
      offset_ = o.offset_;
    }
    return *this;
  }
  ~LogSource() {
    if (gz_ != nullptr) gzclose(gz_);
  }

  const FileId& id() const noexcept { return id_; }
  const FileId& origin() const noexcept { return origin_; }
  off_t offset() const noexcept { return offset_; }

  // The next complete record (valid or to be skipped); false when there is
  // none yet.
  bool next(const RecordFormat& format, Record& record, bool& valid, const LogInfo& info) {
    for (;;) {
      const std::string_view rest = std::string_view(buffer_).substr(pos_);
      if (!rest.empty()) {
        if (const std::size_t used = format.decode(rest, record, valid); used != 0) {
          pos_ += used;
          return true;
        }
      }
      buffer_.erase(0, pos_);
      pos_ = 0;
      char chunk[64 * 1024];
      const ssize_t n = gz_ != nullptr ? gzread(gz_, chunk, sizeof chunk)
                                       : ::read(fd_.get(), chunk, sizeof chunk);
      if (n < 0) {
        if (gz_ == nullptr && errno == EINTR) continue;
        throw Error::from_errno(gz_ != nullptr ? EIO : errno,
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
  LogSource(Fd fd, gzFile gz, FileId id, FileId origin, std::filesystem::path path)
      : fd_(std::move(fd)), gz_(gz), id_(id), origin_(origin), path_(std::move(path)) {}

  Fd fd_;
  gzFile gz_ = nullptr;
  FileId id_;
  FileId origin_;
  std::filesystem::path path_;
  std::string buffer_;
  std::size_t pos_ = 0;
  off_t offset_ = 0;
};

// The log's files, oldest first. Opened newest first: a rotation during the
// walk then shows one file twice (dropped by identity) rather than hiding one.
std::vector<LogSource> open_all(const LogInfo& info) {
  std::vector<LogSource> newest_first;
  for (int n = 0;; ++n) {
    const std::optional<Place> place = locate(info, n);
    std::optional<LogSource> source;
    if (place) source = LogSource::open(*place, info);
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
  std::vector<LogSource> newest_first;
  for (int n = 0;; ++n) {
    const std::optional<Place> place = locate(info, n);
    std::optional<LogSource> source;
    if (place) source = LogSource::open(*place, info);
    if (!source) {
      if (n == 0) return std::nullopt;  // between a rotation's rename and its new file
      break;
    }
    if (n > 0 && source->origin() == current) return std::move(newest_first.back());
    newest_first.push_back(std::move(*source));
  }
  return std::move(newest_first.back());
}

class Reader {
 public:
  Reader(const LogInfo& info, const RecordFormat& format, const sdk::LogReadOptions& options,
         const sdk::LogSink& sink, const sdk::Host& host)
      : info_(info), format_(format), options_(options), sink_(sink), host_(host) {}

  ~Reader() {
    if (skipped_ != 0) {
      host_.warn("read log of container " + info_.short_id() + ": skipped " +
                 std::to_string(skipped_) + " " + format_.skipped);
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

  // The next valid record of `source`; false when there is none yet.
  bool next(LogSource& source, Record& record) {
    bool valid = false;
    while (source.next(format_, record, valid, info_)) {
      if (valid) return true;
      ++skipped_;
    }
    return false;
  }

  // Returns false when reading is over (the sink asked to stop).
  bool read_existing(std::vector<LogSource>& sources) {
    std::deque<Record> tail;
    Record record;
    for (LogSource& source : sources) {
      while (next(source, record)) {
        if (select(record) != Verdict::keep) continue;
        if (options_.tail < 0) {
          if (!sink_.deliver(record.message())) return false;
          continue;
        }
        if (options_.tail == 0) continue;
        tail.push_back(std::move(record));
        if (tail.size() > static_cast<std::size_t>(options_.tail)) tail.pop_front();
      }
    }
    for (const Record& r : tail) {
      if (!sink_.deliver(r.message())) return false;
    }
    return true;
  }

  // Returns false when following is over.
  bool deliver_new(LogSource& source) {
    Record record;
    while (next(source, record)) {
      const Verdict verdict = select(record);
      if (verdict == Verdict::after) return false;
      if (verdict == Verdict::keep && !sink_.deliver(record.message())) return false;
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
          current = LogSource::open(Place{info_.log_path, false}, info_);
          continue;
        }
      } else if (live && *live != current->id()) {
        // Rotated: what was written before the rotation is complete now.
        if (!deliver_new(*current)) return;
        if (std::optional<LogSource> next = open_next(current->origin(), info_);
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
  const RecordFormat& format_;
  const sdk::LogReadOptions& options_;
  const sdk::LogSink& sink_;
  const sdk::Host& host_;
  std::size_t skipped_ = 0;
};

}  // namespace

void read_log(const LogInfo& info, const RecordFormat& format, const sdk::LogReadOptions& options,
              const sdk::LogSink& sink, const sdk::Host& host) {
  Reader(info, format, options, sink, host).run();
}

}  // namespace berth::plugins::log_common
