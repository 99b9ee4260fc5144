// The json-file logging driver: Docker's default log format, rotation by
// max-size/max-file, read-back with since/until/tail/follow.
#include <memory>
#include <string_view>

#include "berth/plugins/log_json_file.h"
#include "berth/sdk/logging.hpp"
#include "log_file.hpp"
#include "log_reader.hpp"
#include "options.hpp"

namespace berth::plugins::log_json_file {

namespace {

class JsonFileDriver final : public sdk::LoggingDriver {
 public:
  explicit JsonFileDriver(const sdk::Host& host) : host_(host) {}

  std::unique_ptr<sdk::ContainerLog> open(std::string_view info_json) override {
    return std::make_unique<LogFile>(parse_log_info(info_json));
  }

  void read(std::string_view info_json, const sdk::LogReadOptions& options,
            const sdk::LogSink& sink) override {
    read_log(parse_log_info(info_json), options, sink, host_);
  }

 private:
  sdk::Host host_;
};

}  // namespace

}  // namespace berth::plugins::log_json_file

BERTH_DEFINE_PLUGIN(berth_builtin_log_json_file, berth::plugins::log_json_file::JsonFileDriver,
                    "json-file", "1.0.0", BERTH_CAP_LOGGING_READ)
