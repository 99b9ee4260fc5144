// The copy that makes a vfs layer: a child layer starts as a full copy of
// its parent's tree.
#ifndef BERTH_PLUGINS_STORAGE_VFS_TREE_COPY_HPP
#define BERTH_PLUGINS_STORAGE_VFS_TREE_COPY_HPP

#include <string>

namespace berth::plugins::storage_vfs {

// Copies the directory tree at `src` to `dst`, which must not exist (its
// parent must). Keeps every file type (regular, directory, symlink, character
// and block device, fifo, socket), hard links inside the tree, owners, modes
// (set-id bits included), access and modification times and extended
// attributes (trusted.*, security.* and ACLs too when running as root).
// Regular files are cloned (FICLONE: reflinks on btrfs/xfs) where the
// filesystem can, else copied inside the kernel (copy_file_range), else read
// and written. Never follows a symlink, in `src` or in `dst`.
//
// Unprivileged, ownership and privileged attributes that cannot be set are
// skipped; devices cannot be copied and fail the copy.
//
// Throws sdk::Error naming the path relative to `src` that failed
// ("copy usr/bin/x: open: Permission denied"); `dst` is then left partial
// for the caller to remove.
void copy_tree(const std::string& src, const std::string& dst);

}  // namespace berth::plugins::storage_vfs

#endif  // BERTH_PLUGINS_STORAGE_VFS_TREE_COPY_HPP
