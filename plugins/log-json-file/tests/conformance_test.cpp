// The SDK's logging conformance suite against json-file, built in and as
// the shared library, and with rotation so records span many files (gzipped
// ones too).
#include "berth/sdk/testing/conformance.hpp"

#include "berth/plugins/log_json_file.h"

namespace {

using berth::sdk::testing::DriverSource;
using berth::sdk::testing::LoggingConformance;

DriverSource rotating(const char* name, const char* compress) {
  DriverSource source = DriverSource::builtin(name, &berth_builtin_log_json_file);
  source.log_opts_json =
      std::string(R"({"max-size":"2k","max-file":"1000","compress":")") + compress + "\"}";
  return source;
}

INSTANTIATE_TEST_SUITE_P(
    JsonFile, LoggingConformance,
    ::testing::Values(DriverSource::builtin("builtin", &berth_builtin_log_json_file),
                      DriverSource::shared_library("shared_library", BERTH_LOG_JSON_FILE_SO),
                      rotating("rotating", "false"), rotating("rotating_compressed", "true")),
    berth::sdk::testing::driver_source_name);

}  // namespace
