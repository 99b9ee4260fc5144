// Docker's `filters` query parameter, shared by every list endpoint (images,
// containers, plugins, events, prune): {"key": ["v1", ...]} or the older
// {"key": {"v1": true}}.
#pragma once

#include <boost/json/object.hpp>

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

}  // namespace berth::core::api
