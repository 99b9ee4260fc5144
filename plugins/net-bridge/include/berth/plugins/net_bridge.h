/* The bridge network driver, built into berthd. */
#ifndef BERTH_PLUGINS_NET_BRIDGE_H
#define BERTH_PLUGINS_NET_BRIDGE_H

#include "berth/sdk/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The driver's descriptor (kind berth.network.v1, id "bridge"): what
 * libberth-net-bridge.so's berth_plugin_entry returns, for berthd's table of
 * built-in drivers. */
const berth_plugin *berth_builtin_net_bridge(void);

#ifdef __cplusplus
}
#endif

#endif /* BERTH_PLUGINS_NET_BRIDGE_H */
