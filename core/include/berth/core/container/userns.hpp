// User namespace remapping (Docker's --userns-remap, daemon-wide).
//
// With "userns-remap": "user[:group]" every container (unless its
// HostConfig.UsernsMode is "host") runs in a user namespace whose IDs 0..n
// map to the user's ranges in /etc/subuid and the group's in /etc/subgid, so
// root in a container is an unprivileged ID on the host. Docker's rules
// (daemon_unix.go parseRemappedRoot, pkg/idtools): names or numbers; a
// subordinate-ID line matches by name or by number; a user's ranges become
// consecutive container IDs from 0 in file order; "default" is a dedicated
// user ("berthremap" here, Docker's "dockremap") created with useradd, and
// given a free 65536-ID range with usermod, when it does not exist yet;
// remapping "root" (uid 0) turns the feature off with a warning.
//
// Deliberately more lenient than Docker: a numeric user or group without an
// /etc/passwd or /etc/group entry is accepted (its subordinate ranges are
// matched by number), so a remap can be set up without adding host users.
//
// The image layers are owned by host IDs; containers see them through
// idmapped mounts made with user_namespace_fd() (mount.hpp IdmapOptions)
// rather than Docker's chowned per-remap copy of the data root.
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/unique_fd.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::core::container {

// One line of an OCI linux.uidMappings/gidMappings list.
struct IdMap {
  std::uint32_t container_id = 0, host_id = 0, size = 0;
  bool operator==(const IdMap&) const = default;
};

// One "owner:start:count" line of /etc/subuid or /etc/subgid.
struct SubIdRange {
  std::string owner;  // a name or a decimal ID
  std::uint32_t start = 0, count = 0;
  bool operator==(const SubIdRange&) const = default;
};

// Parses subordinate-ID file text. Blank lines and '#' comments are skipped;
// any other line must be "owner:start:count" with decimal numbers, a count
// above 0 and start+count within 32 bits, else invalid_argument naming
// `file_name` and the line number.
Result<std::vector<SubIdRange>> parse_subids(std::string_view text, std::string_view file_name);

// Reads and parses `path`; a missing file has no ranges.
Result<std::vector<SubIdRange>> read_subids(const std::string& path);

// The ranges of the owner called `name` or numbered `id` (either may be
// unknown), as mappings from container ID 0 upwards in file order.
std::vector<IdMap> id_maps_for(const std::vector<SubIdRange>& ranges, std::string_view name,
                               std::optional<std::uint32_t> id);

// Where the subordinate ranges come from (tests point these elsewhere).
struct SubIdFiles {
  std::string subuid = "/etc/subuid", subgid = "/etc/subgid";
};

// A resolved remap. Off (no mappings) when none was asked for or root was.
struct UsernsRemap {
  std::string user, group;  // names, or the numbers as given without an entry
  std::vector<IdMap> uid_maps, gid_maps;

  bool enabled() const { return !uid_maps.empty(); }
  // The host IDs of the container's root (the files it owns on the host).
  std::uint32_t root_uid() const;
  std::uint32_t root_gid() const;
};

// Resolves "user[:group]" (Docker's flag value; "" is off) against the
// passwd/group databases and the subordinate-ID files. Errors are Docker's:
// "Can't create ID mappings: no subuid ranges found for user \"x\"",
// "Error during uid lookup for \"x\": ...", "Invalid user/group
// specification in --userns-remap: \"a:b:c\"".
Result<UsernsRemap> load_userns_remap(std::string_view spec, const SubIdFiles& files = {});

// A user namespace holding `remap`'s mappings, for idmapped mounts: made by
// a short-lived child (clone(CLONE_NEWUSER)) whose namespace stays alive
// through the returned descriptor.
Result<UniqueFd> user_namespace_fd(const UsernsRemap& remap);

// Whether this kernel mounts overlayfs over idmapped lower layers (Linux
// 5.19+): tries one in a scratch directory made (and removed) under `dir`.
// The error says what failed.
Result<void> probe_idmapped_overlay(const std::string& dir, int userns_fd);

// What a daemon holds for --userns-remap.
struct UsernsSetup {
  UsernsRemap remap;  // off when not asked for (or root was)
  UniqueFd userns_fd;  // user_namespace_fd(remap) when on
};

// Docker's setupRemappedRoot at daemon start: resolves `spec`; when on,
// makes each of `roots` (the data and exec roots, which hold the layers and
// the containers' files) traversable (g+x, o+x, Docker's 0711), fails with
// Docker's message when a directory above one of them is not ("a
// subdirectory in your graphroot path (...) restricts access to the
// remapped root uid/gid; ..."), opens the mapping namespace, and probes
// idmapped overlay layers in roots.front(), where the layers are kept
// (failed_precondition when the kernel or that filesystem has none: "user
// namespace remapping needs idmapped overlay layers (Linux 5.19 or
// later): ...").
Result<UsernsSetup> setup_userns_remap(std::string_view spec, const std::vector<std::string>& roots);

// Checks HostConfig.UsernsMode ("" or "host": "invalid USER mode: x") and,
// when `remapped`, Docker's create-time conflicts of a remapped daemon
// (verifyPlatformContainerSettings) for a container that does not opt out
// with "host": --privileged, --pid host and --network host.
Result<void> check_userns_mode(const boost::json::object& host_config, bool remapped);

// Whether a container with this HostConfig gets the remapped namespace.
bool uses_remapped_userns(const UsernsRemap& remap, const boost::json::object& host_config);

}  // namespace berth::core::container
