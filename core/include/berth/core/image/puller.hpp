// Pulls an image from a registry into the stores: manifest (resolving a
// multi-platform index), config, then layers downloaded in parallel and
// unpacked in order as soon as each layer's parent is in place, so download,
// hashing, decompression and unpacking overlap.
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/image/image_store.hpp"
#include "berth/core/image/progress.hpp"
#include "berth/core/image/reference.hpp"
#include "berth/core/registry/client.hpp"

#include <optional>
#include <string>

namespace berth::core::image {

struct PullRequest {
  Reference ref;
  registry::Platform platform;
  std::optional<registry::Credentials> credentials;
  int max_concurrent_downloads = 3;
};

// Receives Docker's JSON progress messages; called from several threads,
// serialised.
using PullProgress = ProgressFn;

// Pulls `request.ref`; returns the image ID. On failure nothing is recorded:
// unfinished blobs are dropped and layers no image holds are released (the
// start-up sweep covers a daemon killed mid-pull).
Result<std::string> pull_image(ImageStore& store, registry::RegistryClient& client,
                               const PullRequest& request, const PullProgress& progress);

}  // namespace berth::core::image
