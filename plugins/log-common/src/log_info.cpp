#include "berth/plugins/log_common/log_info.hpp"

#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <regex>

#include "berth/sdk/status.hpp"

namespace berth::plugins::log_common {

namespace {

using sdk::Errc;
using sdk::Error;

const boost::json::string* string_member(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr ? value->if_string() : nullptr;
}

}  // namespace

std::int64_t parse_size(std::string_view text) {
  static const std::regex syntax(R"(^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$)");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_match(text.begin(), text.end(), match, syntax)) return -1;
  const std::string_view number(&*match[1].first, static_cast<std::size_t>(match[1].length()));
  double value = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size()) return -1;
  double multiplier = 1;
  if (match[3].matched) {
    const std::string_view units = "kmgtp";
    const auto power = units.find(static_cast<char>(std::tolower(*match[3].first)));
    multiplier = std::pow(1000.0, static_cast<double>(power + 1));
  }
  const double bytes = value * multiplier;
  if (bytes >= 9.2e18) return -1;
  return static_cast<std::int64_t>(bytes);
}

std::optional<bool> parse_bool(std::string_view text) {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (text == t) return true;
  }
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (text == f) return false;
  }
  return std::nullopt;
}

bool apply_file_option(LogInfo& info, std::string_view key, std::string_view value,
                       std::string_view driver) {
  Rotation& rotation = info.rotation;
  const std::string opt = "log-opt " + std::string(key) + "=" + std::string(value);
  if (key == "max-size") {
    rotation.max_size = parse_size(value);
    if (rotation.max_size == -1) throw Error(Errc::invalid_argument, opt + ": not a size");
    if (rotation.max_size <= 0) {
      throw Error(Errc::invalid_argument, opt + ": max-size must be a positive number");
    }
  } else if (key == "max-file") {
    const auto [end, ec] =
        std::from_chars(value.data(), value.data() + value.size(), rotation.max_file);
    if (ec != std::errc() || end != value.data() + value.size()) {
      throw Error(Errc::invalid_argument, opt + ": not a number");
    }
    if (rotation.max_file < 1) {
      throw Error(Errc::invalid_argument, opt + ": max-file cannot be less than 1");
    }
  } else if (key == "compress") {
    const std::optional<bool> compress = parse_bool(value);
    if (!compress) throw Error(Errc::invalid_argument, opt + ": not a boolean");
    rotation.compress = *compress;
  } else if (key == "labels" || key == "labels-regex" || key == "env" || key == "env-regex" ||
             key == "tag") {
    throw Error(Errc::unsupported,
                opt + ": not supported by the " + std::string(driver) + " driver yet");
  } else {
    return false;
  }
  return true;
}

LogInfo parse_log_info(std::string_view info_json) {
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(info_json, ec);
  if (ec) throw Error(Errc::invalid_argument, "parse log info: " + ec.message());
  const boost::json::object* object = value.if_object();
  if (object == nullptr) throw Error(Errc::invalid_argument, "log info is not a JSON object");

  LogInfo info;
  const boost::json::string* id = string_member(*object, "ContainerID");
  if (id == nullptr || id->empty()) {
    throw Error(Errc::invalid_argument, "log info: ContainerID must be a non-empty string");
  }
  info.container_id = *id;
  const boost::json::string* path = string_member(*object, "LogPath");
  if (path == nullptr || path->empty()) {
    throw Error(Errc::invalid_argument, "log info of container " + info.short_id() +
                                            ": LogPath must be a non-empty string");
  }
  info.log_path = std::string_view(*path);

  if (const boost::json::value* config = object->if_contains("Config")) {
    const boost::json::object* options = config->if_object();
    if (options == nullptr) {
      throw Error(Errc::invalid_argument,
                  "log info of container " + info.short_id() + ": Config must be an object");
    }
    for (const auto& [key, option] : *options) {
      if (!option.is_string()) {
        throw Error(Errc::invalid_argument, "log-opt " + std::string(key) + " of container " +
                                                info.short_id() + " must be a string");
      }
      info.options.emplace_back(std::string(key), std::string(option.get_string()));
    }
  }
  return info;
}

}  // namespace berth::plugins::log_common
