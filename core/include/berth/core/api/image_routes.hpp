// The Engine API's image endpoints: list, inspect, history, tag, remove,
// prune, save (get), load, and import (create with fromSrc).
#pragma once

#include "berth/core/api/router.hpp"
#include "berth/core/image/image_store.hpp"
#include "berth/core/registry/client.hpp"

namespace berth::core::api {

// `store` and `registry` outlive the router.
void add_image_routes(Router& router, image::ImageStore& store, registry::RegistryClient& registry,
                      int max_concurrent_downloads);

}  // namespace berth::core::api
