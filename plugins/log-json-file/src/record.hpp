// One line of a json-file log, as Docker's json-file driver writes it:
//   {"log":"text\n","stream":"stdout","time":"2026-11-27T23:59:59.123456789Z"}
// A partial record's "log" has no trailing "\n"; an empty one has no "log".
#ifndef BERTH_PLUGINS_LOG_JSON_FILE_RECORD_HPP
#define BERTH_PLUGINS_LOG_JSON_FILE_RECORD_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "berth/plugins/log_common/log_reader.hpp"
#include "berth/sdk/logging.hpp"

namespace berth::plugins::log_json_file {

using log_common::Record;

// Appends the record's line, with its newline, to `out`.
void encode_record(const sdk::LogMessage& message, std::string& out);

// The record in `json_line` (without its newline); nullopt when the line is
// not a json-file record.
std::optional<Record> decode_record(std::string_view json_line);

// Go's RFC3339Nano in UTC, as Docker writes "time": fraction digits without
// trailing zeros, none at all on a whole second.
std::string format_time(std::int64_t unix_nano);

// RFC 3339 with up to nine fraction digits and a Z or ±hh:mm offset.
std::optional<std::int64_t> parse_time(std::string_view text);

}  // namespace berth::plugins::log_json_file

#endif  // BERTH_PLUGINS_LOG_JSON_FILE_RECORD_HPP
