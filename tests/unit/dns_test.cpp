// The embedded DNS server against real network namespaces (needs root): a
// "container" namespace per test, queries sent from inside it to
// 127.0.0.11:53, fake upstream servers on 127.0.0.1 in the test's namespace.
#include "berth/core/network/dns.hpp"

#include <berth/sdk/net/netns.hpp>
#include <berth/sdk/status.hpp>
#include <berth/sdk/unique_fd.hpp>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using berth::core::network::DnsOptions;
using berth::core::network::DnsServer;
using berth::sdk::UniqueFd;
using berth::sdk::net::Ipv4;
using namespace std::chrono_literals;

Ipv4 ip(const char* text) { return *Ipv4::parse(text); }

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

std::string query_wire(const std::string& name, ldns_rr_type type, std::uint16_t id,
                       bool edns = false) {
  Pkt q(ldns_pkt_query_new(ldns_dname_new_frm_str(name.c_str()), type, LDNS_RR_CLASS_IN, LDNS_RD));
  ldns_pkt_set_id(q.get(), id);
  if (edns) ldns_pkt_set_edns_udp_size(q.get(), 4096);
  std::uint8_t* buf = nullptr;
  std::size_t size = 0;
  EXPECT_EQ(ldns_pkt2wire(&buf, q.get(), &size), LDNS_STATUS_OK);
  std::string out(reinterpret_cast<const char*>(buf), size);
  std::free(buf);
  return out;
}

Pkt parse(const std::string& wire) {
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()) !=
      LDNS_STATUS_OK) {
    ldns_pkt_free(p);
    return nullptr;
  }
  return Pkt(p);
}

std::vector<std::string> answers(const ldns_pkt* p, ldns_rr_type type) {
  std::vector<std::string> out;
  const ldns_rr_list* list = ldns_pkt_answer(p);
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list, i);
    if (ldns_rr_get_type(rr) != type) continue;
    char* text = ldns_rdf2str(ldns_rr_rdf(rr, 0));
    out.emplace_back(text);
    std::free(text);
  }
  return out;
}

sockaddr_in dns_address() {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  ::inet_pton(AF_INET, "127.0.0.11", &a.sin_addr);
  return a;
}

void set_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

struct Exchange {
  std::optional<std::string> answer;
  int error = 0;  // errno of the failed send/recv/connect
};

// Sends `packets` over one UDP socket opened inside `netns_fd` and waits for
// one answer (to the last).
Exchange udp_exchange(int netns_fd, const std::vector<std::string>& packets,
                      std::chrono::milliseconds timeout = 5s) {
  Exchange out;
  berth::sdk::net::run_in_netns(netns_fd, [&] {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    auto addr = dns_address();
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      out.error = errno;
      return;
    }
    set_timeout(fd.get(), timeout);
    for (const auto& p : packets) {
      if (::send(fd.get(), p.data(), p.size(), 0) < 0) {
        out.error = errno;
        return;
      }
    }
    std::string buf(65536, '\0');
    auto n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      out.error = errno;
      return;
    }
    buf.resize(static_cast<std::size_t>(n));
    out.answer = std::move(buf);
  });
  return out;
}

Exchange udp_exchange(int netns_fd, const std::string& packet,
                      std::chrono::milliseconds timeout = 5s) {
  return udp_exchange(netns_fd, std::vector<std::string>{packet}, timeout);
}

bool read_full(int fd, char* data, std::size_t size) {
  while (size > 0) {
    auto n = ::recv(fd, data, size, 0);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Sends `queries` length-prefixed over one TCP connection from inside
// `netns_fd` (optionally half-closing after them) and reads `expected`
// answers (-1: one per query).
struct TcpExchange {
  std::vector<std::string> answers;
  int error = 0;
};
TcpExchange tcp_exchange(int netns_fd, const std::vector<std::string>& queries, int expected = -1,
                         bool half_close = false) {
  TcpExchange out;
  berth::sdk::net::run_in_netns(netns_fd, [&] {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto addr = dns_address();
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      out.error = errno;
      return;
    }
    set_timeout(fd.get(), 5s);
    std::string stream;
    for (const auto& q : queries) {
      stream.push_back(static_cast<char>(q.size() >> 8));
      stream.push_back(static_cast<char>(q.size() & 0xff));
      stream += q;
    }
    // The first bytes one segment each: framing must not depend on segments.
    std::size_t sent = 0;
    while (sent < stream.size()) {
      std::size_t chunk = sent < 3 ? 1 : stream.size() - sent;
      auto n = ::send(fd.get(), stream.data() + sent, chunk, MSG_NOSIGNAL);
      if (n < 0) {
        out.error = errno;
        return;
      }
      sent += static_cast<std::size_t>(n);
      if (sent < 3) std::this_thread::sleep_for(20ms);
    }
    if (half_close) ::shutdown(fd.get(), SHUT_WR);
    auto want = expected < 0 ? queries.size() : static_cast<std::size_t>(expected);
    for (std::size_t i = 0; i < want; ++i) {
      unsigned char len[2];
      if (!read_full(fd.get(), reinterpret_cast<char*>(len), 2)) {
        out.error = errno == 0 ? EPIPE : errno;
        return;
      }
      std::string msg(static_cast<std::size_t>(len[0] << 8 | len[1]), '\0');
      if (!read_full(fd.get(), msg.data(), msg.size())) {
        out.error = errno == 0 ? EPIPE : errno;
        return;
      }
      out.answers.push_back(std::move(msg));
    }
  });
  return out;
}

// A UDP DNS server on 127.0.0.1:<ephemeral> answering every A query with
// `address` (or staying silent), recording the names it was asked.
class FakeUpstream {
 public:
  explicit FakeUpstream(std::string address, bool silent = false)
      : address_(std::move(address)), silent_(silent) {
    fd_ = UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error("bind fake upstream");
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    thread_.join();
  }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  int queries() const { return queries_; }
  std::set<std::uint16_t> ids() const {
    std::lock_guard lock(mu_);
    return ids_;
  }

 private:
  void serve() {
    std::string buf(65536, '\0');
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      auto n = ::recvfrom(fd_.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&peer),
                          &len);
      if (n <= 0) continue;
      ++queries_;
      auto q = parse(buf.substr(0, static_cast<std::size_t>(n)));
      if (!q || silent_) continue;
      {
        std::lock_guard lock(mu_);
        ids_.insert(ldns_pkt_id(q.get()));
      }
      Pkt r(ldns_pkt_new());
      ldns_pkt_set_id(r.get(), ldns_pkt_id(q.get()));
      ldns_pkt_set_qr(r.get(), true);
      ldns_pkt_set_ra(r.get(), true);
      const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(q.get()), 0);
      ldns_pkt_push_rr(r.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(question));
      ldns_rr* rr = nullptr;
      char* owner = ldns_rdf2str(ldns_rr_owner(question));
      std::string text = std::string(owner) + " 300 IN A " + address_;
      std::free(owner);
      if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK) {
        ldns_pkt_push_rr(r.get(), LDNS_SECTION_ANSWER, rr);
      }
      std::uint8_t* wire = nullptr;
      std::size_t size = 0;
      if (ldns_pkt2wire(&wire, r.get(), &size) == LDNS_STATUS_OK) {
        ::sendto(fd_.get(), wire, size, 0, reinterpret_cast<const sockaddr*>(&peer), len);
      }
      std::free(wire);
    }
  }

  std::string address_;
  bool silent_;
  UniqueFd fd_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  mutable std::mutex mu_;
  std::set<std::uint16_t> ids_;
  std::thread thread_;
};

// An address on 127.0.0.1 where nothing listens (ICMP port unreachable).
std::string closed_endpoint() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

// A berth-test-* directory holding named network namespaces, all removed
// when the test ends however it ends.
class Namespaces {
 public:
  Namespaces() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "berth-test-dns-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
  }
  ~Namespaces() {
    fds_.clear();
    for (const auto& path : paths_) {
      try {
        berth::sdk::net::remove_named_netns(path);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // A new namespace with lo up; its descriptor.
  int create(const std::string& name) {
    auto path = dir_ + "/" + name;
    berth::sdk::net::create_named_netns(path);
    paths_.push_back(path);
    fds_.push_back(berth::sdk::net::open_netns(path));
    return fds_.back().get();
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::string> paths_;
  std::vector<UniqueFd> fds_;
};

class DnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    ns_ = std::make_unique<Namespaces>();
    netns_ = ns_->create("c1");
  }
  void TearDown() override {
    server_.reset();
    ns_.reset();
  }

  // A server whose lookup knows `names` in every sandbox.
  DnsServer& start(std::map<std::string, std::vector<Ipv4>> names,
                   std::vector<std::string> upstreams = {}) {
    DnsOptions options;
    options.lookup = [names](const std::string&,
                             const std::string& name) -> std::optional<std::vector<Ipv4>> {
      if (auto it = names.find(name); it != names.end()) return it->second;
      return std::nullopt;
    };
    options.reverse = [](const std::string& sandbox, Ipv4 a) -> std::optional<std::string> {
      if (a == ip("10.0.0.2")) return sandbox == "c1" ? "web" : "web-from-" + sandbox;
      return std::nullopt;
    };
    options.upstreams = std::move(upstreams);
    options.host_resolv_conf = write_resolv_conf("search example.com\noptions ndots:0\n");
    server_ = std::make_unique<DnsServer>(std::move(options));
    auto added = server_->add_sandbox("c1", netns_);
    EXPECT_TRUE(added) << added.error().message;
    return *server_;
  }

  std::string write_resolv_conf(const std::string& text) {
    auto path = ns_->dir() + "/resolv.conf";
    std::ofstream(path) << text;
    return path;
  }

  std::unique_ptr<Namespaces> ns_;
  int netns_ = -1;
  std::unique_ptr<DnsServer> server_;
};

TEST_F(DnsTest, KnownNameGetsItsAddresses) {
  start({{"web", {ip("10.0.0.2"), ip("10.0.0.3")}}});
  auto ex = udp_exchange(netns_, query_wire("Web.", LDNS_RR_TYPE_A, 4242));
  ASSERT_TRUE(ex.answer) << std::strerror(ex.error);
  auto r = parse(*ex.answer);
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_id(r.get()), 4242);
  EXPECT_TRUE(ldns_pkt_qr(r.get()));
  EXPECT_TRUE(ldns_pkt_aa(r.get()));
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(answers(r.get(), LDNS_RR_TYPE_A), (std::vector<std::string>{"10.0.0.2", "10.0.0.3"}));
  const ldns_rr* first = ldns_rr_list_rr(ldns_pkt_answer(r.get()), 0);
  EXPECT_EQ(ldns_rr_ttl(first), 600u);
  char* owner = ldns_rdf2str(ldns_rr_owner(first));
  EXPECT_STREQ(owner, "Web.");  // the question's spelling
  std::free(owner);
}

TEST_F(DnsTest, AaaaOfKnownNameIsEmptyNoerror) {
  start({{"web", {ip("10.0.0.2")}}});
  auto ex = udp_exchange(netns_, query_wire("web.", LDNS_RR_TYPE_AAAA, 7));
  ASSERT_TRUE(ex.answer) << std::strerror(ex.error);
  auto r = parse(*ex.answer);
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_id(r.get()), 7);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_ancount(r.get()), 0);
}

TEST_F(DnsTest, UnknownNameIsForwardedAndRelayedWithTheClientsId) {
  FakeUpstream upstream("192.0.2.77");
  start({{"web", {ip("10.0.0.2")}}}, {upstream.endpoint()});
  auto ex = udp_exchange(netns_, query_wire("example.org.", LDNS_RR_TYPE_A, 0xbeef));
  ASSERT_TRUE(ex.answer) << std::strerror(ex.error);
  auto r = parse(*ex.answer);
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_id(r.get()), 0xbeef);
  EXPECT_FALSE(ldns_pkt_aa(r.get()));
  EXPECT_EQ(answers(r.get(), LDNS_RR_TYPE_A), std::vector<std::string>{"192.0.2.77"});
  EXPECT_EQ(upstream.queries(), 1);
}

TEST_F(DnsTest, SearchDomainNamesAreForwarded) {
  FakeUpstream upstream("192.0.2.78");
  start({{"web", {ip("10.0.0.2")}}}, {upstream.endpoint()});
  auto ex = udp_exchange(netns_, query_wire("web.example.com.", LDNS_RR_TYPE_A, 1));
  ASSERT_TRUE(ex.answer) << std::strerror(ex.error);
  auto r = parse(*ex.answer);
  ASSERT_TRUE(r);
  EXPECT_EQ(answers(r.get(), LDNS_RR_TYPE_A), std::vector<std::string>{"192.0.2.78"});
}

TEST_F(DnsTest, UpstreamDownIsServfail) {
  start({}, {closed_endpoint()});
  auto started = std::chrono::steady_clock::now();
  auto ex = udp_exchange(netns_, query_wire("example.org.", LDNS_RR_TYPE_A, 99));
  ASSERT_TRUE(ex.answer) << std::strerror(ex.error);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  auto r = parse(*ex.answer);
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_id(r.get()), 99);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_SERVFAIL);
}

TEST_F(DnsTest, SilentUpstreamTimesOutThenTheNextAnswers) {
  FakeUpstream silent("192.0.2.1", true);
  FakeUpstream good("192.0.2.2");
  start({}, {silent.endpoint(), good.endpoint()});
  auto started = std::chrono::steady_clock::now();
  auto ex = udp_exchange(netns_, query_wire("example.org.", LDNS_RR_TYPE_A, 5), 6s);
  ASSERT_TRUE(ex.answer) << std::strerror(ex.error);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 1900ms);
  EXPECT_LT(took, 4s);
  auto r = parse(*ex.answer);
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_id(r.get()), 5);
  EXPECT_EQ(answers(r.get(), LDNS_RR_TYPE_A), std::vector<std::string>{"192.0.2.2"});
  EXPECT_EQ(silent.queries(), 1);
}

TEST_F(DnsTest, OnlySilentUpstreamIsServfailAfterItsTimeout) {
  FakeUpstream silent("192.0.2.1", true);
  start({}, {silent.endpoint()});
  auto ex = udp_exchange(netns_, query_wire("example.org.", LDNS_RR_TYPE_A, 6), 6s);
  ASSERT_TRUE(ex.answer) << std::strerror(ex.error);
  auto r = parse(*ex.answer);
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_SERVFAIL);
}

TEST_F(DnsTest, SlowUpstreamDoesNotBlockLocalAnswers) {
  FakeUpstream silent("192.0.2.1", true);
  start({{"web", {ip("10.0.0.2")}}}, {silent.endpoint()});
  std::thread slow(
      [&] { udp_exchange(netns_, query_wire("example.org.", LDNS_RR_TYPE_A, 1), 3s); });
  std::this_thread::sleep_for(100ms);
  auto started = std::chrono::steady_clock::now();
  auto ex = udp_exchange(netns_, query_wire("web.", LDNS_RR_TYPE_A, 2));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
  slow.join();
  ASSERT_TRUE(ex.answer);
  EXPECT_EQ(answers(parse(*ex.answer).get(), LDNS_RR_TYPE_A), std::vector<std::string>{"10.0.0.2"});
}

TEST_F(DnsTest, HostResolvConfWithoutServersIsServfail) {
  start({});  // resolv.conf: a search line only
  auto ex = udp_exchange(netns_, query_wire("example.org.", LDNS_RR_TYPE_A, 3));
  ASSERT_TRUE(ex.answer) << std::strerror(ex.error);
  auto r = parse(*ex.answer);
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_SERVFAIL);
}

TEST_F(DnsTest, PtrOfAContainerAddress) {
  start({});
  auto ex = udp_exchange(netns_, query_wire("2.0.0.10.in-addr.arpa.", LDNS_RR_TYPE_PTR, 11));
  ASSERT_TRUE(ex.answer) << std::strerror(ex.error);
  auto r = parse(*ex.answer);
  ASSERT_TRUE(r);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_NOERROR);
  EXPECT_TRUE(ldns_pkt_aa(r.get()));
  EXPECT_EQ(answers(r.get(), LDNS_RR_TYPE_PTR), std::vector<std::string>{"web."});
}

TEST_F(DnsTest, TcpQueriesKnownAndForwarded) {
  FakeUpstream upstream("192.0.2.9");
  start({{"web", {ip("10.0.0.2")}}}, {upstream.endpoint()});
  auto ex = tcp_exchange(netns_, {query_wire("web.", LDNS_RR_TYPE_A, 21),
                                  query_wire("example.org.", LDNS_RR_TYPE_A, 22)});
  ASSERT_EQ(ex.answers.size(), 2u) << std::strerror(ex.error);
  std::map<int, std::vector<std::string>> by_id;
  for (const auto& a : ex.answers) {
    auto r = parse(a);
    ASSERT_TRUE(r);
    by_id[ldns_pkt_id(r.get())] = answers(r.get(), LDNS_RR_TYPE_A);
  }
  EXPECT_EQ(by_id[21], std::vector<std::string>{"10.0.0.2"});
  EXPECT_EQ(by_id[22], std::vector<std::string>{"192.0.2.9"});
}

TEST_F(DnsTest, TcpHalfClosedClientStillGetsForwardedAnswer) {
  FakeUpstream upstream("192.0.2.10");
  start({}, {upstream.endpoint()});
  auto ex = tcp_exchange(netns_, {query_wire("example.org.", LDNS_RR_TYPE_A, 31)}, -1, true);
  ASSERT_EQ(ex.answers.size(), 1u) << std::strerror(ex.error);
  EXPECT_EQ(answers(parse(ex.answers[0]).get(), LDNS_RR_TYPE_A),
            std::vector<std::string>{"192.0.2.10"});
}

TEST_F(DnsTest, LargeAnswerIsTruncatedOverUdpAndCompleteOverTcp) {
  std::vector<Ipv4> many;
  for (std::uint32_t i = 0; i < 100; ++i) many.push_back(Ipv4{ip("10.1.0.0").value + i + 1});
  start({{"many", many}});
  auto ex = udp_exchange(netns_, query_wire("many.", LDNS_RR_TYPE_A, 41));
  ASSERT_TRUE(ex.answer) << std::strerror(ex.error);
  EXPECT_LE(ex.answer->size(), 512u);
  auto r = parse(*ex.answer);
  ASSERT_TRUE(r);
  EXPECT_TRUE(ldns_pkt_tc(r.get()));

  auto tcp = tcp_exchange(netns_, {query_wire("many.", LDNS_RR_TYPE_A, 42)});
  ASSERT_EQ(tcp.answers.size(), 1u) << std::strerror(tcp.error);
  auto full = parse(tcp.answers[0]);
  ASSERT_TRUE(full);
  EXPECT_FALSE(ldns_pkt_tc(full.get()));
  EXPECT_EQ(answers(full.get(), LDNS_RR_TYPE_A).size(), 100u);

  // EDNS raises the UDP limit: 100 A records fit in 4096 bytes.
  auto edns = udp_exchange(netns_, query_wire("many.", LDNS_RR_TYPE_A, 43, true));
  ASSERT_TRUE(edns.answer);
  auto e = parse(*edns.answer);
  ASSERT_TRUE(e);
  EXPECT_FALSE(ldns_pkt_tc(e.get()));
  EXPECT_EQ(answers(e.get(), LDNS_RR_TYPE_A).size(), 100u);
}

TEST_F(DnsTest, GarbageIsDroppedAndServingGoesOn) {
  start({{"web", {ip("10.0.0.2")}}});
  std::string good = query_wire("web.", LDNS_RR_TYPE_A, 51);
  std::string response = good;
  response[2] = static_cast<char>(response[2] | 0x80);  // QR: a response, not a query
  std::string truncated = good.substr(0, good.size() - 3);
  std::string bad_label = good;
  bad_label[12] = 63;  // label length past the end
  std::vector<std::string> garbage = {
      "", "x", std::string(11, '\0'), std::string(512, '\xff'), truncated, bad_label, response};
  for (const auto& g : garbage) {
    auto ex = udp_exchange(netns_, g, 200ms);
    EXPECT_FALSE(ex.answer) << "answered garbage of " << g.size() << " bytes";
  }
  auto tcp = tcp_exchange(netns_, {std::string(40, '\x01'), good}, 1);
  ASSERT_EQ(tcp.answers.size(), 1u) << std::strerror(tcp.error);  // the garbage got no answer
  EXPECT_EQ(ldns_pkt_id(parse(tcp.answers[0]).get()), 51);

  auto ex = udp_exchange(netns_, good);
  ASSERT_TRUE(ex.answer) << std::strerror(ex.error);
  EXPECT_EQ(answers(parse(*ex.answer).get(), LDNS_RR_TYPE_A), std::vector<std::string>{"10.0.0.2"});
}

TEST_F(DnsTest, MutatedQueriesNeverStopTheServer) {
  FakeUpstream upstream("192.0.2.55");
  start({{"web", {ip("10.0.0.2")}}}, {upstream.endpoint()});
  std::vector<std::string> seeds = {query_wire("web.", LDNS_RR_TYPE_A, 1),
                                    query_wire("example.org.", LDNS_RR_TYPE_AAAA, 2, true),
                                    query_wire("2.0.0.10.in-addr.arpa.", LDNS_RR_TYPE_PTR, 3)};
  std::mt19937 rng(1234);  // fixed: a failure replays
  std::vector<std::string> packets;
  for (int i = 0; i < 3000; ++i) {
    std::string p = seeds[rng() % seeds.size()];
    for (auto flips = rng() % 4 + 1; flips > 0; --flips) {
      p[rng() % p.size()] = static_cast<char>(rng() & 0xff);
    }
    if (rng() % 4 == 0) p.resize(rng() % (p.size() + 1));
    packets.push_back(std::move(p));
  }
  // Not waiting for answers: most get none, the rest are read by nobody.
  berth::sdk::net::run_in_netns(netns_, [&] {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    auto addr = dns_address();
    for (const auto& p : packets) {
      ::sendto(fd.get(), p.data(), p.size(), 0, reinterpret_cast<const sockaddr*>(&addr),
               sizeof addr);
    }
  });
  // The same over TCP; the server may hang up on a bad frame, which is fine.
  tcp_exchange(netns_, {packets[0], packets[1], packets[2]}, 0);
  auto ex = udp_exchange(netns_, query_wire("web.", LDNS_RR_TYPE_A, 72));
  ASSERT_TRUE(ex.answer) << std::strerror(ex.error);
  EXPECT_EQ(answers(parse(*ex.answer).get(), LDNS_RR_TYPE_A), std::vector<std::string>{"10.0.0.2"});
}

TEST_F(DnsTest, LookupExceptionIsServfail) {
  DnsOptions options;
  options.lookup = [](const std::string&, const std::string&) -> std::optional<std::vector<Ipv4>> {
    throw std::runtime_error("store is gone");
  };
  server_ = std::make_unique<DnsServer>(std::move(options));
  ASSERT_TRUE(server_->add_sandbox("c1", netns_));
  auto ex = udp_exchange(netns_, query_wire("web.", LDNS_RR_TYPE_A, 61));
  ASSERT_TRUE(ex.answer) << std::strerror(ex.error);
  EXPECT_EQ(ldns_pkt_get_rcode(parse(*ex.answer).get()), LDNS_RCODE_SERVFAIL);
}

TEST_F(DnsTest, RemoveSandboxClosesItsSockets) {
  auto& server = start({{"web", {ip("10.0.0.2")}}});
  ASSERT_TRUE(udp_exchange(netns_, query_wire("web.", LDNS_RR_TYPE_A, 1)).answer);
  server.remove_sandbox("c1");
  server.remove_sandbox("c1");  // unknown: no-op
  auto udp = udp_exchange(netns_, query_wire("web.", LDNS_RR_TYPE_A, 2), 1s);
  EXPECT_FALSE(udp.answer);
  EXPECT_TRUE(udp.error == ECONNREFUSED || udp.error == EAGAIN) << std::strerror(udp.error);
  auto tcp = tcp_exchange(netns_, {query_wire("web.", LDNS_RR_TYPE_A, 3)});
  EXPECT_EQ(tcp.error, ECONNREFUSED);

  // The same id can be served again.
  auto again = server.add_sandbox("c1", netns_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(udp_exchange(netns_, query_wire("web.", LDNS_RR_TYPE_A, 4)).answer);
}

TEST_F(DnsTest, AddingASandboxTwiceFails) {
  auto& server = start({});
  auto again = server.add_sandbox("c1", netns_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, berth::core::Errc::already_exists);
  auto bad = server.add_sandbox("c2", netns_, {"not-an-address"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, berth::core::Errc::invalid_argument);
}

TEST_F(DnsTest, BadServerUpstreamThrows) {
  DnsOptions options;
  options.upstreams = {"8.8.8.8:99999"};
  EXPECT_THROW(DnsServer{std::move(options)}, berth::sdk::Error);
}

TEST_F(DnsTest, SandboxesAnswerFromTheirOwnLookupsAndUpstreams) {
  FakeUpstream shared("192.0.2.100");
  FakeUpstream own("192.0.2.200");
  int netns2 = ns_->create("c2");
  DnsOptions options;
  options.lookup = [](const std::string& sandbox,
                      const std::string& name) -> std::optional<std::vector<Ipv4>> {
    if (name != "db") return std::nullopt;
    return std::vector<Ipv4>{sandbox == "c1" ? ip("10.0.0.5") : ip("10.9.0.5")};
  };
  options.reverse = [](const std::string& sandbox, Ipv4) -> std::optional<std::string> {
    return "peer-of-" + sandbox;
  };
  options.upstreams = {shared.endpoint()};
  server_ = std::make_unique<DnsServer>(std::move(options));
  ASSERT_TRUE(server_->add_sandbox("c1", netns_));
  auto added = server_->add_sandbox("c2", netns2, {own.endpoint()});
  ASSERT_TRUE(added) << added.error().message;

  auto a1 = udp_exchange(netns_, query_wire("db.", LDNS_RR_TYPE_A, 1));
  auto a2 = udp_exchange(netns2, query_wire("db.", LDNS_RR_TYPE_A, 2));
  ASSERT_TRUE(a1.answer && a2.answer);
  EXPECT_EQ(answers(parse(*a1.answer).get(), LDNS_RR_TYPE_A), std::vector<std::string>{"10.0.0.5"});
  EXPECT_EQ(answers(parse(*a2.answer).get(), LDNS_RR_TYPE_A), std::vector<std::string>{"10.9.0.5"});

  auto p2 = udp_exchange(netns2, query_wire("7.0.0.10.in-addr.arpa.", LDNS_RR_TYPE_PTR, 3));
  ASSERT_TRUE(p2.answer);
  EXPECT_EQ(answers(parse(*p2.answer).get(), LDNS_RR_TYPE_PTR),
            std::vector<std::string>{"peer-of-c2."});

  auto f1 = udp_exchange(netns_, query_wire("example.org.", LDNS_RR_TYPE_A, 4));
  auto f2 = udp_exchange(netns2, query_wire("example.org.", LDNS_RR_TYPE_A, 5));
  ASSERT_TRUE(f1.answer && f2.answer);
  EXPECT_EQ(answers(parse(*f1.answer).get(), LDNS_RR_TYPE_A),
            std::vector<std::string>{"192.0.2.100"});
  EXPECT_EQ(answers(parse(*f2.answer).get(), LDNS_RR_TYPE_A),
            std::vector<std::string>{"192.0.2.200"});

  // Removing one leaves the other served.
  server_->remove_sandbox("c1");
  EXPECT_FALSE(udp_exchange(netns_, query_wire("db.", LDNS_RR_TYPE_A, 6), 500ms).answer);
  EXPECT_TRUE(udp_exchange(netns2, query_wire("db.", LDNS_RR_TYPE_A, 7)).answer);
}

}  // namespace
