// How published ports are shown: the PORTS column of `ps` and the lines
// of `port` (docker/cli formatter/container.go, container/port.go).
#include "json_fields.hpp"
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <map>

#include "container_common.hpp"

namespace berth::cli {
namespace json = boost::json;

namespace {

// net.JoinHostPort.
std::string join_host_port(const std::string& host, const std::string& port) {
  return host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
}

// netip.Addr.Less: no address first, then IPv4 before IPv6, each by value.
bool ip_less(const std::string& a, const std::string& b) {
  auto key = [](const std::string& ip) {
    std::array<unsigned char, 16> bytes{};
    if (::inet_pton(AF_INET, ip.c_str(), bytes.data()) == 1) return std::pair{32, bytes};
    if (::inet_pton(AF_INET6, ip.c_str(), bytes.data()) == 1) return std::pair{128, bytes};
    return std::pair{0, bytes};
  };
  auto ka = key(a), kb = key(b);
  if (ka != kb) return ka < kb;
  return a < b;
}

}  // namespace

std::string displayable_ports(const json::array& list) {
  struct Port {
    std::string ip, type;
    std::int64_t priv = 0, pub = 0;
  };
  std::vector<Port> ports;
  for (const auto& v : list) {
    if (!v.is_object()) continue;
    const auto& o = v.as_object();
    ports.push_back({str(o, "IP"), str(o, "Type"), num(o, "PrivatePort"), num(o, "PublicPort")});
  }
  std::sort(ports.begin(), ports.end(), [](const Port& a, const Port& b) {
    if (a.priv != b.priv) return a.priv < b.priv;
    if (a.ip != b.ip) return ip_less(a.ip, b.ip);
    if (a.pub != b.pub) return a.pub < b.pub;
    return a.type < b.type;
  });
  struct Group {
    std::int64_t first, last;
  };
  std::map<std::string, Group> groups;
  std::vector<std::string> order, result, host_mappings;
  auto form = [](const std::string& key, Group g) {
    auto slash = key.rfind('/');
    std::string ip = slash == std::string::npos ? "" : key.substr(0, slash);
    std::string type = slash == std::string::npos ? key : key.substr(slash + 1);
    std::string group = std::to_string(g.first);
    if (g.first != g.last) group += "-" + std::to_string(g.last);
    if (!ip.empty()) group = join_host_port(ip, group) + "->" + group;
    return group + "/" + type;
  };
  for (const auto& p : ports) {
    std::string key = p.type;
    if (!p.ip.empty()) {
      if (p.pub != p.priv) {
        host_mappings.push_back(join_host_port(p.ip, std::to_string(p.pub)) + "->" +
                                std::to_string(p.priv) + "/" + p.type);
        continue;
      }
      key = p.ip + "/" + p.type;
    }
    auto it = groups.find(key);
    if (it == groups.end()) {
      groups[key] = {p.priv, p.priv};
      order.push_back(key);
      continue;
    }
    if (p.priv == it->second.last + 1) {
      it->second.last = p.priv;
      continue;
    }
    result.push_back(form(key, it->second));
    it->second = {p.priv, p.priv};
  }
  for (const auto& key : order) result.push_back(form(key, groups[key]));
  result.insert(result.end(), host_mappings.begin(), host_mappings.end());
  std::string out;
  for (const auto& r : result) out += (out.empty() ? "" : ", ") + r;
  return out;
}

std::vector<std::string> port_lines(const json::object& ports, const std::string& private_port,
                                    const std::string& container) {
  auto frontends = [](const json::value& list) {
    std::vector<std::string> out;
    if (!list.is_array()) return out;
    for (const auto& f : list.as_array()) {
      if (f.is_object())
        out.push_back(join_host_port(str(f.as_object(), "HostIp"), str(f.as_object(), "HostPort")));
    }
    return out;
  };
  std::vector<std::string> out;
  if (!private_port.empty()) {
    auto slash = private_port.find('/');
    std::string number = private_port.substr(0, slash);
    std::string proto = slash == std::string::npos ? "" : private_port.substr(slash + 1);
    if (proto.empty()) proto = "tcp";
    // strconv.ParseUint(port, 10, 16).
    std::string why;
    if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) {
      why = "invalid syntax";
    } else if (number.find_first_not_of('0') != std::string::npos &&
               (number.size() - number.find_first_not_of('0') > 5 || std::stoul(number) > 65535)) {
      why = "value out of range";
    }
    if (!why.empty()) {
      throw CliError("Error: invalid port (" + number + "): strconv.ParseUint: parsing \"" +
                     number + "\": " + why);
    }
    if (const auto* list = ports.if_contains(number + "/" + proto); list != nullptr)
      out = frontends(*list);
    if (out.empty())
      throw CliError("Error: No public port '" + private_port + "' published for " + container);
  } else {
    for (const auto& [from, list] : ports) {
      for (const auto& f : frontends(list)) out.push_back(std::string(from) + " -> " + f);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return natural_less(a, b); });
  return out;
}

}  // namespace berth::cli
