// A file-based logging driver on the SDK, given what makes it itself: how it
// reads its options and how a record looks in its files. json-file and local
// are each one instance:
//
//   constexpr FileDriverTraits kLocal{&parse_log_info, &encode_record, {...}};
//   BERTH_DEFINE_PLUGIN(berth_builtin_log_local, FileDriver<kLocal>, "local", ...)
#ifndef BERTH_PLUGINS_LOG_COMMON_FILE_DRIVER_HPP
#define BERTH_PLUGINS_LOG_COMMON_FILE_DRIVER_HPP

#include <memory>
#include <string>
#include <string_view>

#include "berth/plugins/log_common/log_info.hpp"
#include "berth/plugins/log_common/log_reader.hpp"
#include "berth/plugins/log_common/rotating_file.hpp"
#include "berth/sdk/logging.hpp"

namespace berth::plugins::log_common {

struct FileDriverTraits {
  // parse_log_info() plus the driver's options; throws sdk::Error.
  LogInfo (*parse)(std::string_view info_json);
  // Appends one record, as the driver's files hold it, to `out`.
  void (*encode)(const sdk::LogMessage& message, std::string& out);
  RecordFormat records;
};

// One container's log: records encoded into a RotatingFile.
class RotatingLog final : public sdk::ContainerLog {
 public:
  RotatingLog(const LogInfo& info, const FileDriverTraits& traits)
      : traits_(traits), file_(info) {}

  void log(const sdk::LogMessage& message) override {
    record_.clear();
    traits_.encode(message, record_);
    file_.write(record_);
  }

  void close() override { file_.close(); }

 private:
  const FileDriverTraits& traits_;
  RotatingFile file_;
  std::string record_;
};

template <const FileDriverTraits& Traits>
class FileDriver final : public sdk::LoggingDriver {
 public:
  explicit FileDriver(const sdk::Host& host) : host_(host) {}

  std::unique_ptr<sdk::ContainerLog> open(std::string_view info_json) override {
    return std::make_unique<RotatingLog>(Traits.parse(info_json), Traits);
  }

  void read(std::string_view info_json, const sdk::LogReadOptions& options,
            const sdk::LogSink& sink) override {
    read_log(Traits.parse(info_json), Traits.records, options, sink, host_);
  }

 private:
  sdk::Host host_;
};

}  // namespace berth::plugins::log_common

#endif  // BERTH_PLUGINS_LOG_COMMON_FILE_DRIVER_HPP
