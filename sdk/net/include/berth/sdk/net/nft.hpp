// nftables for network drivers, through libnftnl: a driver describes the
// whole content of its own table (family ip) and replaces it in one atomic
// transaction, so re-applying after a restart is idempotent and a crash can
// never leave half a ruleset. No shelling out to nft(8), no iptables.
//
//   Ruleset rs("berth");
//   rs.chain("postrouting", Hook::postrouting, ChainType::nat, 100);
//   rs.rule("postrouting", Rule().saddr(subnet).oifname("berth0", true).masquerade());
//   apply(rs);            // replaces table "ip berth" (creates it if missing)
//   delete_table("berth");
//
// Errors are thrown as berth::sdk::Error with the kernel's message.
#ifndef BERTH_SDK_NET_NFT_HPP
#define BERTH_SDK_NET_NFT_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/sdk/net/addr.hpp"

namespace berth::sdk::net {

enum class Hook { prerouting, input, forward, output, postrouting };
enum class ChainType { filter, nat };

// One rule: matches in order, then one verdict/action. Each matcher appends
// the libnftnl expressions it stands for.
class Rule {
 public:
  Rule& iifname(std::string_view name, bool negate = false);
  Rule& oifname(std::string_view name, bool negate = false);
  Rule& saddr(const Ipv4Net& net, bool negate = false);
  Rule& daddr(const Ipv4Net& net, bool negate = false);
  Rule& saddr_local();       // fib saddr type local
  Rule& daddr_local();       // fib daddr type local
  Rule& protocol(std::uint8_t l4proto);  // IPPROTO_TCP / IPPROTO_UDP
  Rule& dport(std::uint16_t port);       // needs protocol() first
  Rule& ct_established();    // ct state established,related
  Rule& counter();
  Rule& comment(std::string_view text);

  Rule& accept();
  Rule& drop();
  Rule& jump(std::string_view chain);
  Rule& masquerade();
  Rule& dnat(Ipv4 to, std::uint16_t port = 0);  // port 0: keep the port

  struct Step;  // implementation detail: one matcher or action
  const std::vector<Step>& steps() const { return steps_; }
  const std::string& comment_text() const { return comment_; }

 private:
  std::vector<Step> steps_;
  std::string comment_;
};

struct Rule::Step {
  enum class Kind {
    iifname, oifname, saddr, daddr, saddr_local, daddr_local, protocol, dport,
    ct_established, counter, accept, drop, jump, masquerade, dnat
  } kind;
  bool negate = false;
  std::string name;   // iifname/oifname/jump
  Ipv4Net net;        // saddr/daddr
  Ipv4 addr;          // dnat
  std::uint32_t number = 0;  // protocol, port
};

class Ruleset {
 public:
  explicit Ruleset(std::string table) : table_(std::move(table)) {}

  // A base chain (hook set, policy accept) or, without a hook, a regular one.
  void chain(std::string name, std::optional<Hook> hook = std::nullopt,
             ChainType type = ChainType::filter, int priority = 0);
  void rule(std::string_view chain, Rule rule);

  struct Chain {
    std::string name;
    std::optional<Hook> hook;
    ChainType type;
    int priority;
    std::vector<Rule> rules;
  };
  const std::string& table() const { return table_; }
  const std::vector<Chain>& chains() const { return chains_; }

 private:
  std::string table_;
  std::vector<Chain> chains_;
};

// Replaces the table with `ruleset` in one transaction (add, delete, add, then
// its chains and rules); nothing changes when any part is refused.
void apply(const Ruleset& ruleset);

// Deletes table `table` (family ip); a missing table is not an error.
void delete_table(std::string_view table);

// Whether table `table` (family ip) exists.
bool table_exists(std::string_view table);

}  // namespace berth::sdk::net

#endif  // BERTH_SDK_NET_NFT_HPP
