#include "berth/core/network/ipam.hpp"

namespace berth::core::network {

std::vector<AddressPool> default_pools() {
  std::vector<AddressPool> pools;
  for (std::uint32_t second = 17; second <= 31; ++second) {
    pools.push_back({Ipv4Net{Ipv4{(172u << 24) | (second << 16)}, 16}, 16});
  }
  pools.push_back({Ipv4Net{Ipv4{(192u << 24) | (168u << 16)}, 16}, 20});
  return pools;
}

Result<Ipv4Net> pick_subnet(const std::vector<AddressPool>& pools, const std::vector<Ipv4Net>& taken) {
  for (const auto& pool : pools) {
    if (pool.size < pool.base.prefix || pool.size > 30) continue;
    const std::uint64_t step = std::uint64_t{1} << (32 - pool.size);
    const std::uint64_t first = pool.base.network().value, end = first + pool.base.size();
    for (std::uint64_t at = first; at < end; at += step) {
      Ipv4Net candidate{Ipv4{static_cast<std::uint32_t>(at)}, pool.size};
      bool free = true;
      for (const auto& t : taken) free = free && !candidate.overlaps(t);
      if (free) return candidate;
    }
  }
  return make_error(Errc::unavailable,
                    "could not find an available, non-overlapping IPv4 address pool among the defaults to assign "
                    "to the network");
}

Result<Ipv4> allocate_address(const Ipv4Net& subnet, const std::optional<Ipv4Net>& range,
                              const std::set<std::uint32_t>& taken) {
  const Ipv4Net& from = range ? *range : subnet;
  const std::uint64_t first = from.network().value, end = first + from.size();
  for (std::uint64_t at = first; at < end; ++at) {
    const auto a = static_cast<std::uint32_t>(at);
    if (subnet.prefix < 31 && (a == subnet.network().value || a == subnet.broadcast().value)) continue;
    if (!subnet.contains(Ipv4{a}) || taken.contains(a)) continue;
    return Ipv4{a};
  }
  return make_error(Errc::unavailable, "no available IPv4 addresses on this network's address pools: " +
                                           subnet.str());
}

}  // namespace berth::core::network
