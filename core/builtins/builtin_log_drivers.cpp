#include "builtin_drivers.hpp"

extern "C" {
const berth_plugin* berth_builtin_log_json_file(void);
const berth_plugin* berth_builtin_log_local(void);
const berth_plugin* berth_builtin_log_none(void);
}

namespace berth::core {

std::span<const berth_plugin_entry_fn> builtin_log_drivers() {
  static constexpr berth_plugin_entry_fn kLogBuiltins[] = {
      berth_builtin_log_json_file,
      berth_builtin_log_local,
      berth_builtin_log_none,
  };
  return kLogBuiltins;
}

}  // namespace berth::core
