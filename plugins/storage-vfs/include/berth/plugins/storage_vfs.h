/* The vfs storage driver, built into berthd. */
#ifndef BERTH_PLUGINS_STORAGE_VFS_H
#define BERTH_PLUGINS_STORAGE_VFS_H

#include "berth/sdk/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The driver's descriptor (kind berth.storage.v1, id "vfs"): what
 * libberth-storage-vfs.so's berth_plugin_entry returns, for berthd's table of
 * built-in drivers. */
const berth_plugin *berth_builtin_storage_vfs(void);

#ifdef __cplusplus
}
#endif

#endif /* BERTH_PLUGINS_STORAGE_VFS_H */
