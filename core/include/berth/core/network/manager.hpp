// Networks and container connectivity: the owner of networks (with the
// core's IPAM), of each running container's network sandbox (a named
// network namespace under <exec-root>/netns), of its endpoints (one per
// network, persisted with its address in one transaction), of its published
// ports (held host sockets + the driver's forwarding) and of the embedded DNS
// server of user-defined networks.
//
// Threading: every member may be called from any thread. Calls for one
// container are serialised by the caller (the container manager's lock).
#pragma once

#include "berth/core/config.hpp"
#include "berth/core/error.hpp"
#include "berth/core/network/driver.hpp"
#include "berth/core/network/ipam.hpp"
#include "berth/core/network/ports.hpp"
#include "berth/core/plugin_host.hpp"
#include "berth/core/store.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace berth::core::network {

class DnsServer;

struct IpamConfig {
  std::string subnet, gateway, ip_range;
};

struct Network {
  std::string id, name, driver, created;
  bool internal = false, attachable = false, ipv6 = false;
  std::vector<IpamConfig> ipam;
  boost::json::object options, labels, ipam_options;

  // bridge, host and none: made by the daemon, never removed.
  bool predefined() const { return name == "bridge" || name == "host" || name == "none"; }
  // Docker's network object (without "Containers").
  boost::json::object to_json() const;
};

// What the network manager needs to know of a container.
struct ContainerNetworking {
  std::string id;
  std::string name;  // without the leading "/"
  std::string hostname, domainname;
  boost::json::object host_config;       // NetworkMode, PortBindings, Dns..., ExtraHosts, Links
  boost::json::object endpoints_config;  // NetworkingConfig.EndpointsConfig
  std::vector<std::string> exposed_ports;  // "80/tcp", the container's and its image's
};

// The network side of a container start.
struct Sandbox {
  std::string netns_path;  // "" when the container gets a fresh namespace (none), "host"
  std::string hosts, resolv_conf;  // /etc/hosts and /etc/resolv.conf contents
};

struct NetworkManagerOptions {
  std::string exec_root;
  NetworkConfig config;
};

class NetworkManager {
 public:
  // Loads networks, creates the predefined ones, re-creates every network
  // in its driver (idempotent) and clears endpoints of containers not in
  // `running` (they died while the daemon was down) — then re-binds the
  // ports and DNS of those that are.
  static Result<std::unique_ptr<NetworkManager>> open(MetadataStore& db, const PluginHost& plugins,
                                                      NetworkManagerOptions options);
  ~NetworkManager();

  Result<void> restore(const std::vector<ContainerNetworking>& running);
  // At daemon shutdown: with no container running, drivers take down what
  // they made (bridges, rules); networks stay recorded and come back at the
  // next start.
  void shutdown(bool containers_running);

  // --- networks (POST /networks/create body, Docker's messages)
  Result<Network> create(const boost::json::object& request);
  Result<Network> find(const std::string& name_or_id) const;
  std::vector<Network> list() const;
  Result<void> remove(const std::string& name_or_id);
  // Docker's "Containers" of a network: {id: {Name, EndpointID, MacAddress, IPv4Address, IPv6Address}}.
  boost::json::object containers_of(const std::string& network_id) const;
  bool in_use(const std::string& network_id) const;

  // --- containers
  // Checks a create request's networking (modes, networks exist, --ip rules).
  Result<void> validate(const boost::json::object& host_config, const boost::json::object& endpoints_config) const;
  // The network name a container's NetworkMode means ("default" -> "bridge").
  std::string network_mode(const boost::json::object& host_config) const;
  // Sets up the sandbox, endpoints, ports and DNS of a starting container.
  Result<Sandbox> attach(const ContainerNetworking& c);
  // Undoes attach (at exit, failed start, removal). Never fails; idempotent.
  void detach(const std::string& container_id);
  // Connects a running container to one more network / takes it off one.
  // Returns the container's new /etc/resolv.conf when joining its first user
  // network turned the embedded DNS server on, "" otherwise.
  Result<std::string> connect(const ContainerNetworking& c, const std::string& network,
                              const boost::json::object& endpoint_config);
  Result<void> disconnect(const std::string& container_id, const std::string& network, bool force);

  // NetworkSettings of container inspect; `endpoints_config` names the
  // networks of a stopped container.
  boost::json::object settings(const ContainerNetworking& c) const;
  // /containers/json "Ports" and "NetworkSettings".
  boost::json::array ports_summary(const std::string& container_id) const;
  boost::json::object networks_summary(const ContainerNetworking& c) const;

 private:
  NetworkManager(MetadataStore& db, const PluginHost& plugins, NetworkManagerOptions options);
  struct Endpoint;
  struct Attached;
  Result<void> load();
  boost::json::object canonical(const boost::json::object& endpoints_config) const;
  Result<void> ensure_predefined();
  const NetworkDriver* driver_for(const std::string& driver) const;
  Result<Network> find_locked(const std::string& name_or_id) const;
  Result<Network> insert_network(Network n);
  Result<void> record_network(const Network& n);
  Result<void> forget_network(const std::string& id);
  Result<Endpoint> join(const ContainerNetworking& c, const Network& n, const boost::json::object& ep_config,
                        const std::string& netns_path, int index);
  void leave(const Endpoint& ep);
  std::string spec_json(const Network& n) const;
  std::vector<Ipv4Net> taken_subnets() const;
  std::optional<std::vector<Ipv4>> dns_lookup(const std::string& container_id, const std::string& name) const;
  std::optional<std::string> dns_reverse(const std::string& container_id, Ipv4 address) const;
  std::string hosts_file(const ContainerNetworking& c, const std::vector<Endpoint>& eps) const;
  std::string resolv_conf(const ContainerNetworking& c, bool embedded_dns) const;

  MetadataStore& db_;
  const PluginHost& plugins_;
  NetworkManagerOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, Network> networks_;  // by id
  std::map<std::string, std::unique_ptr<NetworkDriver>> drivers_;
  std::map<std::string, Attached> attached_;  // by container id
  std::unique_ptr<DnsServer> dns_;
};

}  // namespace berth::core::network
