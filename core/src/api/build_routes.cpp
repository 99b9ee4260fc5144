#include "berth/core/api/build_routes.hpp"

#include <boost/json.hpp>
#include <ostream>

#include "berth/core/log.hpp"
#include "berth/core/registry/types.hpp"

namespace berth::core::api {
namespace json = boost::json;

namespace {

// A JSON object (or null) from query parameter `name`.
Result<json::object> json_query(const Request& req, std::string_view name) {
  const std::string* v = req.query_value(name);
  if (v == nullptr || v->empty() || *v == "null") return json::object{};
  json::error_code ec;
  auto parsed = json::parse(*v, ec);
  if (ec || !parsed.is_object()) return make_error(Errc::invalid_argument, "invalid " + std::string(name) + ": " + *v);
  return parsed.get_object();
}

Result<build::BuildRequest> build_request(const Request& req) {
  build::BuildRequest r;
  if (const std::string* f = req.query_value("dockerfile"); f != nullptr && !f->empty()) r.dockerfile = *f;
  auto [first, last] = req.query.equal_range("t");
  for (auto it = first; it != last; ++it) {
    if (!it->second.empty()) r.tags.push_back(it->second);
  }
  BERTH_TRY(auto args, json_query(req, "buildargs"));
  for (const auto& [k, v] : args) {
    if (v.is_string()) {
      r.build_args[std::string(k)] = std::string(v.get_string());
    } else if (v.is_null()) {
      r.build_args[std::string(k)] = std::nullopt;
    } else {
      return make_error(Errc::invalid_argument, "invalid buildargs: values must be strings");
    }
  }
  BERTH_TRY(auto labels, json_query(req, "labels"));
  for (const auto& [k, v] : labels) {
    if (!v.is_string()) return make_error(Errc::invalid_argument, "invalid labels: values must be strings");
    r.labels[std::string(k)] = std::string(v.get_string());
  }
  if (const std::string* c = req.query_value("cachefrom"); c != nullptr && !c->empty()) {
    json::error_code ec;
    auto parsed = json::parse(*c, ec);
    if (ec || !parsed.is_array()) return make_error(Errc::invalid_argument, "invalid cachefrom: " + *c);
    for (const auto& e : parsed.get_array()) {
      if (e.is_string()) r.cache_from.emplace_back(e.get_string());
    }
  }
  r.no_cache = req.query_bool("nocache");
  if (const std::string* p = req.query_value("pull"); p != nullptr) r.pull = !p->empty() && *p != "0" && *p != "false";
  r.remove = req.query_bool("rm", true);
  r.force_remove = req.query_bool("forcerm");
  r.quiet = req.query_bool("q");
  if (const std::string* t = req.query_value("target")) r.target = *t;
  if (const std::string* n = req.query_value("networkmode")) r.network_mode = *n;
  // One platform: this host's. Docker's classic builder refuses others the
  // same way (it cannot run their RUN steps).
  if (const std::string* p = req.query_value("platform"); p != nullptr && !p->empty()) {
    BERTH_TRY(auto wanted, registry::parse_platform(*p));
    const registry::Platform host = registry::host_platform();
    if (registry::normalize_platform(wanted) != registry::normalize_platform(host)) {
      return make_error(Errc::invalid_argument,
                        "platform " + *p + " is not supported: this daemon builds for " + host.str());
    }
  }
  if (const std::string* remote = req.query_value("remote"); remote != nullptr && !remote->empty()) {
    return make_error(Errc::unsupported, "remote build contexts are not supported: send the context as the body");
  }
  return r;
}

void message(std::ostream& out, const json::object& m) {
  out << json::serialize(m) << "\r\n";
  out.flush();
}

}  // namespace

void add_build_routes(Router& router, const build::BuildServices& services) {
  router.add("POST", "/build", [&services](Request& req, ResponseWriter& w) {
    auto r = build_request(req);
    if (!r) return w.send_error(r.error());
    std::istream* body = req.body_stream;
    auto read = [body](void* buf, std::size_t cap) -> std::int64_t {
      if (body == nullptr) return 0;
      body->read(static_cast<char*>(buf), static_cast<std::streamsize>(cap));
      return body->bad() ? -1 : body->gcount();
    };
    std::ostream& out = w.stream(200, "application/json");
    auto id = build::run_build(services, r.value(), read, [&](const json::object& m) {
      message(out, m);
      return static_cast<bool>(out) && !w.client_gone();
    });
    if (!id) logger("build")->info("build failed: {}", id.error().message);
  });

  router.add("POST", "/build/prune", [&services](Request&, ResponseWriter& w) {
    auto pruned = build::prune_cache(services);
    if (!pruned) return w.send_error(pruned.error());
    json::array ids;
    for (const auto& id : pruned.value().first) ids.emplace_back(id);
    w.send_json(200, json::object{{"CachesDeleted", std::move(ids)}, {"SpaceReclaimed", pruned.value().second}});
  });
}

}  // namespace berth::core::api
