#include "container_log.hpp"

#include "builtin_drivers.hpp"
#include "berth/core/log.hpp"

#include <filesystem>

namespace berth::shim {

namespace {

int slot(int stream) { return stream == BERTH_LOG_STDERR ? 1 : 0; }

}  // namespace

Result<std::unique_ptr<ContainerLog>> ContainerLog::open(const core::container::ShimOptions& options) {
  std::unique_ptr<ContainerLog> log(new ContainerLog());
  const std::string& id = options.log_driver;

  core::DriverConfig config;
  config.options_json["log/" + id] = options.log_driver_config_json;
  log->host_ = std::make_unique<core::PluginHost>(core::PluginHostOptions{
      options.data_root.empty() ? options.state_dir : options.data_root, options.exec_root, config});
  // Only the one driver: every shim initialising every plugin would cost
  // each container the memory and start-up time of all of them.
  for (auto entry : core::builtin_log_drivers()) {
    const berth_plugin* d = entry();
    if (d != nullptr && d->id != nullptr && id == d->id) log->host_->add_builtin(entry);
  }
  if (log->host_->find("log", id) == nullptr) {
    for (const auto& dir : options.plugin_dirs) {
      std::string path = dir + "/libberth-log-" + id + ".so";
      std::error_code ec;
      if (std::filesystem::exists(path, ec)) {
        log->host_->load_library(path);
        break;
      }
    }
  }
  const core::Driver* driver = log->host_->find("log", id);
  if (driver == nullptr) {
    std::string why = "not found in any plugin directory";
    for (const auto& r : log->host_->records()) {
      if (r.word == "log" && r.id == id) why = std::string(core::to_string(r.state)) + ": " + r.error;
    }
    return core::make_error(core::Errc::failed_precondition,
                            "log driver " + id + " is not available: " + why);
  }
  log->driver_.emplace(*driver);
  BERTH_TRY(auto stream, log->driver_->open(options.log_info_json));
  log->stream_.emplace(std::move(stream));
  return log;
}

ContainerLog::~ContainerLog() { stream_.reset(); }

void ContainerLog::emit(int stream, std::string_view line, bool partial, std::int64_t now) {
  if (!stream_) return;
  auto r = stream_->log(core::LogRecord{stream, now, partial, line});
  if (!r && failures_++ % 1000 == 0) {
    // Like Docker, a failing log drops the record and the container runs on.
    core::logger("shim")->error("{} (records dropped so far: {})", r.error().message, failures_);
  }
}

void ContainerLog::write(int stream, std::string_view data, std::int64_t now) {
  std::string& pending = pending_[slot(stream)];
  // One record of what is pending plus the first `n` bytes of data.
  auto record = [&](std::size_t n, bool partial) {
    if (pending.empty()) {
      emit(stream, data.substr(0, n), partial, now);
    } else {
      pending.append(data.substr(0, n));
      emit(stream, pending, partial, now);
      pending.clear();
    }
  };
  while (!data.empty()) {
    auto newline = data.find('\n');
    std::size_t take = newline == std::string_view::npos ? data.size() : newline;
    if (pending.size() + take >= kMaxRecord) {
      std::size_t fill = kMaxRecord - pending.size();
      record(fill, true);
      data.remove_prefix(fill);
    } else if (newline == std::string_view::npos) {
      pending.append(data);
      return;
    } else {
      record(newline, false);
      data.remove_prefix(newline + 1);
    }
  }
}

void ContainerLog::end(int stream, std::int64_t now) {
  std::string& pending = pending_[slot(stream)];
  if (pending.empty()) return;
  emit(stream, pending, false, now);
  pending.clear();
  pending.shrink_to_fit();
}

void ContainerLog::close(std::int64_t now) {
  end(BERTH_LOG_STDOUT, now);
  end(BERTH_LOG_STDERR, now);
  stream_.reset();
}

}  // namespace berth::shim
