// The SDK's logging conformance suite against none, built in and as the
// shared library. It cannot read, so the suite checks its descriptor, table,
// init and that it refuses bad info and options; the rest is skipped.
#include "berth/sdk/testing/conformance.hpp"

#include "berth/plugins/log_none.h"

namespace {

using berth::sdk::testing::DriverSource;
using berth::sdk::testing::LoggingConformance;

INSTANTIATE_TEST_SUITE_P(
    None, LoggingConformance,
    ::testing::Values(DriverSource::builtin("builtin", &berth_builtin_log_none),
                      DriverSource::shared_library("shared_library", BERTH_LOG_NONE_SO)),
    berth::sdk::testing::driver_source_name);

}  // namespace
