// The SDK's storage conformance suite against overlay, built in and as the
// shared library.
#include "berth/sdk/testing/conformance.hpp"

#include "berth/plugins/storage_overlay.h"

namespace {

using berth::sdk::testing::DriverSource;
using berth::sdk::testing::StorageConformance;

INSTANTIATE_TEST_SUITE_P(
    Overlay, StorageConformance,
    ::testing::Values(DriverSource::builtin("builtin", &berth_builtin_storage_overlay),
                      DriverSource::shared_library("shared_library", BERTH_STORAGE_OVERLAY_SO)),
    berth::sdk::testing::driver_source_name);

}  // namespace
