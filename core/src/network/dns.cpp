#include "berth/core/network/dns.hpp"

#include "berth/core/log.hpp"

#include <berth/sdk/net/netns.hpp>
#include <berth/sdk/status.hpp>
#include <berth/sdk/unique_fd.hpp>

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace berth::core::network {
namespace {

using sdk::UniqueFd;
using sdk::net::Ipv4;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kTtl = 600;
constexpr auto kUpstreamTimeout = std::chrono::seconds(2);
constexpr auto kTcpIdleTimeout = std::chrono::seconds(10);
constexpr std::size_t kMaxPending = 1024;
constexpr std::size_t kMaxTcpConnsPerSandbox = 64;
constexpr std::size_t kMaxTcpOutput = 256 * 1024;
constexpr int kUdpBatch = 64;  // datagrams per wake-up, so one busy sandbox can't starve others
constexpr std::uint16_t kEdnsSize = 1232;
constexpr std::size_t kHeaderSize = 12;
constexpr const char* kListenAddress = "127.0.0.11";
constexpr std::uint16_t kListenPort = 53;
constexpr std::uint64_t kWakeToken = 0;

std::shared_ptr<spdlog::logger> dns_log() { return logger("dns"); }

struct Upstream {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;
};

std::optional<Upstream> parse_upstream(std::string_view text) {
  std::string_view host = text;
  std::string_view port = "53";
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    auto colon = text.find(':');
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5) return std::nullopt;
  unsigned long number = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<unsigned long>(c - '0');
  }
  if (number == 0 || number > 65535) return std::nullopt;

  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(std::string(host).c_str(), std::string(port).c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return std::nullopt;
  }
  Upstream u;
  std::memcpy(&u.addr, found->ai_addr, std::min<std::size_t>(found->ai_addrlen, sizeof u.addr));
  u.len = found->ai_addrlen;
  u.text = std::string(text);
  ::freeaddrinfo(found);
  return u;
}

// The nameservers of a resolv.conf; a missing file names none.
std::vector<Upstream> read_resolv_conf(const std::string& path) {
  std::vector<Upstream> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (auto comment = line.find_first_of("#;"); comment != std::string::npos) line.resize(comment);
    std::istringstream words(line);
    std::string key, value;
    if (!(words >> key >> value) || key != "nameserver") continue;
    if (auto u = parse_upstream(value)) {
      out.push_back(std::move(*u));
    } else {
      dns_log()->warn("{}: ignoring nameserver {}", path, value);
    }
  }
  return out;
}

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

std::optional<std::string> to_wire(const ldns_pkt* p) {
  std::uint8_t* buf = nullptr;
  std::size_t size = 0;
  ldns_status status = ldns_pkt2wire(&buf, p, &size);
  std::optional<std::string> out;
  if (status == LDNS_STATUS_OK) out.emplace(reinterpret_cast<const char*>(buf), size);
  std::free(buf);
  return out;
}

// A response carrying the query's id, flags and question.
Pkt reply_to(const ldns_pkt* query, ldns_pkt_rcode rcode, bool authoritative) {
  Pkt r(ldns_pkt_new());
  if (!r) return r;
  ldns_pkt_set_id(r.get(), ldns_pkt_id(query));
  ldns_pkt_set_qr(r.get(), true);
  ldns_pkt_set_opcode(r.get(), ldns_pkt_get_opcode(query));
  ldns_pkt_set_rd(r.get(), ldns_pkt_rd(query));
  ldns_pkt_set_cd(r.get(), ldns_pkt_cd(query));
  ldns_pkt_set_ra(r.get(), true);
  ldns_pkt_set_aa(r.get(), authoritative);
  ldns_pkt_set_rcode(r.get(), static_cast<std::uint8_t>(rcode));
  const ldns_rr_list* question = ldns_pkt_question(query);
  for (std::size_t i = 0; question != nullptr && i < ldns_rr_list_rr_count(question); ++i) {
    ldns_pkt_push_rr(r.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(ldns_rr_list_rr(question, i)));
  }
  if (ldns_pkt_edns(query)) ldns_pkt_set_edns_udp_size(r.get(), kEdnsSize);
  return r;
}

// Wire form of `r`, no larger than `limit`: an answer that does not fit is
// sent without its records and with TC set (RFC 2181 §9), so the client
// retries over TCP.
std::optional<std::string> fit(ldns_pkt* r, std::size_t limit) {
  auto wire = to_wire(r);
  if (!wire || wire->size() <= limit) return wire;
  for (auto section : {LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY, LDNS_SECTION_ADDITIONAL}) {
    ldns_rr_list* empty = ldns_rr_list_new();
    switch (section) {
      case LDNS_SECTION_ANSWER:
        ldns_rr_list_deep_free(ldns_pkt_answer(r));
        ldns_pkt_set_answer(r, empty);
        ldns_pkt_set_ancount(r, 0);
        break;
      case LDNS_SECTION_AUTHORITY:
        ldns_rr_list_deep_free(ldns_pkt_authority(r));
        ldns_pkt_set_authority(r, empty);
        ldns_pkt_set_nscount(r, 0);
        break;
      default:
        ldns_rr_list_deep_free(ldns_pkt_additional(r));
        ldns_pkt_set_additional(r, empty);
        ldns_pkt_set_arcount(r, 0);
        break;
    }
  }
  ldns_pkt_set_tc(r, true);
  return to_wire(r);
}

std::string lower_name(const ldns_rdf* owner) {
  char* text = ldns_rdf2str(owner);
  if (text == nullptr) return {};
  std::string name(text);
  std::free(text);
  if (name.ends_with('.')) name.pop_back();
  for (auto& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return name;
}

// "4.3.2.1.in-addr.arpa" -> 1.2.3.4.
std::optional<Ipv4> ptr_address(std::string_view name) {
  constexpr std::string_view suffix = ".in-addr.arpa";
  if (!name.ends_with(suffix)) return std::nullopt;
  name.remove_suffix(suffix.size());
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    auto dot = name.find('.');
    auto label = name.substr(0, dot);
    if (label.empty() || label.size() > 3) return std::nullopt;
    std::uint32_t octet = 0;
    for (char c : label) {
      if (c < '0' || c > '9') return std::nullopt;
      octet = octet * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (octet > 255) return std::nullopt;
    value |= octet << (8 * i);
    if (i < 3) {
      if (dot == std::string_view::npos) return std::nullopt;
      name.remove_prefix(dot + 1);
    } else if (dot != std::string_view::npos) {
      return std::nullopt;
    }
  }
  return Ipv4{value};
}

ldns_rr* make_rr(const ldns_rdf* owner, ldns_rr_type type, ldns_rdf* data) {
  ldns_rr* rr = ldns_rr_new();
  if (rr == nullptr) {
    ldns_rdf_deep_free(data);
    return nullptr;
  }
  ldns_rr_set_owner(rr, ldns_rdf_clone(owner));
  ldns_rr_set_type(rr, type);
  ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
  ldns_rr_set_ttl(rr, kTtl);
  ldns_rr_push_rdf(rr, data);
  return rr;
}

std::uint16_t wire_id(std::string_view packet) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(packet[0]) << 8) |
                                    static_cast<unsigned char>(packet[1]));
}

void set_wire_id(std::string& packet, std::uint16_t id) {
  packet[0] = static_cast<char>(id >> 8);
  packet[1] = static_cast<char>(id & 0xff);
}

UniqueFd bind_listener(int type) {
  const char* proto = type == SOCK_STREAM ? "tcp" : "udp";
  UniqueFd fd(::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw sdk::Error::from_errno(errno, std::string("open ") + proto + " socket");
  if (type == SOCK_STREAM) {
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(kListenPort);
  ::inet_pton(AF_INET, kListenAddress, &addr.sin_addr);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw sdk::Error::from_errno(errno, std::string("bind ") + proto + " " + kListenAddress + ":" +
                                            std::to_string(kListenPort));
  }
  if (type == SOCK_STREAM && ::listen(fd.get(), 64) != 0) {
    throw sdk::Error::from_errno(errno, "listen on tcp " + std::string(kListenAddress));
  }
  return fd;
}

}  // namespace

struct DnsServer::Impl {
  enum class Kind { udp, listener, conn, upstream };
  struct Watch {
    Kind kind;
    std::string sandbox;   // udp, listener
    std::uint64_t id = 0;  // conn, upstream: the key in conns / pending
  };
  struct Sandbox {
    UniqueFd udp, tcp;
    std::uint64_t udp_token = 0, tcp_token = 0;
    std::vector<Upstream> upstreams;  // empty: the server's
    std::set<std::uint64_t> conns;
  };
  struct Conn {
    std::string sandbox;
    UniqueFd fd;
    std::string in, out;
    bool eof = false;
    int forwarding = 0;  // queries of it being forwarded
    Clock::time_point idle_deadline;
  };
  // Where an answer goes: a UDP peer of the sandbox, or a TCP connection.
  struct Client {
    std::string sandbox;
    sockaddr_storage peer{};
    socklen_t peer_len = 0;
    std::uint64_t conn = 0;  // 0: UDP
  };
  struct Pending {
    Client client;
    std::string query;  // as sent upstream, with our id
    std::uint16_t client_id = 0;
    std::vector<Upstream> upstreams;
    std::size_t next = 0;
    UniqueFd sock;
    Clock::time_point deadline;
  };

  DnsOptions options;
  std::vector<Upstream> upstreams;  // parsed options.upstreams
  struct {
    bool loaded = false;
    struct stat st {};
    std::vector<Upstream> servers;
  } host_resolv;

  UniqueFd epoll, wake;
  std::thread thread;
  std::mutex mu;
  std::deque<std::function<void()>> commands;  // guarded by mu
  bool stopping = false;                       // guarded by mu

  // Below: the serving thread's.
  std::uint64_t next_token = 1;
  std::map<std::string, Sandbox> sandboxes;
  std::unordered_map<std::uint64_t, Watch> watches;
  std::unordered_map<std::uint64_t, Conn> conns;
  std::unordered_map<std::uint64_t, Pending> pending;
  std::mt19937 rng{std::random_device{}()};
  std::array<char, 65536> buf{};

  explicit Impl(DnsOptions o) : options(std::move(o)) {
    for (const auto& text : options.upstreams) {
      auto u = parse_upstream(text);
      if (!u)
        throw sdk::Error(Errc::invalid_argument, "dns upstream \"" + text + "\": not an address");
      upstreams.push_back(std::move(*u));
    }
    epoll = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll) throw sdk::Error::from_errno(errno, "dns server: epoll_create1");
    wake = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!wake) throw sdk::Error::from_errno(errno, "dns server: eventfd");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeToken;
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake.get(), &ev) != 0) {
      throw sdk::Error::from_errno(errno, "dns server: epoll_ctl");
    }
    thread = std::thread([this] { run(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    notify();
    thread.join();
  }

  void notify() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake.get(), &one, sizeof one);
  }

  // Runs `fn` on the serving thread and returns its result.
  template <class F>
  auto call(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    {
      std::lock_guard lock(mu);
      commands.push_back([&task] { task(); });
    }
    notify();
    return result.get();
  }

  // ---- event loop -------------------------------------------------------

  void run() {
    std::array<epoll_event, 64> events{};
    for (;;) {
      int n =
          ::epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()), timeout_ms());
      if (n < 0 && errno != EINTR) {
        dns_log()->error("dns server: epoll_wait: {}", std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      for (int i = 0; i < n; ++i) {
        auto token = events[static_cast<std::size_t>(i)].data.u64;
        auto flags = events[static_cast<std::size_t>(i)].events;
        if (token == kWakeToken) {
          if (!run_commands()) return;
          continue;
        }
        auto it = watches.find(token);
        if (it == watches.end()) continue;  // closed by an earlier event of this batch
        auto w = it->second;  // the handlers add and remove watches
        switch (w.kind) {
          case Kind::udp:
            on_udp(w.sandbox);
            break;
          case Kind::listener:
            on_accept(w.sandbox);
            break;
          case Kind::conn:
            on_conn(w.id, flags);
            break;
          case Kind::upstream:
            on_upstream(w.id);
            break;
        }
      }
      expire();
    }
  }

  bool run_commands() {
    std::uint64_t count = 0;
    [[maybe_unused]] auto r = ::read(wake.get(), &count, sizeof count);
    std::deque<std::function<void()>> todo;
    {
      std::lock_guard lock(mu);
      if (stopping) return false;
      todo.swap(commands);
    }
    for (auto& fn : todo) fn();
    return true;
  }

  int timeout_ms() const {
    if (pending.empty() && conns.empty()) return -1;
    auto earliest = Clock::time_point::max();
    for (const auto& [id, p] : pending) earliest = std::min(earliest, p.deadline);
    for (const auto& [id, c] : conns) earliest = std::min(earliest, c.idle_deadline);
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(earliest - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left + 1, 0, 60'000));
  }

  void expire() {
    auto now = Clock::now();
    std::vector<std::uint64_t> due;
    for (const auto& [id, p] : pending) {
      if (p.deadline <= now) due.push_back(id);
    }
    for (auto id : due) {
      dns_log()->debug("upstream {} timed out",
                       pending.at(id).upstreams[pending.at(id).next - 1].text);
      try_next(id);
    }
    due.clear();
    for (const auto& [id, c] : conns) {
      if (c.idle_deadline <= now) due.push_back(id);
    }
    for (auto id : due) close_conn(id);
  }

  std::uint64_t watch(int fd, std::uint32_t events, Watch w) {
    auto token = next_token++;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = token;
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      throw sdk::Error::from_errno(errno, "dns server: epoll_ctl");
    }
    watches.emplace(token, std::move(w));
    return token;
  }

  void unwatch(int fd, std::uint64_t token) {
    if (fd >= 0) ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
    watches.erase(token);
  }

  // ---- sandboxes --------------------------------------------------------

  Result<void> add(const std::string& id, UniqueFd udp, UniqueFd tcp, std::vector<Upstream> ups) {
    if (sandboxes.contains(id)) {
      return make_error(Errc::already_exists, "dns for sandbox " + id + ": already served");
    }
    Sandbox sb;
    try {
      sb.udp_token = watch(udp.get(), EPOLLIN, Watch{Kind::udp, id});
      sb.tcp_token = watch(tcp.get(), EPOLLIN, Watch{Kind::listener, id});
    } catch (const sdk::Error& e) {
      if (sb.udp_token != 0) unwatch(udp.get(), sb.udp_token);
      return make_error(e.code(), "dns for sandbox " + id + ": " + e.what());
    }
    sb.udp = std::move(udp);
    sb.tcp = std::move(tcp);
    sb.upstreams = std::move(ups);
    sandboxes.emplace(id, std::move(sb));
    return ok();
  }

  void remove(const std::string& id) {
    auto it = sandboxes.find(id);
    if (it == sandboxes.end()) return;
    auto& sb = it->second;
    unwatch(sb.udp.get(), sb.udp_token);
    unwatch(sb.tcp.get(), sb.tcp_token);
    for (auto conn : std::set(sb.conns)) close_conn(conn);
    std::vector<std::uint64_t> orphans;
    for (const auto& [pid, p] : pending) {
      if (p.client.sandbox == id) orphans.push_back(pid);
    }
    for (auto pid : orphans) drop_pending(pid);
    sandboxes.erase(it);
  }

  // ---- queries ----------------------------------------------------------

  void on_udp(const std::string& sandbox) {
    for (int i = 0; i < kUdpBatch; ++i) {
      auto it = sandboxes.find(sandbox);
      if (it == sandboxes.end()) return;
      Client client{.sandbox = sandbox};
      client.peer_len = sizeof client.peer;
      auto n = ::recvfrom(it->second.udp.get(), buf.data(), buf.size(), 0,
                          reinterpret_cast<sockaddr*>(&client.peer), &client.peer_len);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          dns_log()->debug("sandbox {}: udp receive: {}", sandbox, std::strerror(errno));
        }
        return;
      }
      on_query(std::string_view(buf.data(), static_cast<std::size_t>(n)), client);
    }
  }

  // The most a UDP answer to `q` may carry (RFC 1035 §4.2.1, RFC 6891 §6.2.5).
  static std::size_t udp_limit(const ldns_pkt* q) {
    if (!ldns_pkt_edns(q)) return 512;
    return std::clamp<std::size_t>(ldns_pkt_edns_udp_size(q), 512, 4096);
  }

  void on_query(std::string_view packet, const Client& client) {
    if (packet.size() < kHeaderSize) return;
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, reinterpret_cast<const std::uint8_t*>(packet.data()), packet.size()) !=
        LDNS_STATUS_OK) {
      ldns_pkt_free(raw);
      dns_log()->debug("sandbox {}: dropping malformed query", client.sandbox);
      return;
    }
    Pkt q(raw);
    if (ldns_pkt_qr(q.get())) return;
    std::size_t limit = client.conn != 0 ? 65535 : udp_limit(q.get());

    Pkt answer;
    if (ldns_pkt_get_opcode(q.get()) != LDNS_PACKET_QUERY) {
      answer = reply_to(q.get(), LDNS_RCODE_NOTIMPL, false);
    } else if (ldns_pkt_qdcount(q.get()) != 1 ||
               ldns_rr_list_rr_count(ldns_pkt_question(q.get())) != 1) {
      answer = reply_to(q.get(), LDNS_RCODE_FORMERR, false);
    } else {
      try {
        answer = local_answer(q.get(), client.sandbox);
      } catch (const std::exception& e) {
        dns_log()->warn("sandbox {}: lookup failed: {}", client.sandbox, e.what());
        answer = reply_to(q.get(), LDNS_RCODE_SERVFAIL, false);
      } catch (...) {
        dns_log()->warn("sandbox {}: lookup failed", client.sandbox);
        answer = reply_to(q.get(), LDNS_RCODE_SERVFAIL, false);
      }
      if (!answer) {
        forward(std::string(packet), client);
        return;
      }
    }
    if (auto wire = fit(answer.get(), limit)) deliver(client, *wire);
  }

  // The answer to a one-question query if the name is ours, else null.
  Pkt local_answer(const ldns_pkt* q, const std::string& sandbox) {
    const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(q), 0);
    if (ldns_rr_get_class(question) != LDNS_RR_CLASS_IN) return nullptr;
    const ldns_rdf* owner = ldns_rr_owner(question);
    auto name = lower_name(owner);
    if (name.empty()) return nullptr;
    auto type = ldns_rr_get_type(question);

    if (type == LDNS_RR_TYPE_PTR) {
      auto address = ptr_address(name);
      if (!address || !options.reverse) return nullptr;
      auto target = options.reverse(sandbox, *address);
      if (!target || target->empty()) return nullptr;
      ldns_rdf* dname = ldns_dname_new_frm_str((*target + ".").c_str());
      if (dname == nullptr) return nullptr;
      Pkt r = reply_to(q, LDNS_RCODE_NOERROR, true);
      if (!r) return nullptr;
      if (auto* rr = make_rr(owner, LDNS_RR_TYPE_PTR, dname))
        ldns_pkt_push_rr(r.get(), LDNS_SECTION_ANSWER, rr);
      return r;
    }

    if (!options.lookup) return nullptr;
    auto addresses = options.lookup(sandbox, name);
    if (!addresses) return nullptr;
    Pkt r = reply_to(q, LDNS_RCODE_NOERROR, true);
    if (!r) return nullptr;
    // Other types of a name we know: it exists, with no such records.
    if (type == LDNS_RR_TYPE_A || type == LDNS_RR_TYPE_ANY) {
      for (const auto& a : *addresses) {
        std::uint32_t be = a.be();
        ldns_rdf* data = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, sizeof be, &be);
        if (data == nullptr) continue;
        if (auto* rr = make_rr(owner, LDNS_RR_TYPE_A, data))
          ldns_pkt_push_rr(r.get(), LDNS_SECTION_ANSWER, rr);
      }
    }
    return r;
  }

  void deliver(const Client& client, std::string_view wire) {
    if (client.conn != 0) {
      send_tcp(client.conn, wire);
      return;
    }
    auto it = sandboxes.find(client.sandbox);
    if (it == sandboxes.end()) return;
    if (::sendto(it->second.udp.get(), wire.data(), wire.size(), MSG_DONTWAIT,
                 reinterpret_cast<const sockaddr*>(&client.peer), client.peer_len) < 0) {
      dns_log()->debug("sandbox {}: udp send: {}", client.sandbox, std::strerror(errno));
    }
  }

  void servfail(const Client& client, std::string_view query) {
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, reinterpret_cast<const std::uint8_t*>(query.data()), query.size()) !=
        LDNS_STATUS_OK) {
      ldns_pkt_free(raw);
      return;
    }
    Pkt q(raw);
    Pkt r = reply_to(q.get(), LDNS_RCODE_SERVFAIL, false);
    if (!r) return;
    if (auto wire = fit(r.get(), client.conn != 0 ? 65535 : udp_limit(q.get())))
      deliver(client, *wire);
  }

  // ---- forwarding -------------------------------------------------------

  std::vector<Upstream> upstreams_of(const std::string& sandbox) {
    if (auto it = sandboxes.find(sandbox); it != sandboxes.end() && !it->second.upstreams.empty()) {
      return it->second.upstreams;
    }
    if (!upstreams.empty()) return upstreams;
    // The host's resolv.conf may change under us (DHCP, resolvconf).
    struct stat st {};
    if (::stat(options.host_resolv_conf.c_str(), &st) != 0) {
      host_resolv.loaded = false;
      host_resolv.servers.clear();
      return {};
    }
    auto& cached = host_resolv.st;
    if (!host_resolv.loaded || st.st_ino != cached.st_ino || st.st_dev != cached.st_dev ||
        st.st_size != cached.st_size || st.st_mtim.tv_sec != cached.st_mtim.tv_sec ||
        st.st_mtim.tv_nsec != cached.st_mtim.tv_nsec) {
      host_resolv.servers = read_resolv_conf(options.host_resolv_conf);
      host_resolv.st = st;
      host_resolv.loaded = true;
    }
    return host_resolv.servers;
  }

  void forward(std::string packet, const Client& client) {
    auto ups = upstreams_of(client.sandbox);
    if (ups.empty()) {
      dns_log()->debug("sandbox {}: no upstream dns server", client.sandbox);
      servfail(client, packet);
      return;
    }
    if (pending.size() >= kMaxPending) {
      dns_log()->warn("sandbox {}: {} queries already forwarded, refusing", client.sandbox,
                      kMaxPending);
      servfail(client, packet);
      return;
    }
    auto id = next_token++;
    Pending p;
    p.client = client;
    p.client_id = wire_id(packet);
    // A fresh id per forwarded query, so answers can't be matched to
    // another client's question by guessing its id.
    set_wire_id(packet, static_cast<std::uint16_t>(rng() & 0xffff));
    p.query = std::move(packet);
    p.upstreams = std::move(ups);
    pending.emplace(id, std::move(p));
    if (client.conn != 0) {
      if (auto c = conns.find(client.conn); c != conns.end()) ++c->second.forwarding;
    }
    try_next(id);
  }

  // Sends the query to its next upstream, or answers SERVFAIL when none is left.
  void try_next(std::uint64_t id) {
    auto& p = pending.at(id);
    if (p.sock) {
      unwatch(p.sock.get(), id);
      p.sock.reset();
    }
    while (p.next < p.upstreams.size()) {
      const auto& u = p.upstreams[p.next++];
      UniqueFd sock(::socket(u.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (!sock || ::connect(sock.get(), reinterpret_cast<const sockaddr*>(&u.addr), u.len) != 0 ||
          ::send(sock.get(), p.query.data(), p.query.size(), 0) < 0) {
        dns_log()->debug("forward to {}: {}", u.text, std::strerror(errno));
        continue;
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = id;
      if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, sock.get(), &ev) != 0) {
        dns_log()->debug("forward to {}: epoll_ctl: {}", u.text, std::strerror(errno));
        continue;
      }
      watches.emplace(id, Watch{Kind::upstream, {}, id});
      p.sock = std::move(sock);
      p.deadline = Clock::now() + kUpstreamTimeout;
      return;
    }
    dns_log()->debug("sandbox {}: no upstream answered", p.client.sandbox);
    set_wire_id(p.query, p.client_id);
    servfail(p.client, p.query);
    drop_pending(id);
  }

  void drop_pending(std::uint64_t id) {
    auto it = pending.find(id);
    if (it == pending.end()) return;
    if (it->second.sock) unwatch(it->second.sock.get(), id);
    if (auto conn = it->second.client.conn; conn != 0) {
      if (auto c = conns.find(conn); c != conns.end()) {
        --c->second.forwarding;
        pending.erase(it);
        close_if_done(conn);
        return;
      }
    }
    pending.erase(it);
  }

  void on_upstream(std::uint64_t id) {
    auto it = pending.find(id);
    if (it == pending.end()) return;
    auto& p = it->second;
    for (;;) {
      auto n = ::recv(p.sock.get(), buf.data(), buf.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        // ECONNREFUSED: an ICMP port unreachable from a loopback or LAN server.
        dns_log()->debug("upstream {}: {}", p.upstreams[p.next - 1].text, std::strerror(errno));
        try_next(id);
        return;
      }
      std::string answer(buf.data(), static_cast<std::size_t>(n));
      bool is_response =
          answer.size() >= kHeaderSize && (static_cast<unsigned char>(answer[2]) & 0x80) != 0;
      if (!is_response || wire_id(answer) != wire_id(p.query)) continue;
      set_wire_id(answer, p.client_id);
      // Answer before dropping: dropping may close a half-closed TCP client.
      deliver(p.client, answer);
      drop_pending(id);
      return;
    }
  }

  // ---- tcp --------------------------------------------------------------

  void on_accept(const std::string& sandbox) {
    for (;;) {
      auto it = sandboxes.find(sandbox);
      if (it == sandboxes.end()) return;
      UniqueFd fd(::accept4(it->second.tcp.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!fd) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          dns_log()->debug("sandbox {}: accept: {}", sandbox, std::strerror(errno));
        }
        return;
      }
      if (it->second.conns.size() >= kMaxTcpConnsPerSandbox) continue;  // closes it
      auto id = next_token++;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = id;
      if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) continue;
      watches.emplace(id, Watch{Kind::conn, {}, id});
      conns.emplace(id, Conn{.sandbox = sandbox,
                             .fd = std::move(fd),
                             .idle_deadline = Clock::now() + kTcpIdleTimeout});
      it->second.conns.insert(id);
    }
  }

  void on_conn(std::uint64_t id, std::uint32_t flags) {
    if ((flags & EPOLLOUT) != 0) {
      flush(id);
      if (!conns.contains(id)) return;
    }
    if ((flags & (EPOLLHUP | EPOLLERR)) != 0) {
      close_conn(id);  // gone both ways: nobody to answer
      return;
    }
    if ((flags & EPOLLIN) == 0) return;
    auto& c = conns.at(id);
    if (c.eof) return;
    auto n = ::recv(c.fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      close_conn(id);
      return;
    }
    if (n == 0) {
      // The client may half-close after its queries: answer them first.
      c.eof = true;
      flush(id);
      return;
    }
    c.in.append(buf.data(), static_cast<std::size_t>(n));
    c.idle_deadline = Clock::now() + kTcpIdleTimeout;
    for (;;) {
      auto cit = conns.find(id);
      if (cit == conns.end()) return;
      auto& in = cit->second.in;
      if (in.size() < 2) return;
      std::size_t len = wire_id(in);
      if (len == 0) {
        close_conn(id);
        return;
      }
      if (in.size() < 2 + len) return;
      std::string message = in.substr(2, len);
      in.erase(0, 2 + len);
      on_query(message, Client{.sandbox = cit->second.sandbox, .conn = id});
    }
  }

  void send_tcp(std::uint64_t id, std::string_view wire) {
    auto it = conns.find(id);
    if (it == conns.end() || wire.size() > 65535) return;
    auto& out = it->second.out;
    if (out.size() + wire.size() + 2 > kMaxTcpOutput) {
      dns_log()->debug("sandbox {}: tcp client not reading, closing", it->second.sandbox);
      close_conn(id);
      return;
    }
    out.push_back(static_cast<char>(wire.size() >> 8));
    out.push_back(static_cast<char>(wire.size() & 0xff));
    out.append(wire);
    flush(id);
  }

  void flush(std::uint64_t id) {
    auto& c = conns.at(id);
    while (!c.out.empty()) {
      auto n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        close_conn(id);
        return;
      }
      c.out.erase(0, static_cast<std::size_t>(n));
    }
    epoll_event ev{};
    ev.events = (c.eof ? 0u : static_cast<std::uint32_t>(EPOLLIN)) |
                (c.out.empty() ? 0u : static_cast<std::uint32_t>(EPOLLOUT));
    ev.data.u64 = id;
    ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
    close_if_done(id);
  }

  void close_if_done(std::uint64_t id) {
    auto it = conns.find(id);
    if (it != conns.end() && it->second.eof && it->second.out.empty() &&
        it->second.forwarding <= 0) {
      close_conn(id);
    }
  }

  void close_conn(std::uint64_t id) {
    auto it = conns.find(id);
    if (it == conns.end()) return;
    unwatch(it->second.fd.get(), id);
    if (auto sb = sandboxes.find(it->second.sandbox); sb != sandboxes.end())
      sb->second.conns.erase(id);
    conns.erase(it);
  }
};

DnsServer::DnsServer(DnsOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

DnsServer::~DnsServer() = default;

Result<void> DnsServer::add_sandbox(const std::string& sandbox, int netns_fd,
                                    std::vector<std::string> upstreams) {
  std::vector<Upstream> parsed;
  for (const auto& text : upstreams) {
    auto u = parse_upstream(text);
    if (!u) {
      return make_error(Errc::invalid_argument, "dns for sandbox " + sandbox + ": upstream \"" +
                                                    text + "\": not an address");
    }
    parsed.push_back(std::move(*u));
  }
  if (impl_->call([&] { return impl_->sandboxes.contains(sandbox); })) {
    return make_error(Errc::already_exists, "dns for sandbox " + sandbox + ": already served");
  }
  UniqueFd udp, tcp;
  try {
    sdk::net::run_in_netns(netns_fd, [&] {
      udp = bind_listener(SOCK_DGRAM);
      tcp = bind_listener(SOCK_STREAM);
    });
  } catch (const sdk::Error& e) {
    return make_error(e.code(), "dns for sandbox " + sandbox + ": " + e.what());
  } catch (const std::exception& e) {
    return make_error(Errc::internal, "dns for sandbox " + sandbox + ": " + e.what());
  }
  return impl_->call(
      [&] { return impl_->add(sandbox, std::move(udp), std::move(tcp), std::move(parsed)); });
}

void DnsServer::remove_sandbox(const std::string& sandbox) {
  impl_->call([&] { impl_->remove(sandbox); });
}

}  // namespace berth::core::network
