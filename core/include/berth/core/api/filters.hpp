// Query parameters shared by several endpoints: Docker's `filters` (images,
// containers, plugins, events, prune): {"key": ["v1", ...]} or the older
// {"key": {"v1": true}}; and the `since`/`until` timestamps (logs, events).
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "berth/core/api/http.hpp"
#include "berth/core/error.hpp"

namespace berth::core::api {

using Filters = std::map<std::string, std::vector<std::string>>;

// Parses the request's `filters`; absent or empty is no filter. Keys outside
// `allowed` are Docker's "invalid filter 'x'"; anything but an object of
// string arrays (or of booleans) is invalid_argument.
Result<Filters> parse_filters(const Request& req, std::initializer_list<std::string_view> allowed);

// Docker's label filter: every "key" or "key=value" in `wanted` holds in
// `labels` (a JSON object of strings). No filter matches everything.
bool labels_match(const std::vector<std::string>& wanted, const boost::json::object* labels);

// The timestamp query parameter `name` in Unix nanoseconds (see
// parse_timestamp); 0 when absent or empty.
Result<std::int64_t> timestamp_query(const Request& req, std::string_view name);

}  // namespace berth::core::api
