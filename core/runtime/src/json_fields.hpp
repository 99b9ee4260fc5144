// Typed, optional fields of OCI JSON objects. A field that is absent or null
// is std::nullopt; one of the wrong type is an invalid_argument error naming
// it ("linux.resources.memory.limit: expected an integer").
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "sys.hpp"

namespace berth::runtime::detail {

inline Error field_error(const std::string& where, const char* key, const char* expected) {
  return Error{Errc::invalid_argument, where + "." + key + ": expected " + expected};
}

inline const boost::json::value* field(const boost::json::object& o, const char* key) {
  const boost::json::value* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

inline Result<std::optional<std::int64_t>> int_field(const boost::json::object& o, const char* key,
                                                     const std::string& where) {
  const boost::json::value* v = field(o, key);
  if (v == nullptr) return std::optional<std::int64_t>();
  if (v->is_int64()) return std::optional<std::int64_t>(v->as_int64());
  if (v->is_uint64()) {
    const std::uint64_t u = v->as_uint64();
    return std::optional<std::int64_t>(u > INT64_MAX ? INT64_MAX : static_cast<std::int64_t>(u));
  }
  return field_error(where, key, "an integer");
}

inline Result<std::optional<std::uint64_t>> uint_field(const boost::json::object& o,
                                                       const char* key, const std::string& where) {
  const boost::json::value* v = field(o, key);
  if (v == nullptr) return std::optional<std::uint64_t>();
  if (v->is_uint64()) return std::optional<std::uint64_t>(v->as_uint64());
  if (v->is_int64() && v->as_int64() >= 0) {
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(v->as_int64()));
  }
  return field_error(where, key, "an unsigned integer");
}

inline Result<std::optional<std::string>> string_field(const boost::json::object& o,
                                                       const char* key, const std::string& where) {
  const boost::json::value* v = field(o, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return field_error(where, key, "a string");
  return std::optional<std::string>(std::string(v->as_string()));
}

inline Result<std::optional<bool>> bool_field(const boost::json::object& o, const char* key,
                                              const std::string& where) {
  const boost::json::value* v = field(o, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_bool()) return field_error(where, key, "a boolean");
  return std::optional<bool>(v->as_bool());
}

inline Result<const boost::json::object*> object_field(const boost::json::object& o,
                                                       const char* key, const std::string& where) {
  const boost::json::value* v = field(o, key);
  if (v == nullptr) return static_cast<const boost::json::object*>(nullptr);
  if (!v->is_object()) return field_error(where, key, "an object");
  return &v->as_object();
}

inline Result<const boost::json::array*> array_field(const boost::json::object& o, const char* key,
                                                     const std::string& where) {
  const boost::json::value* v = field(o, key);
  if (v == nullptr) return static_cast<const boost::json::array*>(nullptr);
  if (!v->is_array()) return field_error(where, key, "an array");
  return &v->as_array();
}

}  // namespace berth::runtime::detail
