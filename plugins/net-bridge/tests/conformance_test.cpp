// The SDK's network conformance suite against bridge, built in and as the
// shared library. The suite runs the driver inside private network
// namespaces; names and the nftables table are berth-test- anyway.
#include "berth/sdk/testing/conformance.hpp"

#include <unistd.h>

#include <string>

#include "berth/plugins/net_bridge.h"

namespace {

using berth::sdk::testing::DriverSource;
using berth::sdk::testing::NetworkConformance;

DriverSource configured(DriverSource source, int n) {
  source.config_json = R"({"nft_table":"berth-test-)" + std::to_string(::getpid()) + "-" +
                       std::to_string(n) +
                       R"(","interface_prefix":"berth-test-","bridge_prefix":"berth-test-"})";
  return source;
}

INSTANTIATE_TEST_SUITE_P(
    Bridge, NetworkConformance,
    ::testing::Values(
        configured(DriverSource::builtin("builtin", &berth_builtin_net_bridge), 1),
        configured(DriverSource::shared_library("shared_library", BERTH_NET_BRIDGE_SO), 2)),
    berth::sdk::testing::driver_source_name);

}  // namespace
