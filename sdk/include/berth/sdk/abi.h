/*
 * berth plugin ABI — the only thing that crosses between berthd and a driver
 * plugin library.
 *
 * Compatibility policy
 * --------------------
 * This header is plain C. Only fixed-width integers, plain structs, opaque
 * handles, pointer+length strings and status codes cross it; never a C++ type,
 * an exception or RTTI. A plugin library exports exactly one symbol,
 * `berth_plugin_entry`, which returns the plugin's descriptor.
 *
 * The ABI carries a version (BERTH_ABI_MAJOR.BERTH_ABI_MINOR). The host
 * checks the descriptor's version before it calls anything else:
 *   - same major, plugin minor <= host minor: accepted;
 *   - anything else: refused, and the library is never initialised.
 * A minor release may only add: new status codes, new capability bits, new
 * driver kinds, and new members at the *end* of a struct or function table.
 * Every struct and table a plugin or host hands over starts with its
 * `struct_size`, so either side can tell which members the other has: read a
 * member only when `struct_size` covers it. Anything else (reordering,
 * removing, changing a type or a meaning) is a new major.
 * `sdk/abi.lock` records a fingerprint of this header per version; a test
 * fails when the header changes and the version does not.
 *
 * Conventions for every function in this header
 * ---------------------------------------------
 *  - Strings are `berth_str` (pointer + length, not NUL-terminated, UTF-8);
 *    the descriptor's names are the one exception (static NUL-terminated).
 *    An input string is borrowed for the duration of the call only.
 *  - Fallible calls return a `berth_status`. On failure they may describe the
 *    error through `host->error_set(err, ...)`; `err` is owned by the host and
 *    valid only during the call. Messages are lower-case, without a trailing
 *    period, and name the object that failed.
 *  - Results are handed back through host-owned output handles
 *    (`berth_out`), again valid only during the call, never through memory the
 *    caller must free.
 *  - Open-ended data (driver options, inspect details, IPAM data) travels as
 *    JSON text in a `berth_str`; its shape is documented per function.
 *  - Threading: the host may call any driver function from any thread and
 *    concurrently, except `init` and `shutdown`, which run alone. Drivers lock
 *    what they share. Host callbacks are thread-safe.
 */
#ifndef BERTH_SDK_ABI_H
#define BERTH_SDK_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BERTH_ABI_MAJOR 1
#define BERTH_ABI_MINOR 0

/* The one symbol a plugin library exports. */
#define BERTH_PLUGIN_ENTRY_SYMBOL "berth_plugin_entry"

/* Driver kinds. A plugin library is named `libberth-<word>-<id>.so`, where
 * <word> is "storage", "net", "volume" or "log" for the kinds below in order,
 * and <id> is the descriptor's id: libberth-net-bridge.so, libberth-log-json-file.so. */
#define BERTH_KIND_STORAGE_V1 "berth.storage.v1"
#define BERTH_KIND_NETWORK_V1 "berth.network.v1"
#define BERTH_KIND_VOLUME_V1 "berth.volume.v1"
#define BERTH_KIND_LOGGING_V1 "berth.logging.v1"

/* ------------------------------------------------------------------------ */
/* Status codes: one error-class list shared by the ABI and the core.        */
/* ------------------------------------------------------------------------ */

typedef int32_t berth_status;

enum {
  BERTH_OK = 0,
  BERTH_E_NOT_FOUND = 1,           /* the named object does not exist */
  BERTH_E_ALREADY_EXISTS = 2,      /* an object with that name exists */
  BERTH_E_INVALID_ARGUMENT = 3,    /* the request itself is wrong */
  BERTH_E_CONFLICT = 4,            /* the object is in a state that forbids it (in use) */
  BERTH_E_FAILED_PRECONDITION = 5, /* the system is not in a state to do it */
  BERTH_E_UNAVAILABLE = 6,         /* a transient failure; retrying may work */
  BERTH_E_UNSUPPORTED = 7,         /* not supported by this driver or host;
                                      from init: "skip me here", not an error */
  BERTH_E_PERMISSION_DENIED = 8,   /* the caller may not do it */
  BERTH_E_INTERNAL = 9             /* a bug or an unexpected system failure */
};

/* ------------------------------------------------------------------------ */
/* Common value types                                                        */
/* ------------------------------------------------------------------------ */

/* Borrowed UTF-8 text: `len` bytes at `data`, no terminator required. */
typedef struct berth_str {
  const char *data;
  size_t len;
} berth_str;

typedef enum berth_log_level_e {
  BERTH_LOG_TRACE = 0,
  BERTH_LOG_DEBUG = 1,
  BERTH_LOG_INFO = 2,
  BERTH_LOG_WARN = 3,
  BERTH_LOG_ERROR = 4
} berth_log_level_e;
typedef int32_t berth_log_level;

/* Opaque, host-owned handles, valid only during the call they are passed to. */
typedef struct berth_error berth_error; /* where a failing call writes its message */
typedef struct berth_out berth_out;     /* where a call writes its results */
typedef struct berth_reader berth_reader; /* a byte stream the plugin reads */
typedef struct berth_writer berth_writer; /* a byte stream the plugin writes */

/* One mount the host performs on the driver's behalf (drivers describe
 * mounts; the core mounts). `options` is the comma-separated option string as
 * mount(8) takes it, e.g. "lowerdir=...,upperdir=...,workdir=..." or "rbind,ro". */
typedef struct berth_mount {
  uint32_t struct_size;
  berth_str type;    /* "overlay", "bind", "tmpfs", ... */
  berth_str source;  /* device or directory */
  berth_str options;
} berth_mount;

/* Disk usage of one layer or volume. -1 means "unknown". */
typedef struct berth_usage {
  uint32_t struct_size;
  int64_t size_bytes;
  int64_t inodes;
} berth_usage;

/* ------------------------------------------------------------------------ */
/* Host callbacks                                                            */
/* ------------------------------------------------------------------------ */

/* What the host offers a plugin. Owned by the host; valid from `init` until
 * the daemon exits (a library is never unloaded while the daemon runs). */
typedef struct berth_host {
  uint32_t struct_size;
  uint16_t abi_major; /* the host's ABI version */
  uint16_t abi_minor;

  /* Host-private context; plugins pass the table back unchanged. */
  void *host_ctx;

  /* Logs `message` under the plugin's own logger ("plugin.<id>") into the
   * daemon's sinks. Never fails. */
  void (*log)(const struct berth_host *host, berth_log_level level, berth_str message);

  /* The plugin's section of the daemon configuration, as a JSON object text
   * ("{}" when there is none). Valid as long as the host table. */
  berth_str config_json;

  /* A directory reserved for this plugin's state, created 0700, persistent
   * across daemon restarts (under the daemon's data root). */
  berth_str state_dir;

  /* The daemon's data root and exec root (runtime state, lost on reboot). */
  berth_str data_root;
  berth_str exec_root;

  /* Sets the message of a failing call. The last call wins. */
  void (*error_set)(berth_error *err, berth_str message);

  /* Appends bytes to a text/JSON result. */
  void (*out_write)(berth_out *out, berth_str bytes);

  /* Appends one mount to a mount-description result. */
  void (*out_mount)(berth_out *out, const berth_mount *mount);

  /* Reads up to `cap` bytes into `buf`. Returns the count read, 0 at the end
   * of the stream, -1 on error (the stream is then unusable). */
  int64_t (*reader_read)(berth_reader *reader, void *buf, size_t cap);

  /* Writes `len` bytes. Returns 0, or -1 when the consumer went away (the
   * plugin should then stop and return BERTH_E_UNAVAILABLE). */
  int32_t (*writer_write)(berth_writer *writer, const void *buf, size_t len);
} berth_host;

/* ------------------------------------------------------------------------ */
/* The plugin descriptor                                                     */
/* ------------------------------------------------------------------------ */

/* Capability bits (uint64_t). Bits 0-15 are general; then each kind owns a
 * range: storage 16-31, network 32-39, volume 40-47, logging 48-55; 56-63 are
 * reserved. */
#define BERTH_CAP_NEEDS_ROOT (UINT64_C(1) << 0)         /* refuses to run unprivileged */
#define BERTH_CAP_STORAGE_NATIVE_DIFF (UINT64_C(1) << 16) /* diff() without comparing trees */
#define BERTH_CAP_STORAGE_QUOTA (UINT64_C(1) << 17)     /* honours a "size" create option */
#define BERTH_CAP_NETWORK_GLOBAL_SCOPE (UINT64_C(1) << 32) /* networks span hosts */
#define BERTH_CAP_VOLUME_GLOBAL_SCOPE (UINT64_C(1) << 40)  /* volumes span hosts */
#define BERTH_CAP_LOGGING_READ (UINT64_C(1) << 48)      /* read() works (logs can be read back) */

/* Describes one driver. Returned by `berth_plugin_entry`; static storage, owned
 * by the plugin, immutable, valid while the library is loaded. */
typedef struct berth_plugin {
  uint32_t struct_size;
  uint16_t abi_major; /* BERTH_ABI_MAJOR the plugin was built against */
  uint16_t abi_minor;
  const char *kind;    /* one of BERTH_KIND_*, NUL-terminated */
  const char *id;      /* short driver name, [a-z0-9][a-z0-9-]*, e.g. "overlay" */
  const char *version; /* the driver's own version, e.g. "1.2.0" */
  uint64_t capabilities;

  /* Creates a driver instance. Runs once, alone, before any table function.
   * Returns BERTH_OK with `*instance` set (may be NULL when the driver keeps
   * no state), BERTH_E_UNSUPPORTED when the driver cannot work on this host
   * (a skip, not an error, unless the admin marked it required), or another
   * status with a message on failure. `host` outlives the instance. */
  berth_status (*init)(const berth_host *host, void **instance, berth_error *err);

  /* Releases the instance at daemon shutdown. Runs once, alone. May be NULL. */
  void (*shutdown)(void *instance);

  /* The kind's function table: `const berth_storage_v1 *` for a storage
   * driver, and so on. Static, owned by the plugin. */
  const void *table;
} berth_plugin;

/* The symbol every plugin library exports. Called once, before anything else;
 * must not do work (no I/O, no threads). */
typedef const berth_plugin *(*berth_plugin_entry_fn)(void);

#if defined(__GNUC__)
#define BERTH_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define BERTH_PLUGIN_EXPORT
#endif

/* Defined by each plugin library (and by nothing in the host). */
BERTH_PLUGIN_EXPORT const berth_plugin *berth_plugin_entry(void);

/* ------------------------------------------------------------------------ */
/* berth.storage.v1 — layers of images and containers                        */
/* ------------------------------------------------------------------------ */

/* Layer ids are [a-zA-Z0-9_-]+ chosen by the host; `parent` is empty for a
 * base layer. Contracts follow Docker's graphdrivers. */
typedef struct berth_storage_v1 {
  uint32_t struct_size;

  /* Creates a read-only layer `id` on top of `parent`. `opts_json`: object
   * with driver options ({"size": "10G"} ...). ALREADY_EXISTS if present,
   * NOT_FOUND if the parent is missing. */
  berth_status (*create)(void *self, berth_str id, berth_str parent, berth_str opts_json,
                         berth_error *err);

  /* Creates the read-write layer of a container on top of `parent`. */
  berth_status (*create_rw)(void *self, berth_str id, berth_str parent, berth_str opts_json,
                            berth_error *err);

  /* Describes how to mount layer `id` (with its parents) as a root
   * filesystem: writes one or more berth_mount to `out` via out_mount, to be
   * applied in order at the same target. Reference counted: each successful
   * get is matched by one put. */
  berth_status (*get)(void *self, berth_str id, berth_str mount_label, berth_out *out,
                      berth_error *err);

  /* Releases one reference taken by get. */
  berth_status (*put)(void *self, berth_str id, berth_error *err);

  /* Removes layer `id`. CONFLICT while referenced. NOT_FOUND if absent. */
  berth_status (*remove)(void *self, berth_str id, berth_error *err);

  /* Returns 1 if layer `id` exists, else 0. */
  int32_t (*exists)(void *self, berth_str id);

  /* Extracts the layer tar read from `diff` (uncompressed, whiteouts in
   * OCI `.wh.` form) into layer `id`, whose parent is `parent`. Writes the
   * unpacked size in bytes to `*size`. The layer must be freshly created. */
  berth_status (*apply_diff)(void *self, berth_str id, berth_str parent, berth_reader *diff,
                             int64_t *size, berth_error *err);

  /* Writes the tar of the changes between `parent` and `id` to `out`
   * (OCI whiteouts). */
  berth_status (*diff)(void *self, berth_str id, berth_str parent, berth_writer *out,
                       berth_error *err);

  /* Writes the changes between `parent` and `id` as a JSON array of
   * {"Path": "/a/b", "Kind": 0|1|2} (modified, added, deleted) to `out`. */
  berth_status (*changes)(void *self, berth_str id, berth_str parent, berth_out *out,
                          berth_error *err);

  /* Fills `usage` for layer `id` (its own content, not its parents'). */
  berth_status (*usage)(void *self, berth_str id, berth_usage *usage, berth_error *err);

  /* Writes a JSON array of [key, value] string pairs describing the driver's
   * state for `berth info` (e.g. [["Backing Filesystem","extfs"]]). */
  berth_status (*status)(void *self, berth_out *out, berth_error *err);
} berth_storage_v1;

/* ------------------------------------------------------------------------ */
/* berth.network.v1 — networks, endpoints and their connectivity             */
/* ------------------------------------------------------------------------ */

/* Network and endpoint ids are 64-hex-digit strings chosen by the host. */
typedef struct berth_network_v1 {
  uint32_t struct_size;

  /* Creates network `network_id`. `spec_json`:
   * {"Name", "Options": {string: string}, "Internal": bool, "EnableIPv6": bool,
   *  "IPv4": [{"Subnet", "Gateway", "IPRange"}], "IPv6": [...]} with IPAM
   * already decided by the core. */
  berth_status (*create_network)(void *self, berth_str network_id, berth_str spec_json,
                                 berth_error *err);

  /* Deletes network `network_id` and what the driver made for it. */
  berth_status (*delete_network)(void *self, berth_str network_id, berth_error *err);

  /* Creates an endpoint. `spec_json`: {"Address": "10.0.0.2/24",
   * "AddressIPv6": "", "MacAddress": "", "Options": {}}. May write a JSON
   * object to `out` with what the driver chose ({"MacAddress": ...}). */
  berth_status (*create_endpoint)(void *self, berth_str network_id, berth_str endpoint_id,
                                  berth_str spec_json, berth_out *out, berth_error *err);

  /* Deletes an endpoint (after leave). */
  berth_status (*delete_endpoint)(void *self, berth_str network_id, berth_str endpoint_id,
                                  berth_error *err);

  /* Puts the endpoint into the sandbox whose network namespace is at path
   * `sandbox_key`. `opts_json`: {"InterfaceName": "eth0"} and join options.
   * Writes a JSON object to `out`: {"Gateway", "GatewayIPv6",
   * "StaticRoutes": [{"Destination", "NextHop"}], "DisableGatewayService"}. */
  berth_status (*join)(void *self, berth_str network_id, berth_str endpoint_id,
                       berth_str sandbox_key, berth_str opts_json, berth_out *out,
                       berth_error *err);

  /* Takes the endpoint out of its sandbox. */
  berth_status (*leave)(void *self, berth_str network_id, berth_str endpoint_id,
                        berth_error *err);

  /* Publishes the endpoint's ports. `opts_json`: {"PortBindings": [{"Proto":
   * "tcp", "HostIP", "HostPort", "ContainerPort"}], "ExposedPorts": [...]} */
  berth_status (*program_external_connectivity)(void *self, berth_str network_id,
                                                berth_str endpoint_id, berth_str opts_json,
                                                berth_error *err);

  /* Withdraws what program_external_connectivity set up. */
  berth_status (*revoke_external_connectivity)(void *self, berth_str network_id,
                                               berth_str endpoint_id, berth_error *err);
} berth_network_v1;

/* ------------------------------------------------------------------------ */
/* berth.volume.v1 — named volumes                                           */
/* ------------------------------------------------------------------------ */

typedef struct berth_volume_v1 {
  uint32_t struct_size;

  /* Creates volume `name`. `opts_json`: {string: string} driver options
   * (`--opt`). ALREADY_EXISTS if present. */
  berth_status (*create)(void *self, berth_str name, berth_str opts_json, berth_error *err);

  /* Removes volume `name` and its data. CONFLICT while mounted. */
  berth_status (*remove)(void *self, berth_str name, berth_error *err);

  /* Makes the volume available for `caller_id` (a container id) and writes
   * its host path to `out`. Reference counted per caller id. */
  berth_status (*mount)(void *self, berth_str name, berth_str caller_id, berth_out *out,
                        berth_error *err);

  /* Drops `caller_id`'s reference taken by mount. */
  berth_status (*unmount)(void *self, berth_str name, berth_str caller_id, berth_error *err);

  /* Writes the volume's host path to `out` (mounted or not). */
  berth_status (*path)(void *self, berth_str name, berth_out *out, berth_error *err);

  /* Writes {"Name", "Mountpoint", "CreatedAt", "Status": {}} to `out`. */
  berth_status (*get)(void *self, berth_str name, berth_out *out, berth_error *err);

  /* Writes a JSON array of get()'s objects to `out`. */
  berth_status (*list)(void *self, berth_out *out, berth_error *err);

  /* Writes {"Scope": "local"|"global"} to `out`. */
  berth_status (*capabilities)(void *self, berth_out *out, berth_error *err);
} berth_volume_v1;

/* ------------------------------------------------------------------------ */
/* berth.logging.v1 — container output                                       */
/* ------------------------------------------------------------------------ */

enum { BERTH_LOG_STDOUT = 1, BERTH_LOG_STDERR = 2 };

/* One log record. `line` excludes the trailing newline of complete lines. */
typedef struct berth_log_message {
  uint32_t struct_size;
  int32_t stream;         /* BERTH_LOG_STDOUT or BERTH_LOG_STDERR */
  int64_t time_unix_nano; /* when the shim read it */
  int32_t partial;        /* 1 when the line continues in the next record */
  berth_str line;
} berth_log_message;

/* Read-back options. */
typedef struct berth_log_read_options {
  uint32_t struct_size;
  int64_t since_unix_nano; /* 0: from the start */
  int64_t until_unix_nano; /* 0: no upper bound */
  int64_t tail;            /* -1: all; n: only the last n records */
  int32_t follow;          /* 1: keep waiting for new records */
  int32_t reserved;        /* 0. Names what would otherwise be tail padding, so that
                              struct_size (== sizeof) never seems to cover a member a
                              later minor appends */
} berth_log_read_options;

/* Where read() delivers records; owned by the host. */
typedef struct berth_log_sink {
  uint32_t struct_size;
  void *ctx;
  /* Delivers one record (borrowed for the call). Returns 0 to continue,
   * non-zero to stop reading. */
  int32_t (*on_message)(void *ctx, const berth_log_message *message);
  /* Polled while following: returns non-zero when the reader went away. */
  int32_t (*stopped)(void *ctx);
} berth_log_sink;

typedef struct berth_logging_v1 {
  uint32_t struct_size;

  /* Opens the log of one container. `info_json`: {"ContainerID",
   * "ContainerName", "LogPath": a file path the host reserved, "Config":
   * {string: string} (`--log-opt`)}. Sets `*stream` to the driver's handle. */
  berth_status (*open)(void *self, berth_str info_json, void **stream, berth_error *err);

  /* Records one message. Called from one thread per stream at a time. */
  berth_status (*log)(void *self, void *stream, const berth_log_message *message,
                      berth_error *err);

  /* Flushes and releases a stream from open. */
  void (*close)(void *self, void *stream);

  /* Reads back a container's log (only with BERTH_CAP_LOGGING_READ).
   * `info_json` as for open. Returns when done, when the sink asks to stop,
   * or (following) when `sink->stopped` says so. */
  berth_status (*read)(void *self, berth_str info_json, const berth_log_read_options *options,
                       const berth_log_sink *sink, berth_error *err);
} berth_logging_v1;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BERTH_SDK_ABI_H */
