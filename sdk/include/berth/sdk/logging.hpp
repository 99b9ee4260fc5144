// berth.logging.v1 for C++: derive from LoggingDriver (and ContainerLog for
// the per-container stream), then BERTH_DEFINE_PLUGIN (plugin.hpp). Report
// failure by throwing Error with the matching Errc.
//
// The table maps onto the classes as follows:
//   open(info_json)        -> LoggingDriver::open, returning a ContainerLog
//   log(stream, message)   -> ContainerLog::log
//   close(stream)          -> ContainerLog::close, then the object is destroyed
//   read(info_json, ...)   -> LoggingDriver::read
//
// `info_json` (open and read): {"ContainerID": string, "ContainerName":
// string, "LogPath": a file path the host reserved, "Config": {string:
// string} (`--log-opt`)}. Text that is not such an object, or options the
// driver does not know, are invalid_argument with a message naming the
// problem (Docker refuses unknown --log-opt keys too).
//
// Read-back semantics, which every driver with BERTH_CAP_LOGGING_READ keeps
// (the conformance suite checks them):
//  - records come oldest first, exactly as logged: stream, timestamp, partial
//    flag and line bytes unchanged;
//  - since/until select records with since <= time <= until (0 = unbounded);
//  - tail n keeps the last n of the selected records; 0 gives none, -1 all;
//  - a container that has no log yet (never opened, nothing written) reads
//    as empty: success and no record, not not_found;
//  - follow: after the existing records, the driver keeps delivering new ones
//    until the sink's stopped() answers true (polled at least every 100 ms)
//    or the sink asks to stop; it then returns success;
//  - a sink that asks to stop ends read with success.
//
// Lifetime: string_views in arguments and in LogMessage are borrowed for the
// call; copy what you keep. A ContainerLog lives from open until close.
//
// Threading: open and read may run concurrently with anything, including
// several reads of one container and a read following a log being written.
// For one ContainerLog, log and close are called from one thread at a time.
#ifndef BERTH_SDK_LOGGING_HPP
#define BERTH_SDK_LOGGING_HPP

#include <concepts>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include "berth/sdk/plugin.hpp"

namespace berth::sdk {

enum class StdStream : std::int32_t {
  out = BERTH_LOG_STDOUT,
  err = BERTH_LOG_STDERR,
};

// "stdout" or "stderr".
constexpr std::string_view std_stream_name(StdStream stream) noexcept {
  return stream == StdStream::err ? "stderr" : "stdout";
}

// One record. `line` excludes the newline of a complete line; `partial` is
// true when the line continues in the next record.
struct LogMessage {
  StdStream stream = StdStream::out;
  std::int64_t time_unix_nano = 0;
  bool partial = false;
  std::string_view line;
};

struct LogReadOptions {
  std::int64_t since_unix_nano = 0;  // 0: from the start
  std::int64_t until_unix_nano = 0;  // 0: no upper bound
  std::int64_t tail = -1;            // -1: all; n: the last n selected records
  bool follow = false;
};

// Where read() delivers records; wraps the host's berth_log_sink, valid
// during the read call only.
class LogSink {
 public:
  explicit LogSink(const berth_log_sink* sink) noexcept : sink_(sink) {}

  // Delivers one record (borrowed for the call). Returns false when the
  // reader asks to stop: return from read() then.
  bool deliver(const LogMessage& message) const {
    const berth_log_message m{
        struct_size_of<berth_log_message>(),
        static_cast<std::int32_t>(message.stream),
        message.time_unix_nano,
        message.partial ? 1 : 0,
        to_berth_str(message.line),
    };
    return sink_->on_message(sink_->ctx, &m) == 0;
  }

  // While following: true when the reader went away. Poll it at least every
  // 100 ms while waiting for new records.
  bool stopped() const { return sink_->stopped != nullptr && sink_->stopped(sink_->ctx) != 0; }

 private:
  const berth_log_sink* sink_;
};

// The log of one container, from open until close.
class ContainerLog {
 public:
  virtual ~ContainerLog() = default;

  // Records one message.
  virtual void log(const LogMessage& message) = 0;

  // Flushes. The ABI's close cannot fail: an exception is logged through the
  // host, and the object is destroyed either way.
  virtual void close() = 0;
};

class LoggingDriver {
 public:
  virtual ~LoggingDriver() = default;

  // Opens the log of the container `info_json` describes (see the top of
  // this header); appends to what an earlier open of the same log wrote.
  virtual std::unique_ptr<ContainerLog> open(std::string_view info_json) = 0;

  // Reads back the log of the container `info_json` describes, delivering
  // records to `sink` (semantics at the top of this header). A driver
  // without BERTH_CAP_LOGGING_READ throws Error(Errc::unsupported).
  virtual void read(std::string_view info_json, const LogReadOptions& options,
                    const LogSink& sink) = 0;
};

namespace detail {

template <class D>
struct LoggingAdapter {
  static berth_status open(void* self, berth_str info_json, void** stream,
                           berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      if (stream == nullptr) throw Error(Errc::invalid_argument, "open log: no stream result");
      std::unique_ptr<ContainerLog> log = in.driver.open(to_string_view(info_json));
      if (!log) throw Error(Errc::internal, "open log: the driver returned no stream");
      *stream = log.release();
    });
  }

  static berth_status log(void* self, void* stream, const berth_log_message* message,
                          berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      if (stream == nullptr) throw Error(Errc::invalid_argument, "log: no stream");
      if (message == nullptr || message->struct_size < abi_v1_0::log_message_size) {
        throw Error(Errc::invalid_argument, "log: the message struct is missing or too small");
      }
      if (message->stream != BERTH_LOG_STDOUT && message->stream != BERTH_LOG_STDERR) {
        throw Error(Errc::invalid_argument, "log: stream " + std::to_string(message->stream) +
                                                " is neither stdout (1) nor stderr (2)");
      }
      static_cast<ContainerLog*>(stream)->log(LogMessage{
          static_cast<StdStream>(message->stream),
          message->time_unix_nano,
          message->partial != 0,
          to_string_view(message->line),
      });
    });
  }

  static void close(void* self, void* stream) noexcept {
    if (stream == nullptr) return;
    auto& in = instance<D>(self);
    std::unique_ptr<ContainerLog> log(static_cast<ContainerLog*>(stream));
    try {
      log->close();
    } catch (const std::exception& e) {
      in.host.error(e.what());
    } catch (...) {
      in.host.error("close log: unknown exception");
    }
  }

  static berth_status read(void* self, berth_str info_json, const berth_log_read_options* options,
                           const berth_log_sink* sink, berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      if (options == nullptr || options->struct_size < abi_v1_0::log_read_options_size) {
        throw Error(Errc::invalid_argument, "read log: the options struct is missing or too small");
      }
      if (sink == nullptr || sink->struct_size < abi_v1_0::log_sink_size ||
          sink->on_message == nullptr) {
        throw Error(Errc::invalid_argument, "read log: the sink is missing or too small");
      }
      in.driver.read(to_string_view(info_json),
                     LogReadOptions{options->since_unix_nano, options->until_unix_nano,
                                    options->tail, options->follow != 0},
                     LogSink(sink));
    });
  }
};

}  // namespace detail

template <class D>
requires std::derived_from<D, LoggingDriver>
struct KindTraits<D> {
  static constexpr const char* kind = BERTH_KIND_LOGGING_V1;
  static constexpr berth_logging_v1 table{
      struct_size_of<berth_logging_v1>(), &detail::LoggingAdapter<D>::open,
      &detail::LoggingAdapter<D>::log,    &detail::LoggingAdapter<D>::close,
      &detail::LoggingAdapter<D>::read,
  };
};

}  // namespace berth::sdk

#endif  // BERTH_SDK_LOGGING_HPP
