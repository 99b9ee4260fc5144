// What the network commands send and show (docker/cli command/network):
// the bodies of POST /networks/create and /networks/{id}/connect built
// from their flags, and the rows of `network ls`. Pure functions, so that
// they are tested without a daemon.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>
#include <vector>

namespace berth::cli {

// The flags of `network create` as CLI11 fills them (map and list flags
// keep their values as typed).
struct NetworkCreateFlags {
  std::string name;
  std::string driver = "bridge", scope, ipam_driver = "default", config_from;
  bool internal = false, ipv6 = false, attachable = false, ingress = false, config_only = false;
  std::vector<std::string> options, labels, ipam_options, aux_addresses;
  std::vector<std::string> subnets, ip_ranges, gateways;
};

// Docker's consolidateIpam: each --subnet becomes an IPAM Config entry
// (in the order given) that takes the --ip-range, --gateway and
// --aux-address ("name=ip") values inside it. Throws CliError (exit 1)
// with Docker's message: "every ip-range or gateway must have a
// corresponding subnet", "invalid subnet: invalid CIDR address: x",
// "multiple overlapping subnet configuration is not supported", "no
// matching subnet for gateway 10.1.0.1", "cannot configure multiple
// ranges (a, b) on the same subnet (s)", ...
boost::json::array consolidate_ipam(const std::vector<std::string>& subnets,
                                    const std::vector<std::string>& ip_ranges,
                                    const std::vector<std::string>& gateways,
                                    const std::vector<std::string>& aux_addresses);

// The NetworkCreateRequest for `flags`, as Docker's CLI sends it
// (CheckDuplicate set, IPAM always present). Throws FlagError for a bad
// --label and CliError for an IPAM configuration consolidate_ipam refuses.
boost::json::object network_create_body(const NetworkCreateFlags& flags);

// The flags of `network connect`.
struct NetworkConnectFlags {
  std::string ip, ip6;
  std::vector<std::string> aliases, links, link_local_ips, driver_opts;
};

// The NetworkConnectRequest body {"Container", "EndpointConfig"} for
// `container` and `flags`. Throws FlagError for a bad --link, CliError
// "invalid key/value pair format in driver options" for a bad --driver-opt.
boost::json::object network_connect_body(const std::string& container,
                                         const NetworkConnectFlags& flags);

// One network of GET /networks as Docker's networkContext presents it,
// every field a string: ID (12 characters when `trunc`), Name, Driver,
// Scope, IPv6, Internal ("true"/"false"), Labels ("k=v,..." sorted),
// CreatedAt (Go's time.Time.String() of Created).
boost::json::object network_row(const boost::json::object& network, bool trunc);

// The rows of `network ls` for the daemon's list, ordered by name the way
// Docker orders them (natural order).
std::vector<boost::json::value> network_rows(const boost::json::array& networks, bool trunc);

}  // namespace berth::cli
