// The parts of an OCI runtime spec (config.json) the native runtime acts on,
// parsed and checked in the caller before any process is cloned, so that a
// malformed spec is an error with the field's name and the child only runs
// system calls. Mount options become mount(2) flags, data and propagation
// changes here; capability names become bit masks.
//
// Not acted on: hooks, mountLabel, process.apparmorProfile,
// process.selinuxLabel, linux.intelRdt, linux.personality, scheduler and
// ioPriority (accepted and ignored, like a runtime built without them).
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sys.hpp"

namespace berth::runtime::detail {

struct IdMapping {
  std::uint32_t container_id = 0, host_id = 0, size = 0;
};

struct NamespaceSpec {
  std::string type;  // OCI name: "pid", "network", "mount", ...
  int flag = 0;      // CLONE_NEW*
  std::string path;  // join this one; empty: create a new one
};

// The name of a namespace type under /proc/<pid>/ns ("network" -> "net").
const char* proc_ns_name(int flag);

struct MountEntry {
  std::string destination, type, source;
  unsigned long flags = 0;                   // MS_* for mount(2), MS_BIND|MS_REC for rbind
  std::vector<unsigned long> propagation;    // MS_PRIVATE, MS_SHARED|MS_REC, ...
  std::string data;                          // filesystem options ("mode=755,size=65536k")
  std::uint64_t attr_set = 0, attr_clr = 0;  // recursive (r*) options, via mount_setattr
  bool bind() const;
};

struct DeviceSpec {
  std::string path;
  char type = 'c';  // c, b, u (= c), p
  std::int64_t major = 0, minor = 0;
  std::uint32_t mode = 0666;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct RlimitSpec {
  int resource = 0;
  std::string name;  // "RLIMIT_NOFILE"
  rlim_t soft = 0, hard = 0;
};

struct CapabilitySets {
  std::uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

struct ProcessSpec {
  std::vector<std::string> args, env;
  std::string cwd = "/";
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  std::optional<mode_t> umask;
  bool terminal = false;
  unsigned short rows = 0, cols = 0;           // consoleSize; 0: not set
  std::optional<CapabilitySets> capabilities;  // absent: the caller's are kept
  std::vector<RlimitSpec> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
};

struct Spec {
  std::string bundle;
  std::string root;  // absolute, canonical
  bool root_readonly = false;
  std::string hostname, domainname;
  ProcessSpec process;
  std::vector<MountEntry> mounts;
  std::vector<NamespaceSpec> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<DeviceSpec> devices;
  boost::json::value resources;  // linux.resources (null when absent)
  std::string cgroups_path;      // as given; empty when absent
  std::vector<std::string> masked_paths, readonly_paths;
  std::vector<std::pair<std::string, std::string>> sysctl;
  boost::json::value seccomp;            // linux.seccomp (null when absent)
  unsigned long rootfs_propagation = 0;  // 0: the default (MS_SLAVE|MS_REC)

  const NamespaceSpec* find_namespace(int flag) const;
};

// Reads <bundle>/config.json.
Result<Spec> load_spec(const std::string& bundle);
// `config` is the parsed config.json of `bundle`.
Result<Spec> parse_spec(const boost::json::value& config, const std::string& bundle);
// An OCI "process" object (config.json's, or one given to exec).
Result<ProcessSpec> parse_process(const boost::json::value& process);
// Parses mount options into `entry` (flags, propagation, data, attrs).
Result<void> parse_mount_options(const std::vector<std::string>& options, MountEntry& entry);

// The number of a capability name ("CAP_SYS_ADMIN" -> 21) and back
// ("CAP_<n>" for numbers without a name).
std::optional<int> capability_number(std::string_view name);
std::string capability_name(int number);

}  // namespace berth::runtime::detail
