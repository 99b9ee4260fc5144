#include "berth/core/plugin_host.hpp"

#include "berth/core/driver_call.hpp"
#include "berth/core/log.hpp"
#include "berth/core/name_rules.hpp"

#include <boost/dll/shared_library.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

namespace berth::core {

namespace fs = std::filesystem;

// Per-driver host table and the strings it points into. Stable address: the
// plugin keeps the berth_host pointer for its whole life.
struct HostContext {
  berth_host table{};
  std::shared_ptr<spdlog::logger> log;
  std::string config_json, state_dir, data_root, exec_root;
};

namespace {

struct KindInfo {
  std::string_view kind, word;
};
constexpr KindInfo kKinds[] = {
    {BERTH_KIND_STORAGE_V1, "storage"},
    {BERTH_KIND_NETWORK_V1, "net"},
    {BERTH_KIND_VOLUME_V1, "volume"},
    {BERTH_KIND_LOGGING_V1, "log"},
};

// Libraries stay mapped for the life of the process (DESIGN §4: never
// unloaded while the daemon runs), also after a refusal: a plugin's static
// constructors already ran.
void keep_loaded(boost::dll::shared_library lib) {
  static std::mutex m;
  static std::vector<boost::dll::shared_library> libs;
  std::lock_guard lock(m);
  libs.push_back(std::move(lib));
}

void host_log(const berth_host* host, berth_log_level level, berth_str message) {
  auto* ctx = static_cast<HostContext*>(host->host_ctx);
  spdlog::level::level_enum lvl = spdlog::level::info;
  switch (level) {
    case BERTH_LOG_TRACE: lvl = spdlog::level::trace; break;
    case BERTH_LOG_DEBUG: lvl = spdlog::level::debug; break;
    case BERTH_LOG_INFO: lvl = spdlog::level::info; break;
    case BERTH_LOG_WARN: lvl = spdlog::level::warn; break;
    default: lvl = spdlog::level::err; break;
  }
  ctx->log->log(lvl, "{}", to_view(message));
}

void host_error_set(berth_error* err, berth_str message) {
  if (err != nullptr) err->message.assign(to_view(message));
}

void host_out_write(berth_out* out, berth_str bytes) {
  if (out != nullptr) out->text.append(to_view(bytes));
}

void host_out_mount(berth_out* out, const berth_mount* mount) {
  if (out == nullptr || mount == nullptr || mount->struct_size < sizeof(berth_mount)) return;
  out->mounts.push_back({std::string(to_view(mount->type)), std::string(to_view(mount->source)),
                         std::string(to_view(mount->options))});
}

int64_t host_reader_read(berth_reader* reader, void* buf, size_t cap) {
  if (reader == nullptr || !reader->read) return -1;
  return reader->read(buf, cap);
}

int32_t host_writer_write(berth_writer* writer, const void* buf, size_t len) {
  if (writer == nullptr || !writer->write) return -1;
  return writer->write(buf, len) ? 0 : -1;
}

// Which table members must be non-null, by kind. Offsets into the table.
template <class Table, class... Members>
bool all_set(const void* table, Members... members) {
  const auto* t = static_cast<const Table*>(table);
  return ((t->*members != nullptr) && ...);
}

std::optional<std::string> check_table(std::string_view word, const berth_plugin& d) {
  if (d.table == nullptr) return "descriptor has no function table";
  uint32_t size = *static_cast<const uint32_t*>(d.table);
  auto too_small = [&](size_t want) {
    return "function table is " + std::to_string(size) + " bytes, ABI 1.0 needs " +
           std::to_string(want);
  };
  bool complete = false;
  if (word == "storage") {
    if (size < sizeof(berth_storage_v1)) return too_small(sizeof(berth_storage_v1));
    using T = berth_storage_v1;
    complete = all_set<T>(d.table, &T::create, &T::create_rw, &T::get, &T::put, &T::remove,
                          &T::exists, &T::apply_diff, &T::diff, &T::changes, &T::usage, &T::status);
  } else if (word == "net") {
    if (size < sizeof(berth_network_v1)) return too_small(sizeof(berth_network_v1));
    using T = berth_network_v1;
    complete = all_set<T>(d.table, &T::create_network, &T::delete_network, &T::create_endpoint,
                          &T::delete_endpoint, &T::join, &T::leave,
                          &T::program_external_connectivity, &T::revoke_external_connectivity);
  } else if (word == "volume") {
    if (size < sizeof(berth_volume_v1)) return too_small(sizeof(berth_volume_v1));
    using T = berth_volume_v1;
    complete = all_set<T>(d.table, &T::create, &T::remove, &T::mount, &T::unmount, &T::path,
                          &T::get, &T::list, &T::capabilities);
  } else {
    if (size < sizeof(berth_logging_v1)) return too_small(sizeof(berth_logging_v1));
    using T = berth_logging_v1;
    complete = all_set<T>(d.table, &T::open, &T::log, &T::close);
    if (complete && (d.capabilities & BERTH_CAP_LOGGING_READ) != 0) {
      complete = all_set<T>(d.table, &T::read);
      if (!complete) return "declares BERTH_CAP_LOGGING_READ but has no read function";
    }
  }
  if (!complete) return "function table has a null required function";
  return std::nullopt;
}

}  // namespace

std::string_view to_string(DriverState state) {
  switch (state) {
    case DriverState::loaded: return "loaded";
    case DriverState::skipped: return "skipped";
    case DriverState::failed: return "failed";
    case DriverState::disabled: return "disabled";
  }
  return "unknown";
}

std::string_view kind_word(std::string_view kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k.word;
  }
  return {};
}

const berth_host* Driver::host() const { return &context_->table; }

const berth_storage_v1* Driver::storage() const {
  return record_.word == "storage" ? static_cast<const berth_storage_v1*>(descriptor_->table)
                                   : nullptr;
}
const berth_network_v1* Driver::network() const {
  return record_.word == "net" ? static_cast<const berth_network_v1*>(descriptor_->table)
                               : nullptr;
}
const berth_volume_v1* Driver::volume() const {
  return record_.word == "volume" ? static_cast<const berth_volume_v1*>(descriptor_->table)
                                  : nullptr;
}
const berth_logging_v1* Driver::logging() const {
  return record_.word == "log" ? static_cast<const berth_logging_v1*>(descriptor_->table)
                               : nullptr;
}

PluginHost::PluginHost(PluginHostOptions options) : options_(std::move(options)) {}

PluginHost::~PluginHost() {
  for (auto it = drivers_.rbegin(); it != drivers_.rend(); ++it) {
    const auto& d = **it;
    if (d.descriptor_->shutdown != nullptr) d.descriptor_->shutdown(d.instance_);
  }
}

bool PluginHost::is_disabled(const std::string& name) const {
  const auto& list = options_.drivers.disabled;
  return std::find(list.begin(), list.end(), name) != list.end();
}

void PluginHost::refuse(DriverRecord record, std::string why) {
  logger("plugins")->error("refused driver {} from {}: {}", record.name(), record.source, why);
  record.state = DriverState::failed;
  record.error = std::move(why);
  records_.push_back(std::move(record));
}

void PluginHost::add_builtin(berth_plugin_entry_fn entry) {
  DriverRecord record;
  record.source = "builtin";
  const berth_plugin* d = entry != nullptr ? entry() : nullptr;
  if (d == nullptr) return refuse(std::move(record), "entry returned no descriptor");
  record.word = std::string(kind_word(d->kind != nullptr ? d->kind : ""));
  record.id = d->id != nullptr ? d->id : "";
  admit(d, std::move(record));
}

void PluginHost::load_directory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    logger("plugins")->info("plugin directory {} does not exist, skipping", dir);
    return;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".so") files.push_back(entry.path());
  }
  if (ec) logger("plugins")->error("read plugin directory {}: {}", dir, ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) load_library(f.string());
}

void PluginHost::load_library(const std::string& path) {
  DriverRecord record;
  record.source = path;
  const std::string file = fs::path(path).filename().string();
  // libberth-<kind>-<id>.so: the kind is the word before the first '-'
  // after the prefix (ids may contain '-', kinds do not).
  std::string_view stem = file;
  const bool shaped = stem.starts_with("libberth-") && stem.ends_with(".so");
  if (shaped) stem = stem.substr(9, stem.size() - 9 - 3);
  const auto dash = stem.find('-');
  if (!shaped || dash == std::string_view::npos ||
      !is_driver_name(std::string(stem.substr(0, dash)) + "/" + std::string(stem.substr(dash + 1)))) {
    record.id = file;
    return refuse(std::move(record),
                  "file name is not libberth-<storage|net|volume|log>-<id>.so");
  }
  record.word = std::string(stem.substr(0, dash));
  record.id = std::string(stem.substr(dash + 1));
  if (is_disabled(record.name())) {
    logger("plugins")->info("driver {} is disabled by the configuration", record.name());
    record.state = DriverState::disabled;
    records_.push_back(std::move(record));
    return;
  }

  boost::dll::fs::error_code ec;
  boost::dll::shared_library lib(
      path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    // Boost.DLL reports only an errno; dlerror() names the real cause (an
    // undefined symbol, a missing dependency, not an ELF file).
    std::string why = ec.message();
    if (void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL); handle != nullptr) {
      ::dlclose(handle);
    } else if (const char* text = ::dlerror(); text != nullptr) {
      why = text;
    }
    return refuse(std::move(record), "cannot load library: " + why);
  }
  if (!lib.has(BERTH_PLUGIN_ENTRY_SYMBOL)) {
    keep_loaded(std::move(lib));
    return refuse(std::move(record), "missing entry symbol " BERTH_PLUGIN_ENTRY_SYMBOL);
  }
  auto entry = lib.get<const berth_plugin*()>(BERTH_PLUGIN_ENTRY_SYMBOL);
  keep_loaded(std::move(lib));
  const berth_plugin* d = entry();
  if (d == nullptr) return refuse(std::move(record), "entry returned no descriptor");

  std::string want_word = record.word, want_id = record.id;
  if (d->struct_size >= offsetof(berth_plugin, table) + sizeof(void*) && d->kind != nullptr &&
      d->id != nullptr) {
    std::string_view word = kind_word(d->kind);
    if (word != want_word || d->id != want_id) {
      record.kind = d->kind;
      return refuse(std::move(record),
                    "descriptor says " + std::string(d->kind) + " \"" + d->id +
                        "\" but the file name says " + want_word + " \"" + want_id + "\"");
    }
  }
  admit(d, std::move(record));
}

void PluginHost::admit(const berth_plugin* d, DriverRecord record) {
  // The version comes first: nothing else in a descriptor of another major
  // can be trusted to mean what we think.
  if (d->struct_size < offsetof(berth_plugin, abi_minor) + sizeof(d->abi_minor)) {
    return refuse(std::move(record), "descriptor too small to carry an ABI version");
  }
  record.abi_major = d->abi_major;
  record.abi_minor = d->abi_minor;
  std::string abi = std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor);
  std::string host_abi = std::to_string(BERTH_ABI_MAJOR) + "." + std::to_string(BERTH_ABI_MINOR);
  if (d->abi_major != BERTH_ABI_MAJOR) {
    return refuse(std::move(record),
                  "built for ABI " + abi + ", this berthd has ABI " + host_abi +
                      " (majors must match)");
  }
  if (d->abi_minor > BERTH_ABI_MINOR) {
    return refuse(std::move(record), "built for ABI " + abi + ", newer than this berthd's ABI " +
                                         host_abi);
  }
  if (d->struct_size < sizeof(berth_plugin)) {
    return refuse(std::move(record), "descriptor is " + std::to_string(d->struct_size) +
                                         " bytes, ABI 1.0 needs " +
                                         std::to_string(sizeof(berth_plugin)));
  }
  if (d->kind == nullptr || kind_word(d->kind).empty()) {
    return refuse(std::move(record),
                  "unknown driver kind \"" + std::string(d->kind ? d->kind : "") + "\"");
  }
  if (d->id == nullptr || !is_driver_id(d->id)) {
    return refuse(std::move(record), "driver id is missing or not [a-z0-9][a-z0-9-]*");
  }
  record.kind = d->kind;
  record.word = std::string(kind_word(d->kind));
  record.id = d->id;
  record.version = d->version != nullptr ? d->version : "";
  record.capabilities = d->capabilities;
  if (d->init == nullptr) return refuse(std::move(record), "descriptor has no init function");
  if (auto bad = check_table(record.word, *d)) return refuse(std::move(record), *bad);
  if (find(record.word, record.id) != nullptr ||
      std::any_of(records_.begin(), records_.end(), [&](const DriverRecord& r) {
        return r.name() == record.name() && r.state != DriverState::failed &&
               r.state != DriverState::disabled;
      })) {
    return refuse(std::move(record), "duplicate driver: " + record.name() + " is already registered");
  }
  if (is_disabled(record.name())) {
    logger("plugins")->info("driver {} is disabled by the configuration", record.name());
    record.state = DriverState::disabled;
    records_.push_back(std::move(record));
    return;
  }

  auto driver = std::make_unique<Driver>();
  auto ctx = std::make_unique<HostContext>();
  ctx->log = logger("plugin." + record.id);
  auto opts = options_.drivers.options_json.find(record.name());
  ctx->config_json = opts != options_.drivers.options_json.end() ? opts->second : "{}";
  ctx->state_dir = options_.data_root + "/plugins/" + record.word + "-" + record.id;
  ctx->data_root = options_.data_root;
  ctx->exec_root = options_.exec_root;
  std::error_code ec;
  fs::create_directories(ctx->state_dir, ec);
  if (!ec) fs::permissions(ctx->state_dir, fs::perms::owner_all, ec);
  if (ec) {
    return refuse(std::move(record), "create state directory " + ctx->state_dir + ": " + ec.message());
  }
  berth_host& h = ctx->table;
  h.struct_size = sizeof(berth_host);
  h.abi_major = BERTH_ABI_MAJOR;
  h.abi_minor = BERTH_ABI_MINOR;
  h.host_ctx = ctx.get();
  h.log = host_log;
  h.config_json = to_berth_str(ctx->config_json);
  h.state_dir = to_berth_str(ctx->state_dir);
  h.data_root = to_berth_str(ctx->data_root);
  h.exec_root = to_berth_str(ctx->exec_root);
  h.error_set = host_error_set;
  h.out_write = host_out_write;
  h.out_mount = host_out_mount;
  h.reader_read = host_reader_read;
  h.writer_write = host_writer_write;

  berth_error err;
  void* instance = nullptr;
  berth_status st = d->init(&h, &instance, &err);
  if (st == BERTH_E_UNSUPPORTED) {
    logger("plugins")->info("driver {} is not supported here, skipping: {}", record.name(),
                            err.message.empty() ? "no reason given" : err.message);
    record.state = DriverState::skipped;
    record.error = err.message;
    records_.push_back(std::move(record));
    return;
  }
  if (st != BERTH_OK) {
    std::string why = "init failed (" + std::string(berth::sdk::errc_name(berth::sdk::to_errc(st))) +
                      ")" + (err.message.empty() ? "" : ": " + err.message);
    return refuse(std::move(record), std::move(why));
  }
  logger("plugins")->info("loaded driver {} {} (ABI {}.{}) from {}", record.name(), record.version,
                          record.abi_major, record.abi_minor, record.source);
  record.state = DriverState::loaded;
  driver->record_ = record;
  driver->descriptor_ = d;
  driver->instance_ = instance;
  driver->context_ = std::move(ctx);
  drivers_.push_back(std::move(driver));
  records_.push_back(std::move(record));
}

Result<void> PluginHost::check_required() const {
  for (const auto& name : options_.drivers.required) {
    auto slash = name.find('/');
    if (find(std::string_view(name).substr(0, slash), std::string_view(name).substr(slash + 1))) {
      continue;
    }
    auto it = std::find_if(records_.rbegin(), records_.rend(),
                           [&](const DriverRecord& r) { return r.name() == name; });
    if (it == records_.rend()) {
      return make_error(Errc::failed_precondition,
                        "required driver " + name + " was not found in any plugin directory");
    }
    if (it->state != DriverState::loaded) {
      return make_error(Errc::failed_precondition,
                        "required driver " + name + " is " + std::string(to_string(it->state)) +
                            (it->error.empty() ? "" : ": " + it->error));
    }
  }
  return ok();
}

std::vector<DriverRecord> PluginHost::records() const { return records_; }

const Driver* PluginHost::find(std::string_view word, std::string_view id) const {
  for (const auto& d : drivers_) {
    if (d->record_.word == word && d->record_.id == id) return d.get();
  }
  return nullptr;
}

std::vector<const Driver*> PluginHost::loaded(std::string_view word) const {
  std::vector<const Driver*> out;
  for (const auto& d : drivers_) {
    if (d->record_.word == word) out.push_back(d.get());
  }
  return out;
}

}  // namespace berth::core
