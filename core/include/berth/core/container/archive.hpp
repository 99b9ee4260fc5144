// Paths inside a container's root filesystem for `docker cp` (the archive
// endpoints) and `docker export`: resolving a container path the way
// Docker's ResolvePath/StatPath do, writing a tar of a tree, and extracting
// a client's tar into a container directory.
//
// Symlinks are always resolved inside the rootfs (exec_user.hpp's
// resolve_in_root), as if the rootfs were "/": an archive entry, a symlink
// in the container or one in the archive can name "/etc" or "../../..",
// and still nothing outside the rootfs is read or written. Races with
// processes inside a running container that swap directories for symlinks
// while a copy runs are not defended against.
//
// Threading: every function is reentrant and keeps no state.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "berth/core/error.hpp"
#include "berth/core/image/archive_io.hpp"

namespace berth::core::container {

// A container path as Docker's ResolvePath gives it.
struct ContainerPath {
  std::string abs;   // absolute in the container, trailing "/" or "/." kept
  std::string host;  // on the host: the parent resolved in the rootfs, the
                     // last component as given (a trailing "/" resolves it too)
  std::string name;  // filepath.Base(abs): the name of the tar's top entry
};

Result<ContainerPath> resolve_container_path(const std::string& rootfs, std::string_view path);

// Docker's ContainerPathStat; `mode` is a Go os.FileMode (what the docker
// CLI decodes).
struct PathStat {
  std::string name;
  std::int64_t size = 0;
  std::uint32_t mode = 0;
  std::string mtime;        // RFC 3339 with nanoseconds
  std::string link_target;  // a symlink fully resolved in the container
};

// not_found when nothing is at the path.
Result<PathStat> stat_container_path(const std::string& rootfs, const ContainerPath& path);

// The value of the X-Docker-Container-Path-Stat header: base64 of the JSON.
std::string path_stat_header(const PathStat& stat);

// Writes an uncompressed tar (PAX) of `host_path` and what is below it to
// `write`, as Docker's TarWithOptions with a rebase: the top entry is named
// `top` ("." gives "./" and "./<child>"), or, with `top` empty, the top is
// left out and its children are named from the root ("bin/busybox", as
// `export` writes). Symlinks are stored, never followed; hard links within
// the tree stay hard links; sockets are skipped; mtimes to the second, no
// atime or ctime. An error from `write` (false) is Errc::unavailable.
Result<void> write_tree_tar(const std::string& host_path, const std::string& top,
                            const image::WriteFn& write);

struct ExtractOptions {
  // Refuse to replace a directory with a non-directory or the reverse
  // (Docker's noOverwriteDirNonDir).
  bool no_overwrite_dir_non_dir = false;
  // Owner of everything extracted (copyUIDGID); unset: the tar's owners.
  std::optional<std::pair<std::uint32_t, std::uint32_t>> owner;
};

// Extracts the tar (possibly compressed) read from `read` into directory
// `dest` (absolute in the container) of `rootfs`, as Docker's Untar inside
// the container: names are relative to `dest` (a leading "/" too), a name
// that climbs out of `dest` with ".." is refused (invalid_argument, Docker's
// "\"../x\" is outside of \"/dest\""), parents of an entry are resolved in
// the rootfs (a symlink to "/etc" leads to the rootfs's /etc), an entry
// replaces what is at its path except a directory over a directory, and
// missing parents are created. What was extracted before an error stays.
Result<void> extract_into(const std::string& rootfs, const std::string& dest,
                          const image::ReadFn& read, const ExtractOptions& options);

// Whether `path` ("/etc/hosts", absolute in the container) is one of the
// mount points the runtime creates in a container's read-write layer when
// the image lacks them: Docker keeps these in a separate init layer, so they
// never show in `diff` nor go into a commit; berth leaves them out of both.
bool is_runtime_stub(std::string_view path);

// Copies the tar read from `read` to `write` (uncompressed PAX), leaving out
// the entries whose name (as "/etc/hosts") `skip` picks.
Result<void> filter_tar(const image::ReadFn& read, const image::WriteFn& write,
                        const std::function<bool(std::string_view)>& skip);

}  // namespace berth::core::container
