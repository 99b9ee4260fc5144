// Dockerfile instructions applied to an image config without a build: the
// `--change` of `import` and `commit` (Docker's dockerfile.BuildFromConfig
// subset). Allowed: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD,
// STOPSIGNAL, USER, VOLUME, WORKDIR; anything else is refused with Docker's
// message ("ADD is not a valid change command").
//
// Pure functions; thread-safe.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "berth/core/error.hpp"

namespace berth::core::image {

// Applies `changes` in order to `config` (an image's "config" object: Cmd,
// Env, ...). On an error `config` is unchanged.
Result<void> apply_changes(boost::json::object& config, const std::vector<std::string>& changes);

}  // namespace berth::core::image
