#include "berth/core/image/puller.hpp"

#include "berth/core/image/archive_io.hpp"
#include "berth/core/image/digest.hpp"
#include "berth/core/image/progress.hpp"
#include "berth/core/log.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

namespace berth::core::image {
namespace json = boost::json;

namespace {

// Fetches the image config (unless the content store has it) and returns
// its diff IDs, one per manifest layer: they give the chain IDs, so layers
// this host already has are not fetched again.
Result<std::vector<std::string>> config_diff_ids(ImageStore& store,
                                                 registry::RegistryClient& client,
                                                 const Reference& ref,
                                                 const registry::Manifest& manifest,
                                                 const registry::Credentials* creds) {
  const std::string& digest = manifest.config.digest;
  if (!store.content().exists(digest)) {
    BERTH_TRY(auto w, store.content().writer());
    auto fetched =
        client.fetch_blob(ref, manifest.config, creds,
                          [&](const char* data, std::size_t len) { return w->write(data, len); });
    if (!fetched) return std::move(fetched).error().wrap("image config");
    auto committed = w->commit(digest, manifest.config.size);
    if (!committed) return std::move(committed).error().wrap("image config");
  }
  BERTH_TRY(auto config_text, store.content().read(digest));
  json::error_code ec;
  auto config = json::parse(config_text, ec);
  std::vector<std::string> diff_ids;
  if (!ec && config.is_object()) {
    if (const auto* rootfs = config.get_object().if_contains("rootfs");
        rootfs && rootfs->is_object()) {
      if (const auto* ids = rootfs->get_object().if_contains("diff_ids"); ids && ids->is_array()) {
        for (const auto& d : ids->get_array()) {
          if (d.is_string()) diff_ids.emplace_back(d.get_string());
        }
      }
    }
  }
  if (diff_ids.size() != manifest.layers.size()) {
    return make_error(Errc::invalid_argument,
                      "image config " + digest + " lists " + std::to_string(diff_ids.size()) +
                          " layers, the manifest " + std::to_string(manifest.layers.size()));
  }
  return diff_ids;
}

struct LayerJob {
  registry::Descriptor blob;
  std::string diff_id, chain;
  bool present = false;  // layer already registered: nothing to fetch
  bool downloaded = false;
  std::optional<Error> error;
};

}  // namespace

Result<std::string> pull_image(ImageStore& store, registry::RegistryClient& client,
                               const PullRequest& request, const PullProgress& progress) {
  std::mutex progress_mutex;
  auto say = [&](json::object m) {
    std::lock_guard lock(progress_mutex);
    progress(m);
  };
  const Reference& ref = request.ref;
  const registry::Credentials* creds = request.credentials ? &*request.credentials : nullptr;
  say({{"status", "Pulling from " + ref.familiar_name()},
       {"id", ref.tag.empty() ? ref.digest : ref.tag}});

  BERTH_TRY(auto manifest, client.fetch_manifest(ref, request.platform, creds));
  BERTH_TRY(auto manifest_digest, store.content().put(manifest.bytes, manifest.digest));
  std::vector<std::string> keep{manifest_digest};
  if (!manifest.index_digest.empty()) {
    BERTH_TRY(auto index_digest, store.content().put(manifest.index_bytes, manifest.index_digest));
    keep.push_back(index_digest);
  }

  // Blobs this pull stored that no image keeps go again when it fails (the
  // start-up sweep would collect them, but only at the next start).
  auto drop_unkept = [&](const std::vector<std::string>& digests) {
    for (const auto& d : digests) {
      if (!store.blob_kept(d)) (void)store.content().remove(d);
    }
  };
  keep.push_back(manifest.config.digest);
  auto config_ids = config_diff_ids(store, client, ref, manifest, creds);
  if (!config_ids) {
    drop_unkept(keep);
    return std::move(config_ids).error();
  }
  const std::vector<std::string>& diff_ids = config_ids.value();

  std::vector<LayerJob> jobs(manifest.layers.size());
  std::string chain;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    jobs[i].blob = manifest.layers[i];
    jobs[i].diff_id = diff_ids[i];
    chain = chain_id(chain, diff_ids[i]);
    jobs[i].chain = chain;
    jobs[i].present = store.layer(chain).has_value();
    say(status_message(jobs[i].present ? "Already exists" : "Pulling fs layer", short_id(jobs[i].blob.digest)));
  }

  // Downloads run on worker threads; this thread unpacks in order.
  std::mutex m;
  std::condition_variable changed;
  std::size_t next = 0;
  std::atomic<bool> cancel{false};
  std::map<std::size_t, std::unique_ptr<BlobWriter>> writers;
  auto download = [&]() {
    for (;;) {
      std::size_t i;
      {
        std::lock_guard lock(m);
        while (next < jobs.size() && jobs[next].present) ++next;
        if (next >= jobs.size() || cancel) return;
        i = next++;
      }
      LayerJob& job = jobs[i];
      std::string id = short_id(job.blob.digest);
      Result<void> r = ok();
      if (store.content().exists(job.blob.digest)) {
        say(status_message("Download complete", id));
      } else {
        auto w = store.content().writer();
        if (!w) {
          r = std::move(w).error();
        } else {
          std::int64_t last_report = -1;
          r = client.fetch_blob(
              ref, job.blob, creds,
              [&](const char* data, std::size_t len) -> Result<void> {
                if (cancel) return make_error(Errc::unavailable, "pull cancelled");
                return w.value()->write(data, len);
              },
              [&](std::int64_t done, std::int64_t total) {
                // About every 512 KiB, like Docker's update rate.
                if (done - last_report < (512 << 10) && done != total) return;
                last_report = done;
                say(progress_message("Downloading", id, done, total));
              });
          if (r) {
            say(status_message("Verifying Checksum", id));
            auto committed = w.value()->commit(job.blob.digest, job.blob.size);
            if (!committed) r = std::move(committed).error();
          }
          if (r) say(status_message("Download complete", id));
        }
      }
      std::lock_guard lock(m);
      if (!r) job.error = std::move(r).error();
      job.downloaded = true;
      changed.notify_all();
    }
  };
  int workers = std::max(1, std::min<int>(request.max_concurrent_downloads, static_cast<int>(jobs.size())));
  std::vector<std::thread> threads;
  for (int t = 0; t < workers; ++t) threads.emplace_back(download);
  auto stop_workers = [&] {
    cancel = true;
    for (auto& t : threads) t.join();
    threads.clear();
  };

  std::vector<LayerBlob> layer_blobs;
  std::string top;
  std::optional<Error> failure;
  for (std::size_t i = 0; i < jobs.size() && !failure; ++i) {
    LayerJob& job = jobs[i];
    std::string id = short_id(job.blob.digest);
    if (job.present) {
      top = job.chain;
      continue;
    }
    {
      std::unique_lock lock(m);
      changed.wait(lock, [&] { return job.downloaded; });
      if (job.error) {
        failure = job.error->wrap("pull layer " + id);
        break;
      }
    }
    auto path = store.content().path(job.blob.digest);
    if (!path) {
      failure = std::move(path).error();
      break;
    }
    auto source = file_reader(path.value());
    if (!source) {
      failure = std::move(source).error();
      break;
    }
    Decompressor dec(source.value());
    std::int64_t total = job.blob.size, done = 0, last_report = -1;
    auto layer = store.register_layer(top, job.diff_id, [&](void* buf, std::size_t cap) {
      std::int64_t n = dec.read(buf, cap);
      if (n > 0) {
        done += n;
        if (done - last_report >= (1 << 20)) {
          last_report = done;
          say(progress_message("Extracting", id, std::min(done, total), total));
        }
      }
      return n;
    });
    if (!layer) {
      failure = std::move(layer).error().wrap("extract layer " + id +
                                               (dec.error().empty() ? "" : " (" + dec.error() + ")"));
      break;
    }
    say(status_message("Pull complete", id));
    top = layer.value().chain_id;
    layer_blobs.push_back({job.diff_id, job.blob.digest, job.blob.media_type, job.blob.size});
    keep.push_back(job.blob.digest);
  }
  stop_workers();
  if (failure) {
    // Layers registered by this pull that no image holds go again.
    if (!top.empty()) (void)store.release_unused_layers(top);
    for (const auto& job : jobs) {
      if (!store.blob_kept(job.blob.digest)) (void)store.content().remove(job.blob.digest);
    }
    drop_unkept(keep);
    return std::move(*failure);
  }

  for (const auto& job : jobs) {
    if (job.present) {
      for (const auto& b : store.layer_blobs(job.diff_id)) keep.push_back(b.digest);
    }
  }
  std::string previous;
  if (!ref.tag.empty()) {
    if (auto r = store.resolve(ref.str())) previous = r.value();
  }
  BERTH_TRY(auto id, store.add_image(manifest.config.digest, top, keep, layer_blobs));
  if (!ref.tag.empty()) {
    BERTH_TRY(store.set_ref(ref.str(), id, false));
  }
  std::string served_digest = manifest.index_digest.empty() ? manifest.digest : manifest.index_digest;
  BERTH_TRY(store.set_ref(ref.repository().str() + "@" + served_digest, id, true));
  say({{"status", "Digest: " + served_digest}});
  say({{"status", std::string(previous == id ? "Status: Image is up to date for "
                                             : "Status: Downloaded newer image for ") +
                      ref.familiar()}});
  return id;
}

}  // namespace berth::core::image
