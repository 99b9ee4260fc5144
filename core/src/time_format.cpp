#include "berth/core/time_format.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <regex>
#include <stdexcept>

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

Result<std::int64_t> parse_timestamp(std::string_view text) {
  static const std::regex unix_time(R"(^(-?\d+)(?:\.(\d{0,9}))?$)");
  static const std::regex rfc3339(
      R"(^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$)");
  std::string s(text);
  std::smatch m;
  auto nanos = [](const std::ssub_match& frac) {
    std::string digits = frac.matched ? frac.str() : "";
    digits.resize(9, '0');
    return std::stoll(digits);
  };
  auto invalid = [&] {
    return make_error(Errc::invalid_argument,
                      "invalid timestamp \"" + s + "\": want Unix seconds[.nanoseconds] or RFC 3339");
  };
  try {
    if (std::regex_match(s, m, unix_time)) {
      std::int64_t seconds = std::stoll(m[1].str());
      std::int64_t ns = nanos(m[2]);
      return seconds * 1'000'000'000 + (seconds < 0 || m[1].str().starts_with("-") ? -ns : ns);
    }
    if (std::regex_match(s, m, rfc3339)) {
      std::tm tm{};
      tm.tm_year = std::stoi(m[1]) - 1900;
      tm.tm_mon = std::stoi(m[2]) - 1;
      tm.tm_mday = std::stoi(m[3]);
      tm.tm_hour = std::stoi(m[4]);
      tm.tm_min = std::stoi(m[5]);
      tm.tm_sec = std::stoi(m[6]);
      if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
          tm.tm_sec > 60) {
        return invalid();
      }
      auto seconds = static_cast<std::int64_t>(::timegm(&tm));
      std::string zone = m[8].str();
      if (zone != "Z" && zone != "z") {
        int offset = std::stoi(zone.substr(1, 2)) * 3600 + std::stoi(zone.substr(4, 2)) * 60;
        seconds += zone[0] == '-' ? offset : -offset;
      }
      return seconds * 1'000'000'000 + nanos(m[7]);
    }
  } catch (const std::out_of_range&) {
  }
  return invalid();
}

}  // namespace berth::core
