// The built-in storage drivers loaded in this process over a data root, the
// way berthd loads them, for tests that mount layers with the core's mount
// module: a fresh root for chains the test builds, or a stopped daemon's
// root to mount what it pulled.
#pragma once

#include "berth/core/plugin_host.hpp"
#include "berth/core/storage_driver.hpp"
#include "builtin_drivers.hpp"
#include "image_builder.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

namespace berth::testing {

class InProcessStorage {
 public:
  InProcessStorage(const std::string& data_root, const std::string& exec_root,
                   const std::string& driver_id)
      : driver_id_(driver_id), host_(core::PluginHostOptions{data_root, exec_root, {}}) {
    for (auto entry : core::builtin_drivers()) host_.add_builtin(entry);
    if (const core::Driver* d = host_.find("storage", driver_id)) driver_.emplace(*d);
  }

  // Null when the driver did not load here; why() says why.
  const core::StorageDriver* driver() const { return driver_ ? &*driver_ : nullptr; }
  std::string why() const {
    for (const auto& r : host_.records()) {
      if (r.word == "storage" && r.id == driver_id_) {
        return std::string(core::to_string(r.state)) + ": " + r.error;
      }
    }
    return "storage/" + driver_id_ + " is not built in";
  }

  // Creates layer `id` on `parent` ("" for a base) holding `layer`'s entries.
  core::Result<void> add_layer(const std::string& id, const std::string& parent,
                               const Layer& layer) const {
    const std::string tar = layer_tar(layer);
    std::size_t offset = 0;
    BERTH_TRY(driver_->create(id, parent));
    BERTH_TRY(driver_->apply_diff(id, parent, [&](void* buf, std::size_t size) -> std::int64_t {
      const std::size_t n = std::min(size, tar.size() - offset);
      std::memcpy(buf, tar.data() + offset, n);
      offset += n;
      return static_cast<std::int64_t>(n);
    }));
    return core::ok();
  }

 private:
  std::string driver_id_;
  core::PluginHost host_;
  std::optional<core::StorageDriver> driver_;
};

}  // namespace berth::testing
