#include "berth/core/image/progress.hpp"

#include <cstdio>

namespace berth::core::image {
namespace json = boost::json;

namespace {

// go-units HumanSize: four significant digits, decimal units.
std::string size_text(std::int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int i = 0;
  while (v >= 1000.0 && i < 4) {
    v /= 1000.0;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%s", v, units[i]);
  return buf;
}

}  // namespace

std::string short_id(std::string_view digest) {
  if (auto colon = digest.find(':'); colon != std::string_view::npos) digest.remove_prefix(colon + 1);
  return std::string(digest.substr(0, 12));
}

std::string progress_bar(std::int64_t current, std::int64_t total) {
  if (total <= 0) return size_text(current);
  int width = 50;
  int filled = static_cast<int>(static_cast<double>(current) / static_cast<double>(total) * width);
  if (filled > width) filled = width;
  std::string b = "[" + std::string(static_cast<std::size_t>(filled), '=');
  if (filled < width) b += ">" + std::string(static_cast<std::size_t>(width - filled - 1), ' ');
  return b + "]  " + size_text(current) + "/" + size_text(total);
}

json::object status_message(std::string status, std::string id) {
  return json::object{{"status", std::move(status)}, {"progressDetail", json::object{}}, {"id", std::move(id)}};
}

json::object progress_message(std::string status, std::string id, std::int64_t current, std::int64_t total) {
  return json::object{{"status", std::move(status)},
                      {"progressDetail", json::object{{"current", current}, {"total", total}}},
                      {"progress", progress_bar(current, total)},
                      {"id", std::move(id)}};
}

}  // namespace berth::core::image
