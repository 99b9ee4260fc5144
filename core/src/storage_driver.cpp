#include "berth/core/storage_driver.hpp"

#include "berth/core/driver_call.hpp"

#include <boost/json.hpp>

namespace berth::core {

StorageDriver::StorageDriver(const Driver& driver) : driver_(driver), table_(driver.storage()) {}

Error StorageDriver::failure(berth_status st, const berth_error& err, std::string_view what,
                             const std::string& id) const {
  std::string message = "storage driver " + this->id() + ": " + std::string(what) +
                        (id.empty() ? "" : " " + id) + ": " +
                        (err.message.empty() ? std::string(berth::sdk::errc_name(berth::sdk::to_errc(st)))
                                             : err.message);
  return make_error(berth::sdk::to_errc(st), std::move(message));
}

#define BERTH_STORAGE_CALL(what, id, ...)                                         \
  do {                                                                            \
    berth_error err;                                                              \
    berth_status st = table_->__VA_ARGS__;                                        \
    if (st != BERTH_OK) return failure(st, err, what, id);                        \
  } while (0)

Result<void> StorageDriver::create(const std::string& id, const std::string& parent,
                                   const std::string& opts_json) const {
  BERTH_STORAGE_CALL("create layer", id,
                     create(driver_.instance(), to_berth_str(id), to_berth_str(parent),
                            to_berth_str(opts_json), &err));
  return ok();
}

Result<void> StorageDriver::create_rw(const std::string& id, const std::string& parent,
                                      const std::string& opts_json) const {
  BERTH_STORAGE_CALL("create read-write layer", id,
                     create_rw(driver_.instance(), to_berth_str(id), to_berth_str(parent),
                               to_berth_str(opts_json), &err));
  return ok();
}

Result<std::vector<MountSpec>> StorageDriver::get(const std::string& id,
                                                  const std::string& mount_label) const {
  berth_out out;
  BERTH_STORAGE_CALL("get layer", id,
                     get(driver_.instance(), to_berth_str(id), to_berth_str(mount_label), &out, &err));
  std::vector<MountSpec> mounts;
  for (auto& m : out.mounts) mounts.push_back({std::move(m.type), std::move(m.source), std::move(m.options)});
  return mounts;
}

Result<void> StorageDriver::put(const std::string& id) const {
  BERTH_STORAGE_CALL("put layer", id, put(driver_.instance(), to_berth_str(id), &err));
  return ok();
}

Result<void> StorageDriver::remove(const std::string& id) const {
  BERTH_STORAGE_CALL("remove layer", id, remove(driver_.instance(), to_berth_str(id), &err));
  return ok();
}

bool StorageDriver::exists(const std::string& id) const {
  return table_->exists(driver_.instance(), to_berth_str(id)) != 0;
}

Result<std::int64_t> StorageDriver::apply_diff(
    const std::string& id, const std::string& parent,
    std::function<std::int64_t(void*, std::size_t)> read) const {
  berth_reader reader{std::move(read)};
  std::int64_t size = 0;
  BERTH_STORAGE_CALL("apply diff to layer", id,
                     apply_diff(driver_.instance(), to_berth_str(id), to_berth_str(parent), &reader,
                                &size, &err));
  return size;
}

Result<void> StorageDriver::diff(const std::string& id, const std::string& parent,
                                 std::function<bool(const void*, std::size_t)> write) const {
  berth_writer writer{std::move(write)};
  BERTH_STORAGE_CALL("diff layer", id,
                     diff(driver_.instance(), to_berth_str(id), to_berth_str(parent), &writer, &err));
  return ok();
}

Result<std::string> StorageDriver::changes(const std::string& id, const std::string& parent) const {
  berth_out out;
  BERTH_STORAGE_CALL("changes of layer", id,
                     changes(driver_.instance(), to_berth_str(id), to_berth_str(parent), &out, &err));
  return std::move(out.text);
}

Result<std::int64_t> StorageDriver::usage(const std::string& id) const {
  berth_usage usage{sizeof(berth_usage), -1, -1};
  BERTH_STORAGE_CALL("usage of layer", id, usage(driver_.instance(), to_berth_str(id), &usage, &err));
  return usage.size_bytes;
}

Result<std::vector<std::pair<std::string, std::string>>> StorageDriver::status() const {
  berth_out out;
  BERTH_STORAGE_CALL("status", std::string(), status(driver_.instance(), &out, &err));
  std::vector<std::pair<std::string, std::string>> pairs;
  boost::json::error_code ec;
  auto v = boost::json::parse(out.text, ec);
  if (ec || !v.is_array()) return pairs;
  for (const auto& p : v.get_array()) {
    if (p.is_array() && p.get_array().size() == 2 && p.get_array()[0].is_string() &&
        p.get_array()[1].is_string()) {
      pairs.emplace_back(std::string(p.get_array()[0].get_string()),
                         std::string(p.get_array()[1].get_string()));
    }
  }
  return pairs;
}

#undef BERTH_STORAGE_CALL

}  // namespace berth::core
