// The SDK's volume conformance suite against local, built in and as the
// shared library.
#include "berth/sdk/testing/conformance.hpp"

#include "berth/plugins/volume_local.h"

namespace {

using berth::sdk::testing::DriverSource;
using berth::sdk::testing::VolumeConformance;

INSTANTIATE_TEST_SUITE_P(
    Local, VolumeConformance,
    ::testing::Values(DriverSource::builtin("builtin", &berth_builtin_volume_local),
                      DriverSource::shared_library("shared_library", BERTH_VOLUME_LOCAL_SO)),
    berth::sdk::testing::driver_source_name);

}  // namespace
