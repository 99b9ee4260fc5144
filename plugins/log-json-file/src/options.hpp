// What open() and read() are told: the container, its log file and the
// driver's --log-opt options, validated the way Docker's json-file does.
#ifndef BERTH_PLUGINS_LOG_JSON_FILE_OPTIONS_HPP
#define BERTH_PLUGINS_LOG_JSON_FILE_OPTIONS_HPP

#include <string_view>

#include "berth/plugins/log_common/log_info.hpp"

namespace berth::plugins::log_json_file {

using log_common::LogInfo;
using log_common::parse_size;

// Parses info_json ({"ContainerID", "LogPath", "Config": {string: string}})
// and applies the options. Throws sdk::Error: invalid_argument for malformed
// input and unknown or bad options, unsupported for Docker options this
// driver does not implement.
LogInfo parse_log_info(std::string_view info_json);

}  // namespace berth::plugins::log_json_file

#endif  // BERTH_PLUGINS_LOG_JSON_FILE_OPTIONS_HPP
