// The bridge driver's nftables ruleset: Docker's bridge-driver iptables rules
// (userland proxy off) as one nftables table, computed from the driver's
// networks and published ports. A pure function; the driver applies the
// result with sdk::net::apply() whenever either list changes.
#ifndef BERTH_PLUGINS_NET_BRIDGE_RULES_HPP
#define BERTH_PLUGINS_NET_BRIDGE_RULES_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "berth/sdk/net/nft.hpp"

namespace berth::plugins::net_bridge {

// One bridge network.
struct NetworkRules {
  std::string bridge;        // the bridge's interface name
  sdk::net::Ipv4Net subnet;  // the network's subnet (10.1.0.0/24)
  bool internal = false;     // no traffic to or from other interfaces
  bool masquerade = true;    // SNAT traffic leaving the host (ip-masquerade)
  bool icc = true;           // containers on this bridge may talk to each other
};

// One published port: host_ip:host_port -> container_ip:container_port.
struct PortRule {
  std::uint8_t protocol;   // IPPROTO_TCP or IPPROTO_UDP
  sdk::net::Ipv4 host_ip;  // 0 = any local address
  std::uint16_t host_port;
  sdk::net::Ipv4 container_ip;
  std::uint16_t container_port;
  std::string bridge;  // the bridge the container is on
};

// The whole content of table `table` (family ip):
//   nat prerouting, output (priority dstnat): fib daddr type local jump ports
//   ports: [ip daddr H] <proto> dport P dnat to C:Q, one rule per PortRule
//   nat postrouting (srcnat): for each non-internal network with masquerade,
//     ip saddr SUBNET oifname != BRIDGE masquerade; for each bridge,
//     oifname BRIDGE fib saddr type local masquerade (DNATed connections from
//     the host's loopback; the driver sets route_localnet on the bridge); for
//     each PortRule, the hairpin masquerade of a container reaching itself
//     through its own published port
//   filter forward (policy accept, drops only so the host's own policy
//     stays in charge): iifname A oifname B drop for every ordered pair of
//     distinct bridges; for internal X, iifname X oifname != X drop and
//     oifname X iifname != X drop; for icc=false X, iifname X oifname X drop
// Order is deterministic (the order of `networks`, then of `ports`), so equal
// inputs give equal rulesets. Throws sdk::Error (invalid_argument) for an
// empty or duplicate bridge name, a port 0 or a protocol other than
// tcp, udp or sctp.
sdk::net::Ruleset bridge_ruleset(const std::string& table,
                                 const std::vector<NetworkRules>& networks,
                                 const std::vector<PortRule>& ports);

}  // namespace berth::plugins::net_bridge

#endif  // BERTH_PLUGINS_NET_BRIDGE_RULES_HPP
