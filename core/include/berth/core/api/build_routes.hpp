// The Engine API's builder endpoints: POST /build (the classic builder) and
// POST /build/prune.
#pragma once

#include "berth/core/api/router.hpp"
#include "berth/core/build/builder.hpp"

namespace berth::core::api {

// `services` outlives the router.
void add_build_routes(Router& router, const build::BuildServices& services);

}  // namespace berth::core::api
