// The flags of `run` and `create` and their translation into the body of
// POST /containers/create (Config, HostConfig, NetworkingConfig), with
// Docker's value syntax and messages (docker/cli opts.go, opts/*.go,
// go-units, go-connections/nat). Values that only the daemon can judge
// (a network name, a runtime, a capability) go through as given; the
// daemon refuses what it cannot do.
#pragma once

#include "client.hpp"

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace berth::cli {

// A value a flag refuses, worded as Docker's flag parser words it:
// `invalid argument "1x" for "-m, --memory" flag: invalid size: '1x'`
// (exit 125).
class FlagError : public CliError {
 public:
  using CliError::CliError;
};

// The container flags as CLI11 fills them: every value is kept as typed
// (numbers too), so that parse_container_flags() can word errors the way
// Docker's flag parser does.
struct ContainerFlags {
  // Lists (repeatable flags).
  std::vector<std::string> attach, env, env_file, labels, label_file, publish, expose, volumes,
      mounts, tmpfs, dns, dns_search, dns_options, extra_hosts, volumes_from, cap_add, cap_drop,
      group_add, security_opt, storage_opt, log_opts, sysctls, ulimits, devices,
      device_cgroup_rules, links, aliases, networks, link_local_ips, annotations;
  // Switches.
  bool interactive = false, tty = false, auto_remove = false, privileged = false, read_only = false,
       init = false, publish_all = false, oom_kill_disable = false, no_healthcheck = false;
  // Strings.
  std::string user, workdir, entrypoint, hostname, domainname, restart = "no", log_driver,
      stop_signal, runtime, ipc, pid, uts, userns, cgroupns, cgroup_parent, isolation,
      volume_driver, mac_address, ip, ip6, cpuset_cpus, cpuset_mems, cidfile, health_cmd;
  // Numbers and sizes, parsed later.
  std::string memory, memory_reservation, memory_swap, kernel_memory, shm_size, cpus, cpu_shares,
      cpu_period, cpu_quota, cpu_rt_period, cpu_rt_runtime, pids_limit, memory_swappiness = "-1",
      oom_score_adj, blkio_weight, stop_timeout, health_interval, health_timeout,
      health_start_period, health_retries;

  // IMAGE [COMMAND] [ARG...]
  std::string image;
  std::vector<std::string> args;

  // Long names of the flags given on the command line ("init",
  // "entrypoint", "stop-signal"): some only count when set.
  std::set<std::string> changed;
};

// Adds the container flags of `run` and `create` to `cmd` (the ones that
// end in Config/HostConfig/NetworkingConfig; not -d, --name, --pull, ...).
// `-h` is --hostname, so the help flag becomes --help alone.
void add_container_flags(CLI::App& cmd, ContainerFlags& flags);

// Records in flags.changed which of the flags `cmd` parsed were given.
void record_changed_flags(const CLI::App& cmd, ContainerFlags& flags);

struct ContainerConfig {
  boost::json::object config;             // Config (image, command, env, ...)
  boost::json::object host_config;        // HostConfig
  boost::json::object networking_config;  // NetworkingConfig
};

// Docker's parse(): the API objects for `flags`. Throws FlagError for a
// value a flag refuses, and CliError (exit 125) with the message alone for
// what is wrong once all flags are read ("Conflicting options: --restart
// and --rm").
ContainerConfig parse_container_flags(const ContainerFlags& flags);

// Adds the flags of `update` (resources and --restart) to `cmd`.
void add_update_flags(CLI::App& cmd, ContainerFlags& flags);
// The POST /containers/{id}/update body for the flags `update` was given
// (flags.changed): only those go, as Docker's UpdateConfig. FlagError for
// a bad value.
boost::json::object update_body(const ContainerFlags& flags);

// The environment of --env-file files then -e values (Docker's
// ReadKVEnvStrings after ValidateEnv): FlagError for a bad -e value,
// CliError (exit 125) for a file that cannot be read.
std::vector<std::string> read_env(const std::vector<std::string>& files,
                                  const std::vector<std::string>& values);

// The POST /containers/create body: Config's members, with HostConfig and
// NetworkingConfig inside.
boost::json::object create_body(const ContainerConfig& config);

// --- value parsers (exposed for tests) ------------------------------------
// Each throws std::invalid_argument with the text Docker's parser gives.

// go-units RAMInBytes: "512m", "1g", "1.5GiB", "100" (bytes); binary units.
std::int64_t ram_in_bytes(std::string_view text);
// docker/cli ParseCPUs: "1.5" CPUs -> 1500000000 nano CPUs ("3/2" too).
std::int64_t parse_nano_cpus(std::string_view text);
// go-units ParseUlimit: "nofile=1024[:2048]" -> {"Name","Soft","Hard"}.
boost::json::object parse_ulimit(std::string_view text);
// --restart: "no", "always", "unless-stopped", "on-failure[:N]" ->
// {"Name","MaximumRetryCount"}, refusing what the daemon would.
boost::json::object parse_restart_policy(std::string_view text);
// Go's time.ParseDuration ("1m30s", "300ms", "1.5h"), in nanoseconds.
std::int64_t parse_go_duration(std::string_view text);
// docker/cli ValidateEnv: "A=b" as is, "A" as "A=<value>" when A is set in
// our environment (else "A", which the daemon drops).
std::string validate_env(std::string_view text);
// The lines of an --env-file (env: unset names from our environment) or a
// --label-file; comments and blank lines skipped.
std::vector<std::string> read_kv_file(const std::string& path, bool env);
// opts.MountOpt: a --mount value ("type=bind,src=/a,dst=/b,ro", CSV) as
// the API's Mount object, members omitted when empty as Go omits them
// ({"Type":"volume","Target":"/v","VolumeOptions":{"DriverConfig":{}}}).
// A "." or "./" source goes absolute. Errors as Docker's: "target is
// required", "invalid field 'x' must be a key=value pair", "unexpected key
// 'x' in 'x=1'", "invalid value for tmpfs-size: x", "cannot mix 'bind-*'
// options with mount type 'volume'", csv's "parse error on line 1, ...".
boost::json::object parse_mount(std::string_view text);
// A -v/--volume value as Docker's CLI sorts it (compose's ParseVolume,
// then parse()): the HostConfig.Binds entry for a spec with a source (a
// host path or a volume name), its "." or "./" host path made absolute;
// nullopt for an anonymous volume, which Config.Volumes takes as typed.
// Errors: "invalid empty volume spec", "invalid spec: a::b: empty section
// between colons", "invalid spec: a:b:c:d: too many colons".
std::optional<std::string> volume_bind(std::string_view spec);
// docker/cli ValidateLabel: "key[=value]" as is; a key that is empty or
// holds white space is refused.
std::string validate_label(std::string_view value);
// docker/cli ValidateLink: "name[:alias]" as is.
std::string validate_link(std::string_view value);
// --add-host "name:ip" or "name=ip" -> "name:ip".
std::string validate_extra_host(std::string_view text);

// Docker's timetypes.GetTimestamp for `logs --since/--until`: a Go
// duration before `now` ("10m" -> "<unix seconds>"), an RFC 3339 date or
// time (local time when no zone is given) -> "<seconds>.<nanoseconds>", or
// a Unix timestamp ("1700000000.5") as is.
std::string api_timestamp(std::string_view value, std::int64_t now);

// -p/--publish values into ExposedPorts ({"80/tcp":{}}) and PortBindings
// ({"80/tcp":[{"HostIp":"","HostPort":"8080"}]}), as nat.ParsePortSpecs.
void parse_port_specs(const std::vector<std::string>& specs, boost::json::object& exposed,
                      boost::json::object& bindings);

}  // namespace berth::cli
