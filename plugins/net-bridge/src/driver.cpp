// The bridge network driver (Docker's "bridge"): a Linux bridge per network
// holding the gateway address, a veth pair per endpoint (one end on the
// bridge, the other moved into the container's namespace at join), and one
// nftables table for isolation, masquerading and published ports, rebuilt
// from the driver's state and replaced atomically after every change.
//
// Everything the driver does to the kernel happens in the network namespace
// it was initialised in ("home"), whichever thread calls it: berthd calls
// from its own threads, tests initialise it inside a private namespace.
//
// State (networks, endpoints, ports) is one JSON file in the host's state
// directory; init re-creates what is missing (a bridge after a reboot, its
// address) and re-applies the ruleset, so a daemon restart keeps running
// containers connected. Shutdown leaves everything in place.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "berth/plugins/net_bridge.h"
#include "berth/sdk/net/netlink.hpp"
#include "berth/sdk/net/netns.hpp"
#include "berth/sdk/net/nft.hpp"
#include "berth/sdk/network.hpp"
#include "rules.hpp"
#include "state.hpp"

namespace berth::plugins::net_bridge {

namespace {

namespace json = boost::json;
using sdk::Errc;
using sdk::Error;
using sdk::UniqueFd;
using sdk::net::Ipv4;
using sdk::net::Ipv4Net;
using sdk::net::Netlink;

constexpr std::size_t kIfNameMax = 15;
constexpr const char* kBridgeNameOption = "com.docker.network.bridge.name";
constexpr const char* kMtuOption = "com.docker.network.driver.mtu";
constexpr const char* kMasqueradeOption = "com.docker.network.bridge.enable_ip_masquerade";
constexpr const char* kIccOption = "com.docker.network.bridge.enable_icc";

struct Options {
  std::string nft_table = "berth";
  std::string interface_prefix = "veth";
  std::string bridge_prefix = "br-";
  int mtu = 1500;
  bool ip_forward = false;  // also set net.ipv4.ip_forward=1 itself (berthd does it, per its ip-forward setting)
};

std::string short_id(std::string_view id) { return std::string(id.substr(0, 12)); }

json::object parse_object(std::string_view text, const std::string& context, const char* what) {
  if (text.empty()) return {};
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    throw Error(Errc::invalid_argument, context + ": " + what + " is not a JSON object");
  }
  return std::move(v.as_object());
}

std::string string_at(const json::object& o, std::string_view key, const std::string& context) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_string()) {
    throw Error(Errc::invalid_argument, context + ": " + std::string(key) + " is not a string");
  }
  return std::string(v->get_string());
}

// Docker's options are strings ("true", "1500"); JSON booleans and numbers
// are taken too.
bool bool_option(const json::object& o, std::string_view key, bool fallback,
                 const std::string& context) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (v->is_bool()) return v->get_bool();
  if (v->is_string()) {
    const std::string_view s = v->get_string();
    if (s == "true" || s == "1") return true;
    if (s == "false" || s == "0") return false;
    if (s.empty()) return fallback;
  }
  throw Error(Errc::invalid_argument,
              context + ": option " + std::string(key) + " is not a boolean");
}

std::optional<long> number_option(const json::object& o, std::string_view key,
                                  const std::string& context) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (v->is_int64()) return static_cast<long>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() < 100000) return static_cast<long>(v->get_uint64());
  if (v->is_string()) {
    const std::string_view s = v->get_string();
    if (s.empty()) return std::nullopt;
    long n = 0;
    bool ok = s.size() <= 9;
    for (char c : s) {
      if (c < '0' || c > '9') ok = false;
      n = n * 10 + (c - '0');
    }
    if (ok) return n;
  }
  throw Error(Errc::invalid_argument, context + ": " + std::string(key) + " is not a number");
}

bool valid_ifname(std::string_view name) {
  if (name.empty() || name.size() > kIfNameMax || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == ':' || c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

bool valid_mac(std::string_view mac) {
  if (mac.size() != 17) return false;
  for (std::size_t i = 0; i < mac.size(); ++i) {
    const char c = mac[i];
    if (i % 3 == 2) {
      if (c != ':') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

// Docker's MAC for an IPv4 endpoint: 02:42 and the four address bytes.
std::string mac_for(Ipv4 address) {
  char buf[18];
  const std::uint32_t v = address.value;
  std::snprintf(buf, sizeof buf, "02:42:%02x:%02x:%02x:%02x", (v >> 24) & 0xff, (v >> 16) & 0xff,
                (v >> 8) & 0xff, v & 0xff);
  return buf;
}

Options parse_options(std::string_view config_json) {
  const std::string context = "bridge driver configuration";
  const json::object o = parse_object(config_json, context, "the configuration");
  Options opts;
  for (const auto& [key, value] : o) {
    if (key == "nft_table") {
      opts.nft_table = string_at(o, key, context);
      bool ok = !opts.nft_table.empty() && opts.nft_table.size() <= 64;
      for (char c : opts.nft_table) {
        ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_');
      }
      if (!ok)
        throw Error(Errc::invalid_argument,
                    context + ": invalid nft_table \"" + opts.nft_table + "\"");
    } else if (key == "interface_prefix" || key == "bridge_prefix") {
      std::string prefix = string_at(o, key, context);
      // At least four random hex digits must fit in a 15-character name.
      if (prefix.size() > kIfNameMax - 4 || (!prefix.empty() && !valid_ifname(prefix))) {
        throw Error(Errc::invalid_argument, context + ": invalid " + std::string(key) + " \"" +
                                                prefix + "\" (at most 11 characters)");
      }
      (key == "interface_prefix" ? opts.interface_prefix : opts.bridge_prefix) = std::move(prefix);
    } else if (key == "mtu") {
      const auto mtu = number_option(o, key, context);
      if (!mtu || *mtu < 68 || *mtu > 65535)
        throw Error(Errc::invalid_argument, context + ": invalid mtu");
      opts.mtu = static_cast<int>(*mtu);
    } else if (key == "ip_forward") {
      opts.ip_forward = bool_option(o, key, false, context);
    } else {
      throw Error(Errc::invalid_argument, context + ": unknown option " + std::string(key));
    }
  }
  return opts;
}

std::string netns_identity(const char* path) {
  struct stat st {};
  if (::stat(path, &st) != 0) return {};
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

class BridgeDriver final : public sdk::NetworkDriver {
 public:
  explicit BridgeDriver(const sdk::Host& host)
      : host_(host),
        options_(parse_options(host.config_json())),
        home_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)),
        home_identity_(netns_identity("/proc/thread-self/ns/net")),
        rng_(std::random_device{}()) {
    if (!home_) throw Error::from_errno(errno, "bridge driver: open /proc/thread-self/ns/net");
    if (host.state_dir().empty()) {
      throw Error(Errc::failed_precondition, "bridge driver: the host offers no state directory");
    }
    state_path_ = std::string(host.state_dir()) + "/bridge.json";
    state_ = State::load(state_path_);
    Netlink nl;
    for (auto& [id, network] : state_.networks) {
      try {
        configure(nl, network, /*create_missing=*/true);
      } catch (const Error& e) {
        host_.warn("restore network " + network.name + " (" + short_id(id) + "): " + e.what());
      }
    }
    apply_rules();
  }

  void create_network(std::string_view network_id, std::string_view spec_json) override {
    const std::string context = "create network " + short_id(network_id);
    if (network_id.empty()) throw Error(Errc::invalid_argument, context + ": empty network id");
    const json::object spec = parse_object(spec_json, context, "the network spec");
    const json::object options = [&] {
      const json::value* v = spec.if_contains("Options");
      if (v == nullptr || v->is_null()) return json::object{};
      if (!v->is_object())
        throw Error(Errc::invalid_argument, context + ": Options is not an object");
      return v->get_object();
    }();

    Network n;
    n.name = string_at(spec, "Name", context);
    n.internal = bool_option(spec, "Internal", false, context);
    n.masquerade = bool_option(options, kMasqueradeOption, true, context);
    n.icc = bool_option(options, kIccOption, true, context);
    const auto mtu = number_option(options, kMtuOption, context);
    if (mtu && (*mtu < 68 || *mtu > 65535)) {
      throw Error(Errc::invalid_argument, context + ": invalid mtu " + std::to_string(*mtu));
    }
    n.mtu = mtu.value_or(0) > 0 ? static_cast<int>(*mtu) : options_.mtu;

    const json::value* ipv4 = spec.if_contains("IPv4");
    if (ipv4 == nullptr || !ipv4->is_array() || ipv4->get_array().empty() ||
        !ipv4->get_array().front().is_object()) {
      throw Error(Errc::invalid_argument, context + ": no IPv4 subnet (IPv4[0].Subnet)");
    }
    const json::object& pool = ipv4->get_array().front().get_object();
    const std::string subnet_text = string_at(pool, "Subnet", context);
    const auto subnet = Ipv4Net::parse(subnet_text);
    if (!subnet || subnet->prefix > 30) {
      throw Error(Errc::invalid_argument, context + ": invalid subnet \"" + subnet_text + "\"");
    }
    const std::string gateway_text = string_at(pool, "Gateway", context);
    const auto gateway =
        gateway_text.empty() ? std::optional(subnet->network().next()) : Ipv4::parse(gateway_text);
    if (!gateway || !subnet->contains(*gateway)) {
      throw Error(Errc::invalid_argument, context + ": invalid gateway \"" + gateway_text +
                                              "\" for subnet " + subnet->str());
    }
    n.gateway = Ipv4Net{*gateway, subnet->prefix};
    const std::string wanted_bridge = string_at(options, kBridgeNameOption, context);
    if (!wanted_bridge.empty() && !valid_ifname(wanted_bridge)) {
      throw Error(Errc::invalid_argument,
                  context + ": invalid bridge name \"" + wanted_bridge + "\"");
    }

    std::lock_guard lock(mutex_);
    const std::string id(network_id);
    if (auto existing = state_.networks.find(id); existing != state_.networks.end()) {
      // Again after a daemon restart: make sure it is all there.
      at_home([&] {
        Netlink nl;
        configure(nl, existing->second, true);
        apply_rules();
      });
      return;
    }
    for (const auto& [other_id, other] : state_.networks) {
      if (!wanted_bridge.empty() && other.bridge == wanted_bridge) {
        throw Error(Errc::conflict,
                    context + ": bridge " + wanted_bridge + " belongs to network " + other.name);
      }
    }

    at_home([&] {
      Netlink nl;
      if (!wanted_bridge.empty()) {
        n.bridge = wanted_bridge;
        const auto link = nl.link(wanted_bridge);
        if (link && link->kind != "bridge") {
          throw Error(Errc::conflict,
                      context + ": " + wanted_bridge + " exists and is not a bridge");
        }
        // An existing bridge (an administrator's) is used and left behind.
        n.own_bridge = !link;
        if (!link) nl.create_bridge(n.bridge, n.mtu);
      } else {
        // Docker's br-<first 12 of the id> when the prefix leaves room, else random.
        for (int attempt = 0;; ++attempt) {
          n.bridge = options_.bridge_prefix +
                     (attempt == 0 ? hex_of_id(id, options_.bridge_prefix)
                                   : random_hex(kIfNameMax - options_.bridge_prefix.size()));
          try {
            nl.create_bridge(n.bridge, n.mtu);
            break;
          } catch (const Error& e) {
            if (e.code() != Errc::already_exists || attempt == 8) throw;
          }
        }
      }
      state_.networks.emplace(id, n);
      try {
        configure(nl, state_.networks.at(id), false);
        apply_rules();
        save();
      } catch (...) {
        state_.networks.erase(id);
        undo_network(nl, n);
        try {
          apply_rules();
        } catch (const Error& e) {
          host_.warn(context + ": restore the ruleset: " + e.what());
        }
        throw;
      }
    });
  }

  void delete_network(std::string_view network_id) override {
    const std::string context = "delete network " + short_id(network_id);
    std::lock_guard lock(mutex_);
    const auto it = state_.networks.find(std::string(network_id));
    if (it == state_.networks.end()) throw Error(Errc::not_found, context + ": no such network");
    for (const auto& [ep_id, ep] : state_.endpoints) {
      if (ep.network_id == it->first) {
        throw Error(Errc::conflict, context + ": endpoint " + short_id(ep_id) + " is still on it");
      }
    }
    const Network n = it->second;
    state_.networks.erase(it);
    at_home([&] {
      try {
        apply_rules();
      } catch (...) {
        state_.networks.emplace(std::string(network_id), n);
        throw;
      }
      save();
      Netlink nl;
      undo_network(nl, n);
    });
  }

  void create_endpoint(std::string_view network_id, std::string_view endpoint_id,
                       std::string_view spec_json, const sdk::Out& out) override {
    const std::string context = "create endpoint " + short_id(endpoint_id);
    if (endpoint_id.empty()) throw Error(Errc::invalid_argument, context + ": empty endpoint id");
    const json::object spec = parse_object(spec_json, context, "the endpoint spec");
    Endpoint ep;
    ep.network_id = std::string(network_id);
    const std::string address = string_at(spec, "Address", context);
    if (!address.empty()) {
      ep.address = Ipv4Net::parse(address);
      if (!ep.address)
        throw Error(Errc::invalid_argument, context + ": invalid address \"" + address + "\"");
    }
    ep.mac = string_at(spec, "MacAddress", context);
    if (!ep.mac.empty() && !valid_mac(ep.mac)) {
      throw Error(Errc::invalid_argument, context + ": invalid mac address \"" + ep.mac + "\"");
    }

    std::lock_guard lock(mutex_);
    const auto net = state_.networks.find(ep.network_id);
    if (net == state_.networks.end()) {
      throw Error(Errc::not_found, context + ": no network " + short_id(network_id));
    }
    const std::string id(endpoint_id);
    if (state_.endpoints.contains(id))
      throw Error(Errc::already_exists, context + ": endpoint exists");
    if (ep.address && !net->second.subnet().contains(ep.address->addr)) {
      throw Error(Errc::invalid_argument, context + ": address " + ep.address->str() +
                                              " is outside the network's subnet " +
                                              net->second.subnet().str());
    }
    if (ep.mac.empty()) ep.mac = ep.address ? mac_for(ep.address->addr) : random_mac();
    const Network& n = net->second;

    at_home([&] {
      Netlink nl;
      const std::size_t room = kIfNameMax - options_.interface_prefix.size();
      for (int attempt = 0;; ++attempt) {
        ep.host_if = options_.interface_prefix + random_hex(room);
        ep.peer_if = options_.interface_prefix + random_hex(room);
        try {
          nl.create_veth(ep.host_if, ep.peer_if, n.mtu);
          break;
        } catch (const Error& e) {
          if (e.code() != Errc::already_exists || attempt == 8) throw;
        }
      }
      try {
        nl.set_mac(ep.peer_if, ep.mac);
        nl.set_master(ep.host_if, n.bridge);
        // Without hairpin a container cannot reach itself through its own
        // published port (the reply would have to leave by the port it came in).
        nl.set_hairpin(ep.host_if, true);
        nl.set_up(ep.host_if, true);
        state_.endpoints.emplace(id, ep);
        save();
      } catch (...) {
        state_.endpoints.erase(id);
        nl.delete_link(ep.host_if);
        throw;
      }
    });
    out.write(json::serialize(json::object{{"MacAddress", ep.mac}}));
  }

  void delete_endpoint(std::string_view network_id, std::string_view endpoint_id) override {
    const std::string context = "delete endpoint " + short_id(endpoint_id);
    std::lock_guard lock(mutex_);
    const auto it = find_endpoint(network_id, endpoint_id, context);
    const Endpoint ep = it->second;
    state_.endpoints.erase(it);
    at_home([&] {
      if (!ep.ports.empty()) {
        try {
          apply_rules();
        } catch (...) {
          state_.endpoints.emplace(std::string(endpoint_id), ep);
          throw;
        }
      }
      save();
      Netlink nl;
      // Deleting either end deletes the pair; gone already when its sandbox died.
      if (!ep.host_if.empty()) nl.delete_link(ep.host_if);
      if (ep.sandbox.empty() && !ep.peer_if.empty()) nl.delete_link(ep.peer_if);
    });
  }

  void join(std::string_view network_id, std::string_view endpoint_id, std::string_view sandbox_key,
            std::string_view opts_json, const sdk::Out& out) override {
    const std::string context = "join endpoint " + short_id(endpoint_id);
    const json::object opts = parse_object(opts_json, context, "the join options");
    std::string ifname = string_at(opts, "InterfaceName", context);
    if (ifname.empty()) ifname = "eth0";
    if (!valid_ifname(ifname)) {
      throw Error(Errc::invalid_argument, context + ": invalid interface name \"" + ifname + "\"");
    }
    if (sandbox_key.empty()) throw Error(Errc::invalid_argument, context + ": empty sandbox key");

    std::lock_guard lock(mutex_);
    const auto it = find_endpoint(network_id, endpoint_id, context);
    Endpoint& ep = it->second;
    const Network& n = state_.networks.at(ep.network_id);
    if (!ep.sandbox.empty()) {
      throw Error(Errc::conflict, context + ": already joined sandbox " + ep.sandbox);
    }
    const UniqueFd sandbox = [&] {
      try {
        return sdk::net::open_netns(std::string(sandbox_key));
      } catch (const Error& e) {
        throw Error(e.code(), context + ": " + e.what());
      }
    }();

    at_home([&] {
      Netlink nl;
      if (!nl.exists(ep.peer_if)) {
        throw Error(Errc::failed_precondition, context + ": its veth " + ep.peer_if + " is gone");
      }
      nl.set_netns(ep.peer_if, sandbox.get());
      try {
        Netlink inside = Netlink::in_netns(sandbox.get());
        inside.rename(ep.peer_if, ifname);
        if (ep.address) inside.add_address(ifname, *ep.address);
        inside.set_up(ifname, true);
        ep.sandbox = std::string(sandbox_key);
        save();
      } catch (const Error& e) {
        // The pair cannot come back whole: remove it; leave and
        // delete_endpoint find it gone.
        ep.sandbox.clear();
        nl.delete_link(ep.host_if);
        throw Error(e.code(), context + ": " + e.what());
      }
    });
    const std::string gateway = n.internal ? std::string() : n.gateway.addr.str();
    out.write(json::serialize(json::object{{"Gateway", gateway}}));
  }

  void leave(std::string_view network_id, std::string_view endpoint_id) override {
    const std::string context = "leave endpoint " + short_id(endpoint_id);
    std::lock_guard lock(mutex_);
    const auto it = find_endpoint(network_id, endpoint_id, context);
    Endpoint& ep = it->second;
    at_home([&] {
      Netlink nl;
      nl.delete_link(ep.host_if);
      ep.sandbox.clear();
      ep.host_if.clear();
      ep.peer_if.clear();
      save();
    });
  }

  void program_external_connectivity(std::string_view network_id, std::string_view endpoint_id,
                                     std::string_view opts_json) override {
    const std::string context = "publish ports of endpoint " + short_id(endpoint_id);
    const json::object opts = parse_object(opts_json, context, "the options");
    std::vector<Port> ports;
    if (const json::value* bindings = opts.if_contains("PortBindings");
        bindings != nullptr && !bindings->is_null()) {
      if (!bindings->is_array())
        throw Error(Errc::invalid_argument, context + ": PortBindings is not an array");
      for (const json::value& b : bindings->get_array()) {
        if (!b.is_object())
          throw Error(Errc::invalid_argument, context + ": a port binding is not an object");
        if (auto port = parse_binding(b.get_object(), context)) ports.push_back(*port);
      }
    }

    std::lock_guard lock(mutex_);
    const auto it = find_endpoint(network_id, endpoint_id, context);
    Endpoint& ep = it->second;
    if (!ports.empty() && !ep.address) {
      throw Error(Errc::failed_precondition, context + ": the endpoint has no address");
    }
    std::vector<Port> previous = std::move(ep.ports);
    ep.ports = std::move(ports);
    at_home([&] {
      try {
        apply_rules();
      } catch (...) {
        ep.ports = std::move(previous);
        throw;
      }
      save();
    });
  }

  void revoke_external_connectivity(std::string_view network_id,
                                    std::string_view endpoint_id) override {
    const std::string context = "withdraw ports of endpoint " + short_id(endpoint_id);
    std::lock_guard lock(mutex_);
    const auto it = find_endpoint(network_id, endpoint_id, context);
    Endpoint& ep = it->second;
    if (ep.ports.empty()) return;
    std::vector<Port> previous = std::move(ep.ports);
    ep.ports.clear();
    at_home([&] {
      try {
        apply_rules();
      } catch (...) {
        ep.ports = std::move(previous);
        throw;
      }
      save();
    });
  }

 private:
  // Runs `fn` in the home namespace: directly when this thread is there,
  // else on a helper thread that joined it.
  void at_home(const std::function<void()>& fn) {
    if (netns_identity("/proc/thread-self/ns/net") == home_identity_) {
      fn();
    } else {
      sdk::net::run_in_netns(home_.get(), fn);
    }
  }

  std::map<std::string, Endpoint>::iterator find_endpoint(std::string_view network_id,
                                                          std::string_view endpoint_id,
                                                          const std::string& context) {
    const auto it = state_.endpoints.find(std::string(endpoint_id));
    if (it == state_.endpoints.end() || it->second.network_id != network_id) {
      throw Error(Errc::not_found,
                  context + ": no such endpoint on network " + short_id(network_id));
    }
    return it;
  }

  static std::optional<Port> parse_binding(const json::object& b, const std::string& context) {
    Port port;
    std::string proto = string_at(b, "Proto", context);
    if (proto.empty() || proto == "tcp") {
      port.protocol = IPPROTO_TCP;
    } else if (proto == "udp") {
      port.protocol = IPPROTO_UDP;
    } else if (proto == "sctp") {
      port.protocol = IPPROTO_SCTP;
    } else {
      throw Error(Errc::invalid_argument, context + ": unknown protocol \"" + proto + "\"");
    }
    const std::string host_ip = string_at(b, "HostIP", context);
    if (host_ip.find(':') != std::string::npos) return std::nullopt;  // IPv6: not this driver's yet
    if (!host_ip.empty()) {
      const auto ip = Ipv4::parse(host_ip);
      if (!ip)
        throw Error(Errc::invalid_argument, context + ": invalid HostIP \"" + host_ip + "\"");
      port.host_ip = *ip;
    }
    auto port_number = [&](const char* key) -> std::uint16_t {
      const auto v = number_option(b, key, context);
      if (!v || *v < 1 || *v > 65535) {
        throw Error(Errc::invalid_argument, context + ": invalid " + std::string(key));
      }
      return static_cast<std::uint16_t>(*v);
    };
    port.host_port = port_number("HostPort");
    port.container_port = port_number("ContainerPort");
    return port;
  }

  // Brings a recorded network's kernel objects to what the record says.
  void configure(Netlink& nl, Network& n, bool create_missing) {
    if (create_missing && !nl.exists(n.bridge)) {
      nl.create_bridge(n.bridge, n.mtu);
      n.own_bridge = true;
    }
    if (n.mtu > 0) nl.set_mtu(n.bridge, n.mtu);
    // A bridge whose MAC was never set takes its lowest port's, changing as
    // containers come and go (and their neighbours' ARP caches go stale).
    nl.set_mac(n.bridge, nl.mac(n.bridge));
    nl.add_address(n.bridge, n.gateway);
    nl.set_up(n.bridge, true);
    const std::string conf = "net/ipv4/conf/" + n.bridge + "/";
    sdk::net::write_sysctl(conf + "forwarding", "1");
    // Ports published on 127.0.0.1 are DNATed out of loopback onto the bridge.
    sdk::net::write_sysctl(conf + "route_localnet", "1");
    if (!n.internal && options_.ip_forward && sdk::net::read_sysctl("net/ipv4/ip_forward") != "1") {
      sdk::net::write_sysctl("net/ipv4/ip_forward", "1");
    }
  }

  void undo_network(Netlink& nl, const Network& n) {
    try {
      if (n.own_bridge) {
        nl.delete_link(n.bridge);
      } else if (nl.exists(n.bridge)) {
        nl.delete_address(n.bridge, n.gateway);
      }
    } catch (const Error& e) {
      host_.warn("remove bridge " + n.bridge + ": " + e.what());
    }
  }

  void apply_rules() {
    if (state_.networks.empty()) {
      sdk::net::delete_table(options_.nft_table);
      return;
    }
    std::vector<NetworkRules> networks;
    for (const auto& [id, n] : state_.networks) {
      networks.push_back(NetworkRules{n.bridge, n.subnet(), n.internal, n.masquerade, n.icc});
    }
    std::vector<PortRule> ports;
    for (const auto& [id, ep] : state_.endpoints) {
      if (ep.ports.empty() || !ep.address) continue;
      const auto net = state_.networks.find(ep.network_id);
      if (net == state_.networks.end()) continue;
      for (const Port& p : ep.ports) {
        ports.push_back(PortRule{p.protocol, p.host_ip, p.host_port, ep.address->addr,
                                 p.container_port, net->second.bridge});
      }
    }
    try {
      sdk::net::apply(bridge_ruleset(options_.nft_table, networks, ports));
    } catch (const Error& e) {
      throw Error(e.code(), "apply nftables table " + options_.nft_table + ": " + e.what());
    }
  }

  void save() { state_.save(state_path_); }

  std::string random_hex(std::size_t n) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += kHex[rng_() & 0xf];
    return out;
  }

  std::string hex_of_id(const std::string& id, const std::string& prefix) {
    const std::size_t room = kIfNameMax - prefix.size();
    const bool hex = id.size() >= room && id.find_first_not_of("0123456789abcdef") >= room;
    return hex ? id.substr(0, room) : random_hex(room);
  }

  std::string random_mac() {
    std::string mac = "02:42";
    char buf[4];
    for (int i = 0; i < 4; ++i) {
      std::snprintf(buf, sizeof buf, ":%02x", static_cast<unsigned>(rng_() & 0xff));
      mac += buf;
    }
    return mac;
  }

  sdk::Host host_;
  Options options_;
  UniqueFd home_;
  std::string home_identity_;
  std::string state_path_;
  std::mutex mutex_;
  State state_;
  std::mt19937_64 rng_;
};

}  // namespace

}  // namespace berth::plugins::net_bridge

BERTH_DEFINE_PLUGIN(berth_builtin_net_bridge, berth::plugins::net_bridge::BridgeDriver, "bridge",
                    "1.0.0", 0)
