// What the bridge driver remembers across daemon restarts: its networks,
// endpoints and published ports, kept as one JSON file in the plugin's state
// directory and replaced atomically (write, fsync, rename, fsync the
// directory) on every change.
#ifndef BERTH_PLUGINS_NET_BRIDGE_STATE_HPP
#define BERTH_PLUGINS_NET_BRIDGE_STATE_HPP

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "berth/sdk/net/addr.hpp"

namespace berth::plugins::net_bridge {

struct Network {
  std::string name;           // the user's name, for messages
  std::string bridge;         // interface name
  bool own_bridge = true;     // created by us (deleted with the network)
  sdk::net::Ipv4Net gateway;  // the bridge's address: gateway/prefix
  int mtu = 1500;
  bool internal = false;
  bool masquerade = true;
  bool icc = true;

  sdk::net::Ipv4Net subnet() const { return gateway.subnet(); }
};

struct Port {
  std::uint8_t protocol = 0;  // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP
  sdk::net::Ipv4 host_ip;     // 0 = any
  std::uint16_t host_port = 0;
  std::uint16_t container_port = 0;
  bool operator==(const Port&) const = default;
};

struct Endpoint {
  std::string network_id;
  std::optional<sdk::net::Ipv4Net> address;  // none when the core gave none
  std::string mac;
  std::string host_if;  // the veth end on the bridge
  std::string peer_if;  // the other end's name until join renames it
  std::string sandbox;  // the sandbox key it joined ("" when not joined)
  std::vector<Port> ports;
};

struct State {
  std::map<std::string, Network> networks;    // by network id
  std::map<std::string, Endpoint> endpoints;  // by endpoint id

  // Reads `path`; a missing file is an empty state. Throws sdk::Error
  // (internal) when the file is unreadable or malformed.
  static State load(const std::string& path);
  // Replaces `path` atomically. Throws sdk::Error.
  void save(const std::string& path) const;
};

}  // namespace berth::plugins::net_bridge

#endif  // BERTH_PLUGINS_NET_BRIDGE_STATE_HPP
