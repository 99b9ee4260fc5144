// The Engine API's endpoints on a container's resources: top (ps over the
// container's processes), stats (one-shot and streamed cgroup counters)
// and update (resource limits and restart policy).
#pragma once

#include "berth/core/api/router.hpp"
#include "berth/core/container/manager.hpp"

namespace berth::core::api {

// `containers` outlives the router.
void add_container_resource_routes(Router& router, container::ContainerManager& containers);

}  // namespace berth::core::api
