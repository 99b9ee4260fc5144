#include "berth/sdk/net/nft.hpp"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <utility>

#include "berth/sdk/status.hpp"

namespace berth::sdk::net {

// ---- Rule and Ruleset: plain descriptions, nothing touches the kernel here.

namespace {

Rule::Step step(Rule::Step::Kind kind, bool negate = false) {
  Rule::Step s{};
  s.kind = kind;
  s.negate = negate;
  return s;
}

}  // namespace

Rule& Rule::iifname(std::string_view name, bool negate) {
  auto s = step(Step::Kind::iifname, negate);
  s.name = name;
  steps_.push_back(std::move(s));
  return *this;
}

Rule& Rule::oifname(std::string_view name, bool negate) {
  auto s = step(Step::Kind::oifname, negate);
  s.name = name;
  steps_.push_back(std::move(s));
  return *this;
}

Rule& Rule::saddr(const Ipv4Net& net, bool negate) {
  auto s = step(Step::Kind::saddr, negate);
  s.net = net;
  steps_.push_back(std::move(s));
  return *this;
}

Rule& Rule::daddr(const Ipv4Net& net, bool negate) {
  auto s = step(Step::Kind::daddr, negate);
  s.net = net;
  steps_.push_back(std::move(s));
  return *this;
}

Rule& Rule::saddr_local() {
  steps_.push_back(step(Step::Kind::saddr_local));
  return *this;
}

Rule& Rule::daddr_local() {
  steps_.push_back(step(Step::Kind::daddr_local));
  return *this;
}

Rule& Rule::protocol(std::uint8_t l4proto) {
  auto s = step(Step::Kind::protocol);
  s.number = l4proto;
  steps_.push_back(std::move(s));
  return *this;
}

Rule& Rule::dport(std::uint16_t port) {
  auto s = step(Step::Kind::dport);
  s.number = port;
  steps_.push_back(std::move(s));
  return *this;
}

Rule& Rule::ct_established() {
  steps_.push_back(step(Step::Kind::ct_established));
  return *this;
}

Rule& Rule::counter() {
  steps_.push_back(step(Step::Kind::counter));
  return *this;
}

Rule& Rule::comment(std::string_view text) {
  comment_ = text;
  return *this;
}

Rule& Rule::accept() {
  steps_.push_back(step(Step::Kind::accept));
  return *this;
}

Rule& Rule::drop() {
  steps_.push_back(step(Step::Kind::drop));
  return *this;
}

Rule& Rule::jump(std::string_view chain) {
  auto s = step(Step::Kind::jump);
  s.name = chain;
  steps_.push_back(std::move(s));
  return *this;
}

Rule& Rule::masquerade() {
  steps_.push_back(step(Step::Kind::masquerade));
  return *this;
}

Rule& Rule::dnat(Ipv4 to, std::uint16_t port) {
  auto s = step(Step::Kind::dnat);
  s.addr = to;
  s.number = port;
  steps_.push_back(std::move(s));
  return *this;
}

void Ruleset::chain(std::string name, std::optional<Hook> hook, ChainType type, int priority) {
  for (const auto& c : chains_) {
    if (c.name == name) {
      throw Error(Errc::already_exists,
                  "nftables table " + table_ + ": chain " + name + " declared twice");
    }
  }
  chains_.push_back(Chain{std::move(name), hook, type, priority, {}});
}

void Ruleset::rule(std::string_view chain, Rule rule) {
  for (auto& c : chains_) {
    if (c.name == chain) {
      c.rules.push_back(std::move(rule));
      return;
    }
  }
  throw Error(Errc::not_found,
              "nftables table " + table_ + ": no chain " + std::string(chain) + " for a rule");
}

// ---- libnftnl: building messages and talking to the kernel.

namespace {

struct TableFree {
  void operator()(nftnl_table* t) const { nftnl_table_free(t); }
};
struct ChainFree {
  void operator()(nftnl_chain* c) const { nftnl_chain_free(c); }
};
struct RuleFree {
  void operator()(nftnl_rule* r) const { nftnl_rule_free(r); }
};
struct ExprFree {
  void operator()(nftnl_expr* e) const { nftnl_expr_free(e); }
};
struct UdataFree {
  void operator()(nftnl_udata_buf* u) const { nftnl_udata_buf_free(u); }
};
struct SocketClose {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using TablePtr = std::unique_ptr<nftnl_table, TableFree>;
using ChainPtr = std::unique_ptr<nftnl_chain, ChainFree>;
using RulePtr = std::unique_ptr<nftnl_rule, RuleFree>;
using ExprPtr = std::unique_ptr<nftnl_expr, ExprFree>;
using SocketPtr = std::unique_ptr<mnl_socket, SocketClose>;

constexpr std::uint16_t kFamily = NFPROTO_IPV4;
// Larger than any single netlink message the kernel sends us (it sizes them
// by page, and a recv into a smaller buffer truncates).
constexpr std::size_t kReceiveBuffer = 64 * 1024;

[[noreturn]] void throw_bad_alloc(std::string_view what) {
  throw Error(Errc::internal, "nftables: out of memory building " + std::string(what));
}

template <typename T>
T checked(T p, std::string_view what) {
  if (!p) throw_bad_alloc(what);
  return p;
}

std::uint32_t hook_number(Hook hook) {
  switch (hook) {
    case Hook::prerouting:
      return NF_INET_PRE_ROUTING;
    case Hook::input:
      return NF_INET_LOCAL_IN;
    case Hook::forward:
      return NF_INET_FORWARD;
    case Hook::output:
      return NF_INET_LOCAL_OUT;
    case Hook::postrouting:
      return NF_INET_POST_ROUTING;
  }
  return NF_INET_FORWARD;
}

// Appends expressions to one libnftnl rule.
class ExprWriter {
 public:
  explicit ExprWriter(nftnl_rule* rule) : rule_(rule) {}

  void meta_load(std::uint32_t key, std::uint32_t dreg = NFT_REG_1) {
    auto e = make("meta");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_DREG, dreg);
    add(std::move(e));
  }

  void payload_load(std::uint32_t base, std::uint32_t offset, std::uint32_t len) {
    auto e = make("payload");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_BASE, base);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_OFFSET, offset);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_LEN, len);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
    add(std::move(e));
  }

  void cmp(bool negate, const void* data, std::uint32_t len) {
    auto e = make("cmp");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_OP, negate ? NFT_CMP_NEQ : NFT_CMP_EQ);
    nftnl_expr_set(e.get(), NFTNL_EXPR_CMP_DATA, data, len);
    add(std::move(e));
  }

  // reg1 = reg1 & mask (mask and xor are `len` bytes, as the loaded value).
  void bitwise_and(const void* mask, std::uint32_t len) {
    const std::array<std::uint8_t, 16> zero{};
    auto e = make("bitwise");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_LEN, len);
    nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_MASK, mask, len);
    nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_XOR, zero.data(), len);
    add(std::move(e));
  }

  void fib_addrtype(std::uint32_t flags) {
    auto e = make("fib");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_FIB_FLAGS, flags);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_FIB_DREG, NFT_REG_1);
    add(std::move(e));
  }

  void ct_load(std::uint32_t key) {
    auto e = make("ct");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_KEY, key);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_DREG, NFT_REG_1);
    add(std::move(e));
  }

  void immediate_data(std::uint32_t dreg, const void* data, std::uint32_t len) {
    auto e = make("immediate");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, dreg);
    nftnl_expr_set(e.get(), NFTNL_EXPR_IMM_DATA, data, len);
    add(std::move(e));
  }

  void verdict(int code, const std::string* chain = nullptr) {
    auto e = make("immediate");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_VERDICT, static_cast<std::uint32_t>(code));
    if (chain) nftnl_expr_set_str(e.get(), NFTNL_EXPR_IMM_CHAIN, chain->c_str());
    add(std::move(e));
  }

  void plain(const char* name) { add(make(name)); }

  void dnat(bool with_port) {
    auto e = make("nat");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
    if (with_port) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
    add(std::move(e));
  }

 private:
  static ExprPtr make(const char* name) { return ExprPtr(checked(nftnl_expr_alloc(name), name)); }
  // The rule owns expressions once added.
  void add(ExprPtr e) { nftnl_rule_add_expr(rule_, e.release()); }

  nftnl_rule* rule_;
};

void add_ifname_match(ExprWriter& w, std::uint32_t key, const Rule::Step& s,
                      std::string_view what) {
  if (s.name.empty() || s.name.size() >= IFNAMSIZ) {
    throw Error(Errc::invalid_argument,
                std::string(what) + ": bad interface name \"" + s.name + "\"");
  }
  // The kernel's meta loads the full IFNAMSIZ buffer, NUL-padded; comparing
  // all 16 bytes is an exact match (fewer would be a prefix match, "eth*").
  std::array<char, IFNAMSIZ> padded{};
  std::memcpy(padded.data(), s.name.data(), s.name.size());
  w.meta_load(key);
  w.cmp(s.negate, padded.data(), padded.size());
}

void add_addr_match(ExprWriter& w, std::uint32_t offset, const Rule::Step& s) {
  w.payload_load(NFT_PAYLOAD_NETWORK_HEADER, offset, 4);
  if (s.net.prefix < 32) {
    std::uint32_t mask = htonl(s.net.mask());
    w.bitwise_and(&mask, sizeof mask);
  }
  std::uint32_t network = s.net.network().be();
  w.cmp(s.negate, &network, sizeof network);
}

void add_fib_local(ExprWriter& w, std::uint32_t flag) {
  w.fib_addrtype(flag);
  std::uint32_t local = RTN_LOCAL;
  w.cmp(false, &local, sizeof local);
}

RulePtr build_rule(const std::string& table, const std::string& chain, const Rule& rule,
                   std::string_view what) {
  RulePtr r(checked(nftnl_rule_alloc(), "rule"));
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, kFamily);
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());

  ExprWriter w(r.get());
  bool have_protocol = false;
  for (const auto& s : rule.steps()) {
    using K = Rule::Step::Kind;
    switch (s.kind) {
      case K::iifname:
        add_ifname_match(w, NFT_META_IIFNAME, s, what);
        break;
      case K::oifname:
        add_ifname_match(w, NFT_META_OIFNAME, s, what);
        break;
      case K::saddr:
        add_addr_match(w, 12, s);
        break;
      case K::daddr:
        add_addr_match(w, 16, s);
        break;
      case K::saddr_local:
        add_fib_local(w, NFTA_FIB_F_SADDR);
        break;
      case K::daddr_local:
        add_fib_local(w, NFTA_FIB_F_DADDR);
        break;
      case K::protocol: {
        auto proto = static_cast<std::uint8_t>(s.number);
        w.meta_load(NFT_META_L4PROTO);
        w.cmp(s.negate, &proto, sizeof proto);
        have_protocol = true;
        break;
      }
      case K::dport: {
        // The port sits at the same offset in TCP, UDP, SCTP and DCCP, but
        // only the protocol match says which header is there.
        if (!have_protocol)
          throw Error(Errc::invalid_argument, std::string(what) + ": dport without protocol");
        std::uint16_t port = htons(static_cast<std::uint16_t>(s.number));
        w.payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
        w.cmp(s.negate, &port, sizeof port);
        break;
      }
      case K::ct_established: {
        std::uint32_t bits = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);
        std::uint32_t zero = 0;
        w.ct_load(NFT_CT_STATE);
        w.bitwise_and(&bits, sizeof bits);
        w.cmp(true, &zero, sizeof zero);
        break;
      }
      case K::counter:
        w.plain("counter");
        break;
      case K::accept:
        w.verdict(NF_ACCEPT);
        break;
      case K::drop:
        w.verdict(NF_DROP);
        break;
      case K::jump:
        w.verdict(NFT_JUMP, &s.name);
        break;
      case K::masquerade:
        w.plain("masq");
        break;
      case K::dnat: {
        std::uint32_t addr = s.addr.be();
        w.immediate_data(NFT_REG_1, &addr, sizeof addr);
        if (s.number != 0) {
          std::uint16_t port = htons(static_cast<std::uint16_t>(s.number));
          w.immediate_data(NFT_REG_2, &port, sizeof port);
        }
        w.dnat(s.number != 0);
        break;
      }
    }
  }

  if (!rule.comment_text().empty()) {
    // The TLV nft(8) writes for `comment "..."`, so `nft list` shows it.
    if (rule.comment_text().size() >= NFTNL_UDATA_COMMENT_MAXLEN ||
        rule.comment_text().find('\0') != std::string::npos) {
      throw Error(Errc::invalid_argument, std::string(what) + ": comment too long or not text");
    }
    std::unique_ptr<nftnl_udata_buf, UdataFree> ud(
        checked(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN), "rule comment"));
    if (!nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_RULE_COMMENT, rule.comment_text().c_str())) {
      throw_bad_alloc("rule comment");
    }
    nftnl_rule_set_data(r.get(), NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud.get()),
                        nftnl_udata_buf_len(ud.get()));
  }
  return r;
}

// A batch of nf_tables messages (BATCH_BEGIN ... BATCH_END), each with
// NLM_F_ACK and a description for error messages.
class Batch {
 public:
  Batch() : seq_(static_cast<std::uint32_t>(::time(nullptr))) {
    nftnl_batch_begin(scratch(), seq_++);
    commit();
  }

  void table(std::uint16_t type, std::uint16_t flags, std::string_view name, std::string what) {
    TablePtr t(checked(nftnl_table_alloc(), "table"));
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, kFamily);
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, std::string(name).c_str());
    auto* nlh = nftnl_table_nlmsg_build_hdr(scratch(), type, kFamily, flags | NLM_F_ACK, seq_);
    nftnl_table_nlmsg_build_payload(nlh, t.get());
    described(std::move(what));
  }

  void chain(const std::string& table, const Ruleset::Chain& c, std::string what) {
    ChainPtr ch(checked(nftnl_chain_alloc(), "chain"));
    nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_FAMILY, kFamily);
    nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TABLE, table.c_str());
    nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_NAME, c.name.c_str());
    if (c.hook) {
      nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_HOOKNUM, hook_number(*c.hook));
      nftnl_chain_set_s32(ch.get(), NFTNL_CHAIN_PRIO, c.priority);
      nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TYPE, c.type == ChainType::nat ? "nat" : "filter");
      nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
    }
    auto* nlh = nftnl_chain_nlmsg_build_hdr(scratch(), NFT_MSG_NEWCHAIN, kFamily,
                                            NLM_F_CREATE | NLM_F_ACK, seq_);
    nftnl_chain_nlmsg_build_payload(nlh, ch.get());
    described(std::move(what));
  }

  void rule(nftnl_rule* r, std::string what) {
    auto* nlh = nftnl_rule_nlmsg_build_hdr(scratch(), NFT_MSG_NEWRULE, kFamily,
                                           NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, seq_);
    nftnl_rule_nlmsg_build_payload(nlh, r);
    described(std::move(what));
  }

  // Closes the batch; the buffer is then ready to send.
  void finish() {
    nftnl_batch_end(scratch(), seq_++);
    commit();
  }

  const std::vector<char>& buffer() const { return buf_; }
  std::size_t messages() const { return what_.size(); }
  // What the message with sequence number `seq` did, "" for the batch itself.
  std::string_view what(std::uint32_t seq) const {
    std::uint32_t i = seq - first_seq_;  // wraps for the batch header: too large
    return i < what_.size() ? std::string_view(what_[i]) : std::string_view();
  }

 private:
  // Each message is built in a scratch page, then appended: libnftnl writes
  // into a caller-sized buffer and a whole ruleset may not fit in one page.
  char* scratch() {
    std::fill(scratch_.begin(), scratch_.end(), 0);
    return scratch_.data();
  }
  void commit() {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(scratch_.data());
    if (nlh->nlmsg_len > scratch_.size()) {
      throw Error(Errc::invalid_argument, "nftables: message larger than its buffer");
    }
    // libmnl pads every message and attribute to 4 bytes.
    std::size_t len = (std::size_t{nlh->nlmsg_len} + 3) & ~std::size_t{3};
    buf_.insert(buf_.end(), scratch_.data(), scratch_.data() + len);
  }
  void described(std::string what) {
    if (what_.empty()) first_seq_ = seq_;
    what_.push_back(std::move(what));
    ++seq_;
    commit();
  }

  std::uint32_t seq_;
  std::uint32_t first_seq_ = 0;
  std::vector<std::string> what_;
  std::vector<char> buf_;
  std::array<char, 16384> scratch_{};
};

SocketPtr open_socket() {
  SocketPtr nl(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
  if (!nl) throw Error::from_errno(errno, "open netfilter netlink socket");
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    throw Error::from_errno(errno, "bind netfilter netlink socket");
  }
  // Error replies carry only the header of the refused message, not a copy.
  int one = 1;
  mnl_socket_setsockopt(nl.get(), NETLINK_CAP_ACK, &one, sizeof one);
  return nl;
}

// Raises a socket buffer to `want` bytes when it is smaller; the *FORCE
// variants pass net.core.{w,r}mem_max (we are root), the plain ones are the
// fallback.
void grow_buffer(mnl_socket* nl, int opt, int force_opt, std::size_t want) {
  int fd = mnl_socket_get_fd(nl);
  int current = 0;
  socklen_t len = sizeof current;
  if (::getsockopt(fd, SOL_SOCKET, opt, &current, &len) == 0 &&
      static_cast<std::size_t>(current) >= want) {
    return;
  }
  int value = static_cast<int>(std::min<std::size_t>(want, 1u << 30));
  if (::setsockopt(fd, SOL_SOCKET, force_opt, &value, sizeof value) != 0) {
    ::setsockopt(fd, SOL_SOCKET, opt, &value, sizeof value);
  }
}

struct Reply {
  int error = 0;
  std::uint32_t seq = 0;
  std::size_t acks = 0;
};

int on_control(const nlmsghdr* nlh, void* data) {
  if (nlh->nlmsg_type != NLMSG_ERROR) return MNL_CB_OK;
  auto* reply = static_cast<Reply*>(data);
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
    if (reply->error == 0) reply->error = EBADMSG;
    return MNL_CB_OK;
  }
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  ++reply->acks;
  if (err->error != 0 && reply->error == 0) {
    reply->error = -err->error;
    reply->seq = err->msg.nlmsg_seq;
  }
  return MNL_CB_OK;
}

// Sends the batch and collects every reply. nfnetlink runs the whole batch
// inside sendmsg, so all answers are queued by the time sendto returns and a
// non-blocking drain sees them all; nothing here can block forever.
void send_batch(const Batch& batch, const std::string& context) {
  auto nl = open_socket();
  const auto& buf = batch.buffer();
  grow_buffer(nl.get(), SO_SNDBUF, SO_SNDBUFFORCE, buf.size() + 4096);
  // One ACK per message (an skb of about 1 KiB each) must fit, or the kernel
  // drops them and reports ENOBUFS.
  grow_buffer(nl.get(), SO_RCVBUF, SO_RCVBUFFORCE, (batch.messages() + 16) * 2048);

  if (mnl_socket_sendto(nl.get(), buf.data(), buf.size()) < 0) {
    throw Error::from_errno(errno, context + ": send");
  }

  Reply reply;
  std::array<char, kReceiveBuffer> rx{};
  unsigned portid = mnl_socket_get_portid(nl.get());
  std::array<mnl_cb_t, NLMSG_MIN_TYPE> ctl{};
  ctl[NLMSG_ERROR] = on_control;
  for (;;) {
    ssize_t n = ::recv(mnl_socket_get_fd(nl.get()), rx.data(), rx.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      throw Error::from_errno(errno, context + ": receive");
    }
    if (mnl_cb_run2(rx.data(), static_cast<std::size_t>(n), 0, portid, nullptr, &reply, ctl.data(),
                    static_cast<unsigned>(ctl.size())) < 0 &&
        reply.error == 0) {
      reply.error = errno != 0 ? errno : EBADMSG;
    }
  }

  if (reply.error != 0) {
    auto what = batch.what(reply.seq);
    throw Error::from_errno(reply.error,
                            what.empty() ? context : context + ": " + std::string(what));
  }
  if (reply.acks < batch.messages()) {
    throw Error(Errc::internal, context + ": the kernel answered " + std::to_string(reply.acks) +
                                    " of " + std::to_string(batch.messages()) + " messages");
  }
}

std::string describe_rule(const std::string& chain, std::size_t index) {
  return "add rule " + std::to_string(index + 1) + " to chain " + chain;
}

}  // namespace

void apply(const Ruleset& ruleset) {
  const std::string& table = ruleset.table();
  const std::string context = "apply nftables table " + table;
  if (table.empty() || table.size() >= NFT_TABLE_MAXNAMELEN) {
    throw Error(Errc::invalid_argument, context + ": bad table name");
  }

  Batch batch;
  // add + delete + add: the same transaction whether or not the table was
  // there, and it empties a table someone else (or an old berthd) filled.
  batch.table(NFT_MSG_NEWTABLE, NLM_F_CREATE, table, "add table");
  batch.table(NFT_MSG_DELTABLE, 0, table, "delete table");
  batch.table(NFT_MSG_NEWTABLE, NLM_F_CREATE, table, "add table");
  for (const auto& c : ruleset.chains()) batch.chain(table, c, "add chain " + c.name);
  // Rules after all chains, so a jump may name a chain declared later.
  for (const auto& c : ruleset.chains()) {
    for (std::size_t i = 0; i < c.rules.size(); ++i) {
      std::string what = describe_rule(c.name, i);
      auto r = build_rule(table, c.name, c.rules[i], context + ": " + what);
      batch.rule(r.get(), std::move(what));
    }
  }
  batch.finish();
  send_batch(batch, context);
}

void delete_table(std::string_view table) {
  std::string context = "delete nftables table " + std::string(table);
  Batch batch;
  // Adding first makes the delete succeed on a missing table, atomically.
  batch.table(NFT_MSG_NEWTABLE, NLM_F_CREATE, table, "add table");
  batch.table(NFT_MSG_DELTABLE, 0, table, "delete table");
  batch.finish();
  send_batch(batch, context);
}

bool table_exists(std::string_view table) {
  std::string context = "look up nftables table " + std::string(table);
  auto nl = open_socket();
  TablePtr t(checked(nftnl_table_alloc(), "table"));
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, kFamily);
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, std::string(table).c_str());

  std::array<char, kReceiveBuffer> buf{};
  auto seq = static_cast<std::uint32_t>(::time(nullptr));
  auto* nlh = nftnl_table_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, kFamily, NLM_F_ACK, seq);
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0) {
    throw Error::from_errno(errno, context + ": send");
  }

  bool found = false;
  unsigned portid = mnl_socket_get_portid(nl.get());
  auto on_table = [](const nlmsghdr*, void* data) {
    *static_cast<bool*>(data) = true;
    return MNL_CB_OK;
  };
  // The reply is the table (when there is one), then the ACK or an error.
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error::from_errno(errno, context + ": receive");
    }
    int ret = mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq, portid, on_table, &found);
    if (ret < 0) {
      if (errno == ENOENT) return false;
      throw Error::from_errno(errno, context);
    }
    if (ret == MNL_CB_STOP) break;
  }
  return found;
}

}  // namespace berth::sdk::net
