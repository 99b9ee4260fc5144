// One record of a local log: compact, length-prefixed binary, all integers
// big-endian —
//   u32 size | u8 stream (1 stdout, 2 stderr) | u8 flags (bit 0: partial) |
//   i64 time (unix ns) | line bytes | u32 size
// where size counts the bytes between the two size fields (10 + the line).
// The trailing copy of the size lets a reader check a record's end (and walk
// a file backwards). Docker's local driver frames protobuf entries the same
// way; ours carries exactly what the logging ABI has, nothing to parse.
#ifndef BERTH_PLUGINS_LOG_LOCAL_RECORD_HPP
#define BERTH_PLUGINS_LOG_LOCAL_RECORD_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "berth/plugins/log_common/log_reader.hpp"
#include "berth/sdk/logging.hpp"

namespace berth::plugins::log_local {

// The fixed part of a record between the two size fields.
constexpr std::size_t kRecordHeader = 1 + 1 + 8;
// Records larger than this are taken for corruption.
constexpr std::uint32_t kMaxRecordSize = 64u << 20;

// Appends the record to `out`.
void encode_record(const sdk::LogMessage& message, std::string& out);

// log_common::RecordFormat::decode for local records: a record that does not
// frame correctly is skipped one byte at a time until one does.
std::size_t decode_record(std::string_view bytes, log_common::Record& record, bool& valid);

}  // namespace berth::plugins::log_local

#endif  // BERTH_PLUGINS_LOG_LOCAL_RECORD_HPP
