#include "berth/core/time_format.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace berth::core {

std::string rfc3339_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() % 1000000000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[80];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%09lldZ", static_cast<long long>(nanos));
  return buf;
}

std::int64_t parse_rfc3339(std::string_view text) {
  std::tm tm{};
  std::string s(text);
  if (::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<std::int64_t>(::timegm(&tm));
}

}  // namespace berth::core
