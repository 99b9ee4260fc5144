// The Engine API's container endpoints: create, list, inspect, start, stop,
// restart, kill, pause, unpause, wait, remove, rename, resize, prune, logs,
// attach (hijacked) and exec (create, start, inspect, resize).
#pragma once

#include "berth/core/api/router.hpp"
#include "berth/core/container/manager.hpp"
#include "berth/core/image/image_store.hpp"

namespace berth::core::api {

// `containers` and `images` outlive the router.
void add_container_routes(Router& router, container::ContainerManager& containers, image::ImageStore& images);

}  // namespace berth::core::api
