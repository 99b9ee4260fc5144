// The name rules Docker checks with regular expressions, as character
// tests: object names ([a-zA-Z0-9][a-zA-Z0-9_.-]*) and driver ids
// ([a-z0-9][a-z0-9-]*). Plain loops because each std::regex costs seconds
// of compile time in every file that uses one.
#pragma once

#include <cctype>
#include <cstddef>
#include <string_view>

namespace berth::core {

// [a-zA-Z0-9][a-zA-Z0-9_.-]* with at least `min_length` characters:
// containers and local volumes need two, networks one.
inline bool is_object_name(std::string_view s, std::size_t min_length) {
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (s.size() < min_length || s.empty() || !alnum(s.front())) return false;
  for (char c : s.substr(1)) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// [a-z0-9][a-z0-9-]*: a driver's id.
inline bool is_driver_id(std::string_view s) {
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (s.empty() || !lower_alnum(s.front())) return false;
  for (char c : s.substr(1)) {
    if (!lower_alnum(c) && c != '-') return false;
  }
  return true;
}

// <storage|net|volume|log>/<driver id>: a driver's name in daemon.json.
inline bool is_driver_name(std::string_view s) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view kind = s.substr(0, slash);
  if (kind != "storage" && kind != "net" && kind != "volume" && kind != "log") return false;
  return is_driver_id(s.substr(slash + 1));
}

}  // namespace berth::core
