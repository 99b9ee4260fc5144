// From Docker's container create request and the image config to an OCI
// runtime-spec config.json (shared/reference/oci-runtime-spec/config.md,
// config-linux.md), the way dockerd builds it for runc (moby oci/defaults.go,
// daemon/oci_linux.go): the same default mounts, capabilities, masked and
// read-only paths, namespaces, seccomp profile, resources, user and
// environment, and Docker's validation messages. The same bundle runs under
// berth's native runtime and under crun or runc.
//
// Three steps, usable on their own:
//   adapt_create_request()  what dockerd does at create: defaults filled into
//                           Config/HostConfig (Hostname, MemorySwap, ShmSize,
//                           IpcMode...) and the HostConfig checks with
//                           Docker's messages. Store the adapted objects;
//                           inspect shows them.
//   merge_image_config()    the image's Env/Cmd/Entrypoint/... merged under
//                           the request's, and the Config checks (inspect's
//                           Config, Path and Args).
//   make_spec()             the config.json, doing both of the above on copies.
// A create handler calls the first two, so that bad requests fail at create
// as with Docker; make_spec at start repeats them and adds what depends on
// the rootfs (user lookup) and the host (devices).
//
// What the caller does around make_spec (Docker's daemon does it too):
//  - mounts the rootfs, prepares hostname/hosts/resolv.conf files, creates
//    host directories for `-v /src:/dst` binds that do not exist, and creates
//    the working directory in the rootfs (runc and crun also create it);
//  - resolves "container:<name>" modes to namespace paths (SpecInput below).
// Volumes (`-v name:/dst`, Mounts of type "volume") need their host path:
// the caller passes the container's mount points with volume sources filled
// in (SpecInput::mount_points); parsed from HostConfig alone, a volume is an
// unsupported error.
//
// Pure apart from reading the rootfs's /etc/passwd and /etc/group, stat(2)
// of --device paths and bind sources given with --mount, and the host's
// /dev for --privileged. Thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "berth/core/container/capabilities.hpp"
#include "berth/core/container/mount_points.hpp"
#include "berth/core/container/userns.hpp"
#include "berth/core/error.hpp"

namespace berth::core::container {

// Facts about the host that change a spec or its validation. Tests build
// one by hand; the daemon uses current_spec_host().
struct SpecHost {
  std::string hostname;                 // the container's hostname under --network host
  std::string kernel_release;           // uname -r (seccomp minKernel)
  std::string go_arch = "amd64";        // Go's GOARCH for this machine (seccomp archMap)
  int ncpu = 1;                         // CPUs the daemon may use (--cpus range)
  std::string cpuset_cpus = "0";        // CPUs and memory nodes available for
  std::string cpuset_mems = "0";        //   --cpuset-cpus/--cpuset-mems ("0-3")
  int cgroup_version = 1;               // 2 on a unified hierarchy
  bool swap_limit = true;               // memory+swap accounting (memsw / memory.swap.max)
  CapabilityMask capabilities = 0;      // kernel-defined and held by the daemon
  bool sysctl_ping_group_range = true;  // /proc/sys/net/ipv4/ping_group_range exists
  bool sysctl_ip_unprivileged_port_start = true;  // .../ip_unprivileged_port_start exists
  std::string dev_dir = "/dev";                   // where --privileged finds the host's devices
};

// This host's facts, read once on first use.
const SpecHost& current_spec_host();

// Docker's default /proc and /sys paths masked and made read-only (what
// inspect shows in HostConfig.MaskedPaths/ReadonlyPaths of an unprivileged
// container).
std::span<const std::string_view> default_masked_paths();
std::span<const std::string_view> default_readonly_paths();

// The effective container config after the image merge.
struct MergedConfig {
  // The request's Config with the image's values merged in: inspect's
  // "Config". Entrypoint and Cmd are arrays or null.
  boost::json::object config;
  std::vector<std::string> entrypoint, cmd, env;
  std::string working_dir, user;
  // The process: inspect's "Path" and "Args".
  std::string path;
  std::vector<std::string> args;
};

// Docker's merge (daemon/commit.go merge + mergeAndVerifyConfig): User,
// WorkingDir, StopSignal and the like from the image when the request has
// none; Env merged by key with the request's winning; Labels, ExposedPorts,
// Volumes unioned; Healthcheck completed field by field. An Entrypoint in
// the request drops the image's Cmd unless the request has a Cmd too, and
// an Entrypoint of [""] means none. Errors (invalid_argument): "No command
// specified", "invalid environment variable: =x", "the working directory
// 'x' is invalid, it needs to be an absolute path".
Result<MergedConfig> merge_image_config(const boost::json::object& config,
                                        const boost::json::object& image_config);

// Fills Docker's create-time defaults into `config` and `host_config`
// (idempotent) and validates both, returning Docker's warnings ("Your kernel
// does not support swap limit capabilities..."). `id` is the 64-hex
// container ID (default hostname: its first 12 characters; under --network
// host the host's name). Errors are invalid_argument with Docker's messages:
// "Minimum memory limit allowed is 6MB", "Range of CPUs is from 0.01 to
// 2.00, as there are only 2 CPUs available", "invalid CapAdd: unknown
// capability: \"CAP_FOO\"", "invalid --security-opt 2: \"x=y\"", "invalid
// IPC mode: x", ...
Result<std::vector<std::string>> adapt_create_request(boost::json::object& config,
                                                      boost::json::object& host_config,
                                                      std::string_view id, const SpecHost& host);

// Docker's checks of a POST /containers/{id}/update body (its Resources
// fields and RestartPolicy at the top level, as HostConfig names them):
// create's resource checks and messages, except that a swap limit without
// a memory limit is allowed (the container's own memory limit stays).
// Returns the warnings; may normalise fields as create does.
Result<std::vector<std::string>> verify_update(boost::json::object& update, const SpecHost& host);

struct SpecInput {
  std::string id;    // container ID (64 hex)
  std::string name;  // container name (for messages)
  // The create request's Config part (Cmd, Entrypoint, Env, WorkingDir,
  // User, Hostname, Domainname, Tty, ...) and HostConfig, as Docker's API
  // defines them (v1.43 ContainerConfig / HostConfig).
  boost::json::object config;
  boost::json::object host_config;
  // The image config's "config" object (Env, Cmd, Entrypoint, User, ...).
  boost::json::object image_config;
  std::string rootfs;  // absolute path of the mounted rootfs: root.path
  // Files the core prepared, bind-mounted to /etc/hostname, /etc/hosts and
  // /etc/resolv.conf like Docker (read-only with --read-only); "" = none.
  std::string hostname_path, hosts_path, resolv_conf_path;
  // Network namespace: "" a new one (also for --network none and bridge
  // networks set up later), "host" none (share the host's), otherwise the
  // path of one to join (/proc/<pid>/ns/net of the --network container:x).
  std::string netns_path;
  // For IpcMode / PidMode "container:<x>": the namespace to join
  // (/proc/<pid>/ns/ipc, /proc/<pid>/ns/pid). Required for those modes.
  std::string ipc_ns_path, pid_ns_path;
  // A directory bind-mounted at /dev/shm instead of a fresh tmpfs: the shared
  // one of IpcMode "shareable", or the donor's (/proc/<pid>/root/dev/shm) for
  // "container:<x>". IpcMode "host" uses the host's /dev/shm by itself.
  std::string shm_path;
  std::string cgroup_parent =
      "/berth";  // cgroupsPath = <parent>/<id>; HostConfig.CgroupParent wins
  // HostConfig.Init: the host binary mounted at /sbin/docker-init; "" =
  // look for docker-init in PATH.
  std::string init_path;
  // --userns-remap (userns.hpp): a new user namespace with these mappings
  // (linux.uidMappings/gidMappings) unless HostConfig.UsernsMode is "host";
  // empty: none. With a joined network, IPC or PID namespace path
  // (/proc/<pid>/ns/x) the other container's user namespace is joined.
  std::vector<IdMap> uid_mappings, gid_mappings;
  // Daemon-wide settings (daemon.json): init, no-new-privileges,
  // seccomp-profile (profile text; "" = Docker's default, "unconfined"),
  // default-ulimits (Docker's {"nofile": {"Name","Soft","Hard"}} object).
  bool default_init = false;
  bool default_no_new_privileges = false;
  std::string default_seccomp_profile;
  boost::json::object default_ulimits;
  // The container's mount points (mount_points.hpp) with every volume's
  // host path as its source; unset: parsed from HostConfig Binds/Mounts.
  std::optional<std::vector<MountPoint>> mount_points;
  // The host's facts; unset: current_spec_host().
  std::optional<SpecHost> host;
};

// The config.json object. Errors: those of adapt_create_request and
// merge_image_config, user resolution ("unable to find user nobody: no
// matching entries in passwd file"), mounts ("invalid volume specification:
// 'x'", "Duplicate mount point: /data"), devices ("error gathering device
// information while adding custom device \"/dev/x\": no such file or
// directory"), seccomp ("Decoding seccomp profile failed: ..."), sysctls
// ("sysctl \"vm.swappiness\" is not in a separate kernel namespace").
//
// Shape, as dockerd's: process (terminal = Tty, consoleSize, user with
// additionalGids [gid, /etc/group memberships..., GroupAdd...], args, env
// [PATH default, HOSTNAME, TERM=xterm with a TTY, the merged Env; HOME from
// passwd appended when unset — runc and crun would add it the same way],
// cwd, capabilities bounding/effective/permitted, rlimits only from Ulimits
// and default_ulimits, noNewPrivileges, oomScoreAdj), root {path,
// readonly}, hostname, mounts (Docker's defaults, then binds, tmpfs and the
// network files sorted by depth), linux {sysctl, resources (devices rules,
// memory, cpu, pids, blockIO), cgroupsPath, namespaces, seccomp,
// maskedPaths, readonlyPaths, devices}. Zero-valued resource fields and a
// PidsLimit <= 0 are omitted rather than written as Docker's zeros.
Result<boost::json::object> make_spec(const SpecInput& input);

}  // namespace berth::core::container
