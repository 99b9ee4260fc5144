// rtnetlink for network drivers, through libmnl: links (bridges, veth
// pairs), addresses and routes. No shelling out to ip(8).
//
// A Netlink object is one NETLINK_ROUTE socket, bound to the network
// namespace it was opened in (Netlink::in_netns opens it inside another);
// every call is synchronous (request + ACK) and reports the kernel's error as
// berth::sdk::Error with a message naming the object ("create bridge
// berth0: File exists"). Not thread-safe: one object per thread or a lock.
#ifndef BERTH_SDK_NET_NETLINK_HPP
#define BERTH_SDK_NET_NETLINK_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/sdk/net/addr.hpp"
#include "berth/sdk/unique_fd.hpp"

namespace berth::sdk::net {

// A link as the kernel reports it.
struct Link {
  int index = 0;
  std::string name;
  std::string kind;  // IFLA_INFO_KIND: "bridge", "veth", ...; "" for none (lo)
  int mtu = 0;
  bool up = false;  // administratively up (IFF_UP)
  int master = 0;   // the ifindex of its bridge, 0 for none
  std::string mac;  // "02:42:ac:11:00:02"; "" when the link has none
};

struct Route {
  Ipv4Net destination;  // 0.0.0.0/0 for a default route
  std::optional<Ipv4> gateway;
  int ifindex = 0;
};

class Netlink {
 public:
  // A socket in the calling thread's network namespace.
  Netlink();
  // A socket inside the namespace `netns_fd` (opened on a helper thread).
  static Netlink in_netns(int netns_fd);

  Netlink(Netlink&&) noexcept;
  Netlink& operator=(Netlink&&) noexcept;
  ~Netlink();

  // Interface names are 1 to 15 characters; any other name is refused with
  // Errc::invalid_argument by every member that takes one.

  // nullopt when there is no such link.
  std::optional<Link> link(std::string_view name);
  std::vector<Link> links();
  // 0 when there is no such link.
  int ifindex(std::string_view name);
  bool exists(std::string_view name) { return ifindex(name) != 0; }
  std::vector<std::string> link_names();

  // Fails with Errc::already_exists when `name` exists.
  void create_bridge(std::string_view name, int mtu = 0);
  // Creates the pair `name` <-> `peer` in this namespace.
  void create_veth(std::string_view name, std::string_view peer, int mtu = 0);
  // Deleting a missing link is not an error.
  void delete_link(std::string_view name);

  void set_up(std::string_view name, bool up);
  void set_mtu(std::string_view name, int mtu);
  // An empty `master` detaches the link from its bridge.
  void set_master(std::string_view name, std::string_view master);
  void set_mac(std::string_view name, std::string_view mac);  // "02:42:ac:11:00:02"
  // Hairpin mode of a bridge port: frames may leave through the port they
  // came in on (a container reaching itself through a published port).
  void set_hairpin(std::string_view name, bool on);
  std::string mac(std::string_view name);
  // Moves the link into the namespace `netns_fd` (it disappears from here).
  void set_netns(std::string_view name, int netns_fd);
  void rename(std::string_view name, std::string_view new_name);

  // An address that is already there is not an error; deleting a missing
  // address neither. A missing link is Errc::not_found.
  void add_address(std::string_view name, const Ipv4Net& address);
  void delete_address(std::string_view name, const Ipv4Net& address);
  std::vector<Ipv4Net> addresses(std::string_view name);

  // Routes in the main table. add_route with no gateway is a link route (it
  // needs ifindex); an existing route is Errc::already_exists. Deleting a
  // missing route is not an error. routes() lists unicast routes only.
  void add_route(const Route& route);
  void delete_route(const Route& route);
  std::vector<Route> routes();

 private:
  explicit Netlink(UniqueFd fd);
  struct Impl;
  Impl* impl_ = nullptr;
};

// Reads or writes a file under /proc/sys ("net/ipv4/ip_forward"); the value
// read has its trailing newline removed.
//
// Which namespace /proc/sys/net/... shows: the network namespace of the
// *thread* that opens the file (the kernel resolves the net sysctl tables
// against current->nsproxy->net_ns at lookup), whatever /proc mount or pid
// the path goes through; a descriptor keeps the namespace it was opened in.
// So write_sysctl on a thread that has setns()'d into a namespace (inside
// run_in_netns) lands in that namespace. This differs from /proc/net (=
// /proc/self/net), which follows the thread-group leader's namespace; use
// /proc/thread-self/net there. The tests check both (netlink_test.cpp).
std::string read_sysctl(std::string_view key);
void write_sysctl(std::string_view key, std::string_view value);

// The same inside the network namespace `netns_fd` (on a helper thread that
// joined it, see run_in_netns).
std::string read_sysctl_in(int netns_fd, std::string_view key);
void write_sysctl_in(int netns_fd, std::string_view key, std::string_view value);

}  // namespace berth::sdk::net

#endif  // BERTH_SDK_NET_NETLINK_HPP
