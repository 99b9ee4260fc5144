// Only libberth-volume-local.so compiles this: its one exported symbol.
#include "berth/sdk/plugin.hpp"

BERTH_EXPORT_PLUGIN(berth_builtin_volume_local)
