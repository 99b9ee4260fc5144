// The core's typed view of a loaded logging driver (berth.logging.v1): the
// shim writes a container's output through open/log/close, the daemon reads
// it back for `logs`. Errors name the driver.
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/plugin_host.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace berth::core {

struct LogRecord {
  int stream = BERTH_LOG_STDOUT;  // BERTH_LOG_STDOUT or BERTH_LOG_STDERR
  std::int64_t time_unix_nano = 0;
  bool partial = false;
  std::string_view line;  // borrowed for the call
};

struct LogReadOptions {
  std::int64_t since_unix_nano = 0, until_unix_nano = 0;
  std::int64_t tail = -1;
  bool follow = false;
};

class LogDriver {
 public:
  // `driver` must be a loaded logging driver and outlive this object.
  explicit LogDriver(const Driver& driver);
  const std::string& id() const { return driver_.record().id; }
  bool can_read() const { return (driver_.record().capabilities & BERTH_CAP_LOGGING_READ) != 0; }

  // One container's open log.
  class Stream {
   public:
    Stream(Stream&& o) noexcept : owner_(o.owner_), handle_(o.handle_) { o.handle_ = nullptr; }
    Stream& operator=(Stream&&) = delete;
    ~Stream();
    Result<void> log(const LogRecord& record);

   private:
    friend class LogDriver;
    Stream(const LogDriver* owner, void* handle) : owner_(owner), handle_(handle) {}
    const LogDriver* owner_;
    void* handle_;
  };

  // `info_json`: {"ContainerID", "ContainerName", "LogPath", "Config"}.
  Result<Stream> open(const std::string& info_json) const;

  // Checks a container's options with the driver before it has a log: a
  // read of the empty log (drivers refuse unknown and bad options on read as
  // on open, see berth/sdk/logging.hpp). The driver's own message, as
  // invalid_argument; a driver that cannot read is not asked.
  Result<void> validate(const std::string& info_json) const;

  // Delivers records to `on_record` (return false to stop); while following,
  // `stopped` is polled and ends the read when it answers true.
  Result<void> read(const std::string& info_json, const LogReadOptions& options,
                    const std::function<bool(const LogRecord&)>& on_record,
                    const std::function<bool()>& stopped) const;

 private:
  Error failure(berth_status st, const std::string& message, std::string_view what) const;
  const Driver& driver_;
  const berth_logging_v1* table_;
};

}  // namespace berth::core
