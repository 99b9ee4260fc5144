// The Engine API's network endpoints: list, inspect, create, remove,
// connect, disconnect and prune.
#pragma once

#include "berth/core/api/router.hpp"
#include "berth/core/container/manager.hpp"
#include "berth/core/network/manager.hpp"

namespace berth::core::api {

// `networks` and `containers` outlive the router.
void add_network_routes(Router& router, network::NetworkManager& networks, container::ContainerManager& containers);

}  // namespace berth::core::api
