// The bridge driver's nftables ruleset: its shape (no root needed), what
// nft(8) lists once the kernel has it, and real traffic through it. Root
// tests work inside network namespaces of their own.
#include "rules.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "berth/sdk/net/netlink.hpp"
#include "berth/sdk/net/netns.hpp"
#include "berth/sdk/net/nft.hpp"
#include "berth/sdk/net/testing.hpp"
#include "berth/sdk/status.hpp"
#include "berth/sdk/unique_fd.hpp"

namespace {

using berth::plugins::net_bridge::bridge_ruleset;
using berth::plugins::net_bridge::NetworkRules;
using berth::plugins::net_bridge::PortRule;
using berth::sdk::Errc;
using berth::sdk::Error;
using berth::sdk::UniqueFd;
using berth::sdk::net::ChainType;
using berth::sdk::net::Hook;
using berth::sdk::net::Ipv4;
using berth::sdk::net::Ipv4Net;
using berth::sdk::net::Netlink;
using berth::sdk::net::Route;
using berth::sdk::net::Rule;
using berth::sdk::net::Ruleset;

Ipv4 ip(const char* text) { return *Ipv4::parse(text); }
Ipv4Net net(const char* text) { return *Ipv4Net::parse(text); }

// ---- shape: rules rendered the way nft(8) prints them.

std::string proto_name(std::uint32_t p) {
  switch (p) {
    case IPPROTO_TCP:
      return "tcp";
    case IPPROTO_UDP:
      return "udp";
    case IPPROTO_SCTP:
      return "sctp";
  }
  return std::to_string(p);
}

std::string render(const Rule& rule) {
  using K = Rule::Step::Kind;
  std::string out;
  std::string pending_proto;  // nft folds "meta l4proto tcp" into "tcp dport"
  auto flush = [&] {
    if (pending_proto.empty()) return;
    out += (out.empty() ? "" : " ") + ("meta l4proto " + pending_proto);
    pending_proto.clear();
  };
  auto word = [&](const std::string& w) {
    flush();
    out += (out.empty() ? "" : " ") + w;
  };
  auto op = [](bool negate) { return negate ? std::string("!= ") : std::string(); };
  auto addr = [](const Ipv4Net& n) { return n.prefix == 32 ? n.addr.str() : n.str(); };
  for (const auto& s : rule.steps()) {
    switch (s.kind) {
      case K::iifname:
        word("iifname " + op(s.negate) + "\"" + s.name + "\"");
        break;
      case K::oifname:
        word("oifname " + op(s.negate) + "\"" + s.name + "\"");
        break;
      case K::saddr:
        word("ip saddr " + op(s.negate) + addr(s.net));
        break;
      case K::daddr:
        word("ip daddr " + op(s.negate) + addr(s.net));
        break;
      case K::saddr_local:
        word("fib saddr type local");
        break;
      case K::daddr_local:
        word("fib daddr type local");
        break;
      case K::protocol:
        flush();
        pending_proto = proto_name(s.number);
        break;
      case K::dport: {
        std::string p = pending_proto;
        pending_proto.clear();
        word(p + " dport " + std::to_string(s.number));
        break;
      }
      case K::ct_established:
        word("ct state established,related");
        break;
      case K::counter:
        word("counter");
        break;
      case K::accept:
        word("accept");
        break;
      case K::drop:
        word("drop");
        break;
      case K::jump:
        word("jump " + s.name);
        break;
      case K::masquerade:
        word("masquerade");
        break;
      case K::dnat:
        word("dnat to " + s.addr.str() + (s.number ? ":" + std::to_string(s.number) : ""));
        break;
    }
  }
  flush();
  return out;
}

const Ruleset::Chain* find_chain(const Ruleset& rs, const std::string& name) {
  for (const auto& c : rs.chains()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<std::string> rules_of(const Ruleset& rs, const std::string& chain) {
  std::vector<std::string> out;
  const auto* c = find_chain(rs, chain);
  if (c == nullptr) return {"<no chain " + chain + ">"};
  for (const auto& r : c->rules) out.push_back(render(r));
  return out;
}

using Lines = std::vector<std::string>;

NetworkRules network(const char* bridge, const char* subnet) {
  return NetworkRules{bridge, net(subnet)};
}

PortRule port(std::uint8_t proto, const char* host_ip, std::uint16_t host_port, const char* cip,
              std::uint16_t cport, const char* bridge) {
  return PortRule{proto, ip(host_ip), host_port, ip(cip), cport, bridge};
}

TEST(BridgeRules, ChainsAndHooks) {
  auto rs = bridge_ruleset("berth", {}, {});
  EXPECT_EQ(rs.table(), "berth");
  ASSERT_EQ(rs.chains().size(), 5u);
  struct Want {
    const char* name;
    std::optional<Hook> hook;
    ChainType type;
    int priority;
  };
  const Want want[] = {
      {"prerouting", Hook::prerouting, ChainType::nat, -100},
      {"output", Hook::output, ChainType::nat, -100},
      {"postrouting", Hook::postrouting, ChainType::nat, 100},
      {"forward", Hook::forward, ChainType::filter, 0},
  };
  for (const auto& w : want) {
    const auto* c = find_chain(rs, w.name);
    ASSERT_NE(c, nullptr) << w.name;
    EXPECT_EQ(c->hook, w.hook) << w.name;
    EXPECT_EQ(c->type, w.type) << w.name;
    EXPECT_EQ(c->priority, w.priority) << w.name;
  }
  const auto* ports = find_chain(rs, "ports");
  ASSERT_NE(ports, nullptr);
  EXPECT_FALSE(ports->hook.has_value());

  EXPECT_EQ(rules_of(rs, "prerouting"), Lines{"fib daddr type local jump ports"});
  EXPECT_EQ(rules_of(rs, "output"), Lines{"fib daddr type local jump ports"});
  EXPECT_TRUE(rules_of(rs, "ports").empty());
  EXPECT_TRUE(rules_of(rs, "postrouting").empty());
  EXPECT_TRUE(rules_of(rs, "forward").empty());
}

TEST(BridgeRules, OneNetworkMasqueradesAndAllowsEverything) {
  auto rs = bridge_ruleset("berth", {network("berth0", "172.18.0.0/16")}, {});
  EXPECT_EQ(rules_of(rs, "postrouting"),
            (Lines{
                "ip saddr 172.18.0.0/16 oifname != \"berth0\" masquerade",
                "oifname \"berth0\" fib saddr type local masquerade",
            }));
  EXPECT_TRUE(rules_of(rs, "forward").empty());
}

TEST(BridgeRules, SubnetIsNormalized) {
  auto rs = bridge_ruleset("berth", {network("berth0", "172.18.0.1/16")}, {});
  EXPECT_EQ(rules_of(rs, "postrouting").at(0),
            "ip saddr 172.18.0.0/16 oifname != \"berth0\" masquerade");
}

TEST(BridgeRules, NoMasqueradeOption) {
  auto n = network("berth0", "172.18.0.0/16");
  n.masquerade = false;
  auto rs = bridge_ruleset("berth", {n}, {});
  EXPECT_EQ(rules_of(rs, "postrouting"),
            Lines{"oifname \"berth0\" fib saddr type local masquerade"});
}

TEST(BridgeRules, PublishedPorts) {
  auto rs = bridge_ruleset("berth", {network("berth0", "172.18.0.0/16")},
                           {port(IPPROTO_TCP, "0.0.0.0", 8080, "172.18.0.2", 80, "berth0"),
                            port(IPPROTO_UDP, "192.0.2.7", 5353, "172.18.0.3", 53, "berth0"),
                            port(IPPROTO_TCP, "127.0.0.1", 8443, "172.18.0.2", 80, "berth0")});
  EXPECT_EQ(rules_of(rs, "ports"), (Lines{
                                       "tcp dport 8080 dnat to 172.18.0.2:80",
                                       "ip daddr 192.0.2.7 udp dport 5353 dnat to 172.18.0.3:53",
                                       "ip daddr 127.0.0.1 tcp dport 8443 dnat to 172.18.0.2:80",
                                   }));
  // Hairpin masquerade once per container port.
  EXPECT_EQ(rules_of(rs, "postrouting"),
            (Lines{
                "ip saddr 172.18.0.0/16 oifname != \"berth0\" masquerade",
                "oifname \"berth0\" fib saddr type local masquerade",
                "ip saddr 172.18.0.2 ip daddr 172.18.0.2 tcp dport 80 masquerade",
                "ip saddr 172.18.0.3 ip daddr 172.18.0.3 udp dport 53 masquerade",
            }));
  EXPECT_TRUE(rules_of(rs, "forward").empty()) << "published traffic needs no accept";
}

TEST(BridgeRules, NetworksAreIsolatedFromEachOther) {
  auto rs = bridge_ruleset("berth",
                           {network("br-a", "10.1.0.0/24"), network("br-b", "10.2.0.0/24"),
                            network("br-c", "10.3.0.0/24")},
                           {});
  EXPECT_EQ(rules_of(rs, "forward"), (Lines{
                                         "iifname \"br-a\" oifname \"br-b\" drop",
                                         "iifname \"br-a\" oifname \"br-c\" drop",
                                         "iifname \"br-b\" oifname \"br-a\" drop",
                                         "iifname \"br-b\" oifname \"br-c\" drop",
                                         "iifname \"br-c\" oifname \"br-a\" drop",
                                         "iifname \"br-c\" oifname \"br-b\" drop",
                                     }));
}

TEST(BridgeRules, InternalNetworkNeitherMasqueradesNorLeaves) {
  auto internal = network("br-int", "10.9.0.0/24");
  internal.internal = true;
  auto rs = bridge_ruleset("berth", {internal}, {});
  EXPECT_EQ(rules_of(rs, "postrouting"),
            Lines{"oifname \"br-int\" fib saddr type local masquerade"});
  EXPECT_EQ(rules_of(rs, "forward"), (Lines{
                                         "iifname \"br-int\" oifname != \"br-int\" drop",
                                         "oifname \"br-int\" iifname != \"br-int\" drop",
                                     }));
}

TEST(BridgeRules, IccOffDropsTrafficWithinTheBridge) {
  auto n = network("berth0", "172.18.0.0/16");
  n.icc = false;
  auto rs = bridge_ruleset("berth", {n}, {});
  EXPECT_EQ(rules_of(rs, "forward"), Lines{"iifname \"berth0\" oifname \"berth0\" drop"});
}

TEST(BridgeRules, BridgeOfAPortWithoutNetworkStillGetsLoopbackMasquerade) {
  auto rs = bridge_ruleset("berth", {network("br-a", "10.1.0.0/24")},
                           {port(IPPROTO_TCP, "0.0.0.0", 80, "10.2.0.2", 80, "br-b")});
  EXPECT_EQ(rules_of(rs, "postrouting"),
            (Lines{
                "ip saddr 10.1.0.0/24 oifname != \"br-a\" masquerade",
                "oifname \"br-a\" fib saddr type local masquerade",
                "oifname \"br-b\" fib saddr type local masquerade",
                "ip saddr 10.2.0.2 ip daddr 10.2.0.2 tcp dport 80 masquerade",
            }));
}

TEST(BridgeRules, SameInputSameRuleset) {
  std::vector<NetworkRules> nets{network("br-a", "10.1.0.0/24"), network("br-b", "10.2.0.0/24")};
  std::vector<PortRule> ports{port(IPPROTO_TCP, "0.0.0.0", 80, "10.1.0.2", 80, "br-a")};
  auto a = bridge_ruleset("berth", nets, ports);
  auto b = bridge_ruleset("berth", nets, ports);
  for (const auto* name : {"prerouting", "output", "postrouting", "forward", "ports"}) {
    EXPECT_EQ(rules_of(a, name), rules_of(b, name)) << name;
  }
}

TEST(BridgeRules, RefusesBadInput) {
  auto code = [](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::ok;
  };
  EXPECT_EQ(code([] { bridge_ruleset("t", {network("", "10.1.0.0/24")}, {}); }),
            Errc::invalid_argument);
  EXPECT_EQ(code([] {
              bridge_ruleset("t", {network("br", "10.1.0.0/24"), network("br", "10.2.0.0/24")}, {});
            }),
            Errc::invalid_argument);
  EXPECT_EQ(code([] {
              bridge_ruleset("t", {}, {port(IPPROTO_ICMP, "0.0.0.0", 1, "10.1.0.2", 1, "br")});
            }),
            Errc::invalid_argument);
  EXPECT_EQ(code([] {
              bridge_ruleset("t", {}, {port(IPPROTO_TCP, "0.0.0.0", 0, "10.1.0.2", 80, "br")});
            }),
            Errc::invalid_argument);
  EXPECT_EQ(code([] {
              bridge_ruleset("t", {}, {port(IPPROTO_TCP, "0.0.0.0", 80, "10.1.0.2", 0, "br")});
            }),
            Errc::invalid_argument);
  EXPECT_EQ(
      code([] { bridge_ruleset("t", {}, {port(IPPROTO_TCP, "0.0.0.0", 80, "10.1.0.2", 80, "")}); }),
      Errc::invalid_argument);
}

// ---- root: the kernel's view, and traffic.

using Netns = berth::sdk::net::testing::PrivateNetns;
using berth::sdk::net::testing::sockaddr_of;
using berth::sdk::net::testing::tcp_socket_in;

std::string nft_list(const Netns& ns, const std::string& table) {
  std::string cmd = "nsenter --net=" + ns.path() + " nft list table ip " + table + " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  return ::pclose(p) == 0 ? out : "";
}

std::string unique_table() {
  static std::atomic<int> n{0};
  return "berth-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

class BridgeRulesKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, nftables)";
    if (std::system("nft --version >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "nft(8) not installed (verifies)";
  }
};

TEST_F(BridgeRulesKernel, NftListsTheRuleset) {
  Netns ns;
  const auto table = unique_table();
  auto internal = network("br-int", "10.9.0.0/24");
  internal.internal = true;
  auto quiet = network("br-b", "10.2.0.0/24");
  quiet.icc = false;
  auto rs = bridge_ruleset(table, {network("br-a", "10.1.0.0/24"), quiet, internal},
                           {port(IPPROTO_TCP, "0.0.0.0", 8080, "10.1.0.2", 80, "br-a"),
                            port(IPPROTO_UDP, "192.0.2.7", 5353, "10.2.0.3", 53, "br-b")});
  ns.run([&] { berth::sdk::net::apply(rs); });
  EXPECT_EQ(nft_list(ns, table),
            "table ip " + table +
                " {\n"
                "\tchain prerouting {\n"
                "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
                "\t\tfib daddr type local jump ports\n"
                "\t}\n"
                "\n"
                "\tchain output {\n"
                "\t\ttype nat hook output priority -100; policy accept;\n"
                "\t\tfib daddr type local jump ports\n"
                "\t}\n"
                "\n"
                "\tchain postrouting {\n"
                "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
                "\t\tip saddr 10.1.0.0/24 oifname != \"br-a\" masquerade\n"
                "\t\tip saddr 10.2.0.0/24 oifname != \"br-b\" masquerade\n"
                "\t\toifname \"br-a\" fib saddr type local masquerade\n"
                "\t\toifname \"br-b\" fib saddr type local masquerade\n"
                "\t\toifname \"br-int\" fib saddr type local masquerade\n"
                "\t\tip saddr 10.1.0.2 ip daddr 10.1.0.2 tcp dport 80 masquerade\n"
                "\t\tip saddr 10.2.0.3 ip daddr 10.2.0.3 udp dport 53 masquerade\n"
                "\t}\n"
                "\n"
                "\tchain forward {\n"
                "\t\ttype filter hook forward priority filter; policy accept;\n"
                "\t\tiifname \"br-a\" oifname \"br-b\" drop\n"
                "\t\tiifname \"br-a\" oifname \"br-int\" drop\n"
                "\t\tiifname \"br-b\" oifname \"br-a\" drop\n"
                "\t\tiifname \"br-b\" oifname \"br-int\" drop\n"
                "\t\tiifname \"br-int\" oifname \"br-a\" drop\n"
                "\t\tiifname \"br-int\" oifname \"br-b\" drop\n"
                "\t\tiifname \"br-b\" oifname \"br-b\" drop\n"
                "\t\tiifname \"br-int\" oifname != \"br-int\" drop\n"
                "\t\toifname \"br-int\" iifname != \"br-int\" drop\n"
                "\t}\n"
                "\n"
                "\tchain ports {\n"
                "\t\ttcp dport 8080 dnat to 10.1.0.2:80\n"
                "\t\tip daddr 192.0.2.7 udp dport 5353 dnat to 10.2.0.3:53\n"
                "\t}\n"
                "}\n");
}

// Connects through the published port and returns the source address the
// container's listener saw.
Ipv4 connect_and_get_peer(int client, int listener, Ipv4 to, std::uint16_t port) {
  auto sa = sockaddr_of(to, port);
  if (::connect(client, reinterpret_cast<const ::sockaddr*>(&sa), sizeof sa) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "connect to " + to.str() + ":" + std::to_string(port));
  }
  UniqueFd accepted(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!accepted) throw std::system_error(errno, std::generic_category(), "accept");
  if (::send(client, "x", 1, MSG_NOSIGNAL) != 1)
    throw std::system_error(errno, std::generic_category(), "send");
  char c = 0;
  if (::recv(accepted.get(), &c, 1, 0) != 1)
    throw std::system_error(errno, std::generic_category(), "recv");
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  ::getpeername(accepted.get(), reinterpret_cast<::sockaddr*>(&peer), &len);
  return Ipv4{ntohl(peer.sin_addr.s_addr)};
}

// host: a bridge with the container behind it, and an uplink to `outside`.
// A published port is reached from the host's loopback (masqueraded to the
// bridge address) and from outside (the client's address kept).
TEST_F(BridgeRulesKernel, PublishedPortFromLoopbackAndFromOutside) {
  Netns host, container, outside;
  const auto bridge_ip = ip("10.232.0.1");
  const auto container_ip = ip("10.232.0.2");
  const auto uplink_ip = ip("10.233.0.1");
  const auto outside_ip = ip("10.233.0.2");
  {
    Netlink h = Netlink::in_netns(host.fd());
    h.create_bridge("br-t");
    h.add_address("br-t", Ipv4Net{bridge_ip, 24});
    h.set_up("br-t", true);
    h.create_veth("veth-t", "eth0");
    h.set_master("veth-t", "br-t");
    h.set_up("veth-t", true);
    h.set_netns("eth0", container.fd());
    h.create_veth("up-t", "eth0");
    h.add_address("up-t", Ipv4Net{uplink_ip, 24});
    h.set_up("up-t", true);
    h.set_netns("eth0", outside.fd());

    Netlink c = Netlink::in_netns(container.fd());
    c.add_address("eth0", Ipv4Net{container_ip, 24});
    c.set_up("eth0", true);
    c.add_route(Route{net("0.0.0.0/0"), bridge_ip, c.ifindex("eth0")});

    Netlink o = Netlink::in_netns(outside.fd());
    o.add_address("eth0", Ipv4Net{outside_ip, 24});
    o.set_up("eth0", true);
    o.add_route(Route{net("0.0.0.0/0"), uplink_ip, o.ifindex("eth0")});
  }
  berth::sdk::net::write_sysctl_in(host.fd(), "net/ipv4/ip_forward", "1");
  berth::sdk::net::write_sysctl_in(host.fd(), "net/ipv4/conf/br-t/route_localnet", "1");

  UniqueFd listener = tcp_socket_in(container);
  auto any = sockaddr_of(Ipv4{}, 0);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<const ::sockaddr*>(&any), sizeof any), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<::sockaddr*>(&bound), &len), 0);
  const std::uint16_t container_port = ntohs(bound.sin_port);
  const std::uint16_t published = container_port == 5555 ? 5556 : 5555;

  const auto table = unique_table();
  auto rs = bridge_ruleset(
      table, {network("br-t", "10.232.0.0/24")},
      {port(IPPROTO_TCP, "0.0.0.0", published, "10.232.0.2", container_port, "br-t")});
  host.run([&] { berth::sdk::net::apply(rs); });

  {
    UniqueFd client = tcp_socket_in(host);
    EXPECT_EQ(connect_and_get_peer(client.get(), listener.get(), ip("127.0.0.1"), published),
              bridge_ip)
        << "loopback traffic is masqueraded to the bridge address";
  }
  {
    UniqueFd client = tcp_socket_in(host);
    EXPECT_EQ(connect_and_get_peer(client.get(), listener.get(), uplink_ip, published), bridge_ip);
  }
  {
    UniqueFd client = tcp_socket_in(outside);
    EXPECT_EQ(connect_and_get_peer(client.get(), listener.get(), uplink_ip, published), outside_ip)
        << "outside clients keep their address";
  }
  {
    // The container's own traffic out of the bridge is masqueraded.
    UniqueFd outside_listener = tcp_socket_in(outside);
    ASSERT_EQ(::bind(outside_listener.get(), reinterpret_cast<const ::sockaddr*>(&any), sizeof any),
              0);
    ASSERT_EQ(::listen(outside_listener.get(), 4), 0);
    len = sizeof bound;
    ASSERT_EQ(::getsockname(outside_listener.get(), reinterpret_cast<::sockaddr*>(&bound), &len),
              0);
    UniqueFd client = tcp_socket_in(container);
    EXPECT_EQ(connect_and_get_peer(client.get(), outside_listener.get(), outside_ip,
                                   ntohs(bound.sin_port)),
              uplink_ip);
  }
}

}  // namespace
