// IPv4 addresses and prefixes for network drivers and the core's IPAM.
// Header-only. Values are in host byte order; parse() takes the dotted forms
// ("10.1.2.3", "10.1.2.0/24") and refuses anything else.
#ifndef BERTH_SDK_NET_ADDR_HPP
#define BERTH_SDK_NET_ADDR_HPP

#include <arpa/inet.h>

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::sdk::net {

struct Ipv4 {
  std::uint32_t value = 0;

  static std::optional<Ipv4> parse(std::string_view text) {
    if (text.empty() || text.size() > 15) return std::nullopt;
    std::string s(text);
    in_addr a{};
    if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
    return Ipv4{ntohl(a.s_addr)};
  }
  // Network byte order, as the kernel and sockets want it.
  std::uint32_t be() const { return htonl(value); }
  std::string str() const {
    in_addr a{htonl(value)};
    char buf[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
  }
  bool unspecified() const { return value == 0; }
  Ipv4 next() const { return Ipv4{value + 1}; }
  auto operator<=>(const Ipv4&) const = default;
};

// An address with a prefix length: a subnet ("10.0.0.0/24") or an interface
// address ("10.0.0.1/24").
struct Ipv4Net {
  Ipv4 addr;
  int prefix = 32;

  static std::optional<Ipv4Net> parse(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto a = Ipv4::parse(text.substr(0, slash));
    auto len = text.substr(slash + 1);
    if (!a || len.empty() || len.size() > 2) return std::nullopt;
    int p = 0;
    for (char c : len) {
      if (c < '0' || c > '9') return std::nullopt;
      p = p * 10 + (c - '0');
    }
    if (p > 32) return std::nullopt;
    return Ipv4Net{*a, p};
  }
  std::uint32_t mask() const { return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix); }
  Ipv4 network() const { return Ipv4{addr.value & mask()}; }
  Ipv4 broadcast() const { return Ipv4{network().value | ~mask()}; }
  // The subnet this address is in ("10.0.0.1/24" -> "10.0.0.0/24").
  Ipv4Net subnet() const { return Ipv4Net{network(), prefix}; }
  bool contains(Ipv4 a) const { return (a.value & mask()) == network().value; }
  bool contains(const Ipv4Net& other) const {
    return other.prefix >= prefix && contains(other.addr);
  }
  bool overlaps(const Ipv4Net& other) const {
    return contains(other.network()) || other.contains(network());
  }
  // Number of addresses in the prefix (2^(32-prefix)), as 64 bits for /0.
  std::uint64_t size() const { return std::uint64_t{1} << (32 - prefix); }
  std::string str() const { return addr.str() + "/" + std::to_string(prefix); }
  bool operator==(const Ipv4Net&) const = default;
};

}  // namespace berth::sdk::net

#endif  // BERTH_SDK_NET_ADDR_HPP
