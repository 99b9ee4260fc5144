#include "state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <string_view>

#include "berth/sdk/status.hpp"
#include "berth/sdk/unique_fd.hpp"

namespace berth::plugins::net_bridge {

namespace json = boost::json;
using sdk::Errc;
using sdk::Error;
using sdk::UniqueFd;
using sdk::net::Ipv4;
using sdk::net::Ipv4Net;

namespace {

[[noreturn]] void malformed(const std::string& path, const std::string& why) {
  throw Error(Errc::internal, "load network state " + path + ": " + why);
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

bool flag(const json::object& o, std::string_view key, bool fallback) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() ? v->get_bool() : fallback;
}

}  // namespace

State State::load(const std::string& path) {
  State state;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return state;
    throw Error::from_errno(errno, "load network state " + path);
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::from_errno(errno, "load network state " + path);
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  boost::system::error_code ec;
  const json::value root = json::parse(text, ec);
  if (ec || !root.is_object()) malformed(path, "not a JSON object");
  const json::object& o = root.get_object();

  if (const json::object* networks =
          o.contains("networks") ? o.at("networks").if_object() : nullptr) {
    for (const auto& [id, v] : *networks) {
      if (!v.is_object()) malformed(path, "network " + std::string(id) + " is not an object");
      const json::object& n = v.get_object();
      Network net;
      net.name = str(n, "name");
      net.bridge = str(n, "bridge");
      net.own_bridge = flag(n, "own_bridge", true);
      const auto gateway = Ipv4Net::parse(str(n, "gateway"));
      if (net.bridge.empty() || !gateway)
        malformed(path, "network " + std::string(id) + " is incomplete");
      net.gateway = *gateway;
      net.mtu = static_cast<int>(num(n, "mtu"));
      net.internal = flag(n, "internal", false);
      net.masquerade = flag(n, "masquerade", true);
      net.icc = flag(n, "icc", true);
      state.networks.emplace(std::string(id), std::move(net));
    }
  }
  if (const json::object* endpoints =
          o.contains("endpoints") ? o.at("endpoints").if_object() : nullptr) {
    for (const auto& [id, v] : *endpoints) {
      if (!v.is_object()) malformed(path, "endpoint " + std::string(id) + " is not an object");
      const json::object& e = v.get_object();
      Endpoint ep;
      ep.network_id = str(e, "network");
      if (const auto a = Ipv4Net::parse(str(e, "address"))) ep.address = *a;
      ep.mac = str(e, "mac");
      ep.host_if = str(e, "host_if");
      ep.peer_if = str(e, "peer_if");
      ep.sandbox = str(e, "sandbox");
      if (const json::value* ports = e.if_contains("ports");
          ports != nullptr && ports->is_array()) {
        for (const json::value& pv : ports->get_array()) {
          if (!pv.is_object()) continue;
          const json::object& p = pv.get_object();
          Port port;
          port.protocol = static_cast<std::uint8_t>(num(p, "protocol"));
          port.host_ip = Ipv4::parse(str(p, "host_ip")).value_or(Ipv4{});
          port.host_port = static_cast<std::uint16_t>(num(p, "host_port"));
          port.container_port = static_cast<std::uint16_t>(num(p, "container_port"));
          ep.ports.push_back(port);
        }
      }
      state.endpoints.emplace(std::string(id), std::move(ep));
    }
  }
  return state;
}

void State::save(const std::string& path) const {
  json::object networks_json;
  for (const auto& [id, n] : networks) {
    networks_json[id] = json::object{{"name", n.name},
                                     {"bridge", n.bridge},
                                     {"own_bridge", n.own_bridge},
                                     {"gateway", n.gateway.str()},
                                     {"mtu", n.mtu},
                                     {"internal", n.internal},
                                     {"masquerade", n.masquerade},
                                     {"icc", n.icc}};
  }
  json::object endpoints_json;
  for (const auto& [id, e] : endpoints) {
    json::array ports;
    for (const Port& p : e.ports) {
      ports.push_back(json::object{{"protocol", p.protocol},
                                   {"host_ip", p.host_ip.str()},
                                   {"host_port", p.host_port},
                                   {"container_port", p.container_port}});
    }
    endpoints_json[id] = json::object{{"network", e.network_id},
                                      {"address", e.address ? e.address->str() : ""},
                                      {"mac", e.mac},
                                      {"host_if", e.host_if},
                                      {"peer_if", e.peer_if},
                                      {"sandbox", e.sandbox},
                                      {"ports", std::move(ports)}};
  }
  const std::string text = json::serialize(json::object{{"networks", std::move(networks_json)},
                                                        {"endpoints", std::move(endpoints_json)}});

  const std::string what = "save network state " + path;
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw Error::from_errno(errno, what);
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::from_errno(errno, what);
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd.get()) != 0) throw Error::from_errno(errno, what);
  if (const int err = fd.close(); err != 0) throw Error::from_errno(err, what);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw Error::from_errno(errno, what);
  const std::string dir =
      path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
  UniqueFd dfd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd || ::fsync(dfd.get()) != 0) throw Error::from_errno(errno, what);
}

}  // namespace berth::plugins::net_bridge
