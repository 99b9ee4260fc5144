#include "berth/sdk/testing/driver_under_test.hpp"

#include <dlfcn.h>

#include <cstring>
#include <regex>
#include <utility>

#include "berth/sdk/status.hpp"
#include "berth/sdk/types.hpp"

namespace berth::sdk::testing {

DriverSource DriverSource::builtin(std::string name, berth_plugin_entry_fn descriptor) {
  DriverSource source;
  source.name = std::move(name);
  source.descriptor = descriptor;
  return source;
}

DriverSource DriverSource::shared_library(std::string name, std::string path) {
  DriverSource source;
  source.name = std::move(name);
  source.library = std::move(path);
  return source;
}

void PrintTo(const DriverSource& source, std::ostream* os) {
  *os << source.name << " ("
      << (source.descriptor != nullptr ? std::string("built-in") : source.library) << ")";
}

const berth_plugin* load_descriptor(const DriverSource& source) {
  if (source.descriptor != nullptr) return source.descriptor();
  if (source.library.empty()) {
    throw Error(Errc::invalid_argument,
                "driver source " + source.name + ": neither a descriptor nor a library");
  }
  void* library = ::dlopen(source.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    throw Error(Errc::not_found, "load plugin " + source.library + ": " + ::dlerror());
  }
  void* symbol = ::dlsym(library, BERTH_PLUGIN_ENTRY_SYMBOL);
  if (symbol == nullptr) {
    throw Error(Errc::invalid_argument,
                "load plugin " + source.library + ": no " BERTH_PLUGIN_ENTRY_SYMBOL " symbol");
  }
  // POSIX guarantees a data pointer from dlsym converts to a function pointer.
  auto entry = reinterpret_cast<berth_plugin_entry_fn>(symbol);
  return entry();
}

std::string descriptor_problem(const berth_plugin* plugin) {
  if (plugin == nullptr) return "the entry point returned no descriptor";
  if (plugin->struct_size < abi_v1_0::plugin_size) {
    return "descriptor struct_size " + std::to_string(plugin->struct_size) +
           " is below ABI 1.0's " + std::to_string(abi_v1_0::plugin_size);
  }
  if (plugin->abi_major != BERTH_ABI_MAJOR || plugin->abi_minor > BERTH_ABI_MINOR) {
    return "plugin ABI " + std::to_string(plugin->abi_major) + "." +
           std::to_string(plugin->abi_minor) + " cannot run on host ABI " +
           std::to_string(BERTH_ABI_MAJOR) + "." + std::to_string(BERTH_ABI_MINOR);
  }
  if (plugin->kind == nullptr || plugin->id == nullptr || plugin->version == nullptr) {
    return "descriptor lacks its kind, id or version";
  }
  static const std::regex id_syntax("[a-z0-9][a-z0-9-]*");
  if (!std::regex_match(plugin->id, id_syntax)) {
    return std::string("descriptor id \"") + plugin->id + "\" is not [a-z0-9][a-z0-9-]*";
  }
  if (plugin->init == nullptr) return "descriptor has no init";
  if (plugin->table == nullptr) return "descriptor has no function table";
  return "";
}

DriverUnderTest::DriverUnderTest(const DriverSource& source, FakeHost& host)
    : host_(&host), plugin_(load_descriptor(source)) {
  if (std::string problem = descriptor_problem(plugin_); !problem.empty()) {
    throw Error(Errc::failed_precondition, "driver " + source.name + ": " + problem);
  }
}

DriverUnderTest::~DriverUnderTest() { shutdown(); }

berth_status DriverUnderTest::init() {
  FakeError err;
  const berth_status status = plugin_->init(host_->raw(), &instance_, err.raw());
  init_error_ = err.message();
  initialised_ = status == BERTH_OK;
  return status;
}

void DriverUnderTest::shutdown() noexcept {
  if (!initialised_) return;
  initialised_ = false;
  if (plugin_->shutdown != nullptr) plugin_->shutdown(instance_);
  instance_ = nullptr;
}

const void* DriverUnderTest::table_of(const char* kind) const {
  if (std::strcmp(plugin_->kind, kind) != 0) {
    throw Error(Errc::invalid_argument, std::string("driver ") + plugin_->id + " is a " +
                                            plugin_->kind + ", not a " + kind);
  }
  return plugin_->table;
}

const berth_storage_v1& DriverUnderTest::storage() const {
  return *static_cast<const berth_storage_v1*>(table_of(BERTH_KIND_STORAGE_V1));
}
const berth_network_v1& DriverUnderTest::network() const {
  return *static_cast<const berth_network_v1*>(table_of(BERTH_KIND_NETWORK_V1));
}
const berth_volume_v1& DriverUnderTest::volume() const {
  return *static_cast<const berth_volume_v1*>(table_of(BERTH_KIND_VOLUME_V1));
}
const berth_logging_v1& DriverUnderTest::logging() const {
  return *static_cast<const berth_logging_v1*>(table_of(BERTH_KIND_LOGGING_V1));
}

}  // namespace berth::sdk::testing
