#include "berth/core/volume/manager.hpp"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include <SQLiteCpp/Transaction.h>

#include <boost/json.hpp>
#include <utility>

#include "berth/core/driver_call.hpp"
#include "berth/core/log.hpp"
#include "berth/core/random_id.hpp"
#include "berth/core/time_format.hpp"
#include "berth/core/name_rules.hpp"

namespace berth::core::volume {
namespace json = boost::json;

namespace {

std::string string_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

json::object object_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->get_object() : json::object{};
}

Result<json::value> parse_json(const std::string& text, const std::string& what) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return make_error(Errc::internal, what + ": malformed JSON from the driver");
  return v;
}

// {string: string} or an error naming the field.
Result<void> check_string_map(const json::object& o, const std::string& field) {
  for (const auto& [k, v] : o) {
    if (!v.is_string()) {
      return make_error(Errc::invalid_argument,
                        field + ": value of \"" + std::string(k) + "\" must be a string");
    }
  }
  return ok();
}

}  // namespace

// --- driver ------------------------------------------------------------------

VolumeDriver::VolumeDriver(const Driver& driver) : driver_(driver), table_(driver.volume()) {}

#define BERTH_VOLUME_CALL(what, name, ...)                                                    \
  do {                                                                                        \
    berth_error err;                                                                          \
    berth_status st = table_->__VA_ARGS__;                                                    \
    if (st != BERTH_OK) {                                                                     \
      std::string detail = err.message.empty()                                                \
                               ? std::string(berth::sdk::errc_name(berth::sdk::to_errc(st)))  \
                               : err.message;                                                 \
      return make_error(berth::sdk::to_errc(st), std::string(what) + " " + (name) + ": " + detail); \
    }                                                                                         \
  } while (0)

Result<void> VolumeDriver::create(const std::string& name, const std::string& opts_json) const {
  BERTH_VOLUME_CALL("create", name, create(driver_.instance(), to_berth_str(name), to_berth_str(opts_json), &err));
  return ok();
}

Result<void> VolumeDriver::remove(const std::string& name) const {
  BERTH_VOLUME_CALL("remove", name, remove(driver_.instance(), to_berth_str(name), &err));
  return ok();
}

Result<std::string> VolumeDriver::mount(const std::string& name, const std::string& caller) const {
  berth_out out;
  BERTH_VOLUME_CALL("mount", name,
                    mount(driver_.instance(), to_berth_str(name), to_berth_str(caller), &out, &err));
  return out.text;
}

Result<void> VolumeDriver::unmount(const std::string& name, const std::string& caller) const {
  BERTH_VOLUME_CALL("unmount", name, unmount(driver_.instance(), to_berth_str(name), to_berth_str(caller), &err));
  return ok();
}

Result<std::string> VolumeDriver::path(const std::string& name) const {
  berth_out out;
  BERTH_VOLUME_CALL("path of", name, path(driver_.instance(), to_berth_str(name), &out, &err));
  return out.text;
}

Result<json::object> VolumeDriver::get(const std::string& name) const {
  berth_out out;
  BERTH_VOLUME_CALL("get", name, get(driver_.instance(), to_berth_str(name), &out, &err));
  BERTH_TRY(auto v, parse_json(out.text, "get " + name));
  if (!v.is_object()) return make_error(Errc::internal, "get " + name + ": the driver's answer is not an object");
  return v.get_object();
}

Result<json::array> VolumeDriver::list() const {
  berth_out out;
  BERTH_VOLUME_CALL("list", std::string("volumes of ") + id(), list(driver_.instance(), &out, &err));
  BERTH_TRY(auto v, parse_json(out.text, "list volumes of " + id()));
  if (!v.is_array()) return make_error(Errc::internal, "list volumes of " + id() + ": not an array");
  return v.get_array();
}

std::string VolumeDriver::scope() const {
  berth_out out;
  berth_error err;
  if (table_->capabilities(driver_.instance(), &out, &err) != BERTH_OK) return "local";
  json::error_code ec;
  auto v = json::parse(out.text, ec);
  if (ec || !v.is_object()) return "local";
  std::string scope = string_at(v.get_object(), "Scope");
  return scope == "global" ? scope : "local";
}

#undef BERTH_VOLUME_CALL

// --- volumes -----------------------------------------------------------------

json::object Volume::to_json() const {
  json::object o{{"CreatedAt", created},
                 {"Driver", driver},
                 {"Labels", labels.empty() ? json::value(nullptr) : json::value(labels)},
                 {"Mountpoint", mountpoint},
                 {"Name", name},
                 {"Options", options.empty() ? json::value(nullptr) : json::value(options)},
                 {"Scope", scope}};
  if (!status.empty()) o["Status"] = status;
  return o;
}

VolumeManager::VolumeManager(MetadataStore& db, const PluginHost& plugins) : db_(db), plugins_(plugins) {}

Result<std::unique_ptr<VolumeManager>> VolumeManager::open(MetadataStore& db, const PluginHost& plugins) {
  std::unique_ptr<VolumeManager> m(new VolumeManager(db, plugins));
  BERTH_TRY(m->load());
  return m;
}

const VolumeDriver* VolumeManager::driver_for(const std::string& name) const {
  auto it = drivers_.find(name);
  return it == drivers_.end() ? nullptr : it->second.get();
}

void VolumeManager::emit(const std::string& action, const std::string& name, const std::string& driver) const {
  if (event_) event_(action, name, driver);
}

Result<void> VolumeManager::load() {
  for (const Driver* d : plugins_.loaded("volume")) drivers_[d->record().id] = std::make_unique<VolumeDriver>(*d);

  struct Row {
    std::string name, driver, created;
    json::object config;
  };
  BERTH_TRY(auto rows, guard("load volumes", [&] {
    return db_.with_db([&](SQLite::Database& db) {
      std::vector<Row> out;
      SQLite::Statement q(db, "SELECT name, driver, created, config FROM volumes");
      while (q.executeStep()) {
        json::error_code ec;
        auto cfg = json::parse(q.getColumn(3).getString(), ec);
        out.push_back(Row{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                          !ec && cfg.is_object() ? cfg.get_object() : json::object{}});
      }
      return out;
    });
  }));
  BERTH_TRY(auto refs, guard("load volume references", [&] {
    return db_.with_db([&](SQLite::Database& db) {
      std::vector<std::pair<std::string, std::string>> out;
      SQLite::Statement q(db, "SELECT volume, container_id FROM volume_refs");
      while (q.executeStep()) out.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getString());
      return out;
    });
  }));

  std::lock_guard lock(mutex_);
  for (auto& r : rows) {
    Volume v;
    v.name = r.name;
    v.driver = r.driver;
    v.created = r.created;
    v.labels = object_at(r.config, "Labels");
    v.options = object_at(r.config, "Options");
    volumes_[v.name] = std::move(v);
  }
  for (auto& [volume, container] : refs) refs_[volume].insert(container);

  // Reconcile with the drivers: a volume created by the driver just before
  // a crash is adopted; a record whose driver lost the volume goes.
  for (const auto& [id, d] : drivers_) {
    auto listed = d->list();
    if (!listed) {
      logger("volume")->warn("{}", listed.error().message);
      continue;
    }
    for (const auto& item : listed.value()) {
      if (!item.is_object()) continue;
      const std::string name = string_at(item.get_object(), "Name");
      if (name.empty() || volumes_.contains(name)) continue;
      Volume v;
      v.name = name;
      v.driver = id;
      v.created = string_at(item.get_object(), "CreatedAt");
      if (v.created.empty()) v.created = rfc3339_now();
      if (auto r = record(v); !r) {
        logger("volume")->warn("{}", r.error().message);
        continue;
      }
      logger("volume")->info("adopted volume {} of driver {}", name, id);
      volumes_[name] = std::move(v);
    }
  }
  for (auto it = volumes_.begin(); it != volumes_.end();) {
    const VolumeDriver* d = driver_for(it->second.driver);
    if (d == nullptr) {
      ++it;  // its driver is not loaded this time: keep the record
      continue;
    }
    auto got = d->get(it->first);
    if (got || got.error().code != Errc::not_found) {
      ++it;
      continue;
    }
    logger("volume")->warn("volume {} is gone from driver {}: forgetting it", it->first, it->second.driver);
    const std::string name = it->first;
    (void)guard("forget volume " + name, [&] {
      db_.with_db([&](SQLite::Database& db) {
        SQLite::Transaction tx(db);
        SQLite::Statement q(db, "DELETE FROM volumes WHERE name = ?");
        q.bind(1, name);
        q.exec();
        SQLite::Statement r(db, "DELETE FROM volume_refs WHERE volume = ?");
        r.bind(1, name);
        r.exec();
        tx.commit();
      });
    });
    refs_.erase(name);
    it = volumes_.erase(it);
  }
  return ok();
}

Result<void> VolumeManager::record(const Volume& v) {
  return guard("record volume " + v.name, [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "INSERT INTO volumes(name, driver, created, config) VALUES(?, ?, ?, ?)");
      q.bind(1, v.name);
      q.bind(2, v.driver);
      q.bind(3, v.created);
      q.bind(4, json::serialize(json::object{{"Labels", v.labels}, {"Options", v.options}}));
      q.exec();
    });
  });
}

Result<Volume> VolumeManager::describe(const std::string& name) const {
  auto it = volumes_.find(name);
  if (it == volumes_.end()) return make_error(Errc::not_found, "get " + name + ": no such volume");
  Volume v = it->second;
  if (const VolumeDriver* d = driver_for(v.driver)) {
    if (auto p = d->path(name)) v.mountpoint = p.value();
    if (auto got = d->get(name)) v.status = object_at(got.value(), "Status");
    v.scope = d->scope();
  }
  return v;
}

Result<Volume> VolumeManager::create(const VolumeRequest& request) {
  const std::string name = request.name.empty() ? random_id() : request.name;
  const std::string driver_name = request.driver.empty() ? "local" : request.driver;
  BERTH_TRY(check_string_map(request.options, "DriverOpts"));
  BERTH_TRY(check_string_map(request.labels, "Labels"));
  if (driver_name == "local") {
    if (!is_object_name(name, 2)) {
      return make_error(Errc::invalid_argument,
                        "create " + name + ": \"" + name +
                            "\" includes invalid characters for a local volume name, only "
                            "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host "
                            "directory, use absolute path");
    }
  }
  std::lock_guard lock(mutex_);
  if (auto it = volumes_.find(name); it != volumes_.end()) {
    if (it->second.driver != driver_name) {
      return make_error(Errc::conflict, "create " + name + ": volume name " + name +
                                            " already in use with driver " + it->second.driver);
    }
    return describe(name);
  }
  const VolumeDriver* d = driver_for(driver_name);
  if (d == nullptr) {
    return make_error(Errc::not_found, "create " + name + ": error looking up volume plugin " + driver_name +
                                           ": plugin \"" + driver_name + "\" not found");
  }
  if (auto r = d->create(name, json::serialize(request.options)); !r && r.error().code != Errc::already_exists) {
    return std::move(r).error();
  }
  Volume v;
  v.name = name;
  v.driver = driver_name;
  v.created = rfc3339_now();
  v.labels = request.labels;
  v.options = request.options;
  if (auto recorded = record(v); !recorded) {
    (void)d->remove(name);
    return std::move(recorded).error();
  }
  volumes_[name] = v;
  emit("create", name, driver_name);
  return describe(name);
}

Result<Volume> VolumeManager::get(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return describe(name);
}

std::vector<Volume> VolumeManager::list() const {
  std::lock_guard lock(mutex_);
  std::vector<Volume> out;
  for (const auto& [name, v] : volumes_) {
    if (auto d = describe(name)) out.push_back(std::move(d).value());
  }
  return out;
}

Result<void> VolumeManager::remove(const std::string& name, bool force) {
  std::lock_guard lock(mutex_);
  auto it = volumes_.find(name);
  if (it == volumes_.end()) {
    if (force) return ok();
    return make_error(Errc::not_found, "get " + name + ": no such volume");
  }
  if (auto r = refs_.find(name); r != refs_.end() && !r->second.empty()) {
    std::string ids;
    for (const auto& id : r->second) ids += (ids.empty() ? "" : ", ") + id;
    return make_error(Errc::conflict, "remove " + name + ": volume is in use - [" + ids + "]");
  }
  const std::string driver_name = it->second.driver;
  const VolumeDriver* d = driver_for(driver_name);
  if (d == nullptr) {
    return make_error(Errc::not_found, "remove " + name + ": error looking up volume plugin " + driver_name +
                                           ": plugin \"" + driver_name + "\" not found");
  }
  // The record goes first: a crash before the driver's remove leaves data
  // that open() adopts again, never a record without data.
  BERTH_TRY(guard("remove volume " + name, [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "DELETE FROM volumes WHERE name = ?");
      q.bind(1, name);
      q.exec();
    });
  }));
  if (auto r = d->remove(name); !r && r.error().code != Errc::not_found) {
    (void)record(it->second);  // put the record back: the volume is still there
    return std::move(r).error();
  }
  volumes_.erase(it);
  refs_.erase(name);
  emit("destroy", name, driver_name);
  return ok();
}

Result<void> VolumeManager::add_reference(const std::string& name, const std::string& container_id) {
  std::lock_guard lock(mutex_);
  if (!volumes_.contains(name)) return make_error(Errc::not_found, "get " + name + ": no such volume");
  BERTH_TRY(guard("reference volume " + name, [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "INSERT OR IGNORE INTO volume_refs(volume, container_id) VALUES(?, ?)");
      q.bind(1, name);
      q.bind(2, container_id);
      q.exec();
    });
  }));
  refs_[name].insert(container_id);
  return ok();
}

std::vector<std::string> VolumeManager::release_references(const std::string& container_id) {
  std::lock_guard lock(mutex_);
  auto r = guard("release volumes of " + container_id, [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "DELETE FROM volume_refs WHERE container_id = ?");
      q.bind(1, container_id);
      q.exec();
    });
  });
  if (!r) logger("volume")->warn("{}", r.error().message);
  std::vector<std::string> out;
  for (auto& [name, ids] : refs_) {
    if (ids.erase(container_id) > 0) out.push_back(name);
  }
  return out;
}

std::vector<std::string> VolumeManager::references(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = refs_.find(name);
  if (it == refs_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

Result<std::string> VolumeManager::mount(const std::string& name, const std::string& container_id) {
  const VolumeDriver* d = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = volumes_.find(name);
    if (it == volumes_.end()) return make_error(Errc::not_found, "get " + name + ": no such volume");
    d = driver_for(it->second.driver);
    if (d == nullptr) {
      return make_error(Errc::not_found, "error looking up volume plugin " + it->second.driver + ": plugin \"" +
                                             it->second.driver + "\" not found");
    }
  }
  return d->mount(name, container_id);
}

void VolumeManager::unmount(const std::string& name, const std::string& container_id) {
  const VolumeDriver* d = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto it = volumes_.find(name);
    if (it == volumes_.end()) return;
    d = driver_for(it->second.driver);
  }
  if (d == nullptr) return;
  if (auto r = d->unmount(name, container_id); !r && r.error().code != Errc::not_found) {
    logger("volume")->warn("{}", r.error().message);
  }
}

void VolumeManager::restore(const std::set<std::string>& existing) {
  std::vector<std::string> gone;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, ids] : refs_) {
      for (const auto& id : ids) {
        if (!existing.contains(id)) gone.push_back(id);
      }
    }
  }
  for (const auto& id : gone) {
    for (const auto& name : release_references(id)) unmount(name, id);
  }
}

std::int64_t VolumeManager::usage(const Volume& v) const {
  if (v.mountpoint.empty()) return -1;
  // nftw's callback has no user pointer: one walk at a time per thread.
  static thread_local std::int64_t total;
  static thread_local std::set<std::pair<dev_t, ino_t>>* seen;
  std::set<std::pair<dev_t, ino_t>> inodes;
  total = 0;
  seen = &inodes;
  auto visit = [](const char*, const struct stat* st, int type, struct FTW*) -> int {
    if (type == FTW_F && (st->st_nlink <= 1 || seen->insert({st->st_dev, st->st_ino}).second)) total += st->st_size;
    return 0;
  };
  if (::nftw(v.mountpoint.c_str(), visit, 32, FTW_PHYS | FTW_MOUNT) != 0) return -1;
  return total;
}

}  // namespace berth::core::volume
