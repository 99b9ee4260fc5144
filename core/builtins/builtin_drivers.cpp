#include "builtin_drivers.hpp"

#include <vector>

// Each built-in driver's static library defines its descriptor function under
// a unique name (a plugin .so exports the same descriptor as
// berth_plugin_entry). Declared here rather than through a plugin header:
// the core never includes plugin headers.
extern "C" {
const berth_plugin* berth_builtin_storage_vfs(void);
const berth_plugin* berth_builtin_storage_overlay(void);
const berth_plugin* berth_builtin_net_bridge(void);
const berth_plugin* berth_builtin_net_host(void);
const berth_plugin* berth_builtin_volume_local(void);
}

namespace berth::core {

std::span<const berth_plugin_entry_fn> builtin_drivers() {
  static const std::vector<berth_plugin_entry_fn> kBuiltins = [] {
    auto log = builtin_log_drivers();
    std::vector<berth_plugin_entry_fn> all(log.begin(), log.end());
    all.push_back(berth_builtin_storage_vfs);
    all.push_back(berth_builtin_storage_overlay);
    all.push_back(berth_builtin_net_bridge);
    all.push_back(berth_builtin_net_host);
    all.push_back(berth_builtin_volume_local);
    return all;
  }();
  return kBuiltins;
}

}  // namespace berth::core
