// Docker's classic builder (POST /build): a Dockerfile run step by step on
// the daemon's own parts. Each step starts from the image the previous one
// made: RUN runs in a real container on the native runtime and its layer is
// committed; COPY and ADD copy into a container's root filesystem (an empty
// one for FROM scratch) and commit that; the other instructions change the
// config only and add a history entry without a layer, as Docker does.
//
// The cache: a step whose parent image, instruction (after substitution,
// with the build args it sees) and, for COPY/ADD, checksum of its sources
// (paths, contents, modes — not times) match a recorded step reuses that
// step's image ("Using cache"). Records live in the metadata store, so they
// survive restarts; an image removed meanwhile is a miss.
//
// Multi-stage: only the stages the target needs are built. Output is
// Docker's JSON message stream ({"stream"}, {"aux": {"ID"}}, {"error",
// "errorDetail"}).
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "berth/core/container/manager.hpp"
#include "berth/core/error.hpp"
#include "berth/core/image/archive_io.hpp"
#include "berth/core/image/image_store.hpp"
#include "berth/core/store.hpp"

namespace berth::core::build {

struct BuildRequest {
  std::string dockerfile = "Dockerfile";  // inside the context
  std::vector<std::string> tags;
  std::map<std::string, std::optional<std::string>> build_args;
  bool no_cache = false, pull = false, remove = true, force_remove = false, quiet = false;
  std::string target, network_mode;
  std::map<std::string, std::string> labels;
  std::vector<std::string> cache_from;  // images whose steps count as cache
};

// What a build uses of the daemon.
struct BuildServices {
  image::ImageStore& images;
  container::ContainerManager& containers;
  MetadataStore& db;
  // Pulls a base image (reference text) with progress messages; returns
  // its ID. Unset: missing base images are an error.
  std::function<Result<std::string>(const std::string& ref, const std::function<void(const boost::json::object&)>&)>
      pull;
  std::string work_dir;  // contexts are unpacked below it
  std::int64_t max_context_bytes = std::int64_t{4} << 30;
};

// false: the client went away (the build stops).
using Emit = std::function<bool(const boost::json::object& message)>;

// Runs the build; returns the image ID. An error is also sent as the
// stream's last message ({"error", "errorDetail": {"message", "code"}}, the
// code being a failed RUN's exit code).
Result<std::string> run_build(const BuildServices& services, const BuildRequest& request,
                              const image::ReadFn& context, const Emit& emit);

// POST /build/prune: forgets cached steps and removes their images where no
// tag or container holds them. Returns the removed image IDs and bytes.
Result<std::pair<std::vector<std::string>, std::int64_t>> prune_cache(const BuildServices& services);

}  // namespace berth::core::build
