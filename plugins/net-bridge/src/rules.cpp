#include "rules.hpp"

#include <netinet/in.h>

#include <set>
#include <tuple>

#include "berth/sdk/status.hpp"

namespace berth::plugins::net_bridge {

using sdk::net::ChainType;
using sdk::net::Hook;
using sdk::net::Ipv4Net;
using sdk::net::Rule;
using sdk::net::Ruleset;

namespace {

constexpr const char* kPorts = "ports";

[[noreturn]] void invalid(const std::string& table, const std::string& what) {
  throw sdk::Error(sdk::Errc::invalid_argument, "bridge ruleset " + table + ": " + what);
}

}  // namespace

Ruleset bridge_ruleset(const std::string& table, const std::vector<NetworkRules>& networks,
                       const std::vector<PortRule>& ports) {
  // Every bridge once, networks' first, in input order.
  std::vector<std::string> bridges;
  std::set<std::string> seen;
  for (const auto& n : networks) {
    if (n.bridge.empty()) invalid(table, "network " + n.subnet.str() + " has no bridge name");
    if (!seen.insert(n.bridge).second) invalid(table, "bridge " + n.bridge + " listed twice");
    bridges.push_back(n.bridge);
  }
  for (const auto& p : ports) {
    if (p.protocol != IPPROTO_TCP && p.protocol != IPPROTO_UDP && p.protocol != IPPROTO_SCTP) {
      invalid(table, "port " + std::to_string(p.host_port) + ": protocol " +
                         std::to_string(p.protocol) + " is not tcp, udp or sctp");
    }
    if (p.host_port == 0 || p.container_port == 0) {
      invalid(table, "port " + std::to_string(p.host_port) + "->" +
                         std::to_string(p.container_port) + ": port 0");
    }
    if (p.bridge.empty())
      invalid(table, "port " + std::to_string(p.host_port) + " has no bridge name");
    if (seen.insert(p.bridge).second) bridges.push_back(p.bridge);
  }

  Ruleset rs(table);
  rs.chain("prerouting", Hook::prerouting, ChainType::nat, -100);
  rs.chain("output", Hook::output, ChainType::nat, -100);
  rs.chain("postrouting", Hook::postrouting, ChainType::nat, 100);
  rs.chain("forward", Hook::forward, ChainType::filter, 0);
  rs.chain(kPorts);

  // Only traffic addressed to the host itself is published-port traffic;
  // from output this includes 127.0.0.1 (the driver sets route_localnet).
  rs.rule("prerouting", Rule().daddr_local().jump(kPorts));
  rs.rule("output", Rule().daddr_local().jump(kPorts));

  for (const auto& p : ports) {
    Rule r;
    if (!p.host_ip.unspecified()) r.daddr(Ipv4Net{p.host_ip, 32});
    r.protocol(p.protocol).dport(p.host_port).dnat(p.container_ip, p.container_port);
    rs.rule(kPorts, std::move(r));
  }

  for (const auto& n : networks) {
    if (n.internal || !n.masquerade) continue;
    rs.rule("postrouting", Rule().saddr(n.subnet.subnet()).oifname(n.bridge, true).masquerade());
  }
  // A DNATed connection from 127.0.0.1 would leave with a source the
  // container cannot answer; the bridge address is one it can.
  for (const auto& b : bridges) {
    rs.rule("postrouting", Rule().oifname(b).saddr_local().masquerade());
  }
  // Hairpin: a container reaching its own published port gets the reply
  // from itself unless the source is rewritten (Docker's per-port rule).
  std::set<std::tuple<std::uint32_t, std::uint8_t, std::uint16_t>> hairpins;
  for (const auto& p : ports) {
    if (!hairpins.emplace(p.container_ip.value, p.protocol, p.container_port).second) continue;
    rs.rule("postrouting", Rule()
                               .saddr(Ipv4Net{p.container_ip, 32})
                               .daddr(Ipv4Net{p.container_ip, 32})
                               .protocol(p.protocol)
                               .dport(p.container_port)
                               .masquerade());
  }

  for (const auto& a : networks) {
    for (const auto& b : networks) {
      if (a.bridge != b.bridge)
        rs.rule("forward", Rule().iifname(a.bridge).oifname(b.bridge).drop());
    }
  }
  for (const auto& n : networks) {
    if (n.internal) {
      rs.rule("forward", Rule().iifname(n.bridge).oifname(n.bridge, true).drop());
      rs.rule("forward", Rule().oifname(n.bridge).iifname(n.bridge, true).drop());
    }
    if (!n.icc) rs.rule("forward", Rule().iifname(n.bridge).oifname(n.bridge).drop());
  }
  return rs;
}

}  // namespace berth::plugins::net_bridge
