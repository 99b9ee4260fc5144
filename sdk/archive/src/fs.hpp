// File-system primitives shared by extraction, change detection and layer
// writing. Everything here works relative to directory file descriptors and
// never follows a symbolic link, so a tree can be read and written without a
// symlink in it redirecting the operation elsewhere.
//
// Internal to berth::sdk-archive. Functions throw berth::sdk::Error; they are
// reentrant and keep no state between calls.
#ifndef BERTH_SDK_ARCHIVE_FS_HPP
#define BERTH_SDK_ARCHIVE_FS_HPP

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/sdk/unique_fd.hpp"

namespace berth::sdk::archive::detail {

using UniqueFd = sdk::UniqueFd;

// Throws Error::from_errno(err, context).
[[noreturn]] void throw_errno(int err, std::string_view context);

// Prepends "<context>: " to the message of the Error (or other exception)
// being handled and rethrows it as an Error with the same class. Call only
// from a catch block.
[[noreturn]] void rethrow_with_context(std::string_view context);

// A path inside a tree as its components: none is empty, "." or "..".
using Components = std::vector<std::string>;

// How deep a tree may go. Walks recurse once per level, holding a
// descriptor each: without a bound a hostile layer could exhaust the stack.
// (A path of more levels no longer fits PATH_MAX anyway.)
constexpr std::size_t kMaxDepth = 2048;

// Throws Error(invalid_argument) when `depth` exceeds kMaxDepth.
void check_depth(std::size_t depth);

// Lexically cleans a path from an archive or a change list: a leading "/" is
// dropped, empty and "." components are skipped, ".." removes the previous
// component. Returns nullopt when a ".." would climb above the root. The root
// itself is an empty list.
std::optional<Components> clean_path(std::string_view raw);

// The first `count` components joined with "/" (all of them by default).
std::string join(const Components& components, std::size_t count = static_cast<std::size_t>(-1));

// Opens the existing directory `path` (following symlinks: the caller chose
// it) for use as the root of a tree: O_RDONLY | O_DIRECTORY.
UniqueFd open_root(const std::string& path);

// Opens the directory made of the first `count` components beneath `root`
// without following any symlink (O_PATH). With `create`, missing directories
// are made (mode 0755, owned by the caller). Returns an empty fd when a
// component is missing and `create` is false.
// Throws Error(invalid_argument) naming the component that is a symlink or
// not a directory.
UniqueFd open_dir_beneath(int root, const Components& path, std::size_t count, bool create);

// Opens `name` in `dir` as a readable directory without following a symlink
// (O_RDONLY | O_DIRECTORY | O_NOFOLLOW). Throws on failure.
UniqueFd open_subdir(int dir, const std::string& name);

// lstat of `name` in `dir`; nullopt when it does not exist.
std::optional<struct stat> stat_at(int dir, const std::string& name);

// The names in directory `dir` (any fd opened on a directory, O_PATH too)
// except "." and "..", sorted byte-wise.
std::vector<std::string> list_dir(int dir);

// Removes `name` in `dir`, recursively if it is a directory, never following
// a symlink. A missing `name` is not an error. `depth` is that of `name`,
// for check_depth().
void remove_at(int dir, const std::string& name, std::size_t depth = 1);

// "/proc/self/fd/<dir>/<name>": lets the l*xattr calls reach `name` without
// resolving anything but one component in a directory we hold open. With an
// empty `name`, the magic link of `dir` itself.
std::string fd_path(int dir, const std::string& name = {});

// Extended attributes of `name` in `dir` (the entry itself, not a symlink's
// target; `dir` itself for an empty `name`), sorted by name. A file system
// without xattrs gives none.
std::vector<std::pair<std::string, std::string>> read_xattrs(int dir, const std::string& name);

// The value of xattr `key` on `name` in `dir` (or `dir` itself, as above);
// nullopt when not set.
std::optional<std::string> read_xattr(int dir, const std::string& name, const char* key);

// Overlayfs' spelling of a deleted path: a character device 0:0.
bool is_whiteout_device(const struct stat& st);

// trusted.overlay.opaque == "y" on directory `name` in `dir`.
bool is_opaque_dir(int dir, const std::string& name);

constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";
constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";

}  // namespace berth::sdk::archive::detail

#endif  // BERTH_SDK_ARCHIVE_FS_HPP
