/* Pins the plugin ABI's layout on LP64 (x86_64/aarch64 Linux): every struct's
 * size and member offsets, and every numeric constant. Compiled twice, as C11
 * and as C++ (abi_layout_cxx.cpp includes this file), because plugins in
 * either language must see the same layout. A failure here means abi.h broke
 * compatibility: fix the header rather than these numbers. */
#include <stddef.h>
#include <string.h>

#include "berth/sdk/abi.h"

#ifdef __cplusplus
#define LAYOUT_ASSERT(cond) static_assert(cond, #cond)
#else
#define LAYOUT_ASSERT(cond) _Static_assert(cond, #cond)
#endif

#define SIZE(type, n) LAYOUT_ASSERT(sizeof(type) == (n))
#define OFFSET(type, member, n) LAYOUT_ASSERT(offsetof(type, member) == (n))

LAYOUT_ASSERT(BERTH_ABI_MAJOR == 1);
LAYOUT_ASSERT(BERTH_ABI_MINOR == 0);

LAYOUT_ASSERT(sizeof(berth_status) == 4);
LAYOUT_ASSERT(BERTH_OK == 0);
LAYOUT_ASSERT(BERTH_E_NOT_FOUND == 1);
LAYOUT_ASSERT(BERTH_E_ALREADY_EXISTS == 2);
LAYOUT_ASSERT(BERTH_E_INVALID_ARGUMENT == 3);
LAYOUT_ASSERT(BERTH_E_CONFLICT == 4);
LAYOUT_ASSERT(BERTH_E_FAILED_PRECONDITION == 5);
LAYOUT_ASSERT(BERTH_E_UNAVAILABLE == 6);
LAYOUT_ASSERT(BERTH_E_UNSUPPORTED == 7);
LAYOUT_ASSERT(BERTH_E_PERMISSION_DENIED == 8);
LAYOUT_ASSERT(BERTH_E_INTERNAL == 9);

LAYOUT_ASSERT(sizeof(berth_log_level) == 4);
LAYOUT_ASSERT(BERTH_LOG_TRACE == 0);
LAYOUT_ASSERT(BERTH_LOG_DEBUG == 1);
LAYOUT_ASSERT(BERTH_LOG_INFO == 2);
LAYOUT_ASSERT(BERTH_LOG_WARN == 3);
LAYOUT_ASSERT(BERTH_LOG_ERROR == 4);

LAYOUT_ASSERT(BERTH_LOG_STDOUT == 1);
LAYOUT_ASSERT(BERTH_LOG_STDERR == 2);

LAYOUT_ASSERT(BERTH_CAP_NEEDS_ROOT == UINT64_C(0x1));
LAYOUT_ASSERT(BERTH_CAP_STORAGE_NATIVE_DIFF == UINT64_C(0x10000));
LAYOUT_ASSERT(BERTH_CAP_STORAGE_QUOTA == UINT64_C(0x20000));
LAYOUT_ASSERT(BERTH_CAP_NETWORK_GLOBAL_SCOPE == UINT64_C(0x100000000));
LAYOUT_ASSERT(BERTH_CAP_VOLUME_GLOBAL_SCOPE == UINT64_C(0x10000000000));
LAYOUT_ASSERT(BERTH_CAP_LOGGING_READ == UINT64_C(0x1000000000000));

#if defined(__LP64__)

SIZE(berth_str, 16);
OFFSET(berth_str, data, 0);
OFFSET(berth_str, len, 8);

SIZE(berth_mount, 56);
OFFSET(berth_mount, struct_size, 0);
OFFSET(berth_mount, type, 8);
OFFSET(berth_mount, source, 24);
OFFSET(berth_mount, options, 40);

SIZE(berth_usage, 24);
OFFSET(berth_usage, struct_size, 0);
OFFSET(berth_usage, size_bytes, 8);
OFFSET(berth_usage, inodes, 16);

SIZE(berth_host, 128);
OFFSET(berth_host, struct_size, 0);
OFFSET(berth_host, abi_major, 4);
OFFSET(berth_host, abi_minor, 6);
OFFSET(berth_host, host_ctx, 8);
OFFSET(berth_host, log, 16);
OFFSET(berth_host, config_json, 24);
OFFSET(berth_host, state_dir, 40);
OFFSET(berth_host, data_root, 56);
OFFSET(berth_host, exec_root, 72);
OFFSET(berth_host, error_set, 88);
OFFSET(berth_host, out_write, 96);
OFFSET(berth_host, out_mount, 104);
OFFSET(berth_host, reader_read, 112);
OFFSET(berth_host, writer_write, 120);

SIZE(berth_plugin, 64);
OFFSET(berth_plugin, struct_size, 0);
OFFSET(berth_plugin, abi_major, 4);
OFFSET(berth_plugin, abi_minor, 6);
OFFSET(berth_plugin, kind, 8);
OFFSET(berth_plugin, id, 16);
OFFSET(berth_plugin, version, 24);
OFFSET(berth_plugin, capabilities, 32);
OFFSET(berth_plugin, init, 40);
OFFSET(berth_plugin, shutdown, 48);
OFFSET(berth_plugin, table, 56);

SIZE(berth_storage_v1, 96);
OFFSET(berth_storage_v1, struct_size, 0);
OFFSET(berth_storage_v1, create, 8);
OFFSET(berth_storage_v1, create_rw, 16);
OFFSET(berth_storage_v1, get, 24);
OFFSET(berth_storage_v1, put, 32);
OFFSET(berth_storage_v1, remove, 40);
OFFSET(berth_storage_v1, exists, 48);
OFFSET(berth_storage_v1, apply_diff, 56);
OFFSET(berth_storage_v1, diff, 64);
OFFSET(berth_storage_v1, changes, 72);
OFFSET(berth_storage_v1, usage, 80);
OFFSET(berth_storage_v1, status, 88);

SIZE(berth_network_v1, 72);
OFFSET(berth_network_v1, struct_size, 0);
OFFSET(berth_network_v1, create_network, 8);
OFFSET(berth_network_v1, delete_network, 16);
OFFSET(berth_network_v1, create_endpoint, 24);
OFFSET(berth_network_v1, delete_endpoint, 32);
OFFSET(berth_network_v1, join, 40);
OFFSET(berth_network_v1, leave, 48);
OFFSET(berth_network_v1, program_external_connectivity, 56);
OFFSET(berth_network_v1, revoke_external_connectivity, 64);

SIZE(berth_volume_v1, 72);
OFFSET(berth_volume_v1, struct_size, 0);
OFFSET(berth_volume_v1, create, 8);
OFFSET(berth_volume_v1, remove, 16);
OFFSET(berth_volume_v1, mount, 24);
OFFSET(berth_volume_v1, unmount, 32);
OFFSET(berth_volume_v1, path, 40);
OFFSET(berth_volume_v1, get, 48);
OFFSET(berth_volume_v1, list, 56);
OFFSET(berth_volume_v1, capabilities, 64);

SIZE(berth_log_message, 40);
OFFSET(berth_log_message, struct_size, 0);
OFFSET(berth_log_message, stream, 4);
OFFSET(berth_log_message, time_unix_nano, 8);
OFFSET(berth_log_message, partial, 16);
OFFSET(berth_log_message, line, 24);

SIZE(berth_log_read_options, 40);
OFFSET(berth_log_read_options, struct_size, 0);
OFFSET(berth_log_read_options, since_unix_nano, 8);
OFFSET(berth_log_read_options, until_unix_nano, 16);
OFFSET(berth_log_read_options, tail, 24);
OFFSET(berth_log_read_options, follow, 32);
OFFSET(berth_log_read_options, reserved, 36);

SIZE(berth_log_sink, 32);
OFFSET(berth_log_sink, struct_size, 0);
OFFSET(berth_log_sink, ctx, 8);
OFFSET(berth_log_sink, on_message, 16);
OFFSET(berth_log_sink, stopped, 24);

SIZE(berth_logging_v1, 40);
OFFSET(berth_logging_v1, struct_size, 0);
OFFSET(berth_logging_v1, open, 8);
OFFSET(berth_logging_v1, log, 16);
OFFSET(berth_logging_v1, close, 24);
OFFSET(berth_logging_v1, read, 32);

#endif /* __LP64__ */

/* The strings cannot be checked at compile time in C. */
int main(void) {
#if !defined(__LP64__)
  return 77; /* skipped: the expected layout above is LP64's */
#else
  return strcmp(BERTH_PLUGIN_ENTRY_SYMBOL, "berth_plugin_entry") != 0 ||
         strcmp(BERTH_KIND_STORAGE_V1, "berth.storage.v1") != 0 ||
         strcmp(BERTH_KIND_NETWORK_V1, "berth.network.v1") != 0 ||
         strcmp(BERTH_KIND_VOLUME_V1, "berth.volume.v1") != 0 ||
         strcmp(BERTH_KIND_LOGGING_V1, "berth.logging.v1") != 0;
#endif
}
