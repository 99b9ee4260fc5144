// The core's typed view of a loaded storage driver (berth.storage.v1): each
// call crosses the C ABI with host-owned error/out handles and comes back as
// a Result whose message names the driver.
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/plugin_host.hpp"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace berth::core {

// One mount of a layer's description, performed by the core.
struct MountSpec {
  std::string type, source, options;
};

class StorageDriver {
 public:
  // `driver` must be a loaded storage driver and outlive this object.
  explicit StorageDriver(const Driver& driver);

  const std::string& id() const { return driver_.record().id; }

  Result<void> create(const std::string& id, const std::string& parent,
                      const std::string& opts_json = "{}") const;
  Result<void> create_rw(const std::string& id, const std::string& parent,
                         const std::string& opts_json = "{}") const;
  Result<std::vector<MountSpec>> get(const std::string& id, const std::string& mount_label = {}) const;
  Result<void> put(const std::string& id) const;
  Result<void> remove(const std::string& id) const;
  bool exists(const std::string& id) const;
  // `read` returns bytes read, 0 at the end, -1 on error.
  Result<std::int64_t> apply_diff(const std::string& id, const std::string& parent,
                                  std::function<std::int64_t(void*, std::size_t)> read) const;
  // `write` returns false when the consumer went away.
  Result<void> diff(const std::string& id, const std::string& parent,
                    std::function<bool(const void*, std::size_t)> write) const;
  Result<std::string> changes(const std::string& id, const std::string& parent) const;
  Result<std::int64_t> usage(const std::string& id) const;
  Result<std::vector<std::pair<std::string, std::string>>> status() const;

 private:
  Error failure(berth_status st, const berth_error& err, std::string_view what,
                const std::string& id) const;
  const Driver& driver_;
  const berth_storage_v1* table_;
};

}  // namespace berth::core
