// nftables rulesets through libnftnl, checked against the kernel and nft(8).
// Every table lives in a network namespace of the test's own; nft(8) is run
// inside it through nsenter, for verification only.
#include "berth/sdk/net/nft.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "berth/sdk/net/netlink.hpp"
#include "berth/sdk/status.hpp"
#include "berth/sdk/unique_fd.hpp"
#include "berth/sdk/net/testing.hpp"

namespace {

using berth::sdk::Errc;
using berth::sdk::Error;
using berth::sdk::UniqueFd;
using berth::sdk::net::testing::sockaddr_of;
using berth::sdk::net::testing::tcp_socket_in;
using berth::sdk::net::apply;
using berth::sdk::net::ChainType;
using berth::sdk::net::delete_table;
using berth::sdk::net::Hook;
using berth::sdk::net::Ipv4;
using berth::sdk::net::Ipv4Net;
using berth::sdk::net::Netlink;
using berth::sdk::net::Rule;
using berth::sdk::net::Ruleset;
using berth::sdk::net::table_exists;
using berth::sdk::net::testing::is_root;
using berth::sdk::net::testing::PrivateNetns;

std::string unique_table() {
  static std::atomic<int> n{0};
  return "berth-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

Ipv4 ip(const char* text) { return *Ipv4::parse(text); }
Ipv4Net net(const char* text) { return *Ipv4Net::parse(text); }

struct Command {
  int status = -1;
  std::string output;  // stdout and stderr
};

Command run(const std::string& command) {
  Command result;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return result;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) result.output.append(buf, n);
  result.status = ::pclose(p);
  return result;
}

class NftTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "needs root (creates network namespaces and nftables tables)";
    if (run("nft --version").status != 0)
      GTEST_SKIP() << "nft(8) is not installed (used to verify)";
    ns_ = std::make_unique<PrivateNetns>();
  }

  // `nft list table ip <table>` inside the namespace; "" when it fails.
  std::string list(const std::string& table) const {
    auto r = run("nsenter --net=" + ns_->path() + " nft list table ip " + table);
    return r.status == 0 ? r.output : std::string();
  }

  void apply_in_ns(const Ruleset& rs) const {
    ns_->run([&] { apply(rs); });
  }

  std::unique_ptr<PrivateNetns> ns_;
};

// One of each matcher and action, in the chains the bridge driver uses.
Ruleset every_kind(const std::string& table) {
  Ruleset rs(table);
  rs.chain("prerouting", Hook::prerouting, ChainType::nat, -100);
  rs.chain("output", Hook::output, ChainType::nat, -100);
  rs.chain("postrouting", Hook::postrouting, ChainType::nat, 100);
  rs.chain("forward", Hook::forward, ChainType::filter, 0);
  rs.chain("ports");
  rs.rule("prerouting", Rule().daddr_local().jump("ports"));
  rs.rule("output", Rule().daddr_local().jump("ports"));
  rs.rule("ports", Rule()
                       .daddr(net("192.0.2.1/32"))
                       .protocol(IPPROTO_TCP)
                       .dport(8080)
                       .dnat(ip("172.30.0.2"), 80));
  rs.rule("ports", Rule().protocol(IPPROTO_UDP).dport(53).dnat(ip("172.30.0.3")));
  rs.rule("postrouting", Rule()
                             .saddr(net("172.30.0.0/16"))
                             .oifname("berth-t0", true)
                             .masquerade()
                             .comment("berth network n1"));
  rs.rule("postrouting", Rule().oifname("berth-t0").saddr_local().masquerade());
  rs.rule("forward", Rule().ct_established().counter().accept());
  rs.rule("forward", Rule().iifname("berth-t0").oifname("berth-t1").drop());
  rs.rule(
      "forward",
      Rule().iifname("berth-t0").saddr(net("10.1.2.0/23"), true).daddr(net("10.9.0.0/24")).drop());
  rs.rule("forward", Rule().iifname("berth-t1").oifname("berth-t1", true).counter().drop());
  return rs;
}

TEST_F(NftTest, EveryRuleKindListsAsNftWritesIt) {
  const auto table = unique_table();
  apply_in_ns(every_kind(table));
  EXPECT_EQ(list(table),
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
                "\t\tip saddr 172.30.0.0/16 oifname != \"berth-t0\" masquerade comment \"berth "
                "network n1\"\n"
                "\t\toifname \"berth-t0\" fib saddr type local masquerade\n"
                "\t}\n"
                "\n"
                "\tchain forward {\n"
                "\t\ttype filter hook forward priority filter; policy accept;\n"
                "\t\tct state established,related counter packets 0 bytes 0 accept\n"
                "\t\tiifname \"berth-t0\" oifname \"berth-t1\" drop\n"
                "\t\tiifname \"berth-t0\" ip saddr != 10.1.2.0/23 ip daddr 10.9.0.0/24 drop\n"
                "\t\tiifname \"berth-t1\" oifname != \"berth-t1\" counter packets 0 bytes 0 drop\n"
                "\t}\n"
                "\n"
                "\tchain ports {\n"
                "\t\tip daddr 192.0.2.1 tcp dport 8080 dnat to 172.30.0.2:80\n"
                "\t\tudp dport 53 dnat to 172.30.0.3\n"
                "\t}\n"
                "}\n");
}

TEST_F(NftTest, ApplyTwiceIsIdempotentAndReplacesContent) {
  const auto table = unique_table();
  apply_in_ns(every_kind(table));
  const auto first = list(table);
  ASSERT_FALSE(first.empty());
  apply_in_ns(every_kind(table));
  EXPECT_EQ(list(table), first);

  Ruleset smaller(table);
  smaller.chain("forward", Hook::forward, ChainType::filter, 0);
  smaller.rule("forward", Rule().iifname("berth-t9").drop());
  apply_in_ns(smaller);
  EXPECT_EQ(list(table), "table ip " + table +
                             " {\n"
                             "\tchain forward {\n"
                             "\t\ttype filter hook forward priority filter; policy accept;\n"
                             "\t\tiifname \"berth-t9\" drop\n"
                             "\t}\n"
                             "}\n");
}

TEST_F(NftTest, RefusedRuleChangesNothing) {
  const auto table = unique_table();
  apply_in_ns(every_kind(table));
  const auto before = list(table);
  ASSERT_FALSE(before.empty());

  Ruleset bad(table);
  bad.chain("forward", Hook::forward, ChainType::filter, 0);
  bad.rule("forward", Rule().iifname("berth-t0").drop());
  bad.rule("forward", Rule().jump("no-such-chain"));
  try {
    apply_in_ns(bad);
    FAIL() << "a jump to a missing chain was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
    EXPECT_STREQ(e.what(), ("apply nftables table " + table +
                            ": add rule 2 to chain forward: No such file or directory")
                               .c_str());
  }
  EXPECT_EQ(list(table), before);
}

TEST_F(NftTest, RefusedFirstApplyLeavesNoTable) {
  const auto table = unique_table();
  Ruleset bad(table);
  bad.chain("forward", Hook::forward, ChainType::filter, 0);
  bad.rule("forward", Rule().jump("no-such-chain"));
  EXPECT_THROW(apply_in_ns(bad), Error);
  ns_->run([&] { EXPECT_FALSE(table_exists(table)); });
}

TEST_F(NftTest, InvalidRulesAreRefusedBeforeTheKernel) {
  const auto table = unique_table();
  Ruleset rs(table);
  rs.chain("forward", Hook::forward, ChainType::filter, 0);
  EXPECT_THROW(rs.rule("nope", Rule().drop()), Error);
  EXPECT_THROW(rs.chain("forward"), Error);

  Ruleset no_proto(table);
  no_proto.chain("c");
  no_proto.rule("c", Rule().dport(80).drop());
  Ruleset long_name(table);
  long_name.chain("c");
  long_name.rule("c", Rule().iifname("a-name-of-sixteen").drop());
  Ruleset long_comment(table);
  long_comment.chain("c");
  long_comment.rule("c", Rule().drop().comment(std::string(200, 'x')));
  for (const auto* r : {&no_proto, &long_name, &long_comment}) {
    try {
      apply_in_ns(*r);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::invalid_argument) << e.what();
    }
  }
  ns_->run([&] { EXPECT_FALSE(table_exists(table)); });
}

TEST_F(NftTest, DeleteTableAndTableExists) {
  const auto table = unique_table();
  ns_->run([&] {
    EXPECT_FALSE(table_exists(table));
    EXPECT_NO_THROW(delete_table(table));  // missing: not an error
    EXPECT_FALSE(table_exists(table));
  });
  apply_in_ns(every_kind(table));
  ns_->run([&] { EXPECT_TRUE(table_exists(table)); });
  EXPECT_FALSE(list(table).empty());
  ns_->run([&] {
    delete_table(table);
    EXPECT_FALSE(table_exists(table));
    EXPECT_NO_THROW(delete_table(table));
  });
  EXPECT_TRUE(list(table).empty());
}

// Larger than the default socket buffers both ways (batch out, ACKs in).
TEST_F(NftTest, LargeRulesetInOneBatch) {
  const auto table = unique_table();
  Ruleset rs(table);
  rs.chain("forward", Hook::forward, ChainType::filter, 0);
  constexpr int kRules = 3000;
  for (int i = 0; i < kRules; ++i) {
    rs.rule("forward",
            Rule().iifname("berth-t" + std::to_string(i)).oifname("berth-u").counter().drop());
  }
  apply_in_ns(rs);
  const auto listing = list(table);
  std::size_t rules = 0;
  for (std::size_t pos = 0; (pos = listing.find(" drop\n", pos)) != std::string::npos; ++pos)
    ++rules;
  EXPECT_EQ(rules, std::size_t{kRules});
  EXPECT_NE(
      listing.find("iifname \"berth-t2999\" oifname \"berth-u\" counter packets 0 bytes 0 drop\n"),
      std::string::npos);
}

TEST_F(NftTest, TablesArePerNamespace) {
  const auto table = unique_table();
  PrivateNetns other;
  apply_in_ns(every_kind(table));
  other.run([&] { EXPECT_FALSE(table_exists(table)); });
  ns_->run([&] { EXPECT_TRUE(table_exists(table)); });
}

// ---- real traffic: DNAT in one namespace, the client in another.

int connect_to(int fd, Ipv4 a, std::uint16_t port) {
  auto sa = sockaddr_of(a, port);
  return ::connect(fd, reinterpret_cast<const ::sockaddr*>(&sa), sizeof sa) == 0 ? 0 : errno;
}

TEST_F(NftTest, DnatRedirectsTcpToAnotherPort) {
  // ns_ is the server side, `client` the other end of a veth pair.
  PrivateNetns client;
  const auto server_ip = ip("10.231.0.2");
  const auto client_ip = ip("10.231.0.1");
  {
    Netlink nl = Netlink::in_netns(client.fd());
    nl.create_veth("veth-c", "veth-s");
    nl.set_netns("veth-s", ns_->fd());
    nl.add_address("veth-c", Ipv4Net{client_ip, 24});
    nl.set_up("veth-c", true);
    Netlink snl = Netlink::in_netns(ns_->fd());
    snl.add_address("veth-s", Ipv4Net{server_ip, 24});
    snl.set_up("veth-s", true);
  }

  UniqueFd listener = tcp_socket_in(*ns_);
  auto any = sockaddr_of(Ipv4{}, 0);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<const ::sockaddr*>(&any), sizeof any), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<::sockaddr*>(&bound), &len), 0);
  const std::uint16_t real_port = ntohs(bound.sin_port);
  // Nothing listens on the published port in this namespace of our own.
  const std::uint16_t published = real_port == 5555 ? 5556 : 5555;

  {
    UniqueFd before = tcp_socket_in(client);
    EXPECT_EQ(connect_to(before.get(), server_ip, published), ECONNREFUSED);
  }

  const auto table = unique_table();
  Ruleset rs(table);
  rs.chain("prerouting", Hook::prerouting, ChainType::nat, -100);
  rs.chain("ports");
  rs.rule("prerouting", Rule().daddr_local().jump("ports"));
  rs.rule("ports", Rule()
                       .daddr(Ipv4Net{server_ip, 32})
                       .protocol(IPPROTO_TCP)
                       .dport(published)
                       .dnat(server_ip, real_port));
  apply_in_ns(rs);

  UniqueFd conn = tcp_socket_in(client);
  ASSERT_EQ(connect_to(conn.get(), server_ip, published), 0);
  UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted) << std::strerror(errno);
  ASSERT_EQ(::send(conn.get(), "ping", 4, MSG_NOSIGNAL), 4);
  char buf[8] = {};
  ASSERT_EQ(::recv(accepted.get(), buf, sizeof buf, 0), 4);
  EXPECT_EQ(std::string(buf, 4), "ping");

  sockaddr_in peer{};
  len = sizeof peer;
  ASSERT_EQ(::getpeername(accepted.get(), reinterpret_cast<::sockaddr*>(&peer), &len), 0);
  EXPECT_EQ(peer.sin_addr.s_addr, client_ip.be()) << "DNAT must keep the client's address";
}

}  // namespace
