// Named per-subsystem loggers ("daemon", "api", "plugins", "store",
// "plugin.<id>") that share one set of sinks, so plugins logging through the
// host callback land in the same stream as the core.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>

namespace berth::core {

// The logger named `name`, created on first use with the shared sinks and the
// current level. Thread-safe.
std::shared_ptr<spdlog::logger> logger(const std::string& name);

// Sets the level of every logger, present and future. `level` is one of
// trace, debug, info, warn, error, fatal (already validated).
void set_log_level(const std::string& level);

}  // namespace berth::core
