#include "berth/core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace berth::core {
namespace {

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

spdlog::sink_ptr shared_sink() {
  // One sink for the whole process: berthd logs to stderr like dockerd, and
  // whoever runs it (a service manager, a test harness) captures the stream.
  static auto sink = [] {
    auto s = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    s->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ [%n] %v", spdlog::pattern_time_type::utc));
    return s;
  }();
  return sink;
}

spdlog::level::level_enum& current_level() {
  static spdlog::level::level_enum level = spdlog::level::info;
  return level;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  std::lock_guard lock(registry_mutex());
  if (auto existing = spdlog::get(name)) return existing;
  auto created = std::make_shared<spdlog::logger>(name, shared_sink());
  created->set_level(current_level());
  spdlog::register_logger(created);
  return created;
}

void set_log_level(const std::string& level) {
  std::lock_guard lock(registry_mutex());
  auto parsed = level == "fatal" ? spdlog::level::critical : spdlog::level::from_str(level);
  current_level() = parsed;
  spdlog::set_level(parsed);
}

}  // namespace berth::core
