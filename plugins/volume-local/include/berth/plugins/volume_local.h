/* The local volume driver, built into berthd. */
#ifndef BERTH_PLUGINS_VOLUME_LOCAL_H
#define BERTH_PLUGINS_VOLUME_LOCAL_H

#include "berth/sdk/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The driver's descriptor (kind berth.volume.v1, id "local"): what
 * libberth-volume-local.so's berth_plugin_entry returns, for berthd's table
 * of built-in drivers. */
const berth_plugin *berth_builtin_volume_local(void);

#ifdef __cplusplus
}
#endif

#endif /* BERTH_PLUGINS_VOLUME_LOCAL_H */
