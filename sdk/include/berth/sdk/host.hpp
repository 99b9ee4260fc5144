// The host as a C++ plugin sees it: a thin, copyable view of the
// `berth_host` table the daemon passes to init, plus wrappers for the
// host-owned output, reader and writer handles that table functions receive.
//
// Ownership and lifetime: a Host only points at the host's table, which the
// host keeps valid from init until the daemon exits; copy it freely. Out,
// Reader and Writer wrap handles that are valid only during the call that
// received them: never keep one past that call.
//
// Threading: every Host member may be called from any thread at once (the
// host's callbacks are thread-safe). An Out, Reader or Writer belongs to the
// call that received it.
//
// Compatibility: each accessor checks the table's struct_size before touching
// a member, so code built against a later SDK degrades (a default value, or an
// Error(Errc::unsupported)) instead of reading past an older host's table.
#ifndef BERTH_SDK_HOST_HPP
#define BERTH_SDK_HOST_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "berth/sdk/abi.h"
#include "berth/sdk/status.hpp"
#include "berth/sdk/types.hpp"

namespace berth::sdk {

enum class LogLevel : berth_log_level {
  trace = BERTH_LOG_TRACE,
  debug = BERTH_LOG_DEBUG,
  info = BERTH_LOG_INFO,
  warn = BERTH_LOG_WARN,
  error = BERTH_LOG_ERROR,
};

class Host {
 public:
  // `host` is the table passed to init; it must outlive this object.
  explicit Host(const berth_host* host) noexcept : host_(host) {}

  const berth_host* raw() const noexcept { return host_; }

  // The host's ABI version.
  std::uint16_t abi_major() const noexcept { return host_->abi_major; }
  std::uint16_t abi_minor() const noexcept { return host_->abi_minor; }

  // Logs under the plugin's logger ("plugin.<id>") into the daemon's sinks.
  // Never fails; a no-op when the host offers no log callback.
  void log(LogLevel level, std::string_view message) const noexcept {
    if (has(BERTH_SDK_MEMBER_END(berth_host, log)) && host_->log != nullptr) {
      host_->log(host_, static_cast<berth_log_level>(level), to_berth_str(message));
    }
  }
  void trace(std::string_view message) const noexcept { log(LogLevel::trace, message); }
  void debug(std::string_view message) const noexcept { log(LogLevel::debug, message); }
  void info(std::string_view message) const noexcept { log(LogLevel::info, message); }
  void warn(std::string_view message) const noexcept { log(LogLevel::warn, message); }
  void error(std::string_view message) const noexcept { log(LogLevel::error, message); }

  // The plugin's section of the daemon configuration, a JSON object text;
  // "{}" when there is none. Valid as long as the host.
  std::string_view config_json() const noexcept {
    std::string_view json = has(BERTH_SDK_MEMBER_END(berth_host, config_json))
                                ? to_string_view(host_->config_json)
                                : std::string_view();
    return json.empty() ? std::string_view("{}") : json;
  }

  // The plugin's persistent state directory (created 0700 by the host), the
  // daemon's data root and exec root; "" when the host offers none.
  std::string_view state_dir() const noexcept {
    return has(BERTH_SDK_MEMBER_END(berth_host, state_dir)) ? to_string_view(host_->state_dir)
                                                            : std::string_view();
  }
  std::string_view data_root() const noexcept {
    return has(BERTH_SDK_MEMBER_END(berth_host, data_root)) ? to_string_view(host_->data_root)
                                                            : std::string_view();
  }
  std::string_view exec_root() const noexcept {
    return has(BERTH_SDK_MEMBER_END(berth_host, exec_root)) ? to_string_view(host_->exec_root)
                                                            : std::string_view();
  }

  // Sets the message of the failing call that received `err`. The plugin
  // layer calls this for you when a driver throws; the last call wins.
  void set_error(berth_error* err, std::string_view message) const noexcept {
    if (err != nullptr && has(BERTH_SDK_MEMBER_END(berth_host, error_set)) &&
        host_->error_set != nullptr) {
      host_->error_set(err, to_berth_str(message));
    }
  }

  // True when the host's table includes the bytes up to `member_end`
  // (see BERTH_SDK_MEMBER_END).
  bool has(std::size_t member_end) const noexcept {
    return host_ != nullptr && host_->struct_size >= member_end;
  }

 private:
  const berth_host* host_;
};

// A call's result handle: text/JSON bytes and mount descriptions.
class Out {
 public:
  Out(const Host& host, berth_out* out) noexcept : host_(host), out_(out) {}

  // Appends bytes to the text/JSON result.
  void write(std::string_view bytes) const {
    if (!host_.has(BERTH_SDK_MEMBER_END(berth_host, out_write)) ||
        host_.raw()->out_write == nullptr) {
      throw Error(Errc::unsupported, "write result: the host offers no out_write");
    }
    host_.raw()->out_write(out_, to_berth_str(bytes));
  }

  // Appends one mount (borrowed for the call) to the mount-description result.
  void mount(std::string_view type, std::string_view source, std::string_view options) const {
    if (!host_.has(BERTH_SDK_MEMBER_END(berth_host, out_mount)) ||
        host_.raw()->out_mount == nullptr) {
      throw Error(Errc::unsupported, "describe mount: the host offers no out_mount");
    }
    const berth_mount m{struct_size_of<berth_mount>(), to_berth_str(type), to_berth_str(source),
                        to_berth_str(options)};
    host_.raw()->out_mount(out_, &m);
  }

  berth_out* raw() const noexcept { return out_; }

 private:
  Host host_;
  berth_out* out_;
};

// A byte stream the host hands to the plugin (a layer tar, ...).
class Reader {
 public:
  Reader(const Host& host, berth_reader* reader) noexcept : host_(host), reader_(reader) {}

  // Reads up to buf.size() bytes; returns the count, 0 at the end of the
  // stream. Throws Error(Errc::unavailable) when the stream failed, after
  // which it is unusable.
  std::size_t read(std::span<std::byte> buf) const {
    if (!host_.has(BERTH_SDK_MEMBER_END(berth_host, reader_read)) ||
        host_.raw()->reader_read == nullptr) {
      throw Error(Errc::unsupported, "read input stream: the host offers no reader_read");
    }
    const std::int64_t n = host_.raw()->reader_read(reader_, buf.data(), buf.size());
    if (n < 0) throw Error(Errc::unavailable, "read input stream: the stream failed");
    return static_cast<std::size_t>(n);
  }

  berth_reader* raw() const noexcept { return reader_; }

 private:
  Host host_;
  berth_reader* reader_;
};

// A byte stream the plugin writes for the host (a layer tar, ...).
class Writer {
 public:
  Writer(const Host& host, berth_writer* writer) noexcept : host_(host), writer_(writer) {}

  // Writes all of `bytes`. Throws Error(Errc::unavailable) when the consumer
  // went away; the driver should then stop (letting the error propagate
  // reports BERTH_E_UNAVAILABLE, as the ABI asks).
  void write(std::span<const std::byte> bytes) const {
    if (!host_.has(BERTH_SDK_MEMBER_END(berth_host, writer_write)) ||
        host_.raw()->writer_write == nullptr) {
      throw Error(Errc::unsupported, "write output stream: the host offers no writer_write");
    }
    if (host_.raw()->writer_write(writer_, bytes.data(), bytes.size()) != 0) {
      throw Error(Errc::unavailable, "write output stream: the consumer went away");
    }
  }
  void write(std::string_view bytes) const { write(std::as_bytes(std::span(bytes))); }

  berth_writer* raw() const noexcept { return writer_; }

 private:
  Host host_;
  berth_writer* writer_;
};

}  // namespace berth::sdk

#endif  // BERTH_SDK_HOST_HPP
