// The installed SDK's logging conformance suite against the example plugin.
#include "berth/sdk/testing/conformance.hpp"

namespace {

using berth::sdk::testing::DriverSource;
using berth::sdk::testing::LoggingConformance;

INSTANTIATE_TEST_SUITE_P(Example, LoggingConformance,
                         ::testing::Values(DriverSource::shared_library("so", PLUGIN_PATH)),
                         berth::sdk::testing::driver_source_name);

}  // namespace
