// What open() and read() of a file-based logging driver are told (the
// info_json of berth/sdk/logging.hpp), and the rotation options json-file
// and local share, parsed and checked the way Docker's drivers do.
#ifndef BERTH_PLUGINS_LOG_COMMON_LOG_INFO_HPP
#define BERTH_PLUGINS_LOG_COMMON_LOG_INFO_HPP

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::plugins::log_common {

// max-size / max-file / compress.
struct Rotation {
  std::int64_t max_size = -1;  // bytes; -1: never rotate
  int max_file = 1;            // files kept, the live one included
  bool compress = false;       // gzip rotated files (<file>.<n>.gz)
};

struct LogInfo {
  std::string container_id;
  std::filesystem::path log_path;
  // "Config": the --log-opt pairs, in the order given.
  std::vector<std::pair<std::string, std::string>> options;
  Rotation rotation;  // set by the driver from `options`

  // The 12-character id that messages name, as Docker prints it.
  std::string short_id() const { return container_id.substr(0, 12); }
};

// Parses info_json ({"ContainerID", "LogPath", "Config": {string: string}}),
// without interpreting the options. Throws sdk::Error(invalid_argument) for
// malformed input.
LogInfo parse_log_info(std::string_view info_json);

// A size as Docker's --log-opt max-size takes it (go-units FromHumanSize:
// decimal multipliers, "10m" = 10,000,000); -1 when `text` is not one.
std::int64_t parse_size(std::string_view text);

// Go's strconv.ParseBool, which Docker uses for "compress".
std::optional<bool> parse_bool(std::string_view text);

// Applies an option both file drivers know: max-size, max-file and compress
// to info.rotation (sdk::Error(invalid_argument) naming the option when the
// value is bad); Docker's labels, env and tag options are refused as
// unsupported by `driver` ("json-file", "local") for now. Returns false for
// any other key, which the driver refuses in its own words.
bool apply_file_option(LogInfo& info, std::string_view key, std::string_view value,
                       std::string_view driver);

}  // namespace berth::plugins::log_common

#endif  // BERTH_PLUGINS_LOG_COMMON_LOG_INFO_HPP
