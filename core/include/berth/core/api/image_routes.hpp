// The Engine API's image endpoints: list, inspect, history, tag, remove,
// prune, save (get), load, and import (create with fromSrc).
#pragma once

#include "berth/core/api/router.hpp"
#include "berth/core/image/image_store.hpp"
#include "berth/core/registry/client.hpp"

#include <boost/json/object.hpp>

namespace berth::core::api {

// One image as GET /images/json lists it (Docker's ImageSummary), with
// SharedSize and Containers -1 ("not computed"); GET /system/df fills those
// in on the same object.
boost::json::object image_summary(const image::ImageInfo& info);

// `store` and `registry` outlive the router.
void add_image_routes(Router& router, image::ImageStore& store, registry::RegistryClient& registry,
                      int max_concurrent_downloads);

}  // namespace berth::core::api
