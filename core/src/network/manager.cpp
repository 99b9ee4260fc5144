#include "berth/core/network/manager.hpp"

#include "berth/core/log.hpp"
#include "berth/core/network/dns.hpp"
#include "berth/core/random_id.hpp"
#include "berth/core/time_format.hpp"
#include "berth/core/name_rules.hpp"

#include <berth/sdk/net/netlink.hpp>
#include <berth/sdk/net/netns.hpp>
#include <berth/sdk/status.hpp>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace berth::core::network {
namespace json = boost::json;
namespace fs = std::filesystem;

struct NetworkManager::Endpoint {
  std::string id, network_id, container_id, container_name;
  std::string interface;  // eth0, eth1, ...
  std::optional<Ipv4Net> address;
  std::string gateway, mac;
  std::vector<std::string> aliases, links;
  json::object ipam_config;
  std::vector<PortMapping> ports;

  json::object state() const {
    json::array a, l;
    for (const auto& x : aliases) a.emplace_back(x);
    for (const auto& x : links) l.emplace_back(x);
    return json::object{{"ContainerName", container_name}, {"Interface", interface},
                        {"Gateway", gateway},              {"MacAddress", mac},
                        {"Aliases", a},                    {"Links", l},
                        {"IPAMConfig", ipam_config},       {"Ports", mappings_json(ports)}};
  }
};

struct NetworkManager::Attached {
  std::string netns_path;
  std::vector<Endpoint> endpoints;
  PortReservation ports;
  std::string gateway_endpoint;  // the endpoint that gives the default route and publishes ports
  bool dns = false;
  ContainerNetworking container;
};

namespace {

Error invalid(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

std::string str_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool bool_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

const json::object& obj_at(const json::object& o, std::string_view key) {
  static const json::object empty;
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->get_object() : empty;
}

std::vector<std::string> strings_at(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& x : v->get_array()) {
    if (x.is_string()) out.emplace_back(x.get_string());
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Network network_from_json(const std::string& id, const std::string& name, const std::string& driver,
                          const std::string& created, const json::object& cfg) {
  Network n;
  n.id = id;
  n.name = name;
  n.driver = driver;
  n.created = created;
  n.internal = bool_at(cfg, "Internal");
  n.attachable = bool_at(cfg, "Attachable");
  n.ipv6 = bool_at(cfg, "EnableIPv6");
  n.options = obj_at(cfg, "Options");
  n.labels = obj_at(cfg, "Labels");
  const auto& ipam = obj_at(cfg, "IPAM");
  n.ipam_options = obj_at(ipam, "Options");
  if (const auto* c = ipam.if_contains("Config"); c != nullptr && c->is_array()) {
    for (const auto& item : c->get_array()) {
      if (const auto* o = item.if_object()) {
        n.ipam.push_back({str_at(*o, "Subnet"), str_at(*o, "Gateway"), str_at(*o, "IPRange")});
      }
    }
  }
  return n;
}

// The IPv4 pool of a network (the first IPAM config with a subnet).
std::optional<IpamConfig> ipv4_config(const Network& n) {
  for (const auto& c : n.ipam) {
    if (Ipv4Net::parse(c.subnet)) return c;
  }
  return std::nullopt;
}

// Nameservers of a resolv.conf text.
std::vector<std::string> nameservers(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    if (words >> key >> value && key == "nameserver") out.push_back(value);
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string netns_dir(const std::string& exec_root) { return exec_root + "/netns"; }

// Unwraps an SDK call that throws into a Result.
template <class Fn>
Result<void> sdk_call(std::string_view what, Fn&& fn) {
  try {
    fn();
    return ok();
  } catch (const sdk::Error& e) {
    return make_error(e.code(), std::string(what) + ": " + e.what());
  } catch (const std::exception& e) {
    return make_error(Errc::internal, std::string(what) + ": " + e.what());
  }
}

}  // namespace

json::object Network::to_json() const {
  json::array config;
  for (const auto& c : ipam) {
    json::object o{{"Subnet", c.subnet}};
    if (!c.ip_range.empty()) o["IPRange"] = c.ip_range;
    if (!c.gateway.empty()) o["Gateway"] = c.gateway;
    config.push_back(std::move(o));
  }
  return json::object{
      {"Name", name},
      {"Id", id},
      {"Created", created},
      {"Scope", "local"},
      {"Driver", driver},
      {"EnableIPv6", ipv6},
      {"IPAM", json::object{{"Driver", "default"},
                            {"Options", ipam_options.empty() ? json::value(nullptr) : json::value(ipam_options)},
                            {"Config", config}}},
      {"Internal", internal},
      {"Attachable", attachable},
      {"Ingress", false},
      {"ConfigFrom", json::object{{"Network", ""}}},
      {"ConfigOnly", false},
      {"Options", options},
      {"Labels", labels},
  };
}

NetworkManager::NetworkManager(MetadataStore& db, const PluginHost& plugins, NetworkManagerOptions options)
    : db_(db), plugins_(plugins), options_(std::move(options)) {}

NetworkManager::~NetworkManager() { dns_.reset(); }

Result<std::unique_ptr<NetworkManager>> NetworkManager::open(MetadataStore& db, const PluginHost& plugins,
                                                             NetworkManagerOptions options) {
  std::unique_ptr<NetworkManager> m(new NetworkManager(db, plugins, std::move(options)));
  std::error_code ec;
  fs::create_directories(netns_dir(m->options_.exec_root), ec);
  if (ec) return make_error(Errc::internal, "create " + netns_dir(m->options_.exec_root) + ": " + ec.message());
  for (const auto& bip : {m->options_.config.bip}) {
    if (!bip.empty() && !Ipv4Net::parse(bip)) return invalid("invalid bip " + bip + ": want a.b.c.d/n");
  }
  for (const auto& pool : m->options_.config.default_address_pools) {
    if (!Ipv4Net::parse(pool.base)) return invalid("invalid default-address-pools base " + pool.base);
  }
  if (m->options_.config.ip_forward) {
    BERTH_TRY(sdk_call("enable IP forwarding", [] { sdk::net::write_sysctl("net/ipv4/ip_forward", "1"); }));
  }
  DnsOptions dns;
  dns.upstreams = m->options_.config.dns;
  dns.lookup = [mp = m.get()](const std::string& sandbox, const std::string& name) {
    return mp->dns_lookup(sandbox, name);
  };
  dns.reverse = [mp = m.get()](const std::string& sandbox, Ipv4 address) { return mp->dns_reverse(sandbox, address); };
  m->dns_ = std::make_unique<DnsServer>(std::move(dns));
  BERTH_TRY(m->load());
  BERTH_TRY(m->ensure_predefined());
  return m;
}

const NetworkDriver* NetworkManager::driver_for(const std::string& driver) const {
  auto it = drivers_.find(driver);
  return it == drivers_.end() ? nullptr : it->second.get();
}

Result<void> NetworkManager::load() {
  for (const auto& r : plugins_.records()) {
    if (r.word != "net") continue;
    if (const Driver* d = plugins_.find("net", r.id)) drivers_[r.id] = std::make_unique<NetworkDriver>(*d);
  }
  BERTH_TRY(auto rows, guard("load networks", [&] {
    return db_.with_db([&](SQLite::Database& db) {
      std::vector<Network> out;
      SQLite::Statement q(db, "SELECT id, name, driver, created, config FROM networks");
      while (q.executeStep()) {
        json::error_code ec;
        auto cfg = json::parse(q.getColumn(4).getString(), ec);
        out.push_back(network_from_json(q.getColumn(0).getString(), q.getColumn(1).getString(),
                                        q.getColumn(2).getString(), q.getColumn(3).getString(),
                                        !ec && cfg.is_object() ? cfg.get_object() : json::object{}));
      }
      return out;
    });
  }));
  std::lock_guard lock(mutex_);
  for (auto& n : rows) networks_[n.id] = std::move(n);
  return ok();
}

std::string NetworkManager::spec_json(const Network& n) const {
  json::array v4;
  for (const auto& c : n.ipam) {
    v4.push_back(json::object{{"Subnet", c.subnet}, {"Gateway", c.gateway}, {"IPRange", c.ip_range}});
  }
  return json::serialize(json::object{{"Name", n.name},
                                      {"Options", n.options},
                                      {"Internal", n.internal},
                                      {"EnableIPv6", n.ipv6},
                                      {"IPv4", v4},
                                      {"IPv6", json::array{}}});
}

std::vector<Ipv4Net> NetworkManager::taken_subnets() const {
  std::vector<Ipv4Net> taken;
  for (const auto& [id, n] : networks_) {
    for (const auto& c : n.ipam) {
      if (auto s = Ipv4Net::parse(c.subnet)) taken.push_back(*s);
    }
  }
  // The host's own routes (not the default one): a subnet there would hide them.
  try {
    sdk::net::Netlink nl;
    for (const auto& r : nl.routes()) {
      if (r.destination.prefix > 0) taken.push_back(r.destination.subnet());
    }
  } catch (const std::exception& e) {
    logger("network")->warn("read host routes: {}", e.what());
  }
  return taken;
}

Result<void> NetworkManager::ensure_predefined() {
  const auto& cfg = options_.config;
  auto have = [&](const std::string& name) {
    std::lock_guard lock(mutex_);
    for (const auto& [id, n] : networks_) {
      if (n.name == name) return true;
    }
    return false;
  };
  if (!have("none")) {
    Network n;
    n.name = "none";
    n.driver = "null";
    BERTH_TRY(insert_network(std::move(n)));
  }
  if (!have("host") && driver_for("host") != nullptr) {
    Network n;
    n.name = "host";
    n.driver = "host";
    BERTH_TRY(insert_network(std::move(n)));
  }
  if (cfg.bridge != "none" && driver_for("bridge") != nullptr) {
    std::optional<Network> existing;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [id, n] : networks_) {
        if (n.name == "bridge") existing = n;
      }
    }
    // The default network follows the configuration (bridge name, bip): a
    // changed setting replaces its record.
    auto subnet_of = [](const Network& n) { return n.ipam.empty() ? std::string() : n.ipam.front().subnet; };
    std::string want_subnet, want_gateway;
    if (!cfg.bip.empty()) {
      auto bip = *Ipv4Net::parse(cfg.bip);
      want_subnet = bip.subnet().str();
      want_gateway = bip.addr.str();
    }
    if (existing && (str_at(existing->options, "com.docker.network.bridge.name") != cfg.bridge ||
                     (!want_subnet.empty() && subnet_of(*existing) != want_subnet))) {
      bool used = false;
      {
        std::lock_guard lock(mutex_);
        for (const auto& [cid, a] : attached_) {
          for (const auto& ep : a.endpoints) used = used || ep.network_id == existing->id;
        }
      }
      if (!used) {
        if (const auto* d = driver_for("bridge")) (void)d->delete_network(existing->id);
        (void)forget_network(existing->id);
        std::lock_guard lock(mutex_);
        networks_.erase(existing->id);
        existing.reset();
      }
    }
    if (!existing) {
      Network n;
      n.name = "bridge";
      n.driver = "bridge";
      n.options = json::object{{"com.docker.network.bridge.default_bridge", "true"},
                               {"com.docker.network.bridge.enable_icc", "true"},
                               {"com.docker.network.bridge.enable_ip_masquerade", "true"},
                               {"com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"},
                               {"com.docker.network.bridge.name", cfg.bridge},
                               {"com.docker.network.driver.mtu", "1500"}};
      if (!want_subnet.empty()) {
        n.ipam.push_back({want_subnet, want_gateway, ""});
      } else {
        std::vector<AddressPool> pools;
        for (const auto& p : cfg.default_address_pools) pools.push_back({*Ipv4Net::parse(p.base), p.size});
        if (pools.empty()) pools = default_pools();
        std::vector<Ipv4Net> taken;
        {
          std::lock_guard lock(mutex_);
          taken = taken_subnets();
        }
        BERTH_TRY(auto subnet, pick_subnet(pools, taken));
        n.ipam.push_back({subnet.str(), Ipv4{subnet.network().value + 1}.str(), ""});
      }
      BERTH_TRY(auto created, insert_network(std::move(n)));
      if (auto r = driver_for("bridge")->create_network(created.id, spec_json(created)); !r) {
        return std::move(r).error().wrap("create the default bridge network");
      }
      return ok();
    }
  }
  return ok();
}

Result<void> NetworkManager::record_network(const Network& n) {
  return guard("record network " + n.name, [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "INSERT INTO networks(id, name, driver, created, config) VALUES(?, ?, ?, ?, ?)");
      q.bind(1, n.id);
      q.bind(2, n.name);
      q.bind(3, n.driver);
      q.bind(4, n.created);
      q.bind(5, json::serialize(n.to_json()));
      q.exec();
    });
  });
}

Result<void> NetworkManager::forget_network(const std::string& id) {
  return guard("remove network " + id, [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "DELETE FROM networks WHERE id = ?");
      q.bind(1, id);
      q.exec();
    });
  });
}

Result<Network> NetworkManager::insert_network(Network n) {
  n.id = random_id();
  n.created = rfc3339_now();
  BERTH_TRY(record_network(n));
  std::lock_guard lock(mutex_);
  networks_[n.id] = n;
  return n;
}

Result<void> NetworkManager::restore(const std::vector<ContainerNetworking>& running) {
  auto log = logger("network");
  // Every network again in its driver: idempotent for what is still there.
  std::vector<Network> all = list();
  for (const auto& n : all) {
    const NetworkDriver* d = driver_for(n.driver);
    if (d == nullptr) continue;
    if (auto r = d->create_network(n.id, spec_json(n)); !r && r.error().code != Errc::already_exists) {
      log->warn("re-create network {}: {}", n.name, r.error().message);
    }
  }
  // Endpoints as recorded.
  BERTH_TRY(auto rows, guard("load endpoints", [&] {
    return db_.with_db([&](SQLite::Database& db) {
      std::vector<Endpoint> out;
      SQLite::Statement q(db, "SELECT id, network_id, container_id, address, state FROM endpoints ORDER BY rowid");
      while (q.executeStep()) {
        Endpoint ep;
        ep.id = q.getColumn(0).getString();
        ep.network_id = q.getColumn(1).getString();
        ep.container_id = q.getColumn(2).getString();
        ep.address = Ipv4Net::parse(q.getColumn(3).getString());
        json::error_code ec;
        auto st = json::parse(q.getColumn(4).getString(), ec);
        if (!ec && st.is_object()) {
          const auto& o = st.get_object();
          ep.container_name = str_at(o, "ContainerName");
          ep.interface = str_at(o, "Interface");
          ep.gateway = str_at(o, "Gateway");
          ep.mac = str_at(o, "MacAddress");
          ep.aliases = strings_at(o, "Aliases");
          ep.links = strings_at(o, "Links");
          ep.ipam_config = obj_at(o, "IPAMConfig");
          if (const auto* p = o.if_contains("Ports")) ep.ports = mappings_from_json(*p);
        }
        out.push_back(std::move(ep));
      }
      return out;
    });
  }));
  std::map<std::string, const ContainerNetworking*> live;
  for (const auto& c : running) live[c.id] = &c;
  std::set<std::string> dead;
  for (auto& ep : rows) {
    auto it = live.find(ep.container_id);
    if (it == live.end()) {
      dead.insert(ep.container_id);
      std::lock_guard lock(mutex_);
      attached_[ep.container_id].endpoints.push_back(std::move(ep));
      continue;
    }
    std::lock_guard lock(mutex_);
    auto& a = attached_[ep.container_id];
    a.container = *it->second;
    a.netns_path = netns_dir(options_.exec_root) + "/" + ep.container_id;
    if (!ep.ports.empty()) a.gateway_endpoint = ep.id;
    a.endpoints.push_back(std::move(ep));
  }
  for (const auto& id : dead) detach(id);
  // Sandboxes of containers that are gone (a crash between the namespace and the first endpoint).
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(netns_dir(options_.exec_root), ec)) {
    const std::string id = entry.path().filename().string();
    if (live.contains(id)) continue;
    (void)sdk_call("remove sandbox", [&] { sdk::net::remove_named_netns(entry.path().string()); });
  }
  // Running containers: their ports held again, the driver's forwarding re-applied, DNS served.
  std::lock_guard lock(mutex_);
  for (auto& [cid, a] : attached_) {
    for (const auto& ep : a.endpoints) {
      if (ep.ports.empty()) continue;
      auto held = PortReservation::rebind(ep.ports);
      if (!held) {
        log->warn("container {}: hold published ports again: {}", cid.substr(0, 12), held.error().message);
        continue;
      }
      a.ports = std::move(held).value();
      auto n = networks_.find(ep.network_id);
      const NetworkDriver* d = n == networks_.end() ? nullptr : driver_for(n->second.driver);
      if (d != nullptr) {
        auto opts = json::serialize(json::object{{"PortBindings", mappings_json(ep.ports)}});
        if (auto r = d->program_external_connectivity(ep.network_id, ep.id, opts); !r) {
          log->warn("container {}: publish ports again: {}", cid.substr(0, 12), r.error().message);
        }
      }
    }
    bool user_network = false;
    for (const auto& ep : a.endpoints) {
      auto n = networks_.find(ep.network_id);
      user_network = user_network || (n != networks_.end() && !n->second.predefined());
    }
    if (user_network) {
      try {
        auto fd = sdk::net::open_netns(a.netns_path);
        if (auto r = dns_->add_sandbox(cid, fd.get(), strings_at(a.container.host_config, "Dns")); r) a.dns = true;
      } catch (const std::exception& e) {
        log->warn("container {}: DNS: {}", cid.substr(0, 12), e.what());
      }
    }
  }
  return ok();
}

void NetworkManager::shutdown(bool containers_running) {
  if (containers_running) return;
  for (const auto& n : list()) {
    if (const NetworkDriver* d = driver_for(n.driver)) {
      if (auto r = d->delete_network(n.id); !r && r.error().code != Errc::not_found) {
        logger("network")->warn("take down network {}: {}", n.name, r.error().message);
      }
    }
  }
}

// --- networks -----------------------------------------------------------------------

Result<Network> NetworkManager::create(const json::object& req) {
  std::string name = str_at(req, "Name");
  if (name.empty()) return invalid("network name cannot be empty");  // Docker: "Name" is required
  if (!is_object_name(name, 1)) {
    return invalid("invalid network name \"" + name + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  }
  std::string driver = str_at(req, "Driver");
  if (driver.empty()) driver = "bridge";
  if (driver == "host" || driver == "null") {
    return make_error(Errc::permission_denied,
                      "only one instance of \"" + driver + "\" network is allowed");
  }
  if (driver_for(driver) == nullptr) return make_error(Errc::not_found, "plugin \"" + driver + "\" not found");
  Network n;
  n.name = name;
  n.driver = driver;
  n.internal = bool_at(req, "Internal");
  n.attachable = bool_at(req, "Attachable");
  n.ipv6 = bool_at(req, "EnableIPv6");
  if (n.ipv6) return make_error(Errc::unsupported, "IPv6 networks are not supported by berth yet");
  for (const char* key : {"Options", "Labels"}) {
    const auto* v = req.if_contains(key);
    if (v == nullptr || v->is_null()) continue;
    if (!v->is_object()) return invalid(std::string(key) + ": expected an object of strings");
    for (const auto& [k, x] : v->get_object()) {
      if (!x.is_string()) return invalid(std::string(key) + "." + std::string(k) + ": expected a string");
    }
    (std::string_view(key) == "Options" ? n.options : n.labels) = v->get_object();
  }
  const auto& ipam = obj_at(req, "IPAM");
  if (std::string d = str_at(ipam, "Driver"); !d.empty() && d != "default") {
    return make_error(Errc::not_found, "plugin \"" + d + "\" not found");
  }
  n.ipam_options = obj_at(ipam, "Options");
  std::lock_guard lock(mutex_);
  for (const auto& [id, other] : networks_) {
    if (other.name == name) return make_error(Errc::conflict, "network with name " + name + " already exists");
  }
  auto taken = taken_subnets();
  std::vector<Ipv4Net> berth_subnets;
  for (const auto& [id, other] : networks_) {
    for (const auto& c : other.ipam) {
      if (auto s = Ipv4Net::parse(c.subnet)) berth_subnets.push_back(*s);
    }
  }
  if (const auto* cfg = ipam.if_contains("Config"); cfg != nullptr && cfg->is_array()) {
    for (const auto& item : cfg->get_array()) {
      const auto* o = item.if_object();
      if (o == nullptr) return invalid("IPAM.Config: expected objects");
      IpamConfig c{str_at(*o, "Subnet"), str_at(*o, "Gateway"), str_at(*o, "IPRange")};
      if (c.subnet.find(':') != std::string::npos) {
        return make_error(Errc::unsupported, "IPv6 subnets are not supported by berth yet");
      }
      auto subnet = Ipv4Net::parse(c.subnet);
      if (!subnet) return invalid("invalid subnet " + c.subnet + ": want a.b.c.d/n");
      if (subnet->addr != subnet->network()) {
        return invalid("invalid subnet " + c.subnet + ": it should be " + subnet->subnet().str());
      }
      for (const auto& s : berth_subnets) {
        if (s.overlaps(*subnet)) {
          return make_error(Errc::permission_denied,
                            "invalid pool request: Pool overlaps with other one on this address space");
        }
      }
      if (!c.ip_range.empty()) {
        auto range = Ipv4Net::parse(c.ip_range);
        if (!range) return invalid("invalid ip-range " + c.ip_range);
        if (!subnet->contains(range->subnet())) {
          return invalid("invalid ip-range " + c.ip_range + ": it must be within the subnet " + c.subnet);
        }
      }
      if (c.gateway.empty()) {
        c.gateway = Ipv4{subnet->network().value + 1}.str();
      } else {
        auto gw = Ipv4::parse(c.gateway);
        if (!gw || !subnet->contains(*gw)) {
          return invalid("invalid gateway " + c.gateway + ": it must be an address in the subnet " + c.subnet);
        }
      }
      berth_subnets.push_back(*subnet);
      n.ipam.push_back(std::move(c));
    }
  } else if (const auto* bad = ipam.if_contains("Config"); bad != nullptr && !bad->is_null()) {
    return invalid("IPAM.Config: expected an array");
  }
  if (n.ipam.empty()) {
    std::vector<AddressPool> pools;
    for (const auto& p : options_.config.default_address_pools) pools.push_back({*Ipv4Net::parse(p.base), p.size});
    if (pools.empty()) pools = default_pools();
    BERTH_TRY(auto subnet, pick_subnet(pools, taken));
    n.ipam.push_back({subnet.str(), Ipv4{subnet.network().value + 1}.str(), ""});
    n.ipam_options = json::object{};
    // Docker marks pool-assigned subnets as not user-configured; --ip needs a configured one.
    n.ipam_options["berth.auto"] = "true";
  }
  n.id = random_id();
  n.created = rfc3339_now();
  // The row first: a crash after it leaves a network the next start creates
  // in its driver; a driver failure takes the row back.
  BERTH_TRY(record_network(n));
  if (auto r = driver_for(driver)->create_network(n.id, spec_json(n)); !r) {
    (void)forget_network(n.id);
    return std::move(r).error();
  }
  networks_[n.id] = n;
  return n;
}

Result<Network> NetworkManager::find_locked(const std::string& key) const {
  if (key.empty()) return make_error(Errc::not_found, "network  not found");
  if (auto it = networks_.find(key); it != networks_.end()) return it->second;
  for (const auto& [id, n] : networks_) {
    if (n.name == key) return n;
  }
  const Network* match = nullptr;
  for (const auto& [id, n] : networks_) {
    if (id.starts_with(key)) {
      if (match != nullptr) {
        return make_error(Errc::invalid_argument, "network " + key + " is ambiguous (2 matches found based on ID prefix)");
      }
      match = &n;
    }
  }
  if (match != nullptr) return *match;
  return make_error(Errc::not_found, "network " + key + " not found");
}

Result<Network> NetworkManager::find(const std::string& name_or_id) const {
  std::lock_guard lock(mutex_);
  return find_locked(name_or_id);
}

std::vector<Network> NetworkManager::list() const {
  std::lock_guard lock(mutex_);
  std::vector<Network> out;
  for (const auto& [id, n] : networks_) out.push_back(n);
  std::sort(out.begin(), out.end(), [](const Network& a, const Network& b) { return a.created < b.created; });
  return out;
}

bool NetworkManager::in_use(const std::string& network_id) const {
  std::lock_guard lock(mutex_);
  for (const auto& [cid, a] : attached_) {
    for (const auto& ep : a.endpoints) {
      if (ep.network_id == network_id) return true;
    }
  }
  return false;
}

json::object NetworkManager::containers_of(const std::string& network_id) const {
  std::lock_guard lock(mutex_);
  json::object out;
  for (const auto& [cid, a] : attached_) {
    for (const auto& ep : a.endpoints) {
      if (ep.network_id != network_id) continue;
      out[cid] = json::object{{"Name", ep.container_name},
                              {"EndpointID", ep.id},
                              {"MacAddress", ep.mac},
                              {"IPv4Address", ep.address ? ep.address->str() : ""},
                              {"IPv6Address", ""}};
    }
  }
  return out;
}

Result<void> NetworkManager::remove(const std::string& name_or_id) {
  Network n;
  {
    std::lock_guard lock(mutex_);
    BERTH_TRY(n, find_locked(name_or_id));
    if (n.predefined()) {
      return make_error(Errc::permission_denied, n.name + " is a pre-defined network and cannot be removed");
    }
    for (const auto& [cid, a] : attached_) {
      for (const auto& ep : a.endpoints) {
        if (ep.network_id == n.id) {
          return make_error(Errc::permission_denied, "error while removing network: network " + n.name + " id " +
                                                         n.id + " has active endpoints");
        }
      }
    }
  }
  if (const NetworkDriver* d = driver_for(n.driver)) {
    if (auto r = d->delete_network(n.id); !r && r.error().code != Errc::not_found) return std::move(r).error();
  }
  BERTH_TRY(forget_network(n.id));
  std::lock_guard lock(mutex_);
  networks_.erase(n.id);
  return ok();
}

// --- containers ---------------------------------------------------------------------

std::string NetworkManager::network_mode(const json::object& host_config) const {
  std::string mode = str_at(host_config, "NetworkMode");
  if (mode.empty() || mode == "default") return options_.config.bridge == "none" ? "none" : "bridge";
  return mode;
}

json::object NetworkManager::canonical(const json::object& endpoints_config) const {
  // Clients name the default network "default" (or leave the name empty).
  json::object out;
  for (const auto& [key, value] : endpoints_config) {
    out[key.empty() || key == "default" ? network_mode({}) : std::string(key)] = value;
  }
  return out;
}

Result<void> NetworkManager::validate(const json::object& hc, const json::object& endpoints_config_in) const {
  const json::object endpoints_config = canonical(endpoints_config_in);
  const std::string mode = network_mode(hc);
  const bool shares = mode == "host" || mode.starts_with("container:");
  auto ports = port_requests(hc, {});
  if (!ports) return std::move(ports).error();
  if (mode.starts_with("container:")) {
    if (!ports.value().empty() || bool_at(hc, "PublishAllPorts")) {
      return invalid("conflicting options: port publishing and the container type network mode");
    }
    if (!strings_at(hc, "Dns").empty() || !strings_at(hc, "ExtraHosts").empty()) {
      return invalid("conflicting options: dns and the network mode");
    }
    return ok();
  }
  if (mode == "none" && (!ports.value().empty())) {
    // Docker accepts and ignores them; nothing to check.
  }
  std::lock_guard lock(mutex_);
  if (!shares && mode != "none") {
    auto n = find_locked(mode);
    if (!n) return std::move(n).error();
  }
  for (const auto& [key, value] : endpoints_config) {
    auto n = find_locked(std::string(key));
    if (!n) return std::move(n).error();
    const auto* ep = value.if_object();
    if (ep == nullptr) continue;
    const auto& ipam = obj_at(*ep, "IPAMConfig");
    std::string ip = str_at(ipam, "IPv4Address");
    if (!ip.empty()) {
      if (n.value().name == "bridge" || n.value().predefined()) {
        return invalid("user specified IP address is supported on user defined networks only");
      }
      auto a = Ipv4::parse(ip);
      auto cfg = ipv4_config(n.value());
      if (!a) return invalid("invalid IPv4 address: " + ip);
      if (str_at(n.value().ipam_options, "berth.auto") == "true") {
        return invalid("user specified IP address is supported only when connecting to networks with user "
                       "configured subnets");
      }
      if (!cfg || !Ipv4Net::parse(cfg->subnet)->contains(*a)) {
        return invalid("no configured subnet or ip-range contain the IP address " + ip);
      }
    }
    if (!strings_at(*ep, "Aliases").empty() && n.value().name == "bridge") {
      return invalid("network-scoped alias is supported only for containers in user defined networks");
    }
  }
  return ok();
}

Result<NetworkManager::Endpoint> NetworkManager::join(const ContainerNetworking& c, const Network& n,
                                                      const json::object& ep_config, const std::string& netns_path,
                                                      int index) {
  const NetworkDriver* d = driver_for(n.driver);
  if (d == nullptr) return make_error(Errc::failed_precondition, "network driver " + n.driver + " is not loaded");
  Endpoint ep;
  ep.id = random_id();
  ep.network_id = n.id;
  ep.container_id = c.id;
  ep.container_name = c.name;
  ep.interface = "eth" + std::to_string(index);
  ep.aliases = strings_at(ep_config, "Aliases");
  ep.links = strings_at(ep_config, "Links");
  // --link on a user network: the container's links become its aliases there.
  if (ep.links.empty() && !n.predefined()) ep.links = strings_at(c.host_config, "Links");
  ep.ipam_config = obj_at(ep_config, "IPAMConfig");
  ep.mac = str_at(ep_config, "MacAddress");
  auto cfg = ipv4_config(n);
  // The address and the endpoint commit together: after a crash the row is
  // either there (and cleaned up with the container) or not at all.
  std::optional<Error> refused;
  BERTH_TRY(guard("allocate an address on network " + n.name, [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Transaction tx(db);
      if (cfg) {
        auto subnet = *Ipv4Net::parse(cfg->subnet);
        std::set<std::uint32_t> taken;
        if (auto gw = Ipv4::parse(cfg->gateway)) taken.insert(gw->value);
        SQLite::Statement q(db, "SELECT address FROM endpoints WHERE network_id = ?");
        q.bind(1, n.id);
        while (q.executeStep()) {
          if (auto a = Ipv4Net::parse(q.getColumn(0).getString())) taken.insert(a->addr.value);
        }
        std::string wanted = str_at(ep.ipam_config, "IPv4Address");
        if (!wanted.empty()) {
          auto a = Ipv4::parse(wanted);
          if (!a) {
            refused = invalid("invalid IPv4 address: " + wanted);
            return;
          }
          if (taken.contains(a->value)) {
            refused = make_error(Errc::conflict, "Address already in use");
            return;
          }
          ep.address = Ipv4Net{*a, subnet.prefix};
        } else {
          std::optional<Ipv4Net> range;
          if (!cfg->ip_range.empty()) range = Ipv4Net::parse(cfg->ip_range);
          auto a = allocate_address(subnet, range, taken);
          if (!a) {
            refused = a.error();
            return;
          }
          ep.address = Ipv4Net{a.value(), subnet.prefix};
        }
      }
      SQLite::Statement ins(db, "INSERT INTO endpoints(id, network_id, container_id, address, state) VALUES(?, ?, ?, ?, ?)");
      ins.bind(1, ep.id);
      ins.bind(2, n.id);
      ins.bind(3, c.id);
      ins.bind(4, ep.address ? ep.address->str() : std::string());
      ins.bind(5, json::serialize(ep.state()));
      ins.exec();
      tx.commit();
    });
  }));
  if (refused) return *refused;
  {
    std::lock_guard lock(mutex_);
    attached_[c.id].endpoints.push_back(ep);
  }
  // From here a failure is undone by leave() through attached_.
  auto mark_failed = [&](Error e) -> Error {
    return std::move(e).wrap("failed to set up container networking on network " + n.name);
  };
  json::object spec{{"Address", ep.address ? ep.address->str() : ""}, {"AddressIPv6", ""}, {"MacAddress", ep.mac},
                    {"Options", json::object{}}};
  auto created = d->create_endpoint(n.id, ep.id, json::serialize(spec));
  if (!created) return mark_failed(std::move(created).error());
  json::error_code ec;
  auto answer = json::parse(created.value(), ec);
  if (!ec && answer.is_object() && ep.mac.empty()) ep.mac = str_at(answer.get_object(), "MacAddress");
  auto joined = d->join(n.id, ep.id, netns_path,
                        json::serialize(json::object{{"InterfaceName", ep.interface}}));
  if (!joined) return mark_failed(std::move(joined).error());
  auto jo = json::parse(joined.value(), ec);
  if (!ec && jo.is_object()) ep.gateway = str_at(jo.get_object(), "Gateway");
  (void)guard("record endpoint", [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "UPDATE endpoints SET state = ? WHERE id = ?");
      q.bind(1, json::serialize(ep.state()));
      q.bind(2, ep.id);
      q.exec();
    });
  });
  std::lock_guard lock(mutex_);
  for (auto& x : attached_[c.id].endpoints) {
    if (x.id == ep.id) x = ep;
  }
  return ep;
}

void NetworkManager::leave(const Endpoint& ep) {
  auto log = logger("network");
  const NetworkDriver* d = nullptr;
  {
    std::lock_guard lock(mutex_);
    auto n = networks_.find(ep.network_id);
    if (n != networks_.end()) d = driver_for(n->second.driver);
  }
  if (d != nullptr) {
    if (!ep.ports.empty()) {
      if (auto r = d->revoke_external_connectivity(ep.network_id, ep.id); !r && r.error().code != Errc::not_found) {
        log->warn("{}", r.error().message);
      }
    }
    if (auto r = d->leave(ep.network_id, ep.id); !r && r.error().code != Errc::not_found) log->warn("{}", r.error().message);
    if (auto r = d->delete_endpoint(ep.network_id, ep.id); !r && r.error().code != Errc::not_found) {
      log->warn("{}", r.error().message);
    }
  }
  (void)guard("forget endpoint", [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "DELETE FROM endpoints WHERE id = ?");
      q.bind(1, ep.id);
      q.exec();
    });
  });
}

Result<Sandbox> NetworkManager::attach(const ContainerNetworking& c) {
  const std::string mode = network_mode(c.host_config);
  Sandbox sb;
  if (mode == "host") {
    sb.netns_path = "host";
    sb.hosts = read_file("/etc/hosts");
    sb.resolv_conf = read_file("/etc/resolv.conf");
    return sb;
  }
  if (mode == "none") {
    sb.hosts = hosts_file(c, {});
    sb.resolv_conf = resolv_conf(c, false);
    return sb;
  }
  // The networks, the mode's first (it gives eth0 and the default route).
  std::vector<std::pair<Network, json::object>> nets;
  {
    std::lock_guard lock(mutex_);
    BERTH_TRY(auto first, find_locked(mode));
    const json::object eps = canonical(c.endpoints_config);
    nets.emplace_back(first, obj_at(eps, mode));
    for (const auto& [key, value] : eps) {
      BERTH_TRY(auto n, find_locked(std::string(key)));
      if (n.id == first.id) {
        if (value.is_object()) nets.front().second = value.get_object();
        continue;
      }
      nets.emplace_back(n, value.is_object() ? value.get_object() : json::object{});
    }
  }
  detach(c.id);  // whatever a crash left
  const std::string path = netns_dir(options_.exec_root) + "/" + c.id;
  BERTH_TRY(sdk_call("create network namespace for container " + c.id.substr(0, 12),
                     [&] { sdk::net::create_named_netns(path); }));
  {
    std::lock_guard lock(mutex_);
    auto& a = attached_[c.id];
    a.netns_path = path;
    a.container = c;
  }
  auto fail = [&](Error e) -> Error {
    detach(c.id);
    return e;
  };
  std::vector<Endpoint> eps;
  bool user_network = false;
  std::string gateway_ep;
  for (std::size_t i = 0; i < nets.size(); ++i) {
    auto ep = join(c, nets[i].first, nets[i].second, path, static_cast<int>(i));
    if (!ep) return fail(std::move(ep).error());
    user_network = user_network || !nets[i].first.predefined();
    if (gateway_ep.empty() && !ep.value().gateway.empty()) {
      gateway_ep = ep.value().id;
      auto gw = Ipv4::parse(ep.value().gateway);
      if (gw) {
        auto routed = sdk_call("set the default route of container " + c.id.substr(0, 12), [&] {
          auto fd = sdk::net::open_netns(path);
          auto nl = sdk::net::Netlink::in_netns(fd.get());
          nl.add_route(sdk::net::Route{Ipv4Net{Ipv4{}, 0}, *gw, nl.ifindex(ep.value().interface)});
        });
        if (!routed) return fail(std::move(routed).error());
      }
    }
    eps.push_back(std::move(ep).value());
  }
  // Published ports, on the endpoint with the default route.
  auto requests = port_requests(c.host_config, c.exposed_ports);
  if (!requests) return fail(std::move(requests).error());
  if (!requests.value().empty() && !gateway_ep.empty()) {
    auto held = PortReservation::reserve(requests.value());
    Endpoint* gw = nullptr;
    for (auto& ep : eps) {
      if (ep.id == gateway_ep) gw = &ep;
    }
    if (!held) {
      return fail(std::move(held).error().wrap("driver failed programming external connectivity on endpoint " +
                                                c.name + " (" + gw->id + ")"));
    }
    gw->ports = held.value().mappings();
    const NetworkDriver* d = nullptr;
    {
      std::lock_guard lock(mutex_);
      d = driver_for(networks_.at(gw->network_id).driver);
      auto& a = attached_[c.id];
      a.ports = std::move(held).value();
      a.gateway_endpoint = gw->id;
      for (auto& x : a.endpoints) {
        if (x.id == gw->id) x.ports = gw->ports;
      }
    }
    (void)guard("record endpoint", [&] {
      db_.with_db([&](SQLite::Database& db) {
        SQLite::Statement q(db, "UPDATE endpoints SET state = ? WHERE id = ?");
        q.bind(1, json::serialize(gw->state()));
        q.bind(2, gw->id);
        q.exec();
      });
    });
    auto opts = json::serialize(json::object{{"PortBindings", mappings_json(gw->ports)}});
    if (auto r = d->program_external_connectivity(gw->network_id, gw->id, opts); !r) {
      return fail(std::move(r).error().wrap("driver failed programming external connectivity on endpoint " +
                                             c.name + " (" + gw->id + ")"));
    }
  } else {
    std::lock_guard lock(mutex_);
    attached_[c.id].gateway_endpoint = gateway_ep;
  }
  if (user_network) {
    try {
      auto fd = sdk::net::open_netns(path);
      if (auto r = dns_->add_sandbox(c.id, fd.get(), strings_at(c.host_config, "Dns")); !r) {
        return fail(std::move(r).error().wrap("start the embedded DNS server"));
      }
    } catch (const std::exception& e) {
      return fail(make_error(Errc::internal, std::string("start the embedded DNS server: ") + e.what()));
    }
    std::lock_guard lock(mutex_);
    attached_[c.id].dns = true;
  }
  sb.netns_path = path;
  sb.hosts = hosts_file(c, eps);
  sb.resolv_conf = resolv_conf(c, user_network);
  return sb;
}

void NetworkManager::detach(const std::string& container_id) {
  Attached a;
  {
    std::lock_guard lock(mutex_);
    auto it = attached_.find(container_id);
    if (it == attached_.end()) {
      // A sandbox may be left without endpoints (a crash right after making it).
    } else {
      a = std::move(it->second);
      attached_.erase(it);
    }
  }
  if (a.dns) dns_->remove_sandbox(container_id);
  for (const auto& ep : a.endpoints) leave(ep);
  a.ports = PortReservation{};
  const std::string path = netns_dir(options_.exec_root) + "/" + container_id;
  if (auto r = sdk_call("remove network namespace", [&] { sdk::net::remove_named_netns(path); }); !r) {
    logger("network")->warn("container {}: {}", container_id.substr(0, 12), r.error().message);
  }
}

Result<std::string> NetworkManager::connect(const ContainerNetworking& c, const std::string& network,
                                            const json::object& endpoint_config) {
  const std::string mode = network_mode(c.host_config);
  BERTH_TRY(auto n, find(network));
  if (mode == "host" || mode.starts_with("container:") || n.name == "host") {
    return make_error(Errc::permission_denied, "container cannot be disconnected from host network or connected to host network");
  }
  if (mode == "none" || n.name == "none") {
    return make_error(Errc::permission_denied, "container cannot be connected to multiple networks with one of the networks in private (none) mode");
  }
  std::string path;
  int index = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = attached_.find(c.id);
    if (it == attached_.end() || it->second.netns_path.empty()) {
      return make_error(Errc::failed_precondition, "container " + c.id.substr(0, 12) + " is not running");
    }
    for (const auto& ep : it->second.endpoints) {
      if (ep.network_id == n.id) {
        return make_error(Errc::permission_denied,
                          "endpoint with name " + c.name + " already exists in network " + n.name);
      }
    }
    path = it->second.netns_path;
    // The next free ethN.
    std::set<std::string> used;
    for (const auto& ep : it->second.endpoints) used.insert(ep.interface);
    while (used.contains("eth" + std::to_string(index))) ++index;
  }
  json::object wanted;
  wanted[n.name] = endpoint_config;
  BERTH_TRY(validate(json::object{{"NetworkMode", mode}}, wanted));
  auto ep = join(c, n, endpoint_config, path, index);
  if (!ep) {
    std::optional<Endpoint> gone;
    {
      std::lock_guard lock(mutex_);
      auto& eps = attached_[c.id].endpoints;
      auto it = std::find_if(eps.begin(), eps.end(), [&](const Endpoint& x) { return x.network_id == n.id; });
      if (it != eps.end()) {
        gone = *it;
        eps.erase(it);
      }
    }
    if (gone) leave(*gone);
    return std::move(ep).error();
  }
  bool need_route = false, need_dns = false;
  {
    std::lock_guard lock(mutex_);
    auto& a = attached_[c.id];
    need_route = a.gateway_endpoint.empty() && !ep.value().gateway.empty();
    if (need_route) a.gateway_endpoint = ep.value().id;
    need_dns = !a.dns && !n.predefined();
    if (need_dns) a.dns = true;
  }
  if (need_route) {
    if (auto gw = Ipv4::parse(ep.value().gateway)) {
      (void)sdk_call("set the default route", [&] {
        auto fd = sdk::net::open_netns(path);
        auto nl = sdk::net::Netlink::in_netns(fd.get());
        nl.add_route(sdk::net::Route{Ipv4Net{Ipv4{}, 0}, *gw, nl.ifindex(ep.value().interface)});
      });
    }
  }
  if (need_dns) {
    try {
      auto fd = sdk::net::open_netns(path);
      (void)dns_->add_sandbox(c.id, fd.get(), strings_at(c.host_config, "Dns"));
    } catch (const std::exception& e) {
      logger("network")->warn("container {}: DNS: {}", c.id.substr(0, 12), e.what());
    }
    return resolv_conf(c, true);
  }
  return std::string();
}

Result<void> NetworkManager::disconnect(const std::string& container_id, const std::string& network, bool /*force*/) {
  BERTH_TRY(auto n, find(network));
  std::optional<Endpoint> gone;
  {
    std::lock_guard lock(mutex_);
    auto it = attached_.find(container_id);
    if (it == attached_.end()) return ok();  // not running: the caller edits the configuration only
    auto& a = it->second;
    for (auto e = a.endpoints.begin(); e != a.endpoints.end(); ++e) {
      if (e->network_id == n.id) {
        gone = *e;
        a.endpoints.erase(e);
        break;
      }
    }
    if (gone && a.gateway_endpoint == gone->id) {
      a.gateway_endpoint.clear();
      if (!gone->ports.empty()) a.ports = PortReservation{};
    }
  }
  if (!gone) return ok();
  leave(*gone);
  return ok();
}

// --- what inspect and ps show --------------------------------------------------------

json::object NetworkManager::settings(const ContainerNetworking& c) const {
  std::lock_guard lock(mutex_);
  const std::string mode = network_mode(c.host_config);
  const Attached* a = nullptr;
  if (auto it = attached_.find(c.id); it != attached_.end()) a = &it->second;
  json::object networks;
  std::vector<std::pair<std::string, json::object>> wanted;
  const json::object eps = canonical(c.endpoints_config);
  if (!mode.starts_with("container:")) wanted.emplace_back(mode, obj_at(eps, mode));
  for (const auto& [key, value] : eps) {
    if (std::string(key) == mode) continue;
    wanted.emplace_back(std::string(key), value.is_object() ? value.get_object() : json::object{});
  }
  json::object top{{"Bridge", ""},
                   {"SandboxID", a != nullptr && !a->netns_path.empty() ? c.id : ""},
                   {"HairpinMode", false},
                   {"LinkLocalIPv6Address", ""},
                   {"LinkLocalIPv6PrefixLen", 0},
                   {"Ports", json::object{}},
                   {"SandboxKey", a != nullptr ? a->netns_path : ""},
                   {"SecondaryIPAddresses", nullptr},
                   {"SecondaryIPv6Addresses", nullptr},
                   {"EndpointID", ""},
                   {"Gateway", ""},
                   {"GlobalIPv6Address", ""},
                   {"GlobalIPv6PrefixLen", 0},
                   {"IPAddress", ""},
                   {"IPPrefixLen", 0},
                   {"IPv6Gateway", ""},
                   {"MacAddress", ""}};
  for (const auto& [key, cfg] : wanted) {
    auto n = find_locked(key);
    const std::string name = n ? n.value().name : key;
    json::object ipam = obj_at(cfg, "IPAMConfig");
    json::object s{{"IPAMConfig", ipam.empty() ? json::value(nullptr) : json::value(ipam)},
                   {"Links", cfg.contains("Links") && !cfg.at("Links").is_null() ? cfg.at("Links") : json::value(nullptr)},
                   {"Aliases", cfg.contains("Aliases") && !cfg.at("Aliases").is_null() ? cfg.at("Aliases") : json::value(nullptr)},
                   {"MacAddress", str_at(cfg, "MacAddress")},
                   {"DriverOpts", nullptr},
                   {"NetworkID", n ? n.value().id : ""},
                   {"EndpointID", ""},
                   {"Gateway", ""},
                   {"IPAddress", ""},
                   {"IPPrefixLen", 0},
                   {"IPv6Gateway", ""},
                   {"GlobalIPv6Address", ""},
                   {"GlobalIPv6PrefixLen", 0},
                   {"DNSNames", nullptr}};
    if (a != nullptr && n) {
      for (const auto& ep : a->endpoints) {
        if (ep.network_id != n.value().id) continue;
        s["EndpointID"] = ep.id;
        s["Gateway"] = ep.gateway;
        s["IPAddress"] = ep.address ? ep.address->addr.str() : "";
        s["IPPrefixLen"] = ep.address ? ep.address->prefix : 0;
        s["MacAddress"] = ep.mac;
        if (!n.value().predefined()) {
          json::array names{json::value(ep.container_name), json::value(c.id.substr(0, 12))};
          for (const auto& al : ep.aliases) names.emplace_back(al);
          s["DNSNames"] = names;
        }
        if (name == "bridge") {
          for (const char* k : {"EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "MacAddress"}) top[k] = s[k];
        }
        if (!ep.ports.empty() || ep.id == a->gateway_endpoint) top["Ports"] = ports_json(ep.ports, c.exposed_ports);
      }
    }
    networks[name] = std::move(s);
  }
  if (a == nullptr || a->endpoints.empty()) top["Ports"] = json::object{};
  top["Networks"] = std::move(networks);
  return top;
}

json::array NetworkManager::ports_summary(const std::string& container_id) const {
  std::lock_guard lock(mutex_);
  json::array out;
  auto it = attached_.find(container_id);
  if (it == attached_.end()) return out;
  for (const auto& ep : it->second.endpoints) {
    for (const auto& m : ep.ports) {
      out.push_back(json::object{{"IP", m.host_ip.str()},
                                 {"PrivatePort", m.container_port},
                                 {"PublicPort", m.host_port},
                                 {"Type", m.protocol}});
    }
  }
  return out;
}

json::object NetworkManager::networks_summary(const ContainerNetworking& c) const {
  auto s = settings(c);
  return json::object{{"Networks", s["Networks"]}};
}

// --- names: DNS, /etc/hosts, /etc/resolv.conf ----------------------------------------

std::optional<std::vector<Ipv4>> NetworkManager::dns_lookup(const std::string& container_id,
                                                            const std::string& name_in) const {
  const std::string name = lower(name_in);
  std::lock_guard lock(mutex_);
  auto me = attached_.find(container_id);
  if (me == attached_.end()) return std::nullopt;
  std::vector<Ipv4> out;
  auto add = [&](const Endpoint& ep) {
    if (ep.address && std::find(out.begin(), out.end(), ep.address->addr) == out.end()) out.push_back(ep.address->addr);
  };
  for (const auto& mine : me->second.endpoints) {
    auto n = networks_.find(mine.network_id);
    if (n == networks_.end() || n->second.predefined()) continue;
    // --link aliases: "target:alias" (Docker stores "/target:/me/alias" too).
    for (const auto& link : mine.links) {
      auto colon = link.find(':');
      std::string target = link.substr(0, colon), alias = colon == std::string::npos ? target : link.substr(colon + 1);
      if (!target.empty() && target.front() == '/') target.erase(0, 1);
      if (auto slash = alias.rfind('/'); slash != std::string::npos) alias = alias.substr(slash + 1);
      if (lower(alias) != name && lower(target) != name) continue;
      for (const auto& [cid, a] : attached_) {
        for (const auto& ep : a.endpoints) {
          if (ep.network_id == mine.network_id && (ep.container_name == target || cid.starts_with(target))) add(ep);
        }
      }
    }
    for (const auto& [cid, a] : attached_) {
      for (const auto& ep : a.endpoints) {
        if (ep.network_id != mine.network_id) continue;
        bool match = lower(ep.container_name) == name || (name.size() >= 12 && cid.starts_with(name));
        for (const auto& al : ep.aliases) match = match || lower(al) == name;
        if (match) add(ep);
      }
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::optional<std::string> NetworkManager::dns_reverse(const std::string& container_id, Ipv4 address) const {
  std::lock_guard lock(mutex_);
  auto me = attached_.find(container_id);
  if (me == attached_.end()) return std::nullopt;
  for (const auto& mine : me->second.endpoints) {
    auto n = networks_.find(mine.network_id);
    if (n == networks_.end() || n->second.predefined()) continue;
    for (const auto& [cid, a] : attached_) {
      for (const auto& ep : a.endpoints) {
        if (ep.network_id == mine.network_id && ep.address && ep.address->addr == address) {
          return ep.container_name + "." + n->second.name;
        }
      }
    }
  }
  return std::nullopt;
}

std::string NetworkManager::hosts_file(const ContainerNetworking& c, const std::vector<Endpoint>& eps) const {
  std::string out =
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
  std::string host = c.hostname;
  if (!c.domainname.empty()) host += "." + c.domainname + " " + c.hostname;
  std::string gateway;
  for (const auto& ep : eps) {
    if (gateway.empty()) gateway = ep.gateway;
  }
  // Legacy links on the default bridge: /etc/hosts entries of the targets.
  for (const auto& link : strings_at(c.host_config, "Links")) {
    auto colon = link.find(':');
    std::string target = link.substr(0, colon), alias = colon == std::string::npos ? "" : link.substr(colon + 1);
    if (!target.empty() && target.front() == '/') target.erase(0, 1);
    if (auto slash = alias.rfind('/'); slash != std::string::npos) alias = alias.substr(slash + 1);
    std::lock_guard lock(mutex_);
    for (const auto& [cid, a] : attached_) {
      for (const auto& ep : a.endpoints) {
        if ((ep.container_name == target || cid == target) && ep.address && !eps.empty() &&
            ep.network_id == eps.front().network_id) {
          out += ep.address->addr.str() + "\t" + (alias.empty() ? target : alias + " " + target) + " " +
                 cid.substr(0, 12) + "\n";
        }
      }
    }
  }
  for (const auto& entry : strings_at(c.host_config, "ExtraHosts")) {
    // "name:ip" (Docker also takes "name=ip"); host-gateway is the gateway.
    auto sep = entry.find_first_of(":=");
    if (sep == std::string::npos) continue;
    std::string name = entry.substr(0, sep), ip = entry.substr(sep + 1);
    if (ip == "host-gateway") ip = gateway;
    out += ip + "\t" + name + "\n";
  }
  if (!eps.empty() && eps.front().address) {
    out += eps.front().address->addr.str() + "\t" + host + "\n";
  } else {
    out += "127.0.1.1\t" + host + "\n";
  }
  return out;
}

std::string NetworkManager::resolv_conf(const ContainerNetworking& c, bool embedded_dns) const {
  auto dns = strings_at(c.host_config, "Dns");
  auto search = strings_at(c.host_config, "DnsSearch");
  auto opts = strings_at(c.host_config, "DnsOptions");
  if (dns.empty()) dns = options_.config.dns;
  if (search.empty()) search = options_.config.dns_search;
  if (opts.empty()) opts = options_.config.dns_options;
  const std::string host = read_file("/etc/resolv.conf");
  std::string out;
  if (search.empty()) {
    std::istringstream in(host);
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with("search ") || line.starts_with("domain ")) out += line + "\n";
    }
  } else {
    out += "search";
    for (const auto& s : search) out += " " + s;
    out += "\n";
  }
  if (embedded_dns) {
    // Upstreams (--dns or the host's) are the embedded server's business.
    out += "nameserver 127.0.0.11\n";
    opts.insert(opts.begin(), "ndots:0");
  } else {
    if (dns.empty()) {
      for (const auto& ns : nameservers(host)) {
        // Localhost resolvers only work on the host's own network.
        if (!ns.starts_with("127.") && ns != "::1") dns.push_back(ns);
      }
    }
    for (const auto& ns : dns) out += "nameserver " + ns + "\n";
  }
  if (!opts.empty()) {
    out += "options";
    for (const auto& o : opts) out += " " + o;
    out += "\n";
  }
  return out;
}

}  // namespace berth::core::network
