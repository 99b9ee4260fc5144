// Layer tars for storage drivers: extract a layer diff into a directory and
// write one out, hardened against hostile archives, with both whiteout forms.
//
// Part of the SDK (library berth::sdk-archive, on libarchive) so every
// storage driver, in tree or not, applies and produces layers the same way.
// It is compiled into each plugin; nothing here crosses the C ABI.
//
// Threading: every function is reentrant and keeps no state; calls on
// different directories may run concurrently. A call runs on the calling
// thread, which is also the one that calls `read`/`write`, and switches that
// thread's locale (uselocale) to C.UTF-8 while it runs, so names in PAX
// headers are handled as UTF-8 whatever the process locale.
//
// Whiteouts (OCI image spec, layer.md): in a tar, a deleted path `a/b` is an
// empty file `a/.wh.b`; a directory whose lower contents are hidden holds
// `a/.wh..wh..opq`. On disk, overlayfs spells the same things as a 0:0
// character device `a/b` and the xattr trusted.overlay.opaque="y" on `a`.
#ifndef BERTH_SDK_LAYER_ARCHIVE_HPP
#define BERTH_SDK_LAYER_ARCHIVE_HPP

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace berth::sdk::archive {

// Reads up to `cap` bytes into `buf`; returns the count, 0 at the end.
// Throws berth::sdk::Error on failure.
using ReadFn = std::function<std::size_t(void* buf, std::size_t cap)>;
// Writes all `len` bytes; throws berth::sdk::Error on failure.
using WriteFn = std::function<void(const void* buf, std::size_t len)>;

// How whiteouts in the tar become files on disk.
enum class WhiteoutMode {
  // Overlay's native form in `dest` (an upper/diff directory): char device
  // 0:0 for a deleted path, trusted.overlay.opaque=y for an opaque directory.
  overlay,
  // Apply them: delete the named path (or the directory's existing contents
  // for an opaque marker) from `dest`, which already holds the parent's full
  // tree (a vfs copy). Nothing of the marker remains.
  apply,
};

struct ExtractOptions {
  WhiteoutMode whiteouts = WhiteoutMode::apply;
  // Create char/block devices (root only); else refuse them. Fifos are always
  // created, and so are overlay whiteouts (0:0), which are no devices.
  bool allow_devices = true;
  // chown as in the tar (numeric ids; needs root); else keep the caller's.
  bool preserve_owner = true;
};

// Extracts the (uncompressed or gzip/zstd-compressed: detected) tar read from
// `read` into the existing directory `dest`. Returns the bytes of regular
// file content written.
//
// Hardened: every entry must stay inside `dest`. Absolute names are made
// relative; a `..` that would climb out, a path through a symlink (one in
// the archive or one already in `dest`), a hardlink to a target outside
// `dest` or to a path not yet extracted — each fails the whole extraction
// with Errc::invalid_argument naming the entry. Nothing is ever written
// outside `dest`; what was extracted before the failure stays (the caller
// removes the layer). Ownership, modes, mtimes and xattrs are preserved.
//
// In detail:
// - Names are cleaned lexically ("a/../b" is "b"); a "." or "./" directory
//   entry sets the metadata of `dest` itself. `dest` itself may be a symlink.
// - An entry replaces what is at its path (a directory recursively) and
//   never writes through it: not through a symlink, nor into a hardlinked
//   file. A directory over a directory merges into it, as Docker does.
// - A hardlink target is a path in `dest` (a leading "/" is dropped) that
//   exists when the link is reached: extracted earlier, or (apply mode) in
//   the parent's tree; not a directory. A link to a symlink links the symlink.
// - Directory mtimes are set after everything else.
// - Xattrs a file system cannot hold (ENOTSUP, or EPERM such as user.* on a
//   symlink) are skipped, as Docker does; trusted.overlay.* from the tar are
//   dropped (only whiteout markers make them).
// - Whiteouts: ".wh..wh..opq" and ".wh.<name>" as described at the top;
//   other ".wh..wh.*" entries (aufs metadata) are ignored; ".wh." inside a
//   directory name, or naming no file (".wh.", ".wh.."), is refused. In
//   apply mode an opaque marker removes what the directory held before this
//   layer, whatever its place in the archive, and a whiteout of a path that
//   does not exist is no error.
// - Also refused: non-directories naming the root, uids/gids out of range,
//   paths deeper than 2048 levels, unknown entry types.
// - A damaged or truncated archive is Errc::invalid_argument; an error
//   thrown by `read` keeps its class, with context prepended.
// Throws berth::sdk::Error.
std::int64_t extract_layer(const ReadFn& read, const std::string& dest, const ExtractOptions& options);

// One change of a layer against its parent (Docker's /changes kinds).
struct Change {
  enum Kind : int { modified = 0, added = 1, deleted = 2 };
  std::string path;  // absolute inside the layer, e.g. "/etc/hosts"
  Kind kind;
};

// The changes in an overlay upper directory `upper` against the merged view
// of `lowers` (top-most first): whiteout devices are deletions, opaque
// directories hide their lower contents. Sorted by path.
//
// As Docker's overlay changes: anything in `upper` that exists in the
// merged lowers is modified, except a directory with the same mode, owner
// and mtime (copied up only to hold a changed child); the parent of an added
// or deleted path is listed as modified. An opaque directory is always
// listed (modified or added) and everything under it is added; the lower
// contents it hides are not listed one by one (write_layer() emits the
// opaque marker for it).
// Throws berth::sdk::Error (a missing directory: Errc::not_found).
std::vector<Change> overlay_changes(const std::string& upper, const std::vector<std::string>& lowers);

// The changes between two full trees (vfs): `layer` against `parent` (empty
// string: no parent). Content changes are detected by size, mode, owner,
// mtime and, for equal metadata, not re-read. Sorted by path.
//
// As Docker's ChangesDirs: a file is modified when its mode, owner, rdev,
// size, mtime or security.capability differ; a directory when its mode,
// owner or security.capability do, and also whenever anything under it
// changed. A deleted
// directory is one deletion, not one per file in it.
// Throws berth::sdk::Error (a missing directory: Errc::not_found).
std::vector<Change> tree_changes(const std::string& layer, const std::string& parent);

// Writes an uncompressed tar (PAX, with xattrs) of `changes` to `write`,
// taking added and modified entries from `root` and emitting OCI `.wh.`
// entries for deletions (and `.wh..wh..opq` for a directory that is opaque in
// an overlay upper `root`). Parent directories of changed paths are included
// as Docker does. Entries are sorted and timestamps kept, so the same tree
// gives the same bytes (and the same digest).
//
// In detail: entries are sorted byte-wise by name (a parent before its
// children); mtimes are kept to the second and no atime, ctime or user and
// group names are written, as Docker writes layers; whiteout and opaque
// markers are empty files with mode 0, owner 0:0 and mtime 0. A non-directory
// with several links is written once and then as hardlinks to that first
// name. Xattrs (SCHILY.xattr.*, sorted) are all but trusted.overlay.*.
// Sockets are skipped. Nothing is read through a symlink in `root`.
// Change paths must be clean and absolute ("/a/b"); "/" is ignored.
// Throws berth::sdk::Error: Errc::invalid_argument for a bad change path or
// a symlink in the way, Errc::not_found for an added or modified path that
// does not exist, Errc::conflict when a file changes while it is written; an
// error thrown by `write` keeps its class. The output is then incomplete.
void write_layer(const std::string& root, const std::vector<Change>& changes, const WriteFn& write);

}  // namespace berth::sdk::archive

#endif  // BERTH_SDK_LAYER_ARCHIVE_HPP
