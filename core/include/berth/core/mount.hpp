// Performing the mounts storage drivers describe (DESIGN.md §4: drivers
// describe, the core mounts), with libmount.
//
// A description is a list of MountSpec {type, source, options}, mounted one
// over the other at one target directory. Options are fstab-style: VFS flags
// (ro, nosuid, bind, rbind, ...) and filesystem data in one comma-separated
// string; libmount splits them, and does the remount a flagged bind mount
// needs.
//
// Overlay's lower directory list is the one option that outgrows the single
// page mount(2) copies from user space (4096 bytes: about 60 absolute lower
// paths under a typical data root). When an overlay's options are that long,
// the module mounts from the common directory of the lowerdir/upperdir/
// workdir paths with those paths made relative to it, like containerd's
// overlay snapshotter; the chdir happens on a short-lived thread that first
// unshares its filesystem context, so the process's working directory never
// changes and concurrent mounts cannot see each other's.
//
// Threading: every function here may be called from any thread; mounts on
// different targets are independent. Errors name the type, source, target
// and (abbreviated) options, with libmount's explanation and errno's text.
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/storage_driver.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace berth::core {

// Mounts `spec` at `target`, an existing directory (a relative path is taken
// relative to the process's working directory).
Result<void> mount(const MountSpec& spec, const std::string& target);

// How a container's layers are shown to a remapped user namespace
// (--userns-remap): the layers' files belong to host IDs, so they are seen
// through idmapped mounts (mount_setattr(MOUNT_ATTR_IDMAP)) with the
// namespace's mapping, host ID 0 showing as the container's root's host ID.
// An overlay gets each lower directory as an idmapped clone attached below
// `staging_dir` for the mount(2) call (overlayfs keeps private clones, so
// they are detached right after, as containerd does; Linux 5.19+) and its
// upper directory owned by upper_uid/upper_gid, the container's root, so
// copy-ups and new files belong to the container's IDs on the host. A bind
// description (a layer without parents, the vfs driver) becomes one
// idmapped clone of its source: writes through it are stored unmapped.
struct IdmapOptions {
  int userns_fd = -1;        // a user namespace with the mapping; -1: plain mounts
  std::string staging_dir;   // an empty or missing directory, removed again
  unsigned upper_uid = 0, upper_gid = 0;
};

// Mounts every spec in order at `target`, each over the previous. All or
// nothing: when one fails, the ones already mounted are unmounted again.
// An empty list is an invalid_argument error. With `idmap` (userns_fd >= 0)
// the layers are mounted idmapped; other mount types are unsupported there.
Result<void> mount_all(const std::vector<MountSpec>& specs, const std::string& target,
                       const IdmapOptions& idmap = {});

enum class UnmountMode {
  normal,  // fails with conflict while the mount is busy
  lazy,    // MNT_DETACH: detaches now, the kernel frees it when no longer busy
};

// Unmounts the topmost mount at `target`. A symlink as the last component is
// not followed. Not mounted there: invalid_argument.
Result<void> unmount(const std::string& target, UnmountMode mode = UnmountMode::normal);

// Every mount point at or below `dir` (canonicalised), from the mount table
// of this process's mount namespace, in an order they can be unmounted in
// (children and later stacked mounts first).
Result<std::vector<std::string>> mounts_under(const std::string& dir);

// Lazily unmounts everything at or below `dir`: the clean-up for mounts a
// crash left behind, before the directory is removed. Returns how many mounts
// were detached; stops at the first failure.
Result<std::size_t> unmount_all_under(const std::string& dir);

// A layer of a storage driver mounted at a directory for the lifetime of this
// object: driver.get(id) and mount; on release (or destruction) unmount and
// driver.put(id). Movable, not copyable. The driver must outlive the object.
class MountedLayer {
 public:
  // Gets the layer's description from `driver` and mounts it at `target` (an
  // existing directory). On failure nothing stays mounted and the driver's
  // reference is put back.
  static Result<MountedLayer> mount(const StorageDriver& driver, const std::string& id,
                                    const std::string& target, const std::string& mount_label = {});

  MountedLayer(MountedLayer&& other) noexcept;
  MountedLayer& operator=(MountedLayer&& other) noexcept;
  MountedLayer(const MountedLayer&) = delete;
  MountedLayer& operator=(const MountedLayer&) = delete;
  // Releases; a failure is logged (call release() to see it).
  ~MountedLayer();

  const std::string& id() const { return id_; }
  const std::string& target() const { return target_; }
  // The description as the driver gave it.
  const std::vector<MountSpec>& specs() const { return specs_; }
  bool mounted() const { return driver_ != nullptr; }

  // Unmounts (lazily when the mount is busy) and puts the layer. When the
  // unmount fails the layer stays referenced, so the driver will not remove
  // what may still be mounted, and the error is returned; calling again
  // retries. Releasing a released object is a no-op.
  Result<void> release();

 private:
  MountedLayer(const StorageDriver& driver, std::string id, std::string target,
               std::vector<MountSpec> specs);

  const StorageDriver* driver_ = nullptr;  // null once released
  std::string id_, target_;
  std::vector<MountSpec> specs_;
  std::size_t mounted_ = 0;  // mounts still stacked at target_
};

}  // namespace berth::core
