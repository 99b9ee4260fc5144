// The none logging driver: a container's output goes nowhere. A driver on
// the SDK like any other rather than a special case in the core and the
// shim: it has no BERTH_CAP_LOGGING_READ, so `logs` answers Docker's
// "configured logging driver does not support reading" from the capability,
// and the plugin host lists it like the rest.
#include <memory>
#include <string>
#include <string_view>

#include "berth/plugins/log_common/log_info.hpp"
#include "berth/plugins/log_none.h"
#include "berth/sdk/logging.hpp"

namespace berth::plugins::log_none {

namespace {

using sdk::Errc;
using sdk::Error;

class NoLog final : public sdk::ContainerLog {
 public:
  void log(const sdk::LogMessage&) override {}
  void close() override {}
};

class NoneDriver final : public sdk::LoggingDriver {
 public:
  explicit NoneDriver(const sdk::Host&) {}

  // Checks the info like any driver; there is no option to give.
  std::unique_ptr<sdk::ContainerLog> open(std::string_view info_json) override {
    const log_common::LogInfo info = log_common::parse_log_info(info_json);
    if (!info.options.empty()) {
      throw Error(Errc::invalid_argument,
                  "unknown log opt '" + info.options.front().first + "' for log driver none");
    }
    return std::make_unique<NoLog>();
  }

  void read(std::string_view, const sdk::LogReadOptions&, const sdk::LogSink&) override {
    throw Error(Errc::unsupported, "configured logging driver does not support reading");
  }
};

}  // namespace

}  // namespace berth::plugins::log_none

BERTH_DEFINE_PLUGIN(berth_builtin_log_none, berth::plugins::log_none::NoneDriver, "none", "1.0.0",
                    0)
