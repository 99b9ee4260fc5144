#include "berth/core/api/image_routes.hpp"
#include "berth/core/api/filters.hpp"

#include "berth/core/image/archive_io.hpp"
#include "berth/core/image/changes.hpp"
#include "berth/core/image/digest.hpp"
#include "berth/core/image/puller.hpp"
#include "berth/core/image/pusher.hpp"
#include "berth/core/image/reference.hpp"
#include "berth/core/log.hpp"
#include "berth/core/time_format.hpp"

#include <boost/json.hpp>
#include <set>
#include <fnmatch.h>

#include <ctime>

namespace berth::core::api {
namespace json = boost::json;
using image::ImageInfo;
using image::ImageStore;

namespace {

std::string familiar(const std::string& full) {
  auto ref = image::Reference::parse(full);
  return ref ? ref.value().familiar() : full;
}

json::value parse_config(const ImageInfo& info) {
  json::error_code ec;
  auto v = json::parse(info.config, ec);
  return ec || !v.is_object() ? json::value(json::object{}) : v;
}

const json::value* member(const json::value& v, std::string_view key) {
  return v.is_object() ? v.get_object().if_contains(key) : nullptr;
}

std::string str_member(const json::value& v, std::string_view key) {
  const auto* m = member(v, key);
  return m != nullptr && m->is_string() ? std::string(m->get_string()) : std::string();
}

json::array familiar_list(const std::vector<std::string>& names) {
  json::array out;
  for (const auto& n : names) out.emplace_back(familiar(n));
  return out;
}

json::object summary(const ImageInfo& info) {
  auto config = parse_config(info);
  json::value labels = json::object{};
  if (const auto* c = member(config, "config")) {
    if (const auto* l = member(*c, "Labels"); l != nullptr && l->is_object()) labels = *l;
  }
  return json::object{
      {"Id", info.id},
      {"ParentId", info.parent},
      {"RepoTags", familiar_list(info.tags)},
      {"RepoDigests", familiar_list(info.digests)},
      {"Created", parse_rfc3339(str_member(config, "created"))},
      {"Size", info.size},
      {"SharedSize", -1},
      {"VirtualSize", info.size},
      {"Labels", labels},
      {"Containers", -1},
  };
}

json::object inspect(const ImageInfo& info, const ImageStore& store) {
  auto config = parse_config(info);
  json::array diff_ids;
  for (const auto& l : info.layers) diff_ids.emplace_back(l.diff_id);
  auto or_default = [&](std::string_view key, json::value fallback) {
    const auto* m = member(config, key);
    return m != nullptr ? *m : fallback;
  };
  json::object out{
      {"Id", info.id},
      {"RepoTags", familiar_list(info.tags)},
      {"RepoDigests", familiar_list(info.digests)},
      {"Parent", info.parent},
      {"Comment", str_member(config, "comment")},
      {"Created", str_member(config, "created")},
      {"Container", str_member(config, "container")},
      {"ContainerConfig", or_default("container_config", json::object{})},
      {"DockerVersion", str_member(config, "docker_version")},
      {"Author", str_member(config, "author")},
      {"Config", or_default("config", nullptr)},
      {"Architecture", str_member(config, "architecture")},
      {"Os", str_member(config, "os")},
      {"Size", info.size},
      {"VirtualSize", info.size},
      {"GraphDriver", json::object{{"Name", store.driver() ? store.driver()->id() : std::string()},
                                   {"Data", json::object{}}}},
      {"RootFS", json::object{{"Type", "layers"}, {"Layers", diff_ids}}},
      {"Metadata", json::object{{"LastTagTime", "0001-01-01T00:00:00Z"}}},
  };
  if (auto variant = str_member(config, "variant"); !variant.empty()) out["Variant"] = variant;
  return out;
}

bool matches_filters(const ImageInfo& info, const std::map<std::string, std::vector<std::string>>& f,
                     ImageStore& store) {
  bool dangling = info.tags.empty() && info.digests.empty();
  if (auto it = f.find("dangling"); it != f.end() && !it->second.empty()) {
    bool want = it->second.front() == "true" || it->second.front() == "1";
    if (want != dangling) return false;
  }
  if (auto it = f.find("reference"); it != f.end()) {
    bool any = false;
    for (const auto& pattern : it->second) {
      for (const auto& full : info.tags) {
        std::string fam = familiar(full);
        std::string name = fam.substr(0, fam.rfind(':'));
        any = any || ::fnmatch(pattern.c_str(), fam.c_str(), 0) == 0 ||
              ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
      }
    }
    if (!any) return false;
  }
  if (auto it = f.find("label"); it != f.end()) {
    auto config = parse_config(info);
    const json::value* labels = nullptr;
    if (const auto* c = member(config, "config")) labels = member(*c, "Labels");
    if (!labels_match(it->second, labels != nullptr ? labels->if_object() : nullptr)) return false;
  }
  for (const char* key : {"before", "since"}) {
    auto it = f.find(key);
    if (it == f.end()) continue;
    for (const auto& name : it->second) {
      auto other_id = store.resolve(name);
      if (!other_id) return false;
      auto other = store.get(other_id.value());
      if (!other) return false;
      auto mine = parse_rfc3339(str_member(parse_config(info), "created"));
      auto theirs = parse_rfc3339(str_member(parse_config(other.value()), "created"));
      if (std::string_view(key) == "before" ? mine >= theirs : mine <= theirs) return false;
    }
  }
  return true;
}

json::array delete_json(const std::vector<image::DeleteEntry>& entries) {
  json::array out;
  for (const auto& e : entries) {
    out.emplace_back(json::object{{e.deleted ? "Deleted" : "Untagged",
                                   e.deleted ? e.what : familiar(e.what)}});
  }
  return out;
}

// Docker's events for the lines of a delete: "untag" per reference and
// "delete" per image, each with the ID of the image concerned (its untags
// come before its delete; `id`, when known, for untags with none after).
void log_delete_events(ImageStore& store, const std::vector<image::DeleteEntry>& entries, std::string id) {
  std::vector<std::string> ids(entries.size());
  for (std::size_t i = entries.size(); i-- > 0;) {
    if (entries[i].deleted) id = entries[i].what;
    ids[i] = id;
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    store.log_event(entries[i].deleted ? "delete" : "untag", ids[i], {{"name", ids[i]}});
  }
}

// Writes one JSON message of a progress stream.
void message(std::ostream& out, const json::object& m) {
  out << to_json_text(m) << "\r\n";
  out.flush();
}

image::ReadFn body_reader(Request& req) {
  return [&req](void* buf, std::size_t cap) -> std::int64_t {
    if (req.body_stream == nullptr) return 0;
    req.body_stream->read(static_cast<char*>(buf), static_cast<std::streamsize>(cap));
    if (req.body_stream->bad()) return -1;
    return req.body_stream->gcount();
  };
}

void save(ImageStore& store, const std::vector<std::string>& names, ResponseWriter& w) {
  std::vector<image::SaveItem> items;
  for (const auto& name : names) {
    auto id = store.resolve(name);
    if (!id) return w.send_error(id.error());
    image::SaveItem* item = nullptr;
    for (auto& existing : items) {
      if (existing.id == id.value()) item = &existing;
    }
    if (item == nullptr) item = &items.emplace_back(image::SaveItem{id.value(), {}});
    // Saved by name: record that name; saved by ID: every tag it has.
    auto ref = image::Reference::parse(name);
    bool by_id = name.starts_with("sha256:") || id.value().substr(7).starts_with(name);
    if (!by_id && ref) {
      item->tags.push_back(ref.value().familiar());
    } else if (auto info = store.get(id.value())) {
      for (const auto& t : info.value().tags) item->tags.push_back(familiar(t));
    }
  }
  std::ostream& out = w.stream(200, "application/x-tar");
  auto r = image::save_archive(store, items, [&](const void* buf, std::size_t len) {
    out.write(static_cast<const char*>(buf), static_cast<std::streamsize>(len));
    return static_cast<bool>(out);
  });
  // Headers are gone: a failure can only cut the stream short, which the
  // client sees as a truncated tar.
  if (!r) {
    logger("api")->error("save {}: {}", names.front(), r.error().message);
    return;
  }
  for (const auto& item : items) store.log_event("save", item.id, {{"name", item.id}});
}


// docker import: the body is a root filesystem tar (possibly compressed);
// it becomes a one-layer image.
// Every value of a repeated query parameter (Docker sends one `changes` per
// --change).
std::vector<std::string> query_values(const Request& req, const std::string& name) {
  std::vector<std::string> out;
  auto [first, last] = req.query.equal_range(name);
  for (auto it = first; it != last; ++it) {
    if (!it->second.empty()) out.push_back(it->second);
  }
  return out;
}

Result<std::string> import_image(ImageStore& store, Request& req) {
  // --change first: a bad instruction is refused before the upload is read.
  json::object image_config;
  BERTH_TRY(image::apply_changes(image_config, query_values(req, "changes")));
  image::Decompressor body(body_reader(req));
  BERTH_TRY(auto blob, store.content().writer());
  std::string write_error;
  BERTH_TRY(auto layer, store.register_layer("", "", [&](void* buf, std::size_t cap) -> std::int64_t {
    std::int64_t n = body.read(buf, cap);
    if (n > 0) {
      if (auto r = blob->write(buf, static_cast<std::size_t>(n)); !r) {
        write_error = r.error().message;
        return -1;
      }
    }
    return n;
  }));
  if (!write_error.empty()) return make_error(Errc::internal, write_error);
  BERTH_TRY(auto blob_digest, blob->commit(layer.diff_id));
  std::string now = rfc3339_now();
  const std::string* message_text = req.query_value("message");
  bool has_message = message_text != nullptr && !message_text->empty();
  json::object config{
      {"architecture", registry::host_platform().architecture},
      {"os", "linux"},
      {"created", now},
      {"config", std::move(image_config)},
      {"rootfs", json::object{{"type", "layers"}, {"diff_ids", json::array{layer.diff_id}}}},
      {"history",
       json::array{json::object{
           {"created", now},
           {"comment", has_message ? *message_text : std::string("Imported from -")}}}},
  };
  if (has_message) config["comment"] = *message_text;
  BERTH_TRY(auto config_digest, store.content().put(json::serialize(config)));
  BERTH_TRY(auto size, store.content().size(blob_digest));
  BERTH_TRY(auto id, store.add_image(config_digest, layer.chain_id, {blob_digest},
                                     {{layer.diff_id, blob_digest,
                                       "application/vnd.docker.image.rootfs.diff.tar", size}}));
  if (const std::string* repo = req.query_value("repo"); repo != nullptr && !repo->empty()) {
    const std::string* tag = req.query_value("tag");
    BERTH_TRY(auto ref, image::Reference::parse(*repo + (tag != nullptr && !tag->empty() ? ":" + *tag : "")));
    BERTH_TRY(store.set_ref(ref.str(), id, false));
    store.log_event("tag", id, {{"name", ref.familiar()}});
  }
  return id;
}

}  // namespace

json::object image_summary(const ImageInfo& info) { return summary(info); }

Result<image::PullRequest> pull_request(const Request& req, int max_concurrent) {
  const std::string* from = req.query_value("fromImage");
  const std::string* tag = req.query_value("tag");
  std::string text = from != nullptr ? *from : std::string();
  if (tag != nullptr && !tag->empty()) text += (tag->starts_with("sha256:") ? "@" : ":") + *tag;
  BERTH_TRY(auto ref, image::Reference::parse(text));
  image::PullRequest pr{ref, registry::host_platform(), std::nullopt, max_concurrent};
  if (const std::string* platform = req.query_value("platform"); platform != nullptr && !platform->empty()) {
    BERTH_TRY(pr.platform, registry::parse_platform(*platform));
  }
  if (auto it = req.headers.find("X-Registry-Auth"); it != req.headers.end() && !it->second.empty()) {
    BERTH_TRY(pr.credentials, registry::decode_registry_auth(it->second));
  }
  return pr;
}

void add_image_routes(Router& router, ImageStore& store, registry::RegistryClient& registry,
                      int max_concurrent_downloads) {
  router.add("POST", "/images/create", [&store, &registry, max_concurrent_downloads](
                                           Request& req, ResponseWriter& w) {
    const std::string* from_src = req.query_value("fromSrc");
    if (from_src == nullptr) {
      auto pr = pull_request(req, max_concurrent_downloads);
      if (!pr) return w.send_error(pr.error());
      std::ostream& out = w.stream(200, "application/json");
      auto id = image::pull_image(store, registry, pr.value(), [&](const json::object& m) { message(out, m); });
      if (!id) {
        message(out, json::object{{"errorDetail", json::object{{"message", id.error().message}}},
                                  {"error", id.error().message}});
        return;
      }
      const auto& ref = pr.value().ref;
      store.log_event("pull", ref.familiar(), {{"name", ref.familiar_name()}});
      return;
    }
    if (*from_src != "-") return w.send_error(501, "importing from a URL is not supported; pipe the tar to the request body");
    auto id = import_image(store, req);
    if (!id) return w.send_error(id.error());
    store.log_event("import", id.value(), {{"name", id.value()}});
    std::ostream& out = w.stream(200, "application/json");
    message(out, json::object{{"status", id.value()}});
  });

  router.add("POST", "/images/{name*}/push", [&store, &registry](Request& req, ResponseWriter& w) {
    const std::string* tag = req.query_value("tag");
    std::string text = req.params.at("name");
    if (tag != nullptr && !tag->empty()) text += ":" + *tag;
    auto ref = image::Reference::parse(text, image::Reference::DefaultTag::none);
    if (!ref) return w.send_error(ref.error());
    image::PushRequest pr{ref.value(), std::nullopt, 5};
    if (auto it = req.headers.find("X-Registry-Auth"); it != req.headers.end() && !it->second.empty()) {
      auto creds = registry::decode_registry_auth(it->second);
      if (!creds) return w.send_error(creds.error());
      pr.credentials = std::move(creds).value();
    }
    // A missing image is an HTTP error, as Docker answers before streaming.
    if (auto targets = image::push_targets(store, ref.value()); !targets) return w.send_error(targets.error());
    std::ostream& out = w.stream(200, "application/json");
    auto pushed = image::push_image(store, registry, pr, [&](const json::object& m) { message(out, m); });
    if (!pushed) {
      message(out, json::object{{"errorDetail", json::object{{"message", pushed.error().message}}},
                                {"error", pushed.error().message}});
      return;
    }
    for (const auto& t : pushed.value()) {
      auto tagged = ref.value().with_tag(t.tag);
      store.log_event("push", tagged.familiar(), {{"name", tagged.familiar_name()}});
    }
  });

  router.add("GET", "/images/json", [&store](Request& req, ResponseWriter& w) {
    auto f = parse_filters(req, {"dangling", "label", "reference", "before", "since"});
    if (!f) return w.send_error(f.error());
    bool all = req.query_bool("all");
    json::array out;
    const auto images = store.list();
    std::set<std::string> parents;
    for (const auto& info : images) {
      if (!info.parent.empty()) parents.insert(info.parent);
    }
    for (const auto& info : images) {
      // Without -a Docker hides intermediate images: untagged parents of
      // another image (build steps).
      if (!all && info.tags.empty() && info.digests.empty() && parents.contains(info.id)) continue;
      if (!matches_filters(info, f.value(), store)) continue;
      if (auto it = f.value().find("reference"); it != f.value().end()) {
        // Like Docker, a reference filter also narrows RepoTags to the matches.
        ImageInfo narrowed = info;
        narrowed.tags.clear();
        for (const auto& full : info.tags) {
          std::string fam = familiar(full);
          std::string name = fam.substr(0, fam.rfind(':'));
          for (const auto& pattern : it->second) {
            if (::fnmatch(pattern.c_str(), fam.c_str(), 0) == 0 ||
                ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0) {
              narrowed.tags.push_back(full);
              break;
            }
          }
        }
        out.emplace_back(summary(narrowed));
        continue;
      }
      out.emplace_back(summary(info));
    }
    w.send_json(200, out);
  });

  router.add("GET", "/images/{name*}/json", [&store](Request& req, ResponseWriter& w) {
    auto id = store.resolve(req.params.at("name"));
    if (!id) return w.send_error(id.error());
    auto info = store.get(id.value());
    if (!info) return w.send_error(info.error());
    w.send_json(200, inspect(info.value(), store));
  });

  router.add("GET", "/images/{name*}/history", [&store](Request& req, ResponseWriter& w) {
    auto id = store.resolve(req.params.at("name"));
    if (!id) return w.send_error(id.error());
    auto info = store.get(id.value());
    if (!info) return w.send_error(info.error());
    auto config = parse_config(info.value());
    json::array out;
    const auto* history = member(config, "history");
    std::size_t layer = info.value().layers.size();
    if (history != nullptr && history->is_array()) {
      const auto& h = history->get_array();
      for (auto it = h.rbegin(); it != h.rend(); ++it) {
        bool empty = false;
        if (const auto* e = member(*it, "empty_layer"); e != nullptr && e->is_bool()) empty = e->get_bool();
        std::int64_t size = 0;
        if (!empty && layer > 0) size = info.value().layers[--layer].size;
        bool top = it == h.rbegin();
        out.emplace_back(json::object{
            {"Id", top ? info.value().id : std::string("<missing>")},
            {"Created", parse_rfc3339(str_member(*it, "created"))},
            {"CreatedBy", str_member(*it, "created_by")},
            {"Tags", top ? json::value(familiar_list(info.value().tags)) : json::value(nullptr)},
            {"Size", size},
            {"Comment", str_member(*it, "comment")},
        });
      }
    }
    w.send_json(200, out);
  });

  router.add("POST", "/images/{name*}/tag", [&store](Request& req, ResponseWriter& w) {
    auto id = store.resolve(req.params.at("name"));
    if (!id) return w.send_error(id.error());
    const std::string* repo = req.query_value("repo");
    if (repo == nullptr || repo->empty()) return w.send_error(400, "repository name must have at least one component");
    const std::string* tag = req.query_value("tag");
    std::string text = *repo + (tag != nullptr && !tag->empty() ? ":" + *tag : "");
    auto ref = image::Reference::parse(text);
    if (!ref) return w.send_error(ref.error());
    if (!ref.value().digest.empty()) return w.send_error(400, "refusing to create a tag with a digest reference");
    if (auto r = store.set_ref(ref.value().str(), id.value(), false); !r) return w.send_error(r.error());
    store.log_event("tag", id.value(), {{"name", ref.value().familiar()}});
    w.send(201, "text/plain", "");
  });

  router.add("DELETE", "/images/{name*}", [&store](Request& req, ResponseWriter& w) {
    auto id = store.resolve(req.params.at("name"));
    auto r = store.remove(req.params.at("name"), req.query_bool("force"));
    if (!r) return w.send_error(r.error());
    log_delete_events(store, r.value(), id ? id.value() : std::string());
    w.send_json(200, delete_json(r.value()));
  });

  router.add("POST", "/images/prune", [&store](Request& req, ResponseWriter& w) {
    auto f = parse_filters(req, {"dangling", "label", "until"});
    if (!f) return w.send_error(f.error());
    bool all = false;
    if (auto it = f.value().find("dangling"); it != f.value().end() && !it->second.empty()) {
      all = it->second.front() == "false" || it->second.front() == "0";
    }
    std::int64_t reclaimed = 0;
    auto r = store.prune(all, reclaimed);
    if (!r) return w.send_error(r.error());
    log_delete_events(store, r.value(), {});
    store.log_event("prune", "", {{"reclaimed", std::to_string(reclaimed)}});
    json::array deleted = delete_json(r.value());
    w.send_json(200, json::object{{"ImagesDeleted", deleted.empty() ? json::value(nullptr) : json::value(deleted)},
                                  {"SpaceReclaimed", reclaimed}});
  });

  router.add("GET", "/images/{name*}/get", [&store](Request& req, ResponseWriter& w) {
    save(store, {req.params.at("name")}, w);
  });

  router.add("GET", "/images/get", [&store](Request& req, ResponseWriter& w) {
    std::vector<std::string> names;
    auto range = req.query.equal_range("names");
    for (auto it = range.first; it != range.second; ++it) names.push_back(it->second);
    if (names.empty()) return w.send_error(400, "no images named: use names=<image>");
    save(store, names, w);
  });

  router.add("POST", "/images/load", [&store](Request& req, ResponseWriter& w) {
    bool quiet = req.query_bool("quiet");
    std::ostream& out = w.stream(200, "application/json");
    auto loaded = image::load_archive(store, body_reader(req), [&](const std::string& line) {
      if (!quiet) message(out, json::object{{"stream", line + "\n"}});
    });
    if (!loaded) {
      message(out, json::object{{"errorDetail", json::object{{"message", loaded.error().message}}},
                                {"error", loaded.error().message}});
      return;
    }
    for (const auto& img : loaded.value()) {
      store.log_event("load", img.id, {{"name", img.id}});
      if (img.tags.empty()) {
        message(out, json::object{{"stream", "Loaded image ID: " + img.id + "\n"}});
      }
      for (const auto& t : img.tags) message(out, json::object{{"stream", "Loaded image: " + t + "\n"}});
    }
  });
}

}  // namespace berth::core::api
