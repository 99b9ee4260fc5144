// Daemon configuration: defaults, then /etc/berth/daemon.json, then flags.
#pragma once

#include "berth/core/error.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::core {

// A listen address from -H/--host or "hosts".
struct ListenAddress {
  enum class Kind { unix_socket, tcp };
  Kind kind = Kind::unix_socket;
  std::string path;  // unix_socket
  std::string host;  // tcp: address to bind ("0.0.0.0", "127.0.0.1", "::1")
  std::uint16_t port = 0;
  std::string text;  // as the user wrote it, for messages

  static Result<ListenAddress> parse(std::string_view text);
};

struct TlsConfig {
  bool tls = false;     // serve TCP with TLS
  bool verify = false;  // and require client certificates signed by ca
  std::string ca;
  std::string cert;
  std::string key;
};

// Which drivers load and how. Drivers are named "<word>/<id>" as in their
// library file name, e.g. "storage/overlay", "log/json-file".
struct DriverConfig {
  std::vector<std::string> disabled;
  std::vector<std::string> required;
  std::map<std::string, std::string> options_json;  // name -> JSON object text
};

// An OCI runtime CLI containers may run with (daemon.json "runtimes", like
// Docker's): its path (or PATH name) and extra arguments before the command.
struct RuntimeConfig {
  std::string path;
  std::vector<std::string> args;
  bool operator==(const RuntimeConfig&) const = default;
};

// The resolved configuration the daemon runs with.
// A pool user networks take subnets from (Docker's default-address-pools).
struct AddressPoolConfig {
  std::string base;  // "172.18.0.0/16"
  int size = 24;     // prefix length of each subnet taken from it
};

// Docker's daemon networking settings.
struct NetworkConfig {
  // Device name of the default "bridge" network; "none" disables it (and
  // containers then default to no network), as Docker's --bridge=none.
  std::string bridge = "berth0";
  std::string bip;  // "10.1.0.1/24": the default network's gateway/subnet
  std::vector<AddressPoolConfig> default_address_pools;  // empty: Docker's
  std::vector<std::string> dns, dns_search, dns_options;  // containers' defaults
  bool ip_forward = true;  // set net.ipv4.ip_forward=1 (Docker's --ip-forward)
};

struct DaemonConfig {
  std::string data_root = "/var/lib/berth";
  std::string exec_root = "/run/berth";
  std::vector<ListenAddress> hosts;  // never empty once resolved
  std::vector<std::string> plugin_dirs;
  std::string storage_driver;  // empty: choose automatically
  std::string log_driver = "json-file";
  // The default driver's --log-opt options (daemon.json "log-opts", Docker's
  // name): they apply to containers that use the default driver, under what
  // a container sets itself.
  std::map<std::string, std::string> log_opts;
  std::string log_level = "info";
  TlsConfig tls;
  bool insecure_tcp = false;  // allow TCP without TLS (with a loud warning)
  std::string pidfile;        // default <exec_root>/berthd.pid
  DriverConfig drivers;
  std::vector<std::string> insecure_registries;  // "host:port" or CIDR; loopback always
  int max_concurrent_downloads = 3;
  // The largest build context POST /build takes, in bytes
  // (daemon.json "max-build-context-size").
  std::int64_t max_build_context_size = std::int64_t{4} << 30;
  // Where container cgroups go (Docker's cgroup-parent): a path under each
  // hierarchy; a container's own --cgroup-parent wins.
  std::string cgroup_parent = "/berth";
  // Docker's --userns-remap ("user[:group]", names or numbers, or "default"
  // for the berthremap user): containers run in a user namespace mapped to
  // that user's /etc/subuid and group's /etc/subgid ranges. Empty: off.
  std::string userns_remap;
  // "native" (built in) is always there; runc is added when installed.
  std::map<std::string, RuntimeConfig> runtimes;
  std::string default_runtime = "native";
  NetworkConfig network;
};

// One layer of settings (the file, or the flags): only what it names.
struct ConfigLayer {
  std::optional<std::string> data_root, exec_root, storage_driver, log_driver, log_level, pidfile, cgroup_parent;
  std::optional<std::vector<std::string>> hosts, plugin_dirs;
  std::optional<bool> tls, tls_verify, insecure_tcp;
  std::optional<std::string> tls_ca, tls_cert, tls_key;
  std::optional<DriverConfig> drivers;
  std::optional<std::vector<std::string>> insecure_registries;
  std::optional<int> max_concurrent_downloads;
  std::optional<std::int64_t> max_build_context_size;
  std::optional<std::map<std::string, RuntimeConfig>> runtimes;
  std::optional<std::string> default_runtime;
  std::optional<std::map<std::string, std::string>> log_opts;
  std::optional<std::string> userns_remap;
  std::optional<std::string> bridge, bip;
  std::optional<std::vector<AddressPoolConfig>> default_address_pools;
  std::optional<std::vector<std::string>> dns, dns_search, dns_options;
  std::optional<bool> ip_forward;
};

// Parses daemon.json text. Unknown keys and wrong types are errors naming the
// key; the file name is the context of every message.
Result<ConfigLayer> parse_config_file(std::string_view text, std::string_view file_name);

// The daemon's --log-opt flags ("key=value" each) as "log-opts".
Result<std::map<std::string, std::string>> parse_log_opts(const std::vector<std::string>& pairs);

// Reads and parses a config file. A missing file is an empty layer when
// `must_exist` is false (the default path), an error otherwise.
Result<ConfigLayer> load_config_file(const std::string& path, bool must_exist);

// Applies defaults, then `file`, then `flags` (flags win), and validates the
// result. `default_plugin_dir` is the installed plugin directory.
Result<DaemonConfig> resolve_config(const ConfigLayer& file, const ConfigLayer& flags,
                                    const std::string& default_plugin_dir);

}  // namespace berth::core
