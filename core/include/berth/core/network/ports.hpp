// Published ports: what a container asks for (HostConfig.PortBindings,
// PublishAllPorts with the exposed ports) and the host ports the daemon
// reserves for it. A reservation is a bound socket per port (TCP: bound, not
// listening), held while the container runs: a port taken by another
// container or by a host process is refused at bind time, clearly, and the
// kernel never gives the port to anyone else meanwhile.
#pragma once

#include "berth/core/error.hpp"

#include <berth/sdk/net/addr.hpp>
#include <berth/sdk/unique_fd.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace berth::core::network {

struct PortRequest {
  std::string protocol;  // tcp | udp | sctp
  std::uint16_t container_port = 0;
  std::string host_ip;   // "" = every address
  std::uint16_t host_port_first = 0, host_port_last = 0;  // 0: any free port
};

// Parses Docker's PortBindings ({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
// HostPort also "8000-8010" or empty) and, with PublishAllPorts, adds every
// exposed port ("80/tcp") that has no binding, on a random host port.
Result<std::vector<PortRequest>> port_requests(const boost::json::object& host_config,
                                               const std::vector<std::string>& exposed_ports);

struct PortMapping {
  std::string protocol;
  sdk::net::Ipv4 host_ip;  // 0.0.0.0 = every address
  std::uint16_t host_port = 0;
  std::uint16_t container_port = 0;
};

class PortReservation {
 public:
  PortReservation() = default;
  // Binds a socket for each request; nothing is held when one fails
  // ("Bind for 0.0.0.0:8080 failed: port is already allocated").
  static Result<PortReservation> reserve(const std::vector<PortRequest>& requests);
  // Binds exactly `mappings` again (after a daemon restart).
  static Result<PortReservation> rebind(const std::vector<PortMapping>& mappings);

  const std::vector<PortMapping>& mappings() const { return mappings_; }
  bool empty() const { return mappings_.empty(); }

 private:
  std::vector<PortMapping> mappings_;
  std::vector<sdk::UniqueFd> sockets_;
};

// {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]} as inspect shows
// NetworkSettings.Ports (exposed ports without a mapping map to null).
boost::json::object ports_json(const std::vector<PortMapping>& mappings, const std::vector<std::string>& exposed);
boost::json::array mappings_json(const std::vector<PortMapping>& mappings);
std::vector<PortMapping> mappings_from_json(const boost::json::value& v);

}  // namespace berth::core::network
