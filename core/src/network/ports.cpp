#include "berth/core/network/ports.hpp"

#include <boost/json.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <map>

namespace berth::core::network {
namespace json = boost::json;
using sdk::net::Ipv4;

namespace {

Error invalid(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

bool parse_port(std::string_view text, std::uint16_t& out) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > 65535) return false;
  out = static_cast<std::uint16_t>(v);
  return true;
}

// "80/tcp" (protocol defaults to tcp).
Result<std::pair<std::uint16_t, std::string>> parse_port_key(std::string_view key) {
  std::string_view port = key, proto = "tcp";
  if (auto slash = key.find('/'); slash != std::string_view::npos) {
    port = key.substr(0, slash);
    proto = key.substr(slash + 1);
  }
  std::uint16_t p = 0;
  if (!parse_port(port, p) || p == 0) return invalid("invalid port specification: \"" + std::string(key) + "\"");
  if (proto != "tcp" && proto != "udp" && proto != "sctp") {
    return invalid("invalid proto: " + std::string(proto));
  }
  return std::pair{p, std::string(proto)};
}

int socket_type(const std::string& protocol) {
  if (protocol == "udp") return SOCK_DGRAM;
  if (protocol == "sctp") return SOCK_SEQPACKET;
  return SOCK_STREAM;
}

// Binds protocol host_ip:port (port 0: the kernel picks). Returns the socket
// and the bound port.
Result<std::pair<sdk::UniqueFd, std::uint16_t>> bind_port(const std::string& protocol, Ipv4 ip, std::uint16_t port) {
  sdk::UniqueFd fd(::socket(AF_INET, socket_type(protocol) | SOCK_CLOEXEC,
                            protocol == "sctp" ? IPPROTO_SCTP : 0));
  if (!fd) return errno_error(Errc::internal, "socket for " + protocol + " port", errno);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = ip.be();
  sa.sin_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    const int err = errno;
    const std::string where = ip.str() + ":" + std::to_string(port);
    if (err == EADDRINUSE) {
      return make_error(Errc::conflict, "Bind for " + where + " failed: port is already allocated");
    }
    return errno_error(Errc::invalid_argument, "Bind for " + where + " failed", err);
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  return std::pair{std::move(fd), ntohs(sa.sin_port)};
}

}  // namespace

Result<std::vector<PortRequest>> port_requests(const json::object& host_config,
                                               const std::vector<std::string>& exposed_ports) {
  std::vector<PortRequest> out;
  std::map<std::string, bool> bound;
  if (const auto* pb = host_config.if_contains("PortBindings"); pb != nullptr && !pb->is_null()) {
    if (!pb->is_object()) return invalid("HostConfig.PortBindings: expected an object");
    for (const auto& [key, bindings] : pb->get_object()) {
      BERTH_TRY(auto port, parse_port_key(key));
      bound[std::to_string(port.first) + "/" + port.second] = true;
      if (bindings.is_null()) continue;
      if (!bindings.is_array()) return invalid("HostConfig.PortBindings." + std::string(key) + ": expected an array");
      for (const auto& b : bindings.get_array()) {
        PortRequest r;
        r.protocol = port.second;
        r.container_port = port.first;
        std::string host_port;
        if (const auto* o = b.if_object()) {
          if (const auto* ip = o->if_contains("HostIp"); ip != nullptr && ip->is_string()) {
            r.host_ip = std::string(ip->get_string());
          }
          if (const auto* hp = o->if_contains("HostPort"); hp != nullptr && hp->is_string()) {
            host_port = std::string(hp->get_string());
          }
        } else if (!b.is_null()) {
          return invalid("HostConfig.PortBindings." + std::string(key) + ": expected objects");
        }
        if (!r.host_ip.empty() && !Ipv4::parse(r.host_ip)) {
          if (r.host_ip.find(':') != std::string::npos) continue;  // IPv6 bindings: no IPv6 here
          return invalid("invalid host IP address: " + r.host_ip);
        }
        if (!host_port.empty()) {
          std::string_view first = host_port, last = host_port;
          if (auto dash = host_port.find('-'); dash != std::string::npos) {
            first = std::string_view(host_port).substr(0, dash);
            last = std::string_view(host_port).substr(dash + 1);
          }
          if (!parse_port(first, r.host_port_first) || !parse_port(last, r.host_port_last) ||
              r.host_port_last < r.host_port_first) {
            return invalid("invalid hostPort: " + host_port);
          }
        }
        out.push_back(std::move(r));
      }
    }
  }
  if (const auto* all = host_config.if_contains("PublishAllPorts"); all != nullptr && all->is_bool() && all->get_bool()) {
    for (const auto& key : exposed_ports) {
      BERTH_TRY(auto port, parse_port_key(key));
      const std::string canonical = std::to_string(port.first) + "/" + port.second;
      if (bound.contains(canonical)) continue;
      bound[canonical] = true;
      out.push_back(PortRequest{port.second, port.first, "", 0, 0});
    }
  }
  return out;
}

Result<PortReservation> PortReservation::reserve(const std::vector<PortRequest>& requests) {
  PortReservation r;
  for (const auto& req : requests) {
    Ipv4 ip = req.host_ip.empty() ? Ipv4{} : *Ipv4::parse(req.host_ip);
    if (req.host_port_first == req.host_port_last) {
      BERTH_TRY(auto bound, bind_port(req.protocol, ip, req.host_port_first));
      r.sockets_.push_back(std::move(bound.first));
      r.mappings_.push_back({req.protocol, ip, bound.second, req.container_port});
      continue;
    }
    // A range: the first free port in it.
    std::optional<Error> last;
    bool done = false;
    for (std::uint32_t p = req.host_port_first; p <= req.host_port_last && !done; ++p) {
      auto bound = bind_port(req.protocol, ip, static_cast<std::uint16_t>(p));
      if (!bound) {
        last = bound.error();
        continue;
      }
      r.sockets_.push_back(std::move(bound.value().first));
      r.mappings_.push_back({req.protocol, ip, bound.value().second, req.container_port});
      done = true;
    }
    if (!done) return last ? *last : invalid("empty host port range");
  }
  return r;
}

Result<PortReservation> PortReservation::rebind(const std::vector<PortMapping>& mappings) {
  PortReservation r;
  for (const auto& m : mappings) {
    BERTH_TRY(auto bound, bind_port(m.protocol, m.host_ip, m.host_port));
    r.sockets_.push_back(std::move(bound.first));
    r.mappings_.push_back(m);
  }
  return r;
}

json::object ports_json(const std::vector<PortMapping>& mappings, const std::vector<std::string>& exposed) {
  json::object out;
  for (const auto& key : exposed) {
    auto port = parse_port_key(key);
    if (port) out[std::to_string(port.value().first) + "/" + port.value().second] = nullptr;
  }
  for (const auto& m : mappings) {
    auto& slot = out[std::to_string(m.container_port) + "/" + m.protocol];
    if (!slot.is_array()) slot = json::array{};
    slot.as_array().push_back(json::object{{"HostIp", m.host_ip.str()}, {"HostPort", std::to_string(m.host_port)}});
  }
  return out;
}

json::array mappings_json(const std::vector<PortMapping>& mappings) {
  json::array out;
  for (const auto& m : mappings) {
    out.push_back(json::object{{"Proto", m.protocol},
                               {"HostIP", m.host_ip.str()},
                               {"HostPort", std::to_string(m.host_port)},
                               {"ContainerPort", std::to_string(m.container_port)}});
  }
  return out;
}

std::vector<PortMapping> mappings_from_json(const json::value& v) {
  std::vector<PortMapping> out;
  const auto* a = v.if_array();
  if (a == nullptr) return out;
  for (const auto& item : *a) {
    const auto* o = item.if_object();
    if (o == nullptr) continue;
    auto str = [&](const char* k) {
      const auto* x = o->if_contains(k);
      return x != nullptr && x->is_string() ? std::string(x->get_string()) : std::string();
    };
    PortMapping m;
    m.protocol = str("Proto");
    m.host_ip = Ipv4::parse(str("HostIP")).value_or(Ipv4{});
    std::uint16_t hp = 0, cp = 0;
    if (!parse_port(str("HostPort"), hp) || !parse_port(str("ContainerPort"), cp)) continue;
    m.host_port = hp;
    m.container_port = cp;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace berth::core::network
