// The container's log as the shim writes it: the logging driver loaded
// through the core's plugin host (the built-in one of that id, else
// libberth-log-<id>.so from the plugin directories), and the container's
// output cut into records the way Docker's log copier cuts it — one record
// per line without its newline, a partial record for every 16 KiB of a
// longer line, and what is left when the stream ends as a last record.
#pragma once

#include "berth/core/container/shim.hpp"
#include "berth/core/error.hpp"
#include "berth/core/log_driver.hpp"
#include "berth/core/plugin_host.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace berth::shim {

using core::Result;

class ContainerLog {
 public:
  // Docker's copier buffer: longer lines are split into partial records.
  static constexpr std::size_t kMaxRecord = 16 * 1024;

  // Loads the options' log driver and opens the container's log ("none" is a
  // driver like the others, one that drops everything).
  static Result<std::unique_ptr<ContainerLog>> open(const core::container::ShimOptions& options);
  ~ContainerLog();

  // Output of `stream` (BERTH_LOG_STDOUT/STDERR) read at `now` (unix ns).
  void write(int stream, std::string_view data, std::int64_t now);
  // The stream ended: its unterminated rest becomes a record.
  void end(int stream, std::int64_t now);
  // Ends both streams and closes the log (flushing it). Idempotent.
  void close(std::int64_t now);

 private:
  ContainerLog() = default;
  void emit(int stream, std::string_view line, bool partial, std::int64_t now);

  std::unique_ptr<core::PluginHost> host_;
  std::optional<core::LogDriver> driver_;
  std::optional<core::LogDriver::Stream> stream_;
  std::string pending_[2];  // stdout, stderr: the start of an unfinished line
  std::uint64_t failures_ = 0;
};

}  // namespace berth::shim
