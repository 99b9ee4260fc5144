#include "berth/core/log_driver.hpp"

#include "berth/core/driver_call.hpp"

namespace berth::core {

LogDriver::LogDriver(const Driver& driver) : driver_(driver), table_(driver.logging()) {}

Error LogDriver::failure(berth_status st, const std::string& message, std::string_view what) const {
  return make_error(berth::sdk::to_errc(st),
                    "logging driver " + id() + ": " + std::string(what) + ": " +
                        (message.empty() ? std::string(berth::sdk::errc_name(berth::sdk::to_errc(st))) : message));
}

Result<LogDriver::Stream> LogDriver::open(const std::string& info_json) const {
  berth_error err;
  void* handle = nullptr;
  berth_status st = table_->open(driver_.instance(), to_berth_str(info_json), &handle, &err);
  if (st != BERTH_OK) return failure(st, err.message, "open log");
  return Stream(this, handle);
}

LogDriver::Stream::~Stream() {
  if (handle_ != nullptr) owner_->table_->close(owner_->driver_.instance(), handle_);
}

Result<void> LogDriver::Stream::log(const LogRecord& record) {
  berth_log_message m{sizeof(berth_log_message), record.stream, record.time_unix_nano, record.partial ? 1 : 0,
                      to_berth_str(record.line)};
  berth_error err;
  berth_status st = owner_->table_->log(owner_->driver_.instance(), handle_, &m, &err);
  if (st != BERTH_OK) return owner_->failure(st, err.message, "write log");
  return ok();
}

namespace {

struct ReadContext {
  const std::function<bool(const LogRecord&)>* on_record;
  const std::function<bool()>* stopped;
};

}  // namespace

Result<void> LogDriver::read(const std::string& info_json, const LogReadOptions& options,
                             const std::function<bool(const LogRecord&)>& on_record,
                             const std::function<bool()>& stopped) const {
  if (!can_read()) {
    return make_error(Errc::unsupported, "configured logging driver does not support reading");
  }
  ReadContext ctx{&on_record, &stopped};
  berth_log_sink sink{sizeof(berth_log_sink), &ctx,
                      [](void* c, const berth_log_message* m) -> std::int32_t {
                        auto* rc = static_cast<ReadContext*>(c);
                        LogRecord r{m->stream, m->time_unix_nano, m->partial != 0, to_view(m->line)};
                        return (*rc->on_record)(r) ? 0 : 1;
                      },
                      [](void* c) -> std::int32_t {
                        auto* rc = static_cast<ReadContext*>(c);
                        return *rc->stopped && (*rc->stopped)() ? 1 : 0;
                      }};
  berth_log_read_options o{sizeof(berth_log_read_options), options.since_unix_nano, options.until_unix_nano,
                           options.tail, options.follow ? 1 : 0, 0};
  berth_error err;
  berth_status st = table_->read(driver_.instance(), to_berth_str(info_json), &o, &sink, &err);
  if (st != BERTH_OK) return failure(st, err.message, "read log");
  return ok();
}

Result<void> LogDriver::validate(const std::string& info_json) const {
  if (!can_read()) return ok();
  berth_log_sink sink{sizeof(berth_log_sink), nullptr, [](void*, const berth_log_message*) -> std::int32_t { return 1; },
                      nullptr};
  berth_log_read_options o{sizeof(berth_log_read_options), 0, 0, 0, 0, 0};
  berth_error err;
  berth_status st = table_->read(driver_.instance(), to_berth_str(info_json), &o, &sink, &err);
  if (st == BERTH_OK) return ok();
  return make_error(Errc::invalid_argument,
                    err.message.empty() ? "logging driver " + id() + ": invalid log options" : err.message);
}

}  // namespace berth::core
