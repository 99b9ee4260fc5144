#include "builtin_drivers.hpp"

// Each built-in driver's static library defines its descriptor function under
// a unique name (a plugin .so exports the same descriptor as
// berth_plugin_entry). Declared here rather than through a plugin header:
// the core never includes plugin headers.
extern "C" {
const berth_plugin* berth_builtin_log_json_file(void);
const berth_plugin* berth_builtin_storage_vfs(void);
const berth_plugin* berth_builtin_storage_overlay(void);
}

namespace berth::core {

std::span<const berth_plugin_entry_fn> builtin_drivers() {
  static constexpr berth_plugin_entry_fn kBuiltins[] = {
      berth_builtin_log_json_file,
      berth_builtin_storage_vfs,
      berth_builtin_storage_overlay,
  };
  return kBuiltins;
}

}  // namespace berth::core
