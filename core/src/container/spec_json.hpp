// Reading the fields of Docker's create request (Config, HostConfig) and of
// an image config the way the Go daemon decodes them: an absent field and
// null read as the zero value, a string slice may also be one string
// (Docker's StrSlice), and a field of the wrong type is an error naming it.
// Private to the container spec sources.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/core/error.hpp"
#include "berth/core/go_format.hpp"

namespace berth::core::container::detail {

// `where` names the enclosing object for messages ("HostConfig").
Result<std::string> get_string(const boost::json::object& o, std::string_view key,
                               std::string_view where);
Result<bool> get_bool(const boost::json::object& o, std::string_view key, std::string_view where);
Result<std::optional<bool>> get_opt_bool(const boost::json::object& o, std::string_view key,
                                         std::string_view where);
Result<std::int64_t> get_int(const boost::json::object& o, std::string_view key,
                             std::string_view where);
Result<std::optional<std::int64_t>> get_opt_int(const boost::json::object& o, std::string_view key,
                                                std::string_view where);
// An array of strings, or one string as a one-element list.
Result<std::vector<std::string>> get_strings(const boost::json::object& o, std::string_view key,
                                             std::string_view where);
// An object (or the empty object for absent/null).
Result<boost::json::object> get_object(const boost::json::object& o, std::string_view key,
                                       std::string_view where);
// An array (or the empty array for absent/null).
Result<boost::json::array> get_array(const boost::json::object& o, std::string_view key,
                                     std::string_view where);
// Whether `key` is present and not null.
bool has(const boost::json::object& o, std::string_view key);

boost::json::array to_json_array(const std::vector<std::string>& v);

// Go's path.Clean: "//a/./b/../c/" -> "/a/c".
std::string clean_path(std::string_view p);

// Go's strings.Split: "a::b" -> {"a", "", "b"}; "" -> {""}.
std::vector<std::string> split(std::string_view s, char sep);

using berth::core::go_quote;

Error invalid(std::string message);

}  // namespace berth::core::container::detail
