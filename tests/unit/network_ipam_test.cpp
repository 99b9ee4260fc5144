// The core's IPAM and published-port parsing: pure functions, no kernel.
#include "berth/core/network/ipam.hpp"
#include "berth/core/network/ports.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace berth::core::network {
namespace {

namespace json = boost::json;

Ipv4Net net(const char* text) { return *Ipv4Net::parse(text); }

TEST(Ipam, AddressArithmetic) {
  EXPECT_FALSE(Ipv4::parse("10.0.0.256"));
  EXPECT_FALSE(Ipv4::parse("10.0.0"));
  EXPECT_FALSE(Ipv4Net::parse("10.0.0.0/33"));
  EXPECT_FALSE(Ipv4Net::parse("10.0.0.0"));
  auto n = net("10.1.2.3/24");
  EXPECT_EQ(n.subnet().str(), "10.1.2.0/24");
  EXPECT_EQ(n.broadcast().str(), "10.1.2.255");
  EXPECT_TRUE(n.contains(*Ipv4::parse("10.1.2.200")));
  EXPECT_FALSE(n.contains(*Ipv4::parse("10.1.3.1")));
  EXPECT_TRUE(net("10.0.0.0/8").overlaps(net("10.1.0.0/16")));
  EXPECT_TRUE(net("10.1.0.0/16").overlaps(net("10.0.0.0/8")));
  EXPECT_FALSE(net("10.1.0.0/16").overlaps(net("10.2.0.0/16")));
}

TEST(Ipam, DefaultPoolsAreDockers) {
  auto pools = default_pools();
  ASSERT_FALSE(pools.empty());
  EXPECT_EQ(pools.front().base.str(), "172.17.0.0/16");
  EXPECT_EQ(pools.back().base.str(), "192.168.0.0/16");
  EXPECT_EQ(pools.back().size, 20);
}

TEST(Ipam, PickSubnetSkipsWhatIsTaken) {
  std::vector<AddressPool> pools{{net("10.9.0.0/16"), 24}};
  EXPECT_EQ(pick_subnet(pools, {}).value().str(), "10.9.0.0/24");
  // A berth network and a host route (wider than a pool subnet) are both skipped.
  EXPECT_EQ(pick_subnet(pools, {net("10.9.0.0/24"), net("10.9.2.0/23")}).value().str(), "10.9.1.0/24");
  auto picked = pick_subnet(pools, {net("10.9.0.0/24"), net("10.9.1.0/24"), net("10.9.2.0/23")});
  EXPECT_EQ(picked.value().str(), "10.9.4.0/24");
  // A host route covering the whole pool leaves nothing.
  auto none = pick_subnet(pools, {net("10.0.0.0/8")});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("non-overlapping"), std::string::npos);
}

TEST(Ipam, AllocateSkipsNetworkBroadcastAndTaken) {
  auto subnet = net("10.5.0.0/29");  // .0 network, .7 broadcast
  std::set<std::uint32_t> taken{Ipv4::parse("10.5.0.1")->value};
  EXPECT_EQ(allocate_address(subnet, std::nullopt, taken).value().str(), "10.5.0.2");
  for (const char* a : {"10.5.0.2", "10.5.0.3", "10.5.0.4", "10.5.0.5", "10.5.0.6"}) taken.insert(Ipv4::parse(a)->value);
  auto full = allocate_address(subnet, std::nullopt, taken);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Errc::unavailable);
  // Within an ip-range only.
  auto wide = net("10.6.0.0/16");
  EXPECT_EQ(allocate_address(wide, net("10.6.5.0/24"), {}).value().str(), "10.6.5.0");
}

TEST(Ports, BindingsAndPublishAll) {
  auto hc = json::parse(R"({"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                                             "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
                                             "443": [{"HostPort": "9000-9010"}]},
                           "PublishAllPorts": true})").as_object();
  auto r = port_requests(hc, {"80/tcp", "9090/tcp"});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r.value().size(), 4u);
  std::map<std::string, PortRequest> by;
  for (const auto& p : r.value()) by[std::to_string(p.container_port) + "/" + p.protocol] = p;
  EXPECT_EQ(by["80/tcp"].host_port_first, 8080);
  EXPECT_EQ(by["53/udp"].host_ip, "127.0.0.1");
  EXPECT_EQ(by["53/udp"].host_port_first, 0);
  EXPECT_EQ(by["443/tcp"].host_port_first, 9000);
  EXPECT_EQ(by["443/tcp"].host_port_last, 9010);
  EXPECT_EQ(by["9090/tcp"].host_port_first, 0);  // exposed, published by -P
}

TEST(Ports, BadBindingsAreRefused) {
  for (const char* bad : {R"({"PortBindings": {"x/tcp": []}})", R"({"PortBindings": {"80/icmp": []}})",
                          R"({"PortBindings": {"80/tcp": [{"HostPort": "70000"}]}})",
                          R"({"PortBindings": {"80/tcp": [{"HostPort": "9-1"}]}})",
                          R"({"PortBindings": {"80/tcp": [{"HostIp": "not-an-ip"}]}})",
                          R"({"PortBindings": []})"}) {
    auto r = port_requests(json::parse(bad).as_object(), {});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << bad;
  }
}

TEST(Ports, ReservationHoldsThePortUntilReleased) {
  auto first = PortReservation::reserve({PortRequest{"tcp", 80, "127.0.0.1", 0, 0}});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first.value().mappings().size(), 1u);
  const auto port = first.value().mappings().front().host_port;
  EXPECT_NE(port, 0);
  auto second = PortReservation::reserve({PortRequest{"tcp", 80, "127.0.0.1", port, port}});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message, "Bind for 127.0.0.1:" + std::to_string(port) + " failed: port is already allocated");
  first = PortReservation{};
  EXPECT_TRUE(PortReservation::reserve({PortRequest{"tcp", 80, "127.0.0.1", port, port}}));
  // JSON round trip of mappings (what endpoints persist).
  std::vector<PortMapping> m{{"udp", *Ipv4::parse("0.0.0.0"), 5353, 53}};
  auto back = mappings_from_json(mappings_json(m));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].protocol, "udp");
  EXPECT_EQ(back[0].host_port, 5353);
  EXPECT_EQ(back[0].container_port, 53);
  EXPECT_EQ(json::serialize(ports_json(m, {"53/udp", "80/tcp"})),
            R"({"53/udp":[{"HostIp":"0.0.0.0","HostPort":"5353"}],"80/tcp":null})");
}

}  // namespace
}  // namespace berth::core::network
