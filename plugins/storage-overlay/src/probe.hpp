// Whether overlayfs works on this host with the driver's state directory as
// its backing filesystem, and which mount options keep its diffs native.
#ifndef BERTH_PLUGINS_STORAGE_OVERLAY_PROBE_HPP
#define BERTH_PLUGINS_STORAGE_OVERLAY_PROBE_HPP

#include <string>

namespace berth::plugins::storage_overlay {

struct OverlaySupport {
  // Appended to every overlay mount's options (",index=off,..."), "" when
  // the kernel's defaults suit. The driver reads a layer's changes straight
  // from its upper directory, which holds only while redirect_dir and
  // metacopy are off (a renamed directory or a chmod would otherwise live
  // in xattrs of the upper directory, not in its tree); index=off lets a
  // layer's upper directory be mounted over another lower stack later, as
  // Docker's overlay2 does.
  std::string extra_options;
};

// Probes in a fresh directory inside `scratch_dir` (removed afterwards): the
// filesystem must report d_type and hold trusted.* xattrs, and a real overlay
// mount must work and record a deletion as a whiteout. Throws
// sdk::Error(Errc::unsupported) saying what is missing, or another
// sdk::Error for failures of the probe itself.
OverlaySupport probe_overlay(const std::string& scratch_dir);

// Whether readdir on `dir` reports file types (d_type); false on filesystems
// that answer DT_UNKNOWN (xfs formatted with ftype=0), on which overlayfs
// misbehaves.
bool supports_d_type(const std::string& dir);

}  // namespace berth::plugins::storage_overlay

#endif  // BERTH_PLUGINS_STORAGE_OVERLAY_PROBE_HPP
