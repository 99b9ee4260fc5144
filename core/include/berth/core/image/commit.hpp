// docker commit: a new image from a container's read-write layer. The layer
// tar (the storage driver's diff against the container's image) becomes a
// layer on top of the image's layers, and the config is the container's
// Config, overridden by the request's, with the `changes` instructions
// applied and the gaps filled from the container's Config, as Docker's
// daemon/commit.go merge() does; history gets one entry (an empty_layer one
// when nothing changed), and container/container_config record the source.
//
// Thread-safe as the ImageStore is.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <string>
#include <vector>

#include "berth/core/error.hpp"
#include "berth/core/image/archive_io.hpp"
#include "berth/core/image/image_store.hpp"

namespace berth::core::image {

struct CommitRequest {
  std::string container_id;
  std::string image_id;                  // the container's image; "" = none (FROM scratch)
  boost::json::object container_config;  // the container's Config
  boost::json::value config;             // the request body's Config (null: none)
  std::vector<std::string> changes;      // Dockerfile instructions
  std::string author, comment;
  std::string repo, tag;  // tag the image as repo[:tag] when repo is given
  // Off for builds: `config` is the whole new config, taken as it is.
  bool merge_config = true;
};

// Writes the container's layer diff to the WriteFn it is given.
using LayerDiffFn = std::function<Result<void>(const WriteFn& write)>;

// Creates the image and returns its ID ("sha256:...").
Result<std::string> commit_container(ImageStore& store, const CommitRequest& request,
                                     const LayerDiffFn& diff);

// Docker's merge(): fills what `config` leaves unset from `container_config`
// (User, ExposedPorts, Env by key, Labels, Cmd/Entrypoint, WorkingDir,
// Volumes, StopSignal, Healthcheck).
void merge_commit_config(boost::json::object& config, const boost::json::object& container_config);

}  // namespace berth::core::image
