// The plugin host: loads driver plugins (built-in ones through an explicit
// table, the rest from shared libraries in the plugin directories), checks
// each against the ABI rules before calling anything, initialises the ones
// that pass and keeps a record of every driver it saw, with its status.
#pragma once

#include "berth/core/config.hpp"
#include "berth/core/error.hpp"

#include <berth/sdk/abi.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::core {

enum class DriverState {
  loaded,    // initialised and usable
  skipped,   // init said "unsupported here"; not an error
  failed,    // refused or init failed; `error` says why
  disabled,  // the configuration disables it; never loaded
};

std::string_view to_string(DriverState state);

// What berth plugin ls and GET /berth/drivers show.
struct DriverRecord {
  std::string kind;  // "berth.logging.v1" (empty when never read)
  std::string word;  // "log"
  std::string id;    // "json-file"
  std::string version;
  std::uint16_t abi_major = 0;
  std::uint16_t abi_minor = 0;
  std::uint64_t capabilities = 0;
  std::string source;  // "builtin" or the library's path
  DriverState state = DriverState::failed;
  std::string error;

  std::string name() const { return word + "/" + id; }
};

// The kind word used in library file names and driver names, or empty.
std::string_view kind_word(std::string_view kind);

struct HostContext;

// One initialised driver. Owned by the PluginHost; lives until it is
// destroyed (daemon exit).
class Driver {
 public:
  const DriverRecord& record() const { return record_; }
  void* instance() const { return instance_; }
  const berth_host* host() const;
  const berth_storage_v1* storage() const;
  const berth_network_v1* network() const;
  const berth_volume_v1* volume() const;
  const berth_logging_v1* logging() const;

 private:
  friend class PluginHost;
  DriverRecord record_;
  const berth_plugin* descriptor_ = nullptr;
  void* instance_ = nullptr;
  std::unique_ptr<HostContext> context_;
};

struct PluginHostOptions {
  std::string data_root;  // plugin state lives in <data_root>/plugins/<word>-<id>
  std::string exec_root;
  DriverConfig drivers;
};

class PluginHost {
 public:
  explicit PluginHost(PluginHostOptions options);
  // Shuts every driver down in reverse load order. Libraries stay mapped
  // until the process exits: a plugin's threads or atexit handlers may still
  // point into them.
  ~PluginHost();
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Registers and initialises a driver linked into berthd.
  void add_builtin(berth_plugin_entry_fn entry);

  // Loads every libberth-<word>-<id>.so in `dir` (sorted by name). Other files
  // are ignored; a missing directory is logged and skipped.
  void load_directory(const std::string& dir);

  // Loads one library file. Refusals are recorded, never thrown.
  void load_library(const std::string& path);

  // Fails naming the first required driver (from the configuration) that is
  // not loaded, with its error.
  Result<void> check_required() const;

  // Every driver seen, in load order.
  std::vector<DriverRecord> records() const;

  // The loaded driver "<word>/<id>", or null.
  const Driver* find(std::string_view word, std::string_view id) const;

  // Every loaded driver of one kind word.
  std::vector<const Driver*> loaded(std::string_view word) const;

 private:
  void admit(const berth_plugin* descriptor, DriverRecord record);
  void refuse(DriverRecord record, std::string why);
  bool is_disabled(const std::string& name) const;

  PluginHostOptions options_;
  std::vector<std::unique_ptr<Driver>> drivers_;  // loaded ones
  std::vector<DriverRecord> records_;             // all
};

}  // namespace berth::core
