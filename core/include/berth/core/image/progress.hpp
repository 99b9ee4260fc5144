// Docker's JSON progress messages (jsonmessage) as pull and push stream them
// to clients: {"status", "id", "progressDetail", "progress"}.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace berth::core::image {

// Receives the messages of one operation; may be called from several
// threads, each caller serialises its own calls.
using ProgressFn = std::function<void(const boost::json::object&)>;

// The 12 hex digits Docker shows for a digest or an ID ("sha256:<hex>").
std::string short_id(std::string_view digest);

// Docker's bar: "[=====>      ]  1.2MB/3.4MB" (just the size without total).
std::string progress_bar(std::int64_t current, std::int64_t total);

// {"status", "progressDetail": {}, "id"}.
boost::json::object status_message(std::string status, std::string id);
// A "Downloading"/"Pushing"/"Extracting" line with its bar.
boost::json::object progress_message(std::string status, std::string id, std::int64_t current,
                                     std::int64_t total);

}  // namespace berth::core::image
