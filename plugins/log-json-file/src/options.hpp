// What open() and read() are told: the container, its log file and the
// driver's --log-opt options, validated the way Docker's json-file does.
#ifndef BERTH_PLUGINS_LOG_JSON_FILE_OPTIONS_HPP
#define BERTH_PLUGINS_LOG_JSON_FILE_OPTIONS_HPP

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace berth::plugins::log_json_file {

struct LogInfo {
  std::string container_id;
  std::filesystem::path log_path;
  std::int64_t max_size = -1;  // bytes; -1: never rotate
  int max_file = 1;            // files kept, the live one included

  // The 12-character id that messages name, as Docker prints it.
  std::string short_id() const { return container_id.substr(0, 12); }
};

// Parses info_json ({"ContainerID", "LogPath", "Config": {string: string}}).
// Throws sdk::Error: invalid_argument for malformed input and unknown or bad
// options, unsupported for Docker options this driver does not implement.
LogInfo parse_log_info(std::string_view info_json);

// A size as Docker's --log-opt max-size takes it (go-units FromHumanSize:
// decimal multipliers, "10m" = 10,000,000); -1 when `text` is not one.
std::int64_t parse_size(std::string_view text);

}  // namespace berth::plugins::log_json_file

#endif  // BERTH_PLUGINS_LOG_JSON_FILE_OPTIONS_HPP
