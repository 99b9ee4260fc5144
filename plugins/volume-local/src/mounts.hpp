// Mounting a volume's filesystem the way Docker's local driver does
// (moby's mount.Mount): Docker's `o` option split into mount(2) flags and
// the filesystem's data string, and the mount table read from
// /proc/self/mountinfo.
#ifndef BERTH_PLUGINS_VOLUME_LOCAL_MOUNTS_HPP
#define BERTH_PLUGINS_VOLUME_LOCAL_MOUNTS_HPP

#include <string>
#include <string_view>
#include <vector>

namespace berth::plugins::volume_local {

struct MountOptions {
  unsigned long flags = 0;  // MS_* (propagation types included)
  std::string data;         // the words that are not flags, comma-separated
};

// Splits a mount(8) option list ("ro,nosuid,size=1m,uid=1000"): the words
// mount(8) treats as flags set or clear their MS_* bit ("rw" clears
// MS_RDONLY, "rbind" is MS_BIND|MS_REC, "rprivate" MS_PRIVATE|MS_REC, ...),
// in order; "defaults" and empty words are dropped; every other word goes to
// `data`, in order. "remount" is not a flag here: a volume never remounts the
// filesystem that holds it.
MountOptions parse_mount_options(std::string_view options);

// `data` with the value of any password=... replaced by "********", for
// messages (as Docker does for cifs volumes).
std::string mask_password(std::string_view data);

// The mount points in `mountinfo` (the text of /proc/<pid>/mountinfo), in
// order, their octal escapes (\040 for a space, ...) decoded.
std::vector<std::string> parse_mount_points(std::string_view mountinfo);

// parse_mount_points of /proc/self/mountinfo. Throws sdk::Error.
std::vector<std::string> current_mount_points();

// Whether `path` (canonical) is one of `mounts`.
bool is_mount_point(const std::vector<std::string>& mounts, std::string_view path);

// The first of `mounts` at `dir` (canonical) or below it; "" when none.
std::string mount_at_or_below(const std::vector<std::string>& mounts, std::string_view dir);

// Mounts `device` (a filesystem of `type`) on `target` with `options` as
// parse_mount_options splits them. Like moby's mount.Mount, propagation types
// are applied by a second mount(2) and a read-only (or nosuid, ...) bind mount
// by a remount, which a bind mount needs for its flags to take. When a later
// step fails, the mount is undone. Throws sdk::Error: "failed to mount local
// volume: mount <device>:<target>, flags: 0x<flags>, data: <data>: <errno
// text>", with any password masked.
void mount_filesystem(const std::string& device, const std::string& target, const std::string& type,
                      std::string_view options);

// Unmounts `target`. Succeeds when `target` turns out not to be a mount point
// (any more). Throws sdk::Error: "unmount <target>: <errno text>".
void unmount_filesystem(const std::string& target);

}  // namespace berth::plugins::volume_local

#endif  // BERTH_PLUGINS_VOLUME_LOCAL_MOUNTS_HPP
