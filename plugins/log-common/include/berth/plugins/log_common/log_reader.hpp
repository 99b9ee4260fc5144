// The reading side of a file-based log: since/until/tail over the live file
// and its rotated predecessors (plain or gzipped), and follow across
// rotations. Needs no state shared with the writer, which may live in
// another process (a container's shim). A driver supplies only how records
// are framed in its files.
#ifndef BERTH_PLUGINS_LOG_COMMON_LOG_READER_HPP
#define BERTH_PLUGINS_LOG_COMMON_LOG_READER_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "berth/plugins/log_common/log_info.hpp"
#include "berth/sdk/host.hpp"
#include "berth/sdk/logging.hpp"

namespace berth::plugins::log_common {

struct Record {
  sdk::StdStream stream = sdk::StdStream::out;
  std::int64_t time_unix_nano = 0;
  bool partial = false;
  std::string line;

  sdk::LogMessage message() const { return {stream, time_unix_nano, partial, line}; }
};

// How a driver's files hold records.
struct RecordFormat {
  // Looks at the start of `bytes` (what is left of a file). Returns how many
  // bytes the first record spans — 0 when it is not complete yet (the writer
  // may be in the middle of it) — and sets `valid` to whether those bytes
  // decoded into `record`; invalid bytes are skipped and counted.
  std::size_t (*decode)(std::string_view bytes, Record& record, bool& valid);
  // What a skipped unit is, for the warning: "lines that are not json-file
  // records".
  const char* skipped;
};

// Delivers the records of `info`'s log to `sink` with the semantics of
// berth/sdk/logging.hpp. Skipped bytes are reported through `host`.
void read_log(const LogInfo& info, const RecordFormat& format, const sdk::LogReadOptions& options,
              const sdk::LogSink& sink, const sdk::Host& host);

}  // namespace berth::plugins::log_common

#endif  // BERTH_PLUGINS_LOG_COMMON_LOG_READER_HPP
