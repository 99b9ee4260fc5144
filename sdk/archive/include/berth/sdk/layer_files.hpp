// POSIX helpers for storage drivers' layer stores (durable directory
// creation, syncing, tree removal and usage, layer id checks, error context),
// shared by the in-tree drivers and available to third-party ones through
// berth::sdk-archive. See layer_table.hpp for the layers' bookkeeping.
// Every failure throws sdk::Error naming the path (and the errno's text).
// Thread-safe: the functions keep no state.
#ifndef BERTH_SDK_LAYER_FILES_HPP
#define BERTH_SDK_LAYER_FILES_HPP

#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include "berth/sdk/storage.hpp"
#include "berth/sdk/unique_fd.hpp"

namespace berth::sdk::files {

using Fd = sdk::UniqueFd;

// Opens directory `path` without following a symlink in its last component.
Fd open_dir(const std::string& path);

// Creates directory `path` with `mode` unless it exists as a directory.
void ensure_dir(const std::string& path, unsigned mode);

// Creates a fresh directory `<dir>/<prefix>XXXXXX` (mode 0700); returns its path.
std::string make_temp_dir(const std::string& dir, std::string_view prefix);

// Makes the entries of directory `path` durable.
void fsync_dir(const std::string& path);

// Flushes the whole filesystem that holds `path` (syncfs).
void sync_filesystem(const std::string& path);

// Creates (or truncates) `path` with `content` and fsyncs it.
void write_file_synced(const std::string& path, std::string_view content);

// Reads a small file; "" when it does not exist.
std::string read_file_if_exists(const std::string& path);

// Removes `path` and everything below it, without following symlinks.
// Absent is fine.
void remove_tree(const std::string& path);

// Docker's name of the filesystem holding `path` ("extfs", "xfs", ...).
std::string backing_filesystem(const std::string& path);

// The apparent size and inode count of the tree at `root`, each inode counted
// once (hard links), directories included — as Docker's directory.Usage.
::berth::sdk::Usage tree_usage(const std::string& root);

// Throws Error(invalid_argument) naming `context` unless `id` is a layer id:
// 1 to 128 characters of [a-zA-Z0-9_-].
void check_layer_id(std::string_view id, const std::string& context);

// Runs `f`, prefixing what it throws with `context`: an sdk::Error keeps its
// code, any other exception becomes Errc::internal.
template <class F>
auto with_context(const std::string& context, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(e.code(), context + ": " + e.what());
  } catch (const std::exception& e) {
    throw Error(Errc::internal, context + ": " + e.what());
  }
}

}  // namespace berth::sdk::files

#endif  // BERTH_SDK_LAYER_FILES_HPP
