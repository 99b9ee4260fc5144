// The file operations the local volume driver's store is built on: durable
// writes and renames, and a tree removal that stays inside the tree.
// Every failure throws sdk::Error naming the path and the errno's text.
// Thread-safe: the functions keep no state.
#ifndef BERTH_PLUGINS_VOLUME_LOCAL_FILES_HPP
#define BERTH_PLUGINS_VOLUME_LOCAL_FILES_HPP

#include <string>
#include <string_view>
#include <vector>

namespace berth::plugins::volume_local {

// The contents of a small file; "" when it does not exist.
std::string read_file(const std::string& path);

// Creates or truncates `path` (0600) with `text` and fsyncs it.
void write_file_synced(const std::string& path, std::string_view text);

// Replaces `path` atomically and durably: a temporary file beside it, fsync,
// rename, fsync of the directory.
void write_file_atomic(const std::string& path, std::string_view text);

// Removes `path` durably (fsync of the directory); absent is fine.
void remove_file_durably(const std::string& path);

// Makes the entries of directory `path` durable.
void fsync_dir(const std::string& path);

// Creates directory `path` with exactly `mode` (whatever the umask), unless
// it is a directory already, whose mode is then left alone.
void ensure_dir(const std::string& path, unsigned mode);

// Creates a fresh directory `<dir>/<prefix>XXXXXX` with exactly `mode`;
// returns its path.
std::string make_temp_dir(const std::string& dir, std::string_view prefix, unsigned mode);

// Renames `from` to `to`; when `to` exists, fails with EEXIST instead of
// replacing it.
void rename_no_replace(const std::string& from, const std::string& to);

// The names in directory `path` other than "." and "..", unsorted.
std::vector<std::string> list_dir(const std::string& path);

// Removes `path` and everything below it. Never follows a symlink (a link is
// removed, not what it points to) and never descends into another
// filesystem: a directory on another device fails the removal with
// Errc::conflict before anything of it is touched. Absent is fine.
void remove_tree(const std::string& path);

// realpath(3).
std::string real_path(const std::string& path);

}  // namespace berth::plugins::volume_local

#endif  // BERTH_PLUGINS_VOLUME_LOCAL_FILES_HPP
