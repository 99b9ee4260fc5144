#include "spec_json.hpp"

#include <boost/json/array.hpp>
#include <cmath>

namespace berth::core::container::detail {
namespace json = boost::json;

namespace {

const json::value* find(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() || it->value().is_null() ? nullptr : &it->value();
}

Error type_error(std::string_view where, std::string_view key, std::string_view want) {
  return invalid(std::string(where) + "." + std::string(key) + ": expected " + std::string(want));
}

}  // namespace

Error invalid(std::string message) {
  return make_error(Errc::invalid_argument, std::move(message));
}

bool has(const json::object& o, std::string_view key) { return find(o, key) != nullptr; }

Result<std::string> get_string(const json::object& o, std::string_view key,
                               std::string_view where) {
  const json::value* v = find(o, key);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return type_error(where, key, "a string");
  return std::string(v->get_string());
}

Result<std::optional<bool>> get_opt_bool(const json::object& o, std::string_view key,
                                         std::string_view where) {
  const json::value* v = find(o, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_bool()) return type_error(where, key, "true or false");
  return std::optional<bool>(v->get_bool());
}

Result<bool> get_bool(const json::object& o, std::string_view key, std::string_view where) {
  BERTH_TRY(auto b, get_opt_bool(o, key, where));
  return b.value_or(false);
}

Result<std::optional<std::int64_t>> get_opt_int(const json::object& o, std::string_view key,
                                                std::string_view where) {
  const json::value* v = find(o, key);
  if (v == nullptr) return std::optional<std::int64_t>();
  if (v->is_int64()) return std::optional<std::int64_t>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v->get_uint64()));
  }
  // JSON has one number type; 1e9 arrives as a double and is still an int.
  if (v->is_double()) {
    const double d = v->get_double();
    if (std::trunc(d) == d && std::fabs(d) < 9.2e18) {
      return std::optional<std::int64_t>(static_cast<std::int64_t>(d));
    }
  }
  return type_error(where, key, "an integer");
}

Result<std::int64_t> get_int(const json::object& o, std::string_view key, std::string_view where) {
  BERTH_TRY(auto i, get_opt_int(o, key, where));
  return i.value_or(0);
}

Result<std::vector<std::string>> get_strings(const json::object& o, std::string_view key,
                                             std::string_view where) {
  std::vector<std::string> out;
  const json::value* v = find(o, key);
  if (v == nullptr) return out;
  if (v->is_string()) {
    out.emplace_back(v->get_string());
    return out;
  }
  if (!v->is_array()) return type_error(where, key, "an array of strings");
  for (const auto& e : v->get_array()) {
    if (!e.is_string()) return type_error(where, key, "an array of strings");
    out.emplace_back(e.get_string());
  }
  return out;
}

Result<json::object> get_object(const json::object& o, std::string_view key,
                                std::string_view where) {
  const json::value* v = find(o, key);
  if (v == nullptr) return json::object();
  if (!v->is_object()) return type_error(where, key, "an object");
  return v->get_object();
}

Result<json::array> get_array(const json::object& o, std::string_view key, std::string_view where) {
  const json::value* v = find(o, key);
  if (v == nullptr) return json::array();
  if (!v->is_array()) return type_error(where, key, "an array");
  return v->get_array();
}

json::array to_json_array(const std::vector<std::string>& v) {
  json::array a;
  a.reserve(v.size());
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (true) {
    const auto pos = s.find(sep);
    out.emplace_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return out;
    s.remove_prefix(pos + 1);
  }
}

std::string clean_path(std::string_view p) {
  std::vector<std::string> parts;
  for (auto& c : split(p, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(std::move(c));
  }
  std::string out = p.starts_with('/') ? "/" : "";
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
  return out.empty() ? "." : out;
}

}  // namespace berth::core::container::detail
