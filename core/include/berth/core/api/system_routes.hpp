// GET|HEAD /_ping, GET /version, GET /info, GET /plugins, POST /auth,
// GET /system/df and the berth-only GET /berth/drivers.
#pragma once

#include "berth/core/api/router.hpp"
#include "berth/core/config.hpp"
#include "berth/core/image/image_store.hpp"
#include "berth/core/plugin_host.hpp"
#include "berth/core/registry/client.hpp"
#include "berth/core/volume/manager.hpp"

#include <chrono>
#include <string>

namespace berth::core::api {

// What the system routes read. Everything referenced outlives the router.
struct SystemContext {
  const DaemonConfig* config = nullptr;
  const PluginHost* plugins = nullptr;
  std::string daemon_id;
  std::string storage_driver;  // the driver in use, empty when none
  image::ImageStore* images = nullptr;
  registry::RegistryClient* registry = nullptr;  // POST /auth checks credentials with it
  volume::VolumeManager* volumes = nullptr;       // set once the volume manager is up
  std::chrono::system_clock::time_point started{};
};

void add_system_routes(Router& router, const SystemContext& context);

}  // namespace berth::core::api
