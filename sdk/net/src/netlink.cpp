#include "berth/sdk/net/netlink.hpp"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <utility>

#include "berth/sdk/net/netns.hpp"
#include "berth/sdk/status.hpp"

namespace berth::sdk::net {
namespace {

// Big enough for any one dump datagram the kernel sends (it sizes them to
// the reader's buffer, up to 32 KiB).
constexpr std::size_t kBufferSize = 32768;

void check_name(std::string_view name, const char* what) {
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    throw Error(Errc::invalid_argument, std::string(what) + ": invalid interface name \"" +
                                            std::string(name) + "\" (1 to 15 characters)");
  }
}

std::optional<std::array<std::uint8_t, 6>> parse_mac(std::string_view text) {
  std::array<std::uint8_t, 6> out{};
  if (text.size() != 17) return std::nullopt;
  for (std::size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':') return std::nullopt;
    unsigned v = 0;
    for (char c : text.substr(i * 3, 2)) {
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
    }
    out[i] = static_cast<std::uint8_t>(v);
  }
  return out;
}

std::string format_mac(const std::uint8_t* bytes, std::size_t len) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, i == 0 ? "%02x" : ":%02x", bytes[i]);
    out += buf;
  }
  return out;
}

// A request being built in a stack buffer.
class Message {
 public:
  Message(std::uint16_t type, std::uint16_t flags) {
    nlh_ = mnl_nlmsg_put_header(buf_.data());
    nlh_->nlmsg_type = type;
    nlh_->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
  }
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  nlmsghdr* nlh() { return nlh_; }

  template <class T>
  T* header() {
    return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(T)));
  }
  void put_str(std::uint16_t type, std::string_view s) {
    std::string z(s);
    mnl_attr_put_strz(nlh_, type, z.c_str());
  }
  void put_u32(std::uint16_t type, std::uint32_t v) { mnl_attr_put_u32(nlh_, type, v); }
  void put(std::uint16_t type, const void* data, std::size_t len) {
    mnl_attr_put(nlh_, type, len, data);
  }
  nlattr* nest(std::uint16_t type) { return mnl_attr_nest_start(nlh_, type); }
  void end(nlattr* nest) { mnl_attr_nest_end(nlh_, nest); }

 private:
  alignas(nlmsghdr) std::array<char, 4096> buf_{};
  nlmsghdr* nlh_;
};

// Per-attribute-type table of a message's top-level attributes.
template <int Max>
struct Attrs {
  std::array<const nlattr*, static_cast<std::size_t>(Max) + 1> at{};
  const nlattr* operator[](int type) const {
    return type <= Max ? at[static_cast<std::size_t>(type)] : nullptr;
  }
};

template <int Max>
Attrs<Max> parse_attrs(const nlmsghdr* nlh, std::size_t header_len) {
  Attrs<Max> out;
  mnl_attr_parse(
      nlh, static_cast<unsigned>(header_len),
      [](const nlattr* attr, void* data) -> int {
        auto* table = static_cast<Attrs<Max>*>(data);
        const int type = mnl_attr_get_type(attr);
        if (type >= 0 && type <= Max) table->at[static_cast<std::size_t>(type)] = attr;
        return MNL_CB_OK;
      },
      &out);
  return out;
}

template <int Max>
Attrs<Max> parse_nested(const nlattr* nest) {
  Attrs<Max> out;
  mnl_attr_parse_nested(
      nest,
      [](const nlattr* attr, void* data) -> int {
        auto* table = static_cast<Attrs<Max>*>(data);
        const int type = mnl_attr_get_type(attr);
        if (type >= 0 && type <= Max) table->at[static_cast<std::size_t>(type)] = attr;
        return MNL_CB_OK;
      },
      &out);
  return out;
}

std::optional<Link> parse_link(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWLINK) return std::nullopt;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  const auto attrs = parse_attrs<IFLA_MAX>(nlh, sizeof(ifinfomsg));
  Link link;
  link.index = ifi->ifi_index;
  link.up = (ifi->ifi_flags & IFF_UP) != 0;
  if (const nlattr* a = attrs[IFLA_IFNAME]) link.name = mnl_attr_get_str(a);
  if (const nlattr* a = attrs[IFLA_MTU]) link.mtu = static_cast<int>(mnl_attr_get_u32(a));
  if (const nlattr* a = attrs[IFLA_MASTER]) link.master = static_cast<int>(mnl_attr_get_u32(a));
  if (const nlattr* a = attrs[IFLA_ADDRESS]) {
    link.mac = format_mac(static_cast<const std::uint8_t*>(mnl_attr_get_payload(a)),
                          mnl_attr_get_payload_len(a));
  }
  if (const nlattr* a = attrs[IFLA_LINKINFO]) {
    const auto info = parse_nested<IFLA_INFO_MAX>(a);
    if (const nlattr* k = info[IFLA_INFO_KIND]) link.kind = mnl_attr_get_str(k);
  }
  return link;
}

}  // namespace

struct Netlink::Impl {
  mnl_socket* socket = nullptr;
  unsigned portid = 0;
  unsigned seq = 0;

  ~Impl() {
    if (socket != nullptr) mnl_socket_close(socket);
  }

  // Sends `msg` and reads replies until the kernel's ACK or NLMSG_DONE,
  // handing each data message to `on_message`. Returns 0 or the kernel's
  // errno; `kernel_message` receives its extended-ACK text, if any.
  int exchange(nlmsghdr* nlh, const std::function<void(const nlmsghdr*)>& on_message,
               std::string* kernel_message) {
    nlh->nlmsg_seq = ++seq;
    if (mnl_socket_sendto(socket, nlh, nlh->nlmsg_len) < 0) return errno;
    struct Context {
      const std::function<void(const nlmsghdr*)>* on_message;
      std::string* kernel_message;
      int error = 0;
    } ctx{&on_message, kernel_message};

    // With a control table, libmnl uses it alone for types below
    // NLMSG_MIN_TYPE: every one we expect needs its entry.
    mnl_cb_t control[NLMSG_MIN_TYPE] = {};
    control[NLMSG_NOOP] = [](const nlmsghdr*, void*) -> int { return MNL_CB_OK; };
    control[NLMSG_DONE] = [](const nlmsghdr* reply, void* data) -> int {
      // A dump that failed half-way ends with its error in NLMSG_DONE.
      if (mnl_nlmsg_get_payload_len(reply) >= sizeof(int)) {
        int status = 0;
        std::memcpy(&status, mnl_nlmsg_get_payload(reply), sizeof status);
        if (status < 0) {
          static_cast<Context*>(data)->error = -status;
          return MNL_CB_ERROR;
        }
      }
      return MNL_CB_STOP;
    };
    control[NLMSG_OVERRUN] = [](const nlmsghdr*, void* data) -> int {
      static_cast<Context*>(data)->error = ENOBUFS;
      return MNL_CB_ERROR;
    };
    control[NLMSG_ERROR] = [](const nlmsghdr* reply, void* data) -> int {
      auto* c = static_cast<Context*>(data);
      if (reply->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
        c->error = EBADMSG;
        return MNL_CB_ERROR;
      }
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(reply));
      if (err->error == 0) return MNL_CB_STOP;
      c->error = -err->error;
      if ((reply->nlmsg_flags & NLM_F_ACK_TLVS) != 0 && c->kernel_message != nullptr) {
        // The TLVs follow the echoed request (only its header when capped).
        std::size_t offset = sizeof(nlmsgerr);
        if ((reply->nlmsg_flags & NLM_F_CAPPED) == 0) {
          offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
        }
        const auto tlvs = parse_attrs<NLMSGERR_ATTR_MAX>(reply, (offset + 3) & ~std::size_t{3});
        if (const nlattr* m = tlvs[NLMSGERR_ATTR_MSG]) *c->kernel_message = mnl_attr_get_str(m);
      }
      return MNL_CB_ERROR;
    };
    std::array<char, kBufferSize> buf;
    for (;;) {
      const ssize_t n = mnl_socket_recvfrom(socket, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      const int rc = mnl_cb_run2(
          buf.data(), static_cast<std::size_t>(n), nlh->nlmsg_seq, portid,
          [](const nlmsghdr* reply, void* data) -> int {
            auto* c = static_cast<Context*>(data);
            if (*c->on_message) (*c->on_message)(reply);
            return MNL_CB_OK;
          },
          &ctx, control, NLMSG_MIN_TYPE);
      if (rc == MNL_CB_STOP) return 0;
      if (rc == MNL_CB_ERROR) return ctx.error != 0 ? ctx.error : (errno != 0 ? errno : EIO);
    }
  }

  // exchange(), throwing "<what>: <strerror> (<kernel message>)" on failure
  // unless the error is one of `tolerated`.
  void request(nlmsghdr* nlh, const std::string& what,
               const std::function<void(const nlmsghdr*)>& on_message = {},
               std::initializer_list<int> tolerated = {}) {
    nlh->nlmsg_flags |= NLM_F_ACK;
    std::string kernel_message;
    const int err = exchange(nlh, on_message, &kernel_message);
    if (err == 0) return;
    for (int t : tolerated) {
      if (err == t) return;
    }
    std::string context = what;
    Error e = Error::from_errno(err, context);
    if (!kernel_message.empty())
      throw Error(e.code(), std::string(e.what()) + " (" + kernel_message + ")");
    throw e;
  }
};

Netlink::Netlink() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) throw Error::from_errno(errno, "open rtnetlink socket");
  *this = Netlink(std::move(fd));
}

Netlink::Netlink(UniqueFd fd) : impl_(new Impl) {
  impl_->socket = mnl_socket_fdopen(fd.get());
  if (impl_->socket == nullptr) {
    const int err = errno;
    delete impl_;
    throw Error::from_errno(err, "open rtnetlink socket");
  }
  fd.release();
  int on = 1;
  // Best effort: older kernels lack extended ACKs (the kernel's error text).
  (void)mnl_socket_setsockopt(impl_->socket, NETLINK_EXT_ACK, &on, sizeof on);
  (void)mnl_socket_setsockopt(impl_->socket, NETLINK_CAP_ACK, &on, sizeof on);
  if (mnl_socket_bind(impl_->socket, 0, MNL_SOCKET_AUTOPID) != 0) {
    const int err = errno;
    delete impl_;
    throw Error::from_errno(err, "bind rtnetlink socket");
  }
  impl_->portid = mnl_socket_get_portid(impl_->socket);
}

Netlink Netlink::in_netns(int netns_fd) {
  // A socket belongs to the namespace it was created in, whatever thread
  // uses it later.
  UniqueFd fd;
  run_in_netns(netns_fd, [&] {
    fd.reset(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) throw Error::from_errno(errno, "open rtnetlink socket in network namespace");
  });
  return Netlink(std::move(fd));
}

Netlink::Netlink(Netlink&& other) noexcept : impl_(std::exchange(other.impl_, nullptr)) {}

Netlink& Netlink::operator=(Netlink&& other) noexcept {
  if (this != &other) {
    delete impl_;
    impl_ = std::exchange(other.impl_, nullptr);
  }
  return *this;
}

Netlink::~Netlink() { delete impl_; }

std::optional<Link> Netlink::link(std::string_view name) {
  check_name(name, "look up link");
  Message m(RTM_GETLINK, 0);
  auto* ifi = m.header<ifinfomsg>();
  ifi->ifi_family = AF_UNSPEC;
  m.put_str(IFLA_IFNAME, name);
  m.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  std::optional<Link> found;
  impl_->request(m.nlh(), "look up link " + std::string(name),
                 [&](const nlmsghdr* reply) {
                   if (auto l = parse_link(reply)) found = std::move(l);
                 },
                 {ENODEV});
  return found;
}

int Netlink::ifindex(std::string_view name) {
  const auto l = link(name);
  return l ? l->index : 0;
}

std::vector<Link> Netlink::links() {
  Message m(RTM_GETLINK, NLM_F_DUMP);
  m.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  m.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  std::vector<Link> out;
  impl_->request(m.nlh(), "list links", [&](const nlmsghdr* reply) {
    if (auto l = parse_link(reply)) out.push_back(std::move(*l));
  });
  return out;
}

std::vector<std::string> Netlink::link_names() {
  std::vector<std::string> out;
  for (Link& l : links()) out.push_back(std::move(l.name));
  return out;
}

void Netlink::create_bridge(std::string_view name, int mtu) {
  check_name(name, "create bridge");
  Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  m.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  m.put_str(IFLA_IFNAME, name);
  if (mtu > 0) m.put_u32(IFLA_MTU, static_cast<std::uint32_t>(mtu));
  nlattr* info = m.nest(IFLA_LINKINFO);
  m.put_str(IFLA_INFO_KIND, "bridge");
  m.end(info);
  impl_->request(m.nlh(), "create bridge " + std::string(name));
}

void Netlink::create_veth(std::string_view name, std::string_view peer, int mtu) {
  check_name(name, "create veth");
  check_name(peer, "create veth");
  Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  m.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  m.put_str(IFLA_IFNAME, name);
  if (mtu > 0) m.put_u32(IFLA_MTU, static_cast<std::uint32_t>(mtu));
  nlattr* info = m.nest(IFLA_LINKINFO);
  m.put_str(IFLA_INFO_KIND, "veth");
  nlattr* data = m.nest(IFLA_INFO_DATA);
  nlattr* peer_info = m.nest(VETH_INFO_PEER);
  // The peer's attributes follow an ifinfomsg of its own.
  m.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  m.put_str(IFLA_IFNAME, peer);
  if (mtu > 0) m.put_u32(IFLA_MTU, static_cast<std::uint32_t>(mtu));
  m.end(peer_info);
  m.end(data);
  m.end(info);
  impl_->request(m.nlh(), "create veth pair " + std::string(name) + " <-> " + std::string(peer));
}

void Netlink::delete_link(std::string_view name) {
  check_name(name, "delete link");
  Message m(RTM_DELLINK, 0);
  m.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  m.put_str(IFLA_IFNAME, name);
  impl_->request(m.nlh(), "delete link " + std::string(name), {}, {ENODEV});
}

namespace {

// An RTM_NEWLINK without NLM_F_CREATE changes the existing link `name` (or
// the link `index`, when renaming).
class ChangeLink : public Message {
 public:
  explicit ChangeLink(std::string_view name, int index = 0) : Message(RTM_NEWLINK, 0) {
    ifi_ = header<ifinfomsg>();
    ifi_->ifi_family = AF_UNSPEC;
    ifi_->ifi_index = index;
    if (index == 0) put_str(IFLA_IFNAME, name);
  }
  ifinfomsg* ifi() { return ifi_; }

 private:
  ifinfomsg* ifi_;
};

}  // namespace

void Netlink::set_up(std::string_view name, bool up) {
  check_name(name, "set link up");
  ChangeLink m(name);
  m.ifi()->ifi_change = IFF_UP;
  m.ifi()->ifi_flags = up ? IFF_UP : 0;
  impl_->request(m.nlh(), "set link " + std::string(name) + (up ? " up" : " down"));
}

void Netlink::set_mtu(std::string_view name, int mtu) {
  check_name(name, "set mtu");
  if (mtu <= 0)
    throw Error(Errc::invalid_argument,
                "set mtu of " + std::string(name) + ": invalid mtu " + std::to_string(mtu));
  ChangeLink m(name);
  m.put_u32(IFLA_MTU, static_cast<std::uint32_t>(mtu));
  impl_->request(m.nlh(), "set mtu of " + std::string(name) + " to " + std::to_string(mtu));
}

void Netlink::set_master(std::string_view name, std::string_view master) {
  check_name(name, "set master");
  const std::string what = "attach " + std::string(name) + " to " + std::string(master);
  std::uint32_t index = 0;
  if (!master.empty()) {
    index = static_cast<std::uint32_t>(ifindex(master));
    if (index == 0) throw Error(Errc::not_found, what + ": no link " + std::string(master));
  }
  ChangeLink m(name);
  m.put_u32(IFLA_MASTER, index);
  impl_->request(m.nlh(), what);
}

void Netlink::set_mac(std::string_view name, std::string_view mac) {
  check_name(name, "set mac address");
  const std::string what = "set mac address of " + std::string(name) + " to " + std::string(mac);
  const auto bytes = parse_mac(mac);
  if (!bytes)
    throw Error(Errc::invalid_argument, what + ": not a mac address (want 02:42:ac:11:00:02)");
  ChangeLink m(name);
  m.put(IFLA_ADDRESS, bytes->data(), bytes->size());
  impl_->request(m.nlh(), what);
}

void Netlink::set_hairpin(std::string_view name, bool on) {
  check_name(name, "set hairpin mode");
  const std::string what =
      std::string(on ? "enable" : "disable") + " hairpin mode of " + std::string(name);
  const int index = ifindex(name);
  if (index == 0) throw Error(Errc::not_found, what + ": no such link");
  // Bridge port settings go through the AF_BRIDGE family, by index only.
  Message m(RTM_SETLINK, 0);
  auto* ifi = m.header<ifinfomsg>();
  ifi->ifi_family = AF_BRIDGE;
  ifi->ifi_index = index;
  nlattr* protinfo = m.nest(IFLA_PROTINFO);
  mnl_attr_put_u8(m.nlh(), IFLA_BRPORT_MODE, on ? 1 : 0);
  m.end(protinfo);
  impl_->request(m.nlh(), what);
}

std::string Netlink::mac(std::string_view name) {
  const auto l = link(name);
  if (!l)
    throw Error(Errc::not_found, "read mac address of " + std::string(name) + ": no such link");
  return l->mac;
}

void Netlink::set_netns(std::string_view name, int netns_fd) {
  check_name(name, "move link");
  ChangeLink m(name);
  m.put_u32(IFLA_NET_NS_FD, static_cast<std::uint32_t>(netns_fd));
  impl_->request(m.nlh(), "move link " + std::string(name) + " to another network namespace");
}

void Netlink::rename(std::string_view name, std::string_view new_name) {
  check_name(name, "rename link");
  check_name(new_name, "rename link");
  const std::string what = "rename link " + std::string(name) + " to " + std::string(new_name);
  const int index = ifindex(name);
  if (index == 0) throw Error(Errc::not_found, what + ": no such link");
  ChangeLink m(name, index);
  m.put_str(IFLA_IFNAME, new_name);
  impl_->request(m.nlh(), what);
}

namespace {

void put_address(Message& m, int index, const Ipv4Net& address) {
  auto* ifa = m.header<ifaddrmsg>();
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = static_cast<std::uint8_t>(address.prefix);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<std::uint32_t>(index);
  const std::uint32_t local = address.addr.be();
  m.put(IFA_LOCAL, &local, sizeof local);
  m.put(IFA_ADDRESS, &local, sizeof local);
  if (address.prefix < 31) {
    const std::uint32_t broadcast = address.broadcast().be();
    m.put(IFA_BROADCAST, &broadcast, sizeof broadcast);
  }
}

}  // namespace

void Netlink::add_address(std::string_view name, const Ipv4Net& address) {
  const std::string what = "add address " + address.str() + " to " + std::string(name);
  check_name(name, "add address");
  const int index = ifindex(name);
  if (index == 0) throw Error(Errc::not_found, what + ": no such link");
  Message m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  put_address(m, index, address);
  impl_->request(m.nlh(), what, {}, {EEXIST});
}

void Netlink::delete_address(std::string_view name, const Ipv4Net& address) {
  const std::string what = "delete address " + address.str() + " from " + std::string(name);
  check_name(name, "delete address");
  const int index = ifindex(name);
  if (index == 0) throw Error(Errc::not_found, what + ": no such link");
  Message m(RTM_DELADDR, 0);
  put_address(m, index, address);
  impl_->request(m.nlh(), what, {}, {EADDRNOTAVAIL});
}

std::vector<Ipv4Net> Netlink::addresses(std::string_view name) {
  const std::string what = "list addresses of " + std::string(name);
  check_name(name, "list addresses");
  const int index = ifindex(name);
  if (index == 0) throw Error(Errc::not_found, what + ": no such link");
  Message m(RTM_GETADDR, NLM_F_DUMP);
  m.header<ifaddrmsg>()->ifa_family = AF_INET;
  std::vector<Ipv4Net> out;
  impl_->request(m.nlh(), what, [&](const nlmsghdr* reply) {
    if (reply->nlmsg_type != RTM_NEWADDR) return;
    const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(reply));
    if (ifa->ifa_family != AF_INET || static_cast<int>(ifa->ifa_index) != index) return;
    const auto attrs = parse_attrs<IFA_MAX>(reply, sizeof(ifaddrmsg));
    const nlattr* a = attrs[IFA_LOCAL] != nullptr ? attrs[IFA_LOCAL] : attrs[IFA_ADDRESS];
    if (a == nullptr || mnl_attr_get_payload_len(a) != 4) return;
    out.push_back(Ipv4Net{Ipv4{ntohl(mnl_attr_get_u32(a))}, ifa->ifa_prefixlen});
  });
  return out;
}

namespace {

void put_route(Message& m, const Route& route) {
  auto* rtm = m.header<rtmsg>();
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = static_cast<unsigned char>(route.destination.prefix);
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = route.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rtm->rtm_type = RTN_UNICAST;
  if (route.destination.prefix > 0) {
    const std::uint32_t dst = route.destination.network().be();
    m.put(RTA_DST, &dst, sizeof dst);
  }
  if (route.gateway) {
    const std::uint32_t gw = route.gateway->be();
    m.put(RTA_GATEWAY, &gw, sizeof gw);
  }
  if (route.ifindex != 0) m.put_u32(RTA_OIF, static_cast<std::uint32_t>(route.ifindex));
}

std::string describe(const Route& route) {
  std::string s = route.destination.prefix == 0 ? "default" : route.destination.subnet().str();
  if (route.gateway) s += " via " + route.gateway->str();
  if (route.ifindex != 0) s += " dev #" + std::to_string(route.ifindex);
  return s;
}

}  // namespace

void Netlink::add_route(const Route& route) {
  if (!route.gateway && route.ifindex == 0) {
    throw Error(Errc::invalid_argument,
                "add route " + describe(route) + ": neither a gateway nor a link");
  }
  Message m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  put_route(m, route);
  impl_->request(m.nlh(), "add route " + describe(route));
}

void Netlink::delete_route(const Route& route) {
  Message m(RTM_DELROUTE, 0);
  put_route(m, route);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_get_payload(m.nlh()));
  rtm->rtm_scope = RT_SCOPE_NOWHERE;  // match any scope
  rtm->rtm_protocol = 0;              // and any protocol
  impl_->request(m.nlh(), "delete route " + describe(route), {}, {ESRCH});
}

std::vector<Route> Netlink::routes() {
  Message m(RTM_GETROUTE, NLM_F_DUMP);
  m.header<rtmsg>()->rtm_family = AF_INET;
  std::vector<Route> out;
  impl_->request(m.nlh(), "list routes", [&](const nlmsghdr* reply) {
    if (reply->nlmsg_type != RTM_NEWROUTE) return;
    const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(reply));
    if (rtm->rtm_family != AF_INET || rtm->rtm_type != RTN_UNICAST) return;
    const auto attrs = parse_attrs<RTA_MAX>(reply, sizeof(rtmsg));
    const std::uint32_t table =
        attrs[RTA_TABLE] != nullptr ? mnl_attr_get_u32(attrs[RTA_TABLE]) : rtm->rtm_table;
    if (table != RT_TABLE_MAIN) return;
    Route r;
    r.destination.prefix = rtm->rtm_dst_len;
    if (const nlattr* a = attrs[RTA_DST]) r.destination.addr = Ipv4{ntohl(mnl_attr_get_u32(a))};
    if (const nlattr* a = attrs[RTA_GATEWAY]) r.gateway = Ipv4{ntohl(mnl_attr_get_u32(a))};
    if (const nlattr* a = attrs[RTA_OIF]) r.ifindex = static_cast<int>(mnl_attr_get_u32(a));
    out.push_back(r);
  });
  return out;
}

namespace {

std::string sysctl_path(std::string_view key, const char* what) {
  if (key.empty() || key.front() == '/' || key.find("..") != std::string_view::npos ||
      key.find('\0') != std::string_view::npos) {
    throw Error(Errc::invalid_argument,
                std::string(what) + " " + std::string(key) + ": invalid key");
  }
  return "/proc/sys/" + std::string(key);
}

}  // namespace

std::string read_sysctl(std::string_view key) {
  const std::string path = sysctl_path(key, "read sysctl");
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw Error::from_errno(errno, "read sysctl " + std::string(key));
  std::string out;
  char buf[256];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error::from_errno(errno, "read sysctl " + std::string(key));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void write_sysctl(std::string_view key, std::string_view value) {
  const std::string path = sysctl_path(key, "write sysctl");
  const std::string what = "write sysctl " + std::string(key) + "=" + std::string(value);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw Error::from_errno(errno, what);
  // A sysctl takes its value in one write.
  const ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n < 0) throw Error::from_errno(errno, what);
  if (static_cast<std::size_t>(n) != value.size())
    throw Error(Errc::internal, what + ": short write");
  if (const int err = fd.close(); err != 0) throw Error::from_errno(err, what);
}

std::string read_sysctl_in(int netns_fd, std::string_view key) {
  std::string out;
  run_in_netns(netns_fd, [&] { out = read_sysctl(key); });
  return out;
}

void write_sysctl_in(int netns_fd, std::string_view key, std::string_view value) {
  run_in_netns(netns_fd, [&] { write_sysctl(key, value); });
}

}  // namespace berth::sdk::net
