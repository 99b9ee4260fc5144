// rtnetlink against the real kernel, inside namespaces the tests create (the
// host's links are never touched), and the sysctl namespace semantics that
// netlink.hpp documents.
#include "berth/sdk/net/netlink.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "berth/sdk/net/netns.hpp"
#include "berth/sdk/status.hpp"
#include "berth/sdk/net/testing.hpp"

namespace {

using berth::sdk::Errc;
using berth::sdk::Error;
using berth::sdk::net::Ipv4;
using berth::sdk::net::Ipv4Net;
using berth::sdk::net::Netlink;
using berth::sdk::net::Route;
using berth::sdk::net::testing::is_root;
using berth::sdk::net::testing::PrivateNetns;

Ipv4Net net(const char* text) { return *Ipv4Net::parse(text); }
Ipv4 ip(const char* text) { return *Ipv4::parse(text); }

template <class F>
Errc error_of(F&& f, std::string* message = nullptr) {
  try {
    std::forward<F>(f)();
  } catch (const Error& e) {
    if (message != nullptr) *message = e.what();
    return e.code();
  }
  return Errc::ok;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// /sys/class/net shows the namespace of whoever mounted sysfs, so a private
// namespace's links are read through a sysfs mount made inside it.
std::string slurp_in(const PrivateNetns& ns, const std::string& path) {
  std::string out;
  ns.run([&] {
    // A thread of its own for the mount namespace too, so the mount ends with it.
    if (::unshare(CLONE_NEWNS) != 0) throw std::runtime_error("unshare mount namespace");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("sysfs", "/sys", "sysfs", 0, nullptr) != 0) {
      throw std::runtime_error("mount sysfs");
    }
    out = slurp(path);
  });
  return out;
}

bool has_route(const std::vector<Route>& routes, const Route& want) {
  return std::any_of(routes.begin(), routes.end(), [&](const Route& r) {
    return r.destination == want.destination && r.gateway == want.gateway &&
           (want.ifindex == 0 || r.ifindex == want.ifindex);
  });
}

class NetlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "needs root (creates network namespaces and links)";
    ns_ = std::make_unique<PrivateNetns>();
    nl_ = Netlink::in_netns(ns_->fd());
  }

  std::unique_ptr<PrivateNetns> ns_;
  Netlink nl_ = Netlink();
};

TEST_F(NetlinkTest, BridgeCreateExistsDelete) {
  EXPECT_FALSE(nl_.exists("b0"));
  nl_.create_bridge("b0", 1400);
  ASSERT_TRUE(nl_.exists("b0"));
  const auto link = nl_.link("b0");
  ASSERT_TRUE(link);
  EXPECT_EQ(link->kind, "bridge");
  EXPECT_EQ(link->mtu, 1400);
  EXPECT_FALSE(link->up);
  EXPECT_EQ(link->index, nl_.ifindex("b0"));
  EXPECT_EQ(link->mac.size(), 17U);

  std::string message;
  EXPECT_EQ(error_of([&] { nl_.create_bridge("b0"); }, &message), Errc::already_exists);
  EXPECT_EQ(message.rfind("create bridge b0: ", 0), 0U) << message;

  nl_.delete_link("b0");
  EXPECT_FALSE(nl_.exists("b0"));
  EXPECT_FALSE(nl_.link("b0"));
  EXPECT_NO_THROW(nl_.delete_link("b0"));
}

TEST_F(NetlinkTest, NamesAreCheckedBeforeTheKernelSeesThem) {
  EXPECT_EQ(error_of([&] { nl_.create_bridge("sixteen-chars-xx"); }), Errc::invalid_argument);
  EXPECT_EQ(error_of([&] { nl_.create_bridge(""); }), Errc::invalid_argument);
  EXPECT_EQ(error_of([&] { nl_.ifindex("a/b"); }), Errc::invalid_argument);
  nl_.create_bridge("fifteen-chars-x");
  EXPECT_TRUE(nl_.exists("fifteen-chars-x"));
}

TEST_F(NetlinkTest, LinksListsEverything) {
  nl_.create_bridge("b0");
  nl_.create_veth("v0", "v1");
  auto names = nl_.link_names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"b0", "lo", "v0", "v1"}));
}

TEST_F(NetlinkTest, VethMasterUpDownMtuMac) {
  nl_.create_bridge("b0");
  nl_.create_veth("v0", "v1", 1450);
  const auto v0 = nl_.link("v0");
  const auto v1 = nl_.link("v1");
  ASSERT_TRUE(v0 && v1);
  EXPECT_EQ(v0->kind, "veth");
  EXPECT_EQ(v1->kind, "veth");
  EXPECT_EQ(v0->mtu, 1450);
  EXPECT_EQ(v1->mtu, 1450);

  nl_.set_master("v0", "b0");
  EXPECT_EQ(nl_.link("v0")->master, nl_.ifindex("b0"));
  nl_.set_master("v0", "");
  EXPECT_EQ(nl_.link("v0")->master, 0);
  EXPECT_EQ(error_of([&] { nl_.set_master("v0", "nope"); }), Errc::not_found);

  nl_.set_master("v0", "b0");
  nl_.set_hairpin("v0", true);
  EXPECT_NE(slurp_in(*ns_, "/sys/class/net/v0/brport/hairpin_mode"), "0\n");
  nl_.set_hairpin("v0", false);
  EXPECT_EQ(slurp_in(*ns_, "/sys/class/net/v0/brport/hairpin_mode"), "0\n");
  nl_.set_master("v0", "");
  EXPECT_EQ(error_of([&] { nl_.set_hairpin("v0", true); }), Errc::unsupported)
      << "not a bridge port";

  nl_.set_up("v0", true);
  EXPECT_TRUE(nl_.link("v0")->up);
  nl_.set_up("v0", false);
  EXPECT_FALSE(nl_.link("v0")->up);

  nl_.set_mtu("v0", 1300);
  EXPECT_EQ(nl_.link("v0")->mtu, 1300);
  std::string message;
  EXPECT_EQ(error_of([&] { nl_.set_mtu("v0", 70000); }, &message), Errc::invalid_argument);
  EXPECT_NE(message.find("v0"), std::string::npos) << message;

  nl_.set_mac("v0", "02:42:0A:01:00:02");
  EXPECT_EQ(nl_.mac("v0"), "02:42:0a:01:00:02");
  EXPECT_EQ(error_of([&] { nl_.set_mac("v0", "02:42:0a:01:00"); }), Errc::invalid_argument);
  EXPECT_EQ(error_of([&] { nl_.set_mac("v0", "02:42:0a:01:00:zz"); }), Errc::invalid_argument);

  EXPECT_EQ(error_of([&] { nl_.set_up("nope", true); }), Errc::not_found);
  EXPECT_EQ(error_of([&] { nl_.mac("nope"); }), Errc::not_found);

  // Deleting one end deletes the pair.
  nl_.delete_link("v1");
  EXPECT_FALSE(nl_.exists("v0"));
}

TEST_F(NetlinkTest, MoveToAnotherNamespaceAndRename) {
  PrivateNetns sandbox;
  nl_.create_veth("v0", "v0p");
  nl_.set_netns("v0p", sandbox.fd());
  EXPECT_FALSE(nl_.exists("v0p"));

  Netlink inside = Netlink::in_netns(sandbox.fd());
  ASSERT_TRUE(inside.exists("v0p"));
  inside.rename("v0p", "eth0");
  EXPECT_FALSE(inside.exists("v0p"));
  ASSERT_TRUE(inside.exists("eth0"));
  EXPECT_EQ(inside.link("eth0")->kind, "veth");
  EXPECT_EQ(error_of([&] { inside.rename("nope", "eth1"); }), Errc::not_found);

  // Renaming onto a taken name fails and names the link.
  inside.create_bridge("b1");
  std::string message;
  EXPECT_EQ(error_of([&] { inside.rename("eth0", "b1"); }, &message), Errc::already_exists);
  EXPECT_NE(message.find("rename link eth0 to b1"), std::string::npos) << message;

  // Deleting the host end removes the sandbox end too.
  nl_.delete_link("v0");
  EXPECT_FALSE(inside.exists("eth0"));
}

TEST_F(NetlinkTest, AddListDeleteAddresses) {
  nl_.create_bridge("b0");
  EXPECT_TRUE(nl_.addresses("b0").empty());
  nl_.add_address("b0", net("10.1.0.1/24"));
  nl_.add_address("b0", net("10.1.0.1/24"));  // already there: fine
  nl_.add_address("b0", net("10.9.0.1/16"));
  auto addrs = nl_.addresses("b0");
  std::sort(addrs.begin(), addrs.end(),
            [](const Ipv4Net& a, const Ipv4Net& b) { return a.addr < b.addr; });
  EXPECT_EQ(addrs, (std::vector<Ipv4Net>{net("10.1.0.1/24"), net("10.9.0.1/16")}));
  EXPECT_TRUE(nl_.addresses("lo") == std::vector<Ipv4Net>{net("127.0.0.1/8")});

  nl_.delete_address("b0", net("10.1.0.1/24"));
  EXPECT_EQ(nl_.addresses("b0"), std::vector<Ipv4Net>{net("10.9.0.1/16")});
  EXPECT_NO_THROW(nl_.delete_address("b0", net("10.1.0.1/24")));

  std::string message;
  EXPECT_EQ(error_of([&] { nl_.add_address("nope", net("10.1.0.1/24")); }, &message),
            Errc::not_found);
  EXPECT_EQ(message, "add address 10.1.0.1/24 to nope: no such link");
  EXPECT_EQ(error_of([&] { nl_.addresses("nope"); }), Errc::not_found);
}

TEST_F(NetlinkTest, DefaultAndLinkRoutes) {
  nl_.create_veth("v0", "v1");
  nl_.add_address("v0", net("10.2.0.2/24"));
  nl_.set_up("v1", true);
  nl_.set_up("v0", true);
  const int v0 = nl_.ifindex("v0");

  // The kernel's prefix route for the address.
  EXPECT_TRUE(has_route(nl_.routes(), Route{net("10.2.0.0/24"), std::nullopt, v0}));

  const Route link_route{net("10.3.0.0/16"), std::nullopt, v0};
  const Route default_route{net("0.0.0.0/0"), ip("10.2.0.1"), 0};
  nl_.add_route(link_route);
  nl_.add_route(default_route);
  const auto routes = nl_.routes();
  EXPECT_TRUE(has_route(routes, link_route));
  EXPECT_TRUE(has_route(routes, Route{net("0.0.0.0/0"), ip("10.2.0.1"), v0}));

  std::string message;
  EXPECT_EQ(error_of([&] { nl_.add_route(default_route); }, &message), Errc::already_exists);
  EXPECT_EQ(message.rfind("add route default via 10.2.0.1: ", 0), 0U) << message;
  EXPECT_EQ(error_of([&] {
              nl_.add_route(Route{net("10.4.0.0/16"), std::nullopt, 0});
            }),
            Errc::invalid_argument);

  nl_.delete_route(default_route);
  nl_.delete_route(link_route);
  EXPECT_NO_THROW(nl_.delete_route(link_route));
  EXPECT_FALSE(has_route(nl_.routes(), default_route));
  EXPECT_FALSE(has_route(nl_.routes(), link_route));
}

TEST_F(NetlinkTest, NetlinkOnAThreadInTheNamespace) {
  ns_->run([] {
    Netlink nl;
    nl.create_bridge("b0");
    EXPECT_TRUE(nl.exists("b0"));
  });
  EXPECT_TRUE(nl_.exists("b0"));
}

// /proc/sys/net follows the namespace of the thread that opens the file;
// /proc/self/net follows the thread-group leader's (see netlink.hpp).
TEST_F(NetlinkTest, SysctlsFollowTheOpeningThreadsNamespace) {
  nl_.create_bridge("b0");
  const std::string key = "net/ipv4/conf/b0/forwarding";
  // b0 exists only in the private namespace: this thread cannot see its sysctls.
  EXPECT_EQ(error_of([&] { berth::sdk::net::read_sysctl(key); }), Errc::not_found);

  berth::sdk::net::write_sysctl_in(ns_->fd(), key, "1");
  EXPECT_EQ(berth::sdk::net::read_sysctl_in(ns_->fd(), key), "1");
  berth::sdk::net::write_sysctl_in(ns_->fd(), "net/ipv4/conf/b0/route_localnet", "1");
  ns_->run([] {
    EXPECT_EQ(berth::sdk::net::read_sysctl("net/ipv4/conf/b0/route_localnet"), "1");
    berth::sdk::net::write_sysctl("net/ipv4/conf/b0/forwarding", "0");
    EXPECT_EQ(berth::sdk::net::read_sysctl("net/ipv4/conf/b0/forwarding"), "0");
    // Same thread, but the leader's /proc/self/net is still the host's.
    EXPECT_NE(slurp("/proc/thread-self/net/dev").find(" b0:"), std::string::npos);
    EXPECT_EQ(slurp("/proc/self/net/dev").find(" b0:"), std::string::npos);
  });

  std::string message;
  EXPECT_EQ(
      error_of([&] { berth::sdk::net::write_sysctl_in(ns_->fd(), "net/ipv4/conf/b0/nope", "1"); },
               &message),
      Errc::not_found);
  EXPECT_NE(message.find("net/ipv4/conf/b0/nope"), std::string::npos) << message;
  EXPECT_EQ(error_of([&] { berth::sdk::net::read_sysctl("../etc/passwd"); }),
            Errc::invalid_argument);
  EXPECT_EQ(error_of([&] { berth::sdk::net::read_sysctl("/net/ipv4/ip_forward"); }),
            Errc::invalid_argument);
}

TEST_F(NetlinkTest, SysctlDescriptorKeepsItsNamespace) {
  nl_.create_bridge("b0");
  berth::sdk::UniqueFd fd;
  ns_->run(
      [&] { fd.reset(::open("/proc/sys/net/ipv4/conf/b0/forwarding", O_WRONLY | O_CLOEXEC)); });
  ASSERT_TRUE(fd);
  ASSERT_EQ(::write(fd.get(), "1", 1), 1);
  EXPECT_EQ(berth::sdk::net::read_sysctl_in(ns_->fd(), "net/ipv4/conf/b0/forwarding"), "1");
}

}  // namespace
