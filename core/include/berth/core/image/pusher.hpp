// Pushes an image from the stores to a registry, as `docker push` does:
// each layer's blob (the one it was pulled as, or a gzip made from its
// uncompressed form and kept for next time) unless the repository has it
// already or it can be mounted from another repository of the same registry
// the image came from; then the config, then a manifest under the tag. Layers
// upload in parallel.
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/image/image_store.hpp"
#include "berth/core/image/progress.hpp"
#include "berth/core/image/reference.hpp"
#include "berth/core/registry/client.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace berth::core::image {

struct PushRequest {
  // A repository (every local tag of it is pushed) or a tagged reference.
  Reference ref;
  std::optional<registry::Credentials> credentials;
  int max_concurrent_uploads = 5;
};

// What one pushed tag became on the registry.
struct PushedTag {
  std::string tag, digest;
  std::int64_t size = 0;  // of the manifest
};

// The tags a push of `ref` sends with the images they name: its tag, or
// without one every local tag of the repository. not_found ("An image does
// not exist locally with the tag: <name>") when there is none.
Result<std::vector<std::pair<Reference, std::string>>> push_targets(ImageStore& store, const Reference& ref);

// Pushes `request.ref`. Errors before any transfer: not_found ("An image
// does not exist locally with the tag: <name>"). After a successful push the
// image's RepoDigests include <repository>@<manifest digest>.
Result<std::vector<PushedTag>> push_image(ImageStore& store, registry::RegistryClient& client,
                                          const PushRequest& request, const ProgressFn& progress);

}  // namespace berth::core::image
