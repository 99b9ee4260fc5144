/* The host network driver, built into berthd. */
#ifndef BERTH_PLUGINS_NET_HOST_H
#define BERTH_PLUGINS_NET_HOST_H

#include "berth/sdk/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The driver's descriptor (kind berth.network.v1, id "host"): what
 * libberth-net-host.so's berth_plugin_entry returns, for berthd's table of
 * built-in drivers. */
const berth_plugin *berth_builtin_net_host(void);

#ifdef __cplusplus
}
#endif

#endif /* BERTH_PLUGINS_NET_HOST_H */
