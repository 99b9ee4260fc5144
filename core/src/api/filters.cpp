#include "berth/core/api/filters.hpp"

#include "berth/core/time_format.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace berth::core::api {
namespace json = boost::json;

Result<Filters> parse_filters(const Request& req, std::initializer_list<std::string_view> allowed) {
  Filters out;
  const std::string* text = req.query_value("filters");
  if (text == nullptr || text->empty()) return out;
  auto bad = [] { return make_error(Errc::invalid_argument, "invalid filters: want a JSON object of arrays"); };
  json::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return bad();
  for (const auto& [key, values] : v.get_object()) {
    if (std::find(allowed.begin(), allowed.end(), std::string_view(key)) == allowed.end()) {
      return make_error(Errc::invalid_argument, "invalid filter '" + std::string(key) + "'");
    }
    auto& list = out[std::string(key)];
    if (values.is_array()) {
      for (const auto& item : values.get_array()) {
        if (!item.is_string()) return make_error(Errc::invalid_argument, "invalid filters: values must be strings");
        list.emplace_back(item.get_string());
      }
    } else if (values.is_object()) {
      for (const auto& [name, on] : values.get_object()) {
        if (on.is_bool() && on.get_bool()) list.emplace_back(name);
      }
    } else {
      return bad();
    }
  }
  return out;
}

bool labels_match(const std::vector<std::string>& wanted, const json::object* labels) {
  for (const auto& want : wanted) {
    auto eq = want.find('=');
    const json::value* v = labels != nullptr ? labels->if_contains(want.substr(0, eq)) : nullptr;
    if (v == nullptr) return false;
    if (eq != std::string::npos && (!v->is_string() || v->get_string() != want.substr(eq + 1))) return false;
  }
  return true;
}

Result<std::int64_t> timestamp_query(const Request& req, std::string_view name) {
  const std::string* v = req.query_value(name);
  if (v == nullptr || v->empty()) return 0;
  return parse_timestamp(*v);
}

}  // namespace berth::core::api
