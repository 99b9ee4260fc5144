// The SDK's network conformance suite against host, built in and as the
// shared library.
#include "berth/sdk/testing/conformance.hpp"

#include "berth/plugins/net_host.h"

namespace {

using berth::sdk::testing::DriverSource;
using berth::sdk::testing::NetworkConformance;

INSTANTIATE_TEST_SUITE_P(
    Host, NetworkConformance,
    ::testing::Values(DriverSource::builtin("builtin", &berth_builtin_net_host),
                      DriverSource::shared_library("shared_library", BERTH_NET_HOST_SO)),
    berth::sdk::testing::driver_source_name);

}  // namespace
