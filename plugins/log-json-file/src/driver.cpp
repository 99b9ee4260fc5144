// The json-file logging driver: Docker's default log format, rotation by
// max-size/max-file (rotated files gzipped with compress), read-back with
// since/until/tail/follow. Files, rotation and reading are log_common's;
// this driver is the record format (record.hpp) and its options.
#include <string_view>

#include "berth/plugins/log_common/file_driver.hpp"
#include "berth/plugins/log_json_file.h"
#include "options.hpp"
#include "record.hpp"

namespace berth::plugins::log_json_file {

namespace {

// One line per record; a line that is not a record is skipped.
std::size_t decode_line(std::string_view bytes, log_common::Record& record, bool& valid) {
  const auto newline = bytes.find('\n');
  if (newline == std::string_view::npos) return 0;
  std::optional<Record> decoded = decode_record(bytes.substr(0, newline));
  valid = decoded.has_value();
  if (valid) record = std::move(*decoded);
  return newline + 1;
}

}  // namespace

constexpr log_common::FileDriverTraits kJsonFile{
    &parse_log_info, &encode_record, {&decode_line, "lines that are not json-file records"}};

}  // namespace berth::plugins::log_json_file

BERTH_DEFINE_PLUGIN(berth_builtin_log_json_file,
                    berth::plugins::log_common::FileDriver<berth::plugins::log_json_file::kJsonFile>,
                    "json-file", "1.0.0", BERTH_CAP_LOGGING_READ)
