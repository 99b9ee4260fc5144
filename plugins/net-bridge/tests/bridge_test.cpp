// What bridge does beyond the conformance suite, checked in the kernel: the
// sandbox's interface, the bridge and its address, traffic between
// containers and through a published port, clean removal and restoring
// after a daemon restart. Each test runs the driver inside a network
// namespace of its own ("home"), which stands in for the host's.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "berth/plugins/net_bridge.h"
#include "berth/sdk/net/netlink.hpp"
#include "berth/sdk/net/netns.hpp"
#include "berth/sdk/net/nft.hpp"
#include "berth/sdk/status.hpp"
#include "berth/sdk/testing/driver_under_test.hpp"
#include "berth/sdk/testing/fake_host.hpp"
#include "berth/sdk/types.hpp"
#include "berth/sdk/unique_fd.hpp"

namespace {

namespace json = boost::json;
using berth::sdk::to_berth_str;
using berth::sdk::UniqueFd;
using berth::sdk::net::Ipv4Net;
using berth::sdk::net::Netlink;
using berth::sdk::testing::DriverSource;
using berth::sdk::testing::DriverUnderTest;
using berth::sdk::testing::FakeError;
using berth::sdk::testing::FakeHost;
using berth::sdk::testing::FakeOut;

const std::string kBridge = "berth-test-br0";

std::string id_of(char c) { return std::string(64, c); }

// A network namespace kept by a bind mount under `dir`, removed with it.
class Netns {
 public:
  explicit Netns(const std::string& path) : path_(path) {
    berth::sdk::net::create_named_netns(path_);
    fd_ = berth::sdk::net::open_netns(path_);
  }
  ~Netns() {
    fd_.reset();
    try {
      berth::sdk::net::remove_named_netns(path_);
    } catch (...) {
    }
  }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }
  void run(const std::function<void()>& fn) const { berth::sdk::net::run_in_netns(fd_.get(), fn); }

 private:
  std::string path_;
  UniqueFd fd_;
};

// A socket made inside `ns` (it stays bound to it), bound to addr:port.
UniqueFd socket_in(const Netns& ns, int type, const std::string& addr, std::uint16_t port) {
  UniqueFd fd;
  ns.run([&] {
    fd.reset(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    if (!fd) throw std::runtime_error("socket");
    const int on = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    const timeval timeout{3, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (!addr.empty()) {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(port);
      ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
      if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        throw std::runtime_error("bind " + addr + ": " + std::to_string(errno));
      }
    }
  });
  return fd;
}

sockaddr_in address(const std::string& addr, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  return sa;
}

// Connects from `ns` to addr:port; returns 0 or the errno.
int connect_from(const Netns& ns, const std::string& addr, std::uint16_t port) {
  UniqueFd fd = socket_in(ns, SOCK_STREAM, "", 0);
  const sockaddr_in sa = address(addr, port);
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0 ? 0 : errno;
}

class BridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, bridges, nftables)";
    table_ = "berth-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_);
    host_ = std::make_unique<FakeHost>(config());
    home_ = std::make_unique<Netns>(host_->root().string() + "/home");
    start();
  }
  void TearDown() override {
    driver_.reset();
    sandboxes_.clear();
    home_.reset();
    host_.reset();
  }

  std::string config() const {
    return R"({"nft_table":")" + table_ +
           R"(","interface_prefix":"berth-test-","bridge_prefix":"berth-test-","mtu":1500})";
  }

  // Loads and initialises the driver inside home (as berthd would at start).
  void start() {
    driver_ = std::make_unique<DriverUnderTest>(
        DriverSource::builtin("builtin", &berth_builtin_net_bridge), *host_);
    home_->run([&] { ASSERT_EQ(driver_->init(), BERTH_OK) << driver_->init_error(); });
  }
  void restart() {
    driver_->shutdown();
    driver_.reset();
    start();
  }

  const Netns& sandbox(const std::string& name) {
    sandboxes_.push_back(std::make_unique<Netns>(host_->root().string() + "/" + name));
    return *sandboxes_.back();
  }

  // Calls one table function; returns its status, keeps message and result.
  template <class F>
  berth_status call(F&& f) {
    FakeError err;
    FakeOut out;
    const berth_status status = f(err.raw(), out.raw());
    error_ = err.message();
    result_ = out.text();
    return status;
  }
  const berth_network_v1& t() { return driver_->network(); }
  void* self() { return driver_->instance(); }

  berth_status create_network(const std::string& id, const std::string& spec) {
    return call([&](berth_error* e, berth_out*) {
      return t().create_network(self(), to_berth_str(id), to_berth_str(spec), e);
    });
  }
  berth_status delete_network(const std::string& id) {
    return call([&](berth_error* e, berth_out*) {
      return t().delete_network(self(), to_berth_str(id), e);
    });
  }
  berth_status create_endpoint(const std::string& net, const std::string& ep,
                               const std::string& address) {
    const std::string spec = R"({"Address":")" + address + R"(","MacAddress":""})";
    return call([&](berth_error* e, berth_out* o) {
      return t().create_endpoint(self(), to_berth_str(net), to_berth_str(ep), to_berth_str(spec), o,
                                 e);
    });
  }
  berth_status delete_endpoint(const std::string& net, const std::string& ep) {
    return call([&](berth_error* e, berth_out*) {
      return t().delete_endpoint(self(), to_berth_str(net), to_berth_str(ep), e);
    });
  }
  berth_status join(const std::string& net, const std::string& ep, const Netns& sb) {
    const std::string opts = R"({"InterfaceName":"eth0"})";
    return call([&](berth_error* e, berth_out* o) {
      return t().join(self(), to_berth_str(net), to_berth_str(ep), to_berth_str(sb.path()),
                      to_berth_str(opts), o, e);
    });
  }
  berth_status leave(const std::string& net, const std::string& ep) {
    return call([&](berth_error* e, berth_out*) {
      return t().leave(self(), to_berth_str(net), to_berth_str(ep), e);
    });
  }
  berth_status program(const std::string& net, const std::string& ep, const std::string& opts) {
    return call([&](berth_error* e, berth_out*) {
      return t().program_external_connectivity(self(), to_berth_str(net), to_berth_str(ep),
                                               to_berth_str(opts), e);
    });
  }
  berth_status revoke(const std::string& net, const std::string& ep) {
    return call([&](berth_error* e, berth_out*) {
      return t().revoke_external_connectivity(self(), to_berth_str(net), to_berth_str(ep), e);
    });
  }

  static std::string spec(const std::string& bridge, bool internal = false) {
    std::string options =
        bridge.empty() ? "{}" : R"({"com.docker.network.bridge.name":")" + bridge + R"("})";
    return R"({"Name":"test","Options":)" + options + R"(,"Internal":)" +
           (internal ? "true" : "false") +
           R"(,"EnableIPv6":false,"IPv4":[{"Subnet":"10.77.0.0/24","Gateway":"10.77.0.1","IPRange":""}]})";
  }

  Netlink home_netlink() { return Netlink::in_netns(home_->fd()); }

  static inline int counter_ = 0;
  std::string table_;
  std::unique_ptr<FakeHost> host_;
  std::unique_ptr<Netns> home_;
  std::vector<std::unique_ptr<Netns>> sandboxes_;
  std::unique_ptr<DriverUnderTest> driver_;
  std::string error_;
  std::string result_;
};

TEST_F(BridgeTest, NetworkIsABridgeWithTheGatewayAddress) {
  ASSERT_EQ(create_network(id_of('a'), spec(kBridge)), BERTH_OK) << error_;
  Netlink nl = home_netlink();
  const auto bridge = nl.link(kBridge);
  ASSERT_TRUE(bridge);
  EXPECT_EQ(bridge->kind, "bridge");
  EXPECT_TRUE(bridge->up);
  EXPECT_EQ(bridge->mtu, 1500);
  EXPECT_EQ(nl.addresses(kBridge), std::vector<Ipv4Net>{*Ipv4Net::parse("10.77.0.1/24")});
  EXPECT_EQ(
      berth::sdk::net::read_sysctl_in(home_->fd(), "net/ipv4/conf/" + kBridge + "/forwarding"),
      "1");
  EXPECT_EQ(
      berth::sdk::net::read_sysctl_in(home_->fd(), "net/ipv4/conf/" + kBridge + "/route_localnet"),
      "1");
  home_->run([&] { EXPECT_TRUE(berth::sdk::net::table_exists(table_)); });
}

TEST_F(BridgeTest, GeneratedBridgeNamesUseThePrefix) {
  ASSERT_EQ(create_network(id_of('a'), spec("")), BERTH_OK) << error_;
  std::vector<std::string> bridges;
  for (const auto& l : home_netlink().links()) {
    if (l.kind == "bridge") bridges.push_back(l.name);
  }
  ASSERT_EQ(bridges.size(), 1U);
  EXPECT_EQ(bridges[0].rfind("berth-test-", 0), 0U) << bridges[0];
  EXPECT_EQ(bridges[0].size(), 15U) << bridges[0];
}

TEST_F(BridgeTest, JoinPutsEth0WithAddressAndMacIntoTheSandbox) {
  ASSERT_EQ(create_network(id_of('a'), spec(kBridge)), BERTH_OK) << error_;
  ASSERT_EQ(create_endpoint(id_of('a'), id_of('e'), "10.77.0.2/24"), BERTH_OK) << error_;
  EXPECT_EQ(json::parse(result_).at("MacAddress").as_string(), "02:42:0a:4d:00:02");
  const Netns& sb = sandbox("sb");
  ASSERT_EQ(join(id_of('a'), id_of('e'), sb), BERTH_OK) << error_;
  EXPECT_EQ(json::parse(result_).at("Gateway").as_string(), "10.77.0.1");

  Netlink inside = Netlink::in_netns(sb.fd());
  const auto eth0 = inside.link("eth0");
  ASSERT_TRUE(eth0);
  EXPECT_TRUE(eth0->up);
  EXPECT_EQ(eth0->mac, "02:42:0a:4d:00:02");
  EXPECT_EQ(eth0->mtu, 1500);
  EXPECT_EQ(inside.addresses("eth0"), std::vector<Ipv4Net>{*Ipv4Net::parse("10.77.0.2/24")});
  // No default route: the core adds it for the gateway network it picks.
  for (const auto& r : inside.routes()) EXPECT_NE(r.destination.prefix, 0) << "a default route";

  // The host end is on the bridge, up.
  Netlink nl = home_netlink();
  const int bridge = nl.ifindex(kBridge);
  int ports = 0;
  for (const auto& l : nl.links()) {
    if (l.master == bridge) {
      ++ports;
      EXPECT_EQ(l.name.rfind("berth-test-", 0), 0U) << l.name;
      EXPECT_TRUE(l.up) << l.name;
    }
  }
  EXPECT_EQ(ports, 1);

  ASSERT_EQ(leave(id_of('a'), id_of('e')), BERTH_OK) << error_;
  EXPECT_FALSE(inside.exists("eth0"));
  for (const auto& l : nl.links()) EXPECT_NE(l.master, bridge) << l.name;
}

TEST_F(BridgeTest, TwoContainersOnOneNetworkTalk) {
  ASSERT_EQ(create_network(id_of('a'), spec(kBridge)), BERTH_OK) << error_;
  ASSERT_EQ(create_endpoint(id_of('a'), id_of('1'), "10.77.0.2/24"), BERTH_OK) << error_;
  ASSERT_EQ(create_endpoint(id_of('a'), id_of('2'), "10.77.0.3/24"), BERTH_OK) << error_;
  const Netns& one = sandbox("one");
  const Netns& two = sandbox("two");
  ASSERT_EQ(join(id_of('a'), id_of('1'), one), BERTH_OK) << error_;
  ASSERT_EQ(join(id_of('a'), id_of('2'), two), BERTH_OK) << error_;

  UniqueFd receiver = socket_in(two, SOCK_DGRAM, "10.77.0.3", 9999);
  UniqueFd sender = socket_in(one, SOCK_DGRAM, "10.77.0.2", 0);
  const sockaddr_in to = address("10.77.0.3", 9999);
  ASSERT_EQ(::sendto(sender.get(), "ping", 4, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
            4);
  char buf[16] = {};
  ASSERT_EQ(::recv(receiver.get(), buf, sizeof buf, 0), 4) << "errno " << errno;
  EXPECT_EQ(std::string(buf, 4), "ping");

  // And the host reaches a container through the bridge.
  UniqueFd listener = socket_in(two, SOCK_STREAM, "10.77.0.3", 7777);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  EXPECT_EQ(connect_from(*home_, "10.77.0.3", 7777), 0);
}

TEST_F(BridgeTest, PublishedPortReachesTheContainerUntilRevoked) {
  ASSERT_EQ(create_network(id_of('a'), spec(kBridge)), BERTH_OK) << error_;
  ASSERT_EQ(create_endpoint(id_of('a'), id_of('e'), "10.77.0.2/24"), BERTH_OK) << error_;
  const Netns& sb = sandbox("sb");
  ASSERT_EQ(join(id_of('a'), id_of('e'), sb), BERTH_OK) << error_;
  // The container replies through its gateway.
  Netlink::in_netns(sb.fd()).add_route(
      {*Ipv4Net::parse("0.0.0.0/0"), berth::sdk::net::Ipv4::parse("10.77.0.1"), 0});
  UniqueFd listener = socket_in(sb, SOCK_STREAM, "0.0.0.0", 80);
  ASSERT_EQ(::listen(listener.get(), 4), 0);

  ASSERT_EQ(
      program(
          id_of('a'), id_of('e'),
          R"({"PortBindings":[{"Proto":"tcp","HostIP":"","HostPort":"8080","ContainerPort":"80"}]})"),
      BERTH_OK)
      << error_;
  EXPECT_EQ(connect_from(*home_, "10.77.0.1", 8080), 0);
  ASSERT_EQ(revoke(id_of('a'), id_of('e')), BERTH_OK) << error_;
  EXPECT_EQ(connect_from(*home_, "10.77.0.1", 8080), ECONNREFUSED);
}

TEST_F(BridgeTest, InternalNetworkGivesNoGateway) {
  ASSERT_EQ(create_network(id_of('a'), spec(kBridge, true)), BERTH_OK) << error_;
  ASSERT_EQ(create_endpoint(id_of('a'), id_of('e'), "10.77.0.2/24"), BERTH_OK) << error_;
  const Netns& sb = sandbox("sb");
  ASSERT_EQ(join(id_of('a'), id_of('e'), sb), BERTH_OK) << error_;
  EXPECT_EQ(json::parse(result_).at("Gateway").as_string(), "");
}

TEST_F(BridgeTest, DeleteNetworkRemovesTheBridgeAndTheTable) {
  ASSERT_EQ(create_network(id_of('a'), spec(kBridge)), BERTH_OK) << error_;
  ASSERT_EQ(create_endpoint(id_of('a'), id_of('e'), "10.77.0.2/24"), BERTH_OK) << error_;
  EXPECT_EQ(delete_network(id_of('a')), BERTH_E_CONFLICT) << "an endpoint is still on it";
  ASSERT_EQ(delete_endpoint(id_of('a'), id_of('e')), BERTH_OK) << error_;
  ASSERT_EQ(delete_network(id_of('a')), BERTH_OK) << error_;
  EXPECT_EQ(home_netlink().link_names(), std::vector<std::string>{"lo"});
  home_->run([&] { EXPECT_FALSE(berth::sdk::net::table_exists(table_)); });
}

TEST_F(BridgeTest, AnExistingNonBridgeNameIsAConflict) {
  home_netlink().create_veth(kBridge, "berth-test-peer");
  EXPECT_EQ(create_network(id_of('a'), spec(kBridge)), BERTH_E_CONFLICT);
  EXPECT_NE(error_.find(kBridge), std::string::npos) << error_;
}

TEST_F(BridgeTest, AnAdministratorsBridgeIsUsedAndLeftBehind) {
  home_netlink().create_bridge(kBridge);
  ASSERT_EQ(create_network(id_of('a'), spec(kBridge)), BERTH_OK) << error_;
  ASSERT_EQ(delete_network(id_of('a')), BERTH_OK) << error_;
  Netlink nl = home_netlink();
  EXPECT_TRUE(nl.exists(kBridge));
  EXPECT_TRUE(nl.addresses(kBridge).empty());
}

TEST_F(BridgeTest, RestartRestoresWhatIsMissingAndKeepsEndpoints) {
  ASSERT_EQ(create_network(id_of('a'), spec(kBridge)), BERTH_OK) << error_;
  ASSERT_EQ(create_endpoint(id_of('a'), id_of('e'), "10.77.0.2/24"), BERTH_OK) << error_;
  const Netns& sb = sandbox("sb");
  ASSERT_EQ(join(id_of('a'), id_of('e'), sb), BERTH_OK) << error_;

  // Shutdown leaves the container connected.
  driver_->shutdown();
  EXPECT_TRUE(home_netlink().exists(kBridge));
  EXPECT_TRUE(Netlink::in_netns(sb.fd()).exists("eth0"));

  // As after a reboot: the bridge and the table are gone.
  home_netlink().delete_link(kBridge);
  home_->run([&] { berth::sdk::net::delete_table(table_); });
  driver_.reset();
  start();
  Netlink nl = home_netlink();
  ASSERT_TRUE(nl.exists(kBridge));
  EXPECT_EQ(nl.addresses(kBridge), std::vector<Ipv4Net>{*Ipv4Net::parse("10.77.0.1/24")});
  home_->run([&] { EXPECT_TRUE(berth::sdk::net::table_exists(table_)); });

  // The core re-creates its networks; the endpoint is still known.
  EXPECT_EQ(create_network(id_of('a'), spec(kBridge)), BERTH_OK) << error_;
  EXPECT_EQ(leave(id_of('a'), id_of('e')), BERTH_OK) << error_;
  EXPECT_EQ(delete_endpoint(id_of('a'), id_of('e')), BERTH_OK) << error_;
  EXPECT_EQ(delete_network(id_of('a')), BERTH_OK) << error_;
}

TEST_F(BridgeTest, BadOptionsAreRefusedAtInit) {
  FakeHost host(R"({"nft_table":"x","unknown":1})");
  DriverUnderTest driver(DriverSource::builtin("builtin", &berth_builtin_net_bridge), host);
  home_->run([&] { EXPECT_EQ(driver.init(), BERTH_E_INVALID_ARGUMENT); });
  EXPECT_NE(driver.init_error().find("unknown"), std::string::npos) << driver.init_error();
}

TEST_F(BridgeTest, AddressOutsideTheSubnetIsInvalid) {
  ASSERT_EQ(create_network(id_of('a'), spec(kBridge)), BERTH_OK) << error_;
  EXPECT_EQ(create_endpoint(id_of('a'), id_of('e'), "10.78.0.2/24"), BERTH_E_INVALID_ARGUMENT);
  EXPECT_EQ(create_network(id_of('b'), R"({"Name":"x","IPv4":[]})"), BERTH_E_INVALID_ARGUMENT);
}

}  // namespace
