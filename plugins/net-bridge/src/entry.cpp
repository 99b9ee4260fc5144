// Only libberth-net-bridge.so compiles this: its one exported symbol.
#include "berth/sdk/plugin.hpp"

BERTH_EXPORT_PLUGIN(berth_builtin_net_bridge)
