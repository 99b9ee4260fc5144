// The SDK's logging conformance suite against local: built in and as the
// shared library with its defaults, rotating so records span many files, and
// rotating with compression so most of them are gzipped.
#include "berth/sdk/testing/conformance.hpp"

#include "berth/plugins/log_local.h"

namespace {

using berth::sdk::testing::DriverSource;
using berth::sdk::testing::LoggingConformance;

DriverSource rotating(const char* name, const char* compress) {
  DriverSource source = DriverSource::builtin(name, &berth_builtin_log_local);
  source.log_opts_json =
      std::string(R"({"max-size":"2k","max-file":"1000","compress":")") + compress + "\"}";
  return source;
}

INSTANTIATE_TEST_SUITE_P(
    Local, LoggingConformance,
    ::testing::Values(DriverSource::builtin("builtin", &berth_builtin_log_local),
                      DriverSource::shared_library("shared_library", BERTH_LOG_LOCAL_SO),
                      rotating("rotating", "false"), rotating("rotating_compressed", "true")),
    berth::sdk::testing::driver_source_name);

}  // namespace
