// berth network create (docker/cli network/create.go).
#include <arpa/inet.h>

#include <array>
#include <boost/json.hpp>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>

#include "command.hpp"
#include "container_opts.hpp"
#include "network.hpp"

namespace berth::cli {
namespace json = boost::json;

namespace {

// An address as Go's net.IP holds it: 16 bytes, IPv4 as ::ffff:a.b.c.d
// (net.IP.To4 is then non-nil, whichever way it was written).
struct Address {
  std::array<unsigned char, 16> bytes{};
  bool v4 = false;
};

std::optional<Address> parse_ip(const std::string& text) {
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  Address a;
  unsigned char v4[4];
  if (::inet_pton(AF_INET, text.c_str(), v4) == 1) {
    std::memcpy(a.bytes.data(), kMapped, sizeof kMapped);
    std::memcpy(a.bytes.data() + 12, v4, sizeof v4);
    a.v4 = true;
    return a;
  }
  if (::inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
    a.v4 = std::memcmp(a.bytes.data(), kMapped, sizeof kMapped) == 0;
    return a;
  }
  return std::nullopt;
}

// net.ParseCIDR: the address as written and the prefix length, counted on
// the 16-byte form.
struct Cidr {
  Address address;
  int prefix = 0;
};

std::optional<Cidr> parse_cidr(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string bits = text.substr(slash + 1);
  if (bits.empty() || bits.size() > 6 ||
      bits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  Cidr c;
  std::string host = text.substr(0, slash);
  unsigned char v4[4];
  bool plain_v4 = ::inet_pton(AF_INET, host.c_str(), v4) == 1;
  auto address = parse_ip(host);
  if (!address) return std::nullopt;
  c.address = *address;
  int n = std::stoi(bits);
  if (n > (plain_v4 ? 32 : 128)) return std::nullopt;
  c.prefix = plain_v4 ? 96 + n : n;
  return c;
}

// net.IPNet.Contains: an IPv4 network holds only IPv4 addresses, an IPv6
// one only IPv6 addresses.
bool contains(const Cidr& net, const Address& ip) {
  if (net.address.v4 != ip.v4) return false;
  for (std::size_t bit = 0; bit < static_cast<std::size_t>(net.prefix); ++bit) {
    auto mask = static_cast<unsigned char>(0x80U >> (bit % 8));
    if ((net.address.bytes[bit / 8] & mask) != (ip.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

// Docker's subnetMatches: whether `data` (an address, or the address of a
// CIDR) lies in `subnet`.
bool subnet_matches(const std::string& subnet, const std::string& data) {
  auto net = parse_cidr(subnet);
  if (!net) throw CliError("invalid subnet: invalid CIDR address: " + subnet);
  std::optional<Address> ip;
  if (data.find('/') != std::string::npos) {
    auto d = parse_cidr(data);
    if (!d) throw CliError("invalid CIDR address: " + data);
    ip = d->address;
  } else {
    ip = parse_ip(data);
  }
  return ip && contains(*net, *ip);
}

// opts.MapOpts and ConvertKVStringsToMap: "k=v" (or "k" for an empty
// value), the last value of a key winning.
json::object kv_object(const std::vector<std::string>& values) {
  json::object out;
  for (const auto& v : values) {
    auto eq = v.find('=');
    out[v.substr(0, eq)] = eq == std::string::npos ? "" : v.substr(eq + 1);
  }
  return out;
}

}  // namespace

json::array consolidate_ipam(const std::vector<std::string>& subnets,
                             const std::vector<std::string>& ip_ranges,
                             const std::vector<std::string>& gateways,
                             const std::vector<std::string>& aux_addresses) {
  if (subnets.size() < ip_ranges.size() || subnets.size() < gateways.size()) {
    throw CliError("every ip-range or gateway must have a corresponding subnet");
  }
  struct Entry {
    std::string subnet, ip_range, gateway;
    json::object aux;
  };
  std::vector<Entry> entries;
  auto entry = [&](const std::string& subnet) -> Entry& {
    for (auto& e : entries) {
      if (e.subnet == subnet) return e;
    }
    throw std::logic_error("subnet not consolidated: " + subnet);
  };
  for (const auto& s : subnets) {
    for (const auto& e : entries) {
      if (subnet_matches(s, e.subnet) || subnet_matches(e.subnet, s)) {
        throw CliError("multiple overlapping subnet configuration is not supported");
      }
    }
    entries.push_back({s, "", "", {}});
  }
  for (const auto& r : ip_ranges) {
    bool match = false;
    for (const auto& s : subnets) {
      if (!subnet_matches(s, r)) continue;
      Entry& e = entry(s);
      if (!e.ip_range.empty()) {
        throw CliError("cannot configure multiple ranges (" + r + ", " + e.ip_range +
                       ") on the same subnet (" + s + ")");
      }
      e.ip_range = r;
      match = true;
    }
    if (!match) throw CliError("no matching subnet for range " + r);
  }
  for (const auto& g : gateways) {
    bool match = false;
    for (const auto& s : subnets) {
      if (!subnet_matches(s, g)) continue;
      Entry& e = entry(s);
      if (!e.gateway.empty()) {
        throw CliError("cannot configure multiple gateways (" + g + ", " + e.gateway +
                       ") for the same subnet (" + s + ")");
      }
      e.gateway = g;
      match = true;
    }
    if (!match) throw CliError("no matching subnet for gateway " + g);
  }
  // A map flag: the last value of a name counts (in name order here;
  // Docker's order is a Go map's).
  std::map<std::string, std::string> aux;
  for (const auto& a : aux_addresses) {
    auto eq = a.find('=');
    aux[a.substr(0, eq)] = eq == std::string::npos ? "" : a.substr(eq + 1);
  }
  for (const auto& [name, address] : aux) {
    bool match = false;
    for (const auto& s : subnets) {
      if (!subnet_matches(s, address)) continue;
      entry(s).aux[name] = address;
      match = true;
    }
    if (!match) throw CliError("no matching subnet for aux-address " + address);
  }
  json::array out;
  for (const auto& e : entries) {
    // network.IPAMConfig: every member omitted when empty.
    json::object c{{"Subnet", e.subnet}};
    if (!e.ip_range.empty()) c["IPRange"] = e.ip_range;
    if (!e.gateway.empty()) c["Gateway"] = e.gateway;
    if (!e.aux.empty()) c["AuxiliaryAddresses"] = e.aux;
    out.push_back(std::move(c));
  }
  return out;
}

json::object network_create_body(const NetworkCreateFlags& f) {
  for (const auto& label : f.labels) {
    try {
      validate_label(label);
    } catch (const std::invalid_argument& e) {
      throw FlagError("invalid argument \"" + label + "\" for \"--label\" flag: " + e.what(), 125);
    }
  }
  json::array ipam_config = consolidate_ipam(f.subnets, f.ip_ranges, f.gateways, f.aux_addresses);
  return {
      {"Name", f.name},
      {"CheckDuplicate", true},
      {"Driver", f.driver},
      {"Scope", f.scope},
      {"EnableIPv6", f.ipv6},
      {"IPAM", json::object{{"Driver", f.ipam_driver},
                            {"Config", ipam_config},
                            {"Options", kv_object(f.ipam_options)}}},
      {"Internal", f.internal},
      {"Attachable", f.attachable},
      {"Ingress", f.ingress},
      {"ConfigOnly", f.config_only},
      {"ConfigFrom", f.config_from.empty() ? json::value(nullptr)
                                           : json::value(json::object{{"Network", f.config_from}})},
      {"Options", kv_object(f.options)},
      {"Labels", kv_object(f.labels)},
  };
}

namespace {

void create(Context& ctx, const NetworkCreateFlags& f) {
  json::object body;
  try {
    body = network_create_body(f);
  } catch (const FlagError& e) {
    throw CliError(std::string("berth: ") + e.what() + "\nSee 'berth network create --help'.", 125);
  }
  Response r =
      ctx.client().request("POST", "/networks/create", json::serialize(body), "application/json");
  check_response(r);
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  const json::value* id = !ec && v.is_object() ? v.as_object().if_contains("Id") : nullptr;
  if (id == nullptr || !id->is_string())
    throw CliError("invalid answer from daemon for network create");
  ctx.out << std::string_view(id->as_string()) << "\n";
}

}  // namespace

void configure_network_create(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<NetworkCreateFlags>();
  auto list = [&](const std::string& names, std::vector<std::string>& values,
                  const std::string& help) {
    return cmd.add_option(names, values, help)->allow_extra_args(false)->take_all();
  };
  cmd.add_option("NETWORK", f->name, "Network name")->required();
  cmd.add_flag("--attachable", f->attachable, "Enable manual container attachment");
  list("--aux-address", f->aux_addresses,
       "Auxiliary IPv4 or IPv6 addresses used by Network driver");
  cmd.add_option("--config-from", f->config_from,
                 "The network from which to copy the configuration");
  cmd.add_flag("--config-only", f->config_only, "Create a configuration only network");
  cmd.add_option("-d,--driver", f->driver, "Driver to manage the Network (default \"bridge\")");
  list("--gateway", f->gateways, "IPv4 or IPv6 Gateway for the master subnet")->delimiter(',');
  cmd.add_flag("--ingress", f->ingress, "Create swarm routing-mesh network");
  cmd.add_flag("--internal", f->internal, "Restrict external access to the network");
  list("--ip-range", f->ip_ranges, "Allocate container ip from a sub-range")->delimiter(',');
  cmd.add_option("--ipam-driver", f->ipam_driver,
                 "IP Address Management Driver (default \"default\")");
  list("--ipam-opt", f->ipam_options, "Set IPAM driver specific options");
  cmd.add_flag("--ipv6", f->ipv6, "Enable IPv6 networking");
  list("--label", f->labels, "Set metadata on a network");
  list("-o,--opt", f->options, "Set driver specific options");
  cmd.add_option("--scope", f->scope, "Control the network's scope");
  list("--subnet", f->subnets, "Subnet in CIDR format that represents a network segment")
      ->delimiter(',');
  cmd.callback([&ctx, f] { create(ctx, *f); });
}

}  // namespace berth::cli
