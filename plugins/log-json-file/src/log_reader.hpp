// The reading side: since/until/tail over the live file and its rotated
// predecessors, and follow across rotations. Needs no state shared with the
// writer, which may live in another process (a container's shim).
#ifndef BERTH_PLUGINS_LOG_JSON_FILE_LOG_READER_HPP
#define BERTH_PLUGINS_LOG_JSON_FILE_LOG_READER_HPP

#include "berth/sdk/host.hpp"
#include "berth/sdk/logging.hpp"
#include "options.hpp"

namespace berth::plugins::log_json_file {

// Delivers the records of `info`'s log to `sink` with the semantics of
// berth/sdk/logging.hpp. Lines that are not json-file records are skipped
// with a warning through `host`.
void read_log(const LogInfo& info, const sdk::LogReadOptions& options, const sdk::LogSink& sink,
              const sdk::Host& host);

}  // namespace berth::plugins::log_json_file

#endif  // BERTH_PLUGINS_LOG_JSON_FILE_LOG_READER_HPP
