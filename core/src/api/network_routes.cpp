#include "berth/core/api/network_routes.hpp"

#include "berth/core/api/filters.hpp"

#include <boost/json.hpp>

namespace berth::core::api {
namespace json = boost::json;
using network::Network;

namespace {

json::object full_json(const network::NetworkManager& networks, const Network& n) {
  json::object o = n.to_json();
  o["Containers"] = networks.containers_of(n.id);
  return o;
}

bool matches(const network::NetworkManager& networks, const Network& n, const Filters& f) {
  auto any = [&](const char* key, auto&& pred) {
    auto it = f.find(key);
    if (it == f.end()) return true;
    for (const auto& v : it->second) {
      if (pred(v)) return true;
    }
    return false;
  };
  if (!any("driver", [&](const std::string& v) { return n.driver == v; })) return false;
  if (!any("id", [&](const std::string& v) { return n.id.starts_with(v); })) return false;
  if (!any("name", [&](const std::string& v) { return n.name.find(v) != std::string::npos; })) return false;
  if (!any("scope", [&](const std::string& v) { return v == "local"; })) return false;
  if (!any("type", [&](const std::string& v) { return v == (n.predefined() ? "builtin" : "custom"); })) return false;
  if (!any("dangling", [&](const std::string& v) {
        const bool dangling = !n.predefined() && !networks.in_use(n.id);
        return (v == "true" || v == "1") == dangling;
      })) {
    return false;
  }
  if (auto it = f.find("label"); it != f.end() && !labels_match(it->second, &n.labels)) return false;
  return true;
}

// The body of connect and disconnect: the object and its "Container".
Result<std::pair<json::object, std::string>> connect_body(const Request& req) {
  BERTH_TRY(auto body, req.read_json());
  const auto* o = body.if_object();
  const auto* container = o != nullptr ? o->if_contains("Container") : nullptr;
  if (container == nullptr || !container->is_string() || container->get_string().empty()) {
    return make_error(Errc::invalid_argument, "container is required");
  }
  return std::pair{*o, std::string(container->get_string())};
}

}  // namespace

void add_network_routes(Router& router, network::NetworkManager& networks, container::ContainerManager& containers) {
  router.add("GET", "/networks", [&networks](Request& req, ResponseWriter& w) {
    auto f = parse_filters(req, {"driver", "id", "label", "name", "scope", "type", "dangling"});
    if (!f) return w.send_error(f.error());
    if (auto it = f.value().find("type"); it != f.value().end()) {
      for (const auto& v : it->second) {
        if (v != "custom" && v != "builtin") return w.send_error(400, "invalid filter: 'type'='" + v + "'");
      }
    }
    json::array out;
    for (const auto& n : networks.list()) {
      if (matches(networks, n, f.value())) out.emplace_back(full_json(networks, n));
    }
    w.send_json(200, out);
  });

  router.add("GET", "/networks/{id}", [&networks](Request& req, ResponseWriter& w) {
    auto n = networks.find(req.params.at("id"));
    if (!n) return w.send_error(n.error());
    w.send_json(200, full_json(networks, n.value()));
  });

  router.add("POST", "/networks/create", [&networks](Request& req, ResponseWriter& w) {
    auto body = req.read_json();
    if (!body) return w.send_error(body.error());
    if (!body.value().is_object()) return w.send_error(400, "network create: expected a JSON object");
    auto n = networks.create(body.value().get_object());
    if (!n) return w.send_error(n.error());
    w.send_json(201, json::object{{"Id", n.value().id}, {"Warning", ""}});
  });

  router.add("DELETE", "/networks/{id}", [&networks](Request& req, ResponseWriter& w) {
    auto r = networks.remove(req.params.at("id"));
    if (!r) return w.send_error(r.error());
    w.send(204, "text/plain", "");
  });

  router.add("POST", "/networks/{id}/connect", [&networks, &containers](Request& req, ResponseWriter& w) {
    auto body = connect_body(req);
    if (!body) return w.send_error(body.error());
    const json::object& o = body.value().first;
    const std::string& container = body.value().second;
    auto n = networks.find(req.params.at("id"));
    if (!n) return w.send_error(n.error());
    json::object ep;
    if (const auto* e = o.if_contains("EndpointConfig"); e != nullptr && e->is_object()) ep = e->get_object();
    auto r = containers.connect(container, n.value().name, ep);
    if (!r) return w.send_error(r.error());
    w.send(200, "text/plain", "");
  });

  router.add("POST", "/networks/{id}/disconnect", [&networks, &containers](Request& req, ResponseWriter& w) {
    auto body = connect_body(req);
    if (!body) return w.send_error(body.error());
    const json::object& o = body.value().first;
    const std::string& container = body.value().second;
    bool force = false;
    if (const auto* f = o.if_contains("Force"); f != nullptr && f->is_bool()) force = f->get_bool();
    auto n = networks.find(req.params.at("id"));
    if (!n && !force) return w.send_error(n.error());
    auto r = containers.disconnect(container, n ? n.value().name : req.params.at("id"), force);
    if (!r) return w.send_error(r.error());
    w.send(200, "text/plain", "");
  });

  router.add("POST", "/networks/prune", [&networks](Request& req, ResponseWriter& w) {
    auto f = parse_filters(req, {"label", "label!", "until"});
    if (!f) return w.send_error(f.error());
    json::array deleted;
    for (const auto& n : networks.list()) {
      if (n.predefined() || networks.in_use(n.id)) continue;
      if (auto it = f.value().find("label"); it != f.value().end() && !labels_match(it->second, &n.labels)) continue;
      if (auto it = f.value().find("label!"); it != f.value().end() && labels_match(it->second, &n.labels)) continue;
      if (networks.remove(n.id)) deleted.emplace_back(n.name);
    }
    w.send_json(200, json::object{{"NetworksDeleted", deleted}});
  });
}

}  // namespace berth::core::api
