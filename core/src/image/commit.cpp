#include "berth/core/image/commit.hpp"

#include <boost/json.hpp>

#include "berth/core/image/changes.hpp"
#include "berth/core/image/reference.hpp"
#include "berth/core/time_format.hpp"

namespace berth::core::image {
namespace json = boost::json;

namespace {

// The diff ID of a tar with no entries: the layer of a commit with no changes.
constexpr std::string_view kEmptyLayerDiffId =
    "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

bool unset(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return true;
  if (v->is_string()) return v->get_string().empty();
  if (v->is_array()) return v->get_array().empty();
  if (v->is_object()) return v->get_object().empty();
  return false;
}

const json::object& object_member(const json::object& o, std::string_view key) {
  static const json::object empty;
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->get_object() : empty;
}

std::string env_key(const json::value& v) {
  if (!v.is_string()) return {};
  std::string s(v.get_string());
  return s.substr(0, s.find('='));
}

// Keys of `from` that `to` lacks are added to to[key].
void add_missing_keys(json::object& to, std::string_view key, const json::object& from) {
  if (from.empty()) return;
  json::object merged = object_member(to, key);
  for (const auto& [k, v] : from) {
    if (!merged.contains(k)) merged[k] = v;
  }
  to[key] = std::move(merged);
}

}  // namespace

void merge_commit_config(json::object& config, const json::object& cc) {
  for (std::string_view key : {"User", "WorkingDir", "StopSignal"}) {
    if (unset(config, key) && cc.contains(key)) config[key] = cc.at(key);
  }
  add_missing_keys(config, "ExposedPorts", object_member(cc, "ExposedPorts"));
  add_missing_keys(config, "Volumes", object_member(cc, "Volumes"));
  if (const auto* env = cc.if_contains("Env"); env != nullptr && env->is_array()) {
    if (unset(config, "Env")) {
      config["Env"] = *env;
    } else {
      json::array& mine = config["Env"].as_array();
      json::array extra;
      for (const auto& e : env->get_array()) {
        bool found = false;
        for (const auto& m : mine) found = found || env_key(m) == env_key(e);
        if (!found) extra.push_back(e);
      }
      for (auto& e : extra) mine.push_back(std::move(e));
    }
  }
  json::object labels = object_member(config, "Labels");
  for (const auto& [k, v] : object_member(cc, "Labels")) {
    if (!labels.contains(k)) labels[k] = v;
  }
  config["Labels"] = std::move(labels);
  if (unset(config, "Entrypoint")) {
    if (unset(config, "Cmd") && cc.contains("Cmd")) config["Cmd"] = cc.at("Cmd");
    const auto* ep = config.if_contains("Entrypoint");
    if ((ep == nullptr || ep->is_null()) && cc.contains("Entrypoint"))
      config["Entrypoint"] = cc.at("Entrypoint");
  }
  if (unset(config, "Healthcheck") && cc.contains("Healthcheck"))
    config["Healthcheck"] = cc.at("Healthcheck");
}

Result<std::string> commit_container(ImageStore& store, const CommitRequest& req,
                                     const LayerDiffFn& diff) {
  // The config first: a bad --change is refused before any work.
  json::object config = req.config.is_object() && !req.config.get_object().empty()
                            ? req.config.get_object()
                            : req.container_config;
  BERTH_TRY(apply_changes(config, req.changes));
  if (req.merge_config) merge_commit_config(config, req.container_config);
  std::optional<Reference> ref;
  if (!req.repo.empty()) {
    BERTH_TRY(auto r, Reference::parse(req.repo + (req.tag.empty() ? "" : ":" + req.tag)));
    ref = std::move(r);
  } else if (!req.tag.empty()) {
    return make_error(Errc::invalid_argument, "tag is specified without a repository");
  }

  // No image under it (FROM scratch): no layers, no history yet.
  ImageInfo parent;
  json::value parent_value = json::object{};
  if (!req.image_id.empty()) {
    BERTH_TRY(parent, store.get(req.image_id));
    json::error_code ec;
    parent_value = json::parse(parent.config, ec);
    if (ec || !parent_value.is_object())
      return make_error(Errc::internal, "image " + req.image_id + " has no valid config");
  }
  const json::object& parent_config = parent_value.get_object();

  BERTH_TRY(auto blob, store.content().writer());
  std::string write_error;
  BERTH_TRY(diff([&](const void* buf, std::size_t len) {
    if (auto r = blob->write(buf, len); !r) {
      write_error = r.error().message;
      return false;
    }
    return true;
  }));
  if (!write_error.empty()) return make_error(Errc::internal, write_error);
  BERTH_TRY(auto diff_id, blob->commit());
  const bool empty_layer = diff_id == kEmptyLayerDiffId;

  std::string top = parent.top_layer;
  std::vector<std::string> keep;
  std::vector<LayerBlob> layer_blobs;
  json::object rootfs = object_member(parent_config, "rootfs");
  if (rootfs.empty()) rootfs = json::object{{"type", "layers"}, {"diff_ids", json::array{}}};
  if (!empty_layer) {
    BERTH_TRY(auto path, store.content().path(diff_id));
    BERTH_TRY(auto read, file_reader(path));
    BERTH_TRY(auto layer, store.register_layer(parent.top_layer, diff_id, read));
    BERTH_TRY(auto size, store.content().size(diff_id));
    top = layer.chain_id;
    keep.push_back(diff_id);
    layer_blobs.push_back({diff_id, diff_id, "application/vnd.docker.image.rootfs.diff.tar", size});
    if (!rootfs["diff_ids"].is_array()) rootfs["diff_ids"] = json::array{};
    rootfs["diff_ids"].as_array().push_back(json::value(diff_id));
  } else if (!store.blob_kept(diff_id)) {
    (void)store.content().remove(diff_id);
  }

  const std::string now = rfc3339_now();
  json::object entry{{"created", now}};
  if (!req.author.empty()) entry["author"] = req.author;
  std::string created_by;
  if (const auto* cmd = req.container_config.if_contains("Cmd");
      cmd != nullptr && cmd->is_array()) {
    for (const auto& c : cmd->get_array()) {
      if (!c.is_string()) continue;
      if (!created_by.empty()) created_by += " ";
      created_by += c.get_string();
    }
  }
  if (!created_by.empty()) entry["created_by"] = created_by;
  if (!req.comment.empty()) entry["comment"] = req.comment;
  if (empty_layer) entry["empty_layer"] = true;
  json::array history;
  if (const auto* h = parent_config.if_contains("history"); h != nullptr && h->is_array())
    history = h->get_array();
  history.push_back(std::move(entry));

  json::object image{
      {"architecture", parent_config.contains("architecture") ? parent_config.at("architecture")
                                                              : json::value("amd64")},
      {"os", parent_config.contains("os") ? parent_config.at("os") : json::value("linux")},
      {"created", now},
      {"config", std::move(config)},
      {"container", req.container_id},
      {"container_config", req.container_config},
      {"rootfs", std::move(rootfs)},
      {"history", std::move(history)},
  };
  if (const auto* v = parent_config.if_contains("variant"); v != nullptr) image["variant"] = *v;
  if (!req.author.empty()) image["author"] = req.author;
  // Docker leaves it to the history entry and has inspect fall back to the
  // last entry's comment; recorded here too, as import does, so inspect
  // shows it from the config alone.
  if (!req.comment.empty()) image["comment"] = req.comment;
  BERTH_TRY(auto config_digest, store.content().put(json::serialize(image)));
  BERTH_TRY(auto id, store.add_image(config_digest, top, keep, layer_blobs));
  if (!req.image_id.empty()) {
    BERTH_TRY(store.set_parent(id, req.image_id));
  }
  if (ref) {
    BERTH_TRY(store.set_ref(ref->str(), id, false));
  }
  return id;
}

}  // namespace berth::core::image
