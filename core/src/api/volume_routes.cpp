#include "berth/core/api/volume_routes.hpp"

#include <boost/json.hpp>

#include "berth/core/api/filters.hpp"

namespace berth::core::api {
namespace json = boost::json;
using volume::Volume;

namespace {

bool matches(const volume::VolumeManager& volumes, const Volume& v, const Filters& f) {
  auto any = [&](const char* key, auto&& pred) {
    auto it = f.find(key);
    if (it == f.end()) return true;
    for (const auto& value : it->second) {
      if (pred(value)) return true;
    }
    return false;
  };
  if (!any("driver", [&](const std::string& d) { return v.driver == d; })) return false;
  if (!any("name", [&](const std::string& n) { return v.name.find(n) != std::string::npos; })) return false;
  if (!any("dangling", [&](const std::string& d) {
        return (d == "true" || d == "1") == volumes.references(v.name).empty();
      })) {
    return false;
  }
  if (auto it = f.find("label"); it != f.end() && !labels_match(it->second, &v.labels)) return false;
  return true;
}

// A JSON object of strings from the create body, or an error naming it.
Result<json::object> string_map(const json::object& body, std::string_view key) {
  const auto* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) return json::object{};
  if (!v->is_object()) return make_error(Errc::invalid_argument, "volume create: " + std::string(key) + " must be an object");
  return v->get_object();
}

Result<std::string> string_field(const json::object& body, std::string_view key) {
  const auto* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) return make_error(Errc::invalid_argument, "volume create: " + std::string(key) + " must be a string");
  return std::string(v->get_string());
}

Result<volume::VolumeRequest> create_request(const json::value& body) {
  if (!body.is_object() && !body.is_null()) return make_error(Errc::invalid_argument, "volume create: expected a JSON object");
  static const json::object empty;
  const json::object& o = body.is_object() ? body.get_object() : empty;
  volume::VolumeRequest r;
  BERTH_TRY(r.name, string_field(o, "Name"));
  BERTH_TRY(r.driver, string_field(o, "Driver"));
  if (r.driver.empty()) r.driver = "local";
  BERTH_TRY(r.options, string_map(o, "DriverOpts"));
  BERTH_TRY(r.labels, string_map(o, "Labels"));
  return r;
}

}  // namespace

void add_volume_routes(Router& router, volume::VolumeManager& volumes) {
  router.add("GET", "/volumes", [&volumes](Request& req, ResponseWriter& w) {
    auto f = parse_filters(req, {"dangling", "driver", "label", "name"});
    if (!f) return w.send_error(f.error());
    if (auto it = f.value().find("dangling"); it != f.value().end()) {
      for (const auto& v : it->second) {
        if (v != "true" && v != "false" && v != "1" && v != "0") {
          return w.send_error(400, "invalid filter 'dangling=" + v + "'");
        }
      }
    }
    json::array out;
    for (const auto& v : volumes.list()) {
      if (matches(volumes, v, f.value())) out.emplace_back(v.to_json());
    }
    w.send_json(200, json::object{{"Volumes", std::move(out)}, {"Warnings", json::array{}}});
  });

  router.add("GET", "/volumes/{name}", [&volumes](Request& req, ResponseWriter& w) {
    auto v = volumes.get(req.params.at("name"));
    if (!v) return w.send_error(v.error());
    w.send_json(200, v.value().to_json());
  });

  router.add("POST", "/volumes/create", [&volumes](Request& req, ResponseWriter& w) {
    auto body = req.read_json();
    if (!body) return w.send_error(body.error());
    auto request = create_request(body.value());
    if (!request) return w.send_error(request.error());
    auto v = volumes.create(request.value());
    if (!v) return w.send_error(v.error());
    w.send_json(201, v.value().to_json());
  });

  router.add("DELETE", "/volumes/{name}", [&volumes](Request& req, ResponseWriter& w) {
    auto r = volumes.remove(req.params.at("name"), req.query_bool("force"));
    if (!r) return w.send_error(r.error());
    w.send(204, "text/plain", "");
  });

  router.add("POST", "/volumes/prune", [&volumes](Request& req, ResponseWriter& w) {
    auto f = parse_filters(req, {"label", "label!", "all"});
    if (!f) return w.send_error(f.error());
    // API 1.42 on: named volumes only with all=true.
    bool all = req.version < ApiVersion{1, 42};
    if (auto it = f.value().find("all"); it != f.value().end()) {
      for (const auto& v : it->second) {
        if (v != "true" && v != "false" && v != "1" && v != "0") {
          return w.send_error(400, "invalid filter 'all=" + v + "'");
        }
        all = v == "true" || v == "1";
      }
    }
    json::array deleted;
    std::int64_t reclaimed = 0;
    for (const auto& v : volumes.list()) {
      if (v.scope != "local" || !volumes.references(v.name).empty()) continue;
      if (!all && !v.anonymous()) continue;
      if (auto it = f.value().find("label"); it != f.value().end() && !labels_match(it->second, &v.labels)) continue;
      if (auto it = f.value().find("label!"); it != f.value().end() && labels_match(it->second, &v.labels)) continue;
      const std::int64_t size = volumes.usage(v);
      if (volumes.remove(v.name)) {
        deleted.emplace_back(v.name);
        if (size > 0) reclaimed += size;
      }
    }
    w.send_json(200, json::object{{"VolumesDeleted", deleted}, {"SpaceReclaimed", reclaimed}});
  });
}

}  // namespace berth::core::api
