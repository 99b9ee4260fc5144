// The Engine API's volume endpoints: list, inspect, create, remove and prune.
#pragma once

#include "berth/core/api/router.hpp"
#include "berth/core/volume/manager.hpp"

namespace berth::core::api {

// `volumes` outlives the router.
void add_volume_routes(Router& router, volume::VolumeManager& volumes);

}  // namespace berth::core::api
