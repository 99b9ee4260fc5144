// The core's IPv4 address management: which subnet a new network gets and
// which address a new endpoint gets. Pure functions over what is taken; the
// network manager persists the results (with the endpoint, in one
// transaction) so a crash never hands an address out twice.
#pragma once

#include "berth/core/error.hpp"

#include <berth/sdk/net/addr.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

namespace berth::core::network {

using sdk::net::Ipv4;
using sdk::net::Ipv4Net;

struct AddressPool {
  Ipv4Net base;
  int size = 24;  // prefix length of the subnets taken from it
};

// Docker's defaults: 172.17.0.0/16 ... 172.31.0.0/16 as /16s, then
// 192.168.0.0/16 as /20s.
std::vector<AddressPool> default_pools();

// The first subnet of `pools` (in order) that overlaps none of `taken`.
Result<Ipv4Net> pick_subnet(const std::vector<AddressPool>& pools, const std::vector<Ipv4Net>& taken);

// The lowest free address of `range` (the subnet when empty) inside `subnet`,
// never the subnet's network or broadcast address nor one in `taken`.
Result<Ipv4> allocate_address(const Ipv4Net& subnet, const std::optional<Ipv4Net>& range,
                              const std::set<std::uint32_t>& taken);

}  // namespace berth::core::network
