// The Engine API's endpoints on a container's filesystem: changes (docker
// diff), export, archive (HEAD/GET/PUT, docker cp) and commit.
#pragma once

#include "berth/core/api/router.hpp"
#include "berth/core/container/manager.hpp"
#include "berth/core/image/image_store.hpp"

namespace berth::core::api {

// `containers` and `images` outlive the router.
void add_container_fs_routes(Router& router, container::ContainerManager& containers,
                             image::ImageStore& images);

}  // namespace berth::core::api
