// Layers (by chain ID, shared between images) and images (by config digest)
// with their references, kept in the metadata store; layer content lives in
// the storage driver, image configs and original blobs in the content store.
//
// Crash safety: a layer is first recorded as pending, then created and
// filled in the driver, then registered in one transaction; the start-up
// sweep removes driver layers that never got registered. An image and its
// references commit in one transaction.
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/image/content_store.hpp"
#include "berth/core/storage_driver.hpp"
#include "berth/core/store.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace berth::core::image {

struct LayerInfo {
  std::string chain_id, diff_id, parent, cache_id;
  std::int64_t size = 0;
};

// An original blob of a layer (as pulled or loaded).
struct LayerBlob {
  std::string diff_id, digest, media_type;
  std::int64_t size = 0;
};

struct ImageInfo {
  std::string id;  // "sha256:<config digest hex>"
  std::string top_layer;
  std::string parent;
  std::int64_t loaded = 0;        // unix seconds when it arrived here
  std::vector<std::string> tags;  // full names, "docker.io/library/busybox:latest"
  std::vector<std::string> digests;  // "docker.io/library/busybox@sha256:..."
  std::string config;                // the config JSON as stored
  std::vector<LayerInfo> layers;     // base first
  std::int64_t size = 0;
};

// One line of DELETE /images/{name}'s answer.
struct DeleteEntry {
  bool deleted = false;  // false: "Untagged"
  std::string what;
};

// A container using an image (which then cannot simply be deleted).
struct ImageUser {
  std::string container_id;
  bool running = false;
};

class ImageStore {
 public:
  // `driver` may be null (no storage driver loaded): layer operations then
  // fail with failed_precondition.
  ImageStore(MetadataStore& db, ContentStore& content, const StorageDriver* driver);

  // Removes what interrupted work left: pending driver layers, registered
  // layers no image holds (this driver's) and blobs that no image keeps.
  // Start-up only: a pull or load in progress holds such layers too.
  Result<void> sweep();

  const StorageDriver* driver() const { return driver_; }

  // Tells remove() and prune() which containers use an image (set by the
  // daemon once containers exist; unset: none).
  using InUseFn = std::function<std::vector<ImageUser>(const std::string& image_id)>;
  void set_in_use(InUseFn fn) { in_use_ = std::move(fn); }

  // Tells /events what happens to images (set by the daemon; unset: nobody
  // listens). Called by log_event with the action ("pull", "tag", "untag",
  // "delete", ...), the actor ID and its attributes.
  using EventFn = std::function<void(const std::string& action, const std::string& id,
                                     const std::map<std::string, std::string>& attributes)>;
  void on_event(EventFn fn) { event_ = std::move(fn); }
  // Reports an image event as Docker's LogImageEvent: `id` is an image ID
  // (or the reference pulled or pushed), `attributes` usually {"name": ...};
  // the labels of the image `id` names, while it exists, join them.
  void log_event(const std::string& action, const std::string& id,
                 std::map<std::string, std::string> attributes);

  ContentStore& content() { return content_; }

  std::optional<LayerInfo> layer(const std::string& chain_id);

  // Creates a layer on `parent_chain` ("" for a base layer) from the
  // uncompressed tar returned by `read` (bytes read, 0 at the end, -1 on
  // error). When `expected_diff_id` is given the content must hash to it.
  // An already registered identical layer is reused.
  Result<LayerInfo> register_layer(const std::string& parent_chain,
                                   const std::string& expected_diff_id,
                                   std::function<std::int64_t(void*, std::size_t)> read);

  // Records an image whose config blob is already in the content store and
  // whose layers are registered. `keep_blobs` are the content-store blobs the
  // image holds (config, manifests, layer blobs). Idempotent.
  Result<std::string> add_image(const std::string& config_digest, const std::string& top_layer,
                                const std::vector<std::string>& keep_blobs,
                                const std::vector<LayerBlob>& layer_blobs);

  // Records the image `id` was made from (commit, build), once: inspect's
  // Parent, and what `images` without -a hides as intermediate.
  Result<void> set_parent(const std::string& id, const std::string& parent);

  // Points `name` (a normalised full reference) at `image_id`.
  Result<void> set_ref(const std::string& name, const std::string& image_id, bool is_digest);
  Result<void> remove_ref(const std::string& name);

  // The image a user's word names: a full or short ID (unique prefix of at
  // least 1 hex digit), "sha256:<id>", or a reference (default tag latest).
  Result<std::string> resolve(std::string_view name);

  Result<ImageInfo> get(const std::string& id);
  std::vector<ImageInfo> list();

  // Docker's rmi: untags `name`; deletes the image when no reference is left
  // (or `force`), freeing layers and blobs nothing else uses.
  Result<std::vector<DeleteEntry>> remove(std::string_view name, bool force);

  // Deletes images without references (all=false: only those dangling),
  // none that another image was built on; repeats while heads go.
  Result<std::vector<DeleteEntry>> prune(bool all, std::int64_t& reclaimed);

  // Releases `chain` and its parents while no image or child layer holds
  // them (after a failed pull or load).
  Result<void> release_unused_layers(const std::string& chain);

  // True when some image keeps `digest` in the content store.
  bool blob_kept(const std::string& digest);

  // Original blobs recorded for a diff ID.
  std::vector<LayerBlob> layer_blobs(const std::string& diff_id);

 private:
  Result<std::vector<DeleteEntry>> delete_image(const std::string& id);
  Result<void> release_layers(std::string chain_id);

  MetadataStore& db_;
  ContentStore& content_;
  const StorageDriver* driver_;
  InUseFn in_use_;
  EventFn event_;
  std::mutex mutex_;  // serialises changes that span the driver and the db
};

// chain ID of `diff_id` on `parent_chain` (image spec: sha256 of "parent diff").
std::string chain_id(const std::string& parent_chain, const std::string& diff_id);

}  // namespace berth::core::image
