// GET /events: the event bus as Docker streams it, one JSON message per line
// (chunked), the recorded events between `since` and `until` first, then
// live ones until `until` passes or the client goes away.
#pragma once

#include "berth/core/api/router.hpp"
#include "berth/core/events.hpp"

namespace berth::core::api {

// `bus` outlives the router's server.
void add_event_routes(Router& router, events::EventBus& bus);

}  // namespace berth::core::api
