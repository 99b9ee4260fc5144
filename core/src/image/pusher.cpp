#include "berth/core/image/pusher.hpp"

#include "berth/core/image/archive_io.hpp"
#include "berth/core/log.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

namespace berth::core::image {
namespace json = boost::json;
namespace mt = registry::media_type;

namespace {

bool is_compressed(std::string_view media_type) {
  return media_type.ends_with("gzip") || media_type.ends_with("zstd");
}

// The blob `layer` is pushed as: a compressed blob it already has, else a
// gzip made now from its uncompressed blob (or, without one, from the
// driver's diff), recorded so the next push reuses it, as Docker's
// v2metadata does.
Result<LayerBlob> push_blob_of(ImageStore& store, const std::string& image_id, const LayerInfo& layer) {
  const LayerBlob* tar = nullptr;
  auto blobs = store.layer_blobs(layer.diff_id);
  for (const auto& b : blobs) {
    if (!store.content().exists(b.digest)) continue;
    if (is_compressed(b.media_type)) return b;
    tar = &b;
  }
  BERTH_TRY(auto w, store.content().writer());
  std::string sink_error;
  GzipWriter gz([&](const void* buf, std::size_t len) {
    auto r = w->write(buf, len);
    if (!r) sink_error = r.error().message;
    return static_cast<bool>(r);
  });
  if (tar != nullptr) {
    BERTH_TRY(auto path, store.content().path(tar->digest));
    BERTH_TRY(auto read, file_reader(path));
    Decompressor source(read);  // also takes a tar recorded uncompressed
    std::vector<char> buf(256 << 10);
    for (;;) {
      std::int64_t n = source.read(buf.data(), buf.size());
      if (n < 0) return make_error(Errc::internal, "read layer " + short_id(layer.diff_id) + ": " + source.error());
      if (n == 0) break;
      if (!gz.write(buf.data(), static_cast<std::size_t>(n))) {
        return make_error(Errc::internal, "compress layer " + short_id(layer.diff_id) + ": " + sink_error);
      }
    }
  } else {
    const StorageDriver* driver = store.driver();
    if (driver == nullptr) return make_error(Errc::failed_precondition, "no storage driver is loaded");
    std::string parent_cache;
    if (!layer.parent.empty()) {
      auto parent = store.layer(layer.parent);
      if (!parent) return make_error(Errc::not_found, "parent layer " + layer.parent + " is missing");
      parent_cache = parent->cache_id;
    }
    BERTH_TRY(driver->diff(layer.cache_id, parent_cache,
                           [&](const void* buf, std::size_t len) { return gz.write(buf, len); }));
  }
  if (!gz.finish()) return make_error(Errc::internal, "compress layer " + short_id(layer.diff_id) + ": " + sink_error);
  BERTH_TRY(auto digest, w->commit());
  LayerBlob blob{layer.diff_id, digest, std::string(mt::kDockerLayer), w->written()};
  BERTH_TRY(store.add_image(image_id, layer.chain_id, {digest}, {blob}));
  return blob;
}

// Repositories of the same registry this image is known to have come from:
// where a layer's blob can be mounted from instead of uploaded.
std::vector<std::string> mount_sources(const ImageInfo& info, const Reference& target) {
  std::vector<std::string> out;
  for (const auto& d : info.digests) {
    auto ref = Reference::parse(d);
    if (ref && ref.value().domain == target.domain && ref.value().path != target.path) {
      out.push_back(ref.value().path);
    }
  }
  return out;
}

json::object descriptor_json(std::string_view media_type, const std::string& digest, std::int64_t size) {
  return json::object{{"mediaType", media_type}, {"size", size}, {"digest", digest}};
}

class TagPusher {
 public:
  TagPusher(ImageStore& store, registry::RegistryClient& client, const PushRequest& request,
            const ProgressFn& progress)
      : store_(store), client_(client), request_(request), progress_(progress),
        creds_(request.credentials ? &*request.credentials : nullptr) {}

  Result<PushedTag> push(const Reference& target, const std::string& image_id) {
    BERTH_TRY(auto info, store_.get(image_id));
    auto sources = mount_sources(info, target);
    // Docker lists the layers top first.
    for (auto it = info.layers.rbegin(); it != info.layers.rend(); ++it) {
      say(status_message("Preparing", short_id(it->diff_id)));
    }
    std::vector<LayerBlob> blobs(info.layers.size());
    std::vector<std::optional<Error>> errors(info.layers.size());
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    auto worker = [&] {
      for (std::size_t i; (i = next++) < info.layers.size() && !failed;) {
        auto r = push_layer(target, image_id, info.layers[i], sources);
        if (r) {
          blobs[i] = std::move(r).value();
        } else {
          errors[i] = std::move(r).error();
          failed = true;
        }
      }
    };
    int n = std::max(1, std::min<int>(request_.max_concurrent_uploads, static_cast<int>(info.layers.size())));
    std::vector<std::thread> threads;
    for (int t = 0; t < n; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    for (auto& e : errors) {
      if (e) return std::move(*e);
    }

    // A zstd layer needs an OCI manifest; everything else goes as Docker
    // schema2, like Docker.
    bool oci = false;
    for (const auto& b : blobs) oci = oci || b.media_type.ends_with("zstd");
    BERTH_TRY(auto config_size, store_.content().size(image_id));
    registry::Descriptor config{std::string(oci ? mt::kOciConfig : mt::kDockerConfig), image_id, config_size, {}, {}, {}};
    BERTH_TRY(auto exists, client_.blob_exists(target, image_id, creds_));
    if (!exists) {
      BERTH_TRY(upload(target, config, {}));
    }
    json::array layers;
    for (const auto& b : blobs) {
      std::string type = b.media_type;
      if (oci && type == mt::kDockerLayer) type = mt::kOciLayerGzip;
      if (!oci && type == mt::kOciLayerGzip) type = mt::kDockerLayer;
      layers.emplace_back(descriptor_json(type, b.digest, b.size));
    }
    json::object manifest{
        {"schemaVersion", 2},
        {"mediaType", oci ? mt::kOciManifest : mt::kDockerManifest},
        {"config", descriptor_json(config.media_type, config.digest, config.size)},
        {"layers", std::move(layers)},
    };
    std::string bytes = json::serialize(manifest);
    BERTH_TRY(auto digest, client_.push_manifest(target, std::string(oci ? mt::kOciManifest : mt::kDockerManifest),
                                                 bytes, creds_));
    BERTH_TRY(store_.content().put(bytes, digest));
    BERTH_TRY(store_.add_image(image_id, info.top_layer, {digest}, {}));
    BERTH_TRY(store_.set_ref(target.repository().str() + "@" + digest, image_id, true));
    return PushedTag{target.tag, digest, static_cast<std::int64_t>(bytes.size())};
  }

 private:
  void say(const json::object& m) {
    std::lock_guard lock(mutex_);
    progress_(m);
  }

  Result<LayerBlob> push_layer(const Reference& target, const std::string& image_id, const LayerInfo& layer,
                               const std::vector<std::string>& sources) {
    std::string id = short_id(layer.diff_id);
    BERTH_TRY(auto blob, push_blob_of(store_, image_id, layer));
    BERTH_TRY(auto exists, client_.blob_exists(target, blob.digest, creds_));
    if (exists) {
      say(status_message("Layer already exists", id));
      return blob;
    }
    for (const auto& from : sources) {
      BERTH_TRY(auto mounted, client_.mount_blob(target, from, blob.digest, creds_));
      if (mounted) {
        say(status_message("Mounted from " + from, id));
        return blob;
      }
    }
    registry::Descriptor d{blob.media_type, blob.digest, blob.size, {}, {}, {}};
    BERTH_TRY(upload(target, d, id));
    say(status_message("Pushed", id));
    return blob;
  }

  // Uploads a content-store blob, with "Pushing" bars when `id` is given.
  Result<void> upload(const Reference& target, const registry::Descriptor& d, const std::string& id) {
    BERTH_TRY(auto path, store_.content().path(d.digest));
    BERTH_TRY(auto read, file_reader(path));
    std::int64_t last_report = -1;
    return client_.push_blob(
        target, d, creds_,
        [&](char* buf, std::size_t cap) -> Result<std::size_t> {
          std::int64_t n = read(buf, cap);
          if (n < 0) return make_error(Errc::internal, "read blob " + d.digest);
          return static_cast<std::size_t>(n);
        },
        [&](std::int64_t done, std::int64_t total) {
          if (id.empty() || (done - last_report < (512 << 10) && done != total)) return;
          last_report = done;
          say(progress_message("Pushing", id, done, total));
        });
  }

  ImageStore& store_;
  registry::RegistryClient& client_;
  const PushRequest& request_;
  const ProgressFn& progress_;
  const registry::Credentials* creds_;
  std::mutex mutex_;
};

}  // namespace

Result<std::vector<std::pair<Reference, std::string>>> push_targets(ImageStore& store, const Reference& ref) {
  std::vector<std::pair<Reference, std::string>> targets;
  if (!ref.tag.empty()) {
    if (auto id = store.resolve(ref.str())) targets.emplace_back(ref, id.value());
  } else {
    std::string prefix = ref.name() + ":";
    for (const auto& info : store.list()) {
      for (const auto& t : info.tags) {
        if (t.starts_with(prefix)) targets.emplace_back(ref.with_tag(t.substr(prefix.size())), info.id);
      }
    }
  }
  if (targets.empty()) {
    return make_error(Errc::not_found, "An image does not exist locally with the tag: " + ref.familiar_name());
  }
  return targets;
}

Result<std::vector<PushedTag>> push_image(ImageStore& store, registry::RegistryClient& client,
                                          const PushRequest& request, const ProgressFn& progress) {
  const Reference& ref = request.ref;
  BERTH_TRY(auto targets, push_targets(store, ref));
  progress(json::object{{"status", "The push refers to repository [" + ref.name() + "]"}});
  std::vector<PushedTag> pushed;
  TagPusher pusher(store, client, request, progress);
  for (const auto& [target, id] : targets) {
    BERTH_TRY(auto tag, pusher.push(target, id));
    progress(json::object{
        {"status", tag.tag + ": digest: " + tag.digest + " size: " + std::to_string(tag.size)}});
    progress(json::object{{"progressDetail", json::object{}},
                          {"aux", json::object{{"Tag", tag.tag}, {"Digest", tag.digest}, {"Size", tag.size}}}});
    pushed.push_back(std::move(tag));
  }
  return pushed;
}

}  // namespace berth::core::image
