// Copying trees between directories the daemon does not trust (an image's
// rootfs, a volume, a build context): every step goes through directory
// file descriptors and never follows a symlink, on either side. Links are
// copied as links, hard links within one copy stay hard links, device
// nodes and FIFOs are recreated, sockets are skipped; modes, owners and
// times are kept unless `owner` says otherwise.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>

#include "berth/core/error.hpp"

namespace berth::core {

struct CopyOptions {
  // Owner of everything copied (COPY --chown, and COPY's default root).
  std::optional<std::pair<uid_t, gid_t>> owner;
  // Into a directory that may have content: directories merge, anything
  // else at a name is replaced. Off: the destination must be empty.
  bool replace = false;
};

// Copies what is in directory `src_dir` into directory `dst_dir` (file
// descriptors). Errors name the path below the copy's root.
Result<void> copy_dir_contents(int src_dir, int dst_dir, const CopyOptions& options);

// Copies the non-directory `name` of `src_dir` to `dst_name` in `dst_dir`
// (replacing what is there, unless it is a directory).
Result<void> copy_entry(int src_dir, const std::string& name, int dst_dir, const std::string& dst_name,
                        const CopyOptions& options);

}  // namespace berth::core
