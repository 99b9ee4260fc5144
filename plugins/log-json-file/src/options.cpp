#include "options.hpp"

#include <string>

#include "berth/sdk/status.hpp"

namespace berth::plugins::log_json_file {

namespace {

using sdk::Errc;
using sdk::Error;

void apply_option(LogInfo& info, std::string_view key, std::string_view value) {
  if (log_common::apply_file_option(info, key, value, "json-file")) return;
  throw Error(Errc::invalid_argument,
              "unknown log opt '" + std::string(key) + "' for json-file log driver");
}

}  // namespace

LogInfo parse_log_info(std::string_view info_json) {
  LogInfo info = log_common::parse_log_info(info_json);
  for (const auto& [key, value] : info.options) apply_option(info, key, value);
  // Docker's message: compressing needs files to rotate into.
  if (info.rotation.compress && (info.rotation.max_file < 2 || info.rotation.max_size < 0)) {
    throw Error(Errc::invalid_argument,
                "compress cannot be true when max-file is less than 2 or max-size is not set");
  }
  return info;
}

}  // namespace berth::plugins::log_json_file
