// The local logging driver, Docker's "local" idea: compact binary records
// (record.hpp), rotated by default (max-size 20 MiB, max-file 5, rotated
// files gzipped), read back with since/until/tail/follow across the rotated
// files. Files, rotation and reading are log_common's, shared with json-file.
#include <string>
#include <string_view>

#include "berth/plugins/log_common/file_driver.hpp"
#include "berth/plugins/log_local.h"
#include "record.hpp"

namespace berth::plugins::log_local {

namespace {

using log_common::LogInfo;
using sdk::Errc;
using sdk::Error;

// Docker's local defaults: 20 MiB (binary, unlike a max-size option), 5 files.
constexpr std::int64_t kDefaultMaxSize = 20 * 1024 * 1024;
constexpr int kDefaultMaxFile = 5;

// Docker's checks and messages (daemon/logger/local).
LogInfo parse_log_info(std::string_view info_json) {
  LogInfo info = log_common::parse_log_info(info_json);
  info.rotation = {kDefaultMaxSize, kDefaultMaxFile, true};
  for (const auto& [key, value] : info.options) {
    if (!log_common::apply_file_option(info, key, value, "local")) {
      throw Error(Errc::invalid_argument, "unknown log opt '" + key + "' for log driver local");
    }
  }
  if (info.rotation.compress && info.rotation.max_file < 2) {
    throw Error(Errc::invalid_argument, "compression cannot be enabled when max file count is 1");
  }
  return info;
}

}  // namespace

constexpr log_common::FileDriverTraits kLocal{
    &parse_log_info, &encode_record, {&decode_record, "bytes that are not local log records"}};

}  // namespace berth::plugins::log_local

BERTH_DEFINE_PLUGIN(berth_builtin_log_local,
                    berth::plugins::log_common::FileDriver<berth::plugins::log_local::kLocal>,
                    "local", "1.0.0", BERTH_CAP_LOGGING_READ)
