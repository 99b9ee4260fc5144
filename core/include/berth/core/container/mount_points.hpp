// A container's mount points (Docker's container.MountPoints): what -v,
// --mount and --volumes-from asked for, and the image's VOLUMEs, each a bind
// of a host path, a volume or a tmpfs. They are worked out once, at create
// (volumes are created and referenced then), stored with the container, and
// mounted at every start; inspect shows them as "Mounts".
//
// HostConfig.Tmpfs (--tmpfs) is not a mount point, as in Docker: the spec
// builder reads it from HostConfig.
//
// Pure: no I/O except stat(2) of --mount bind sources when asked to.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <utility>
#include <vector>

#include "berth/core/error.hpp"

namespace berth::core::container {

struct MountPoint {
  std::string type;         // "bind", "volume" or "tmpfs"
  std::string name;         // volume: its name; "" for an anonymous one not created yet
  std::string source;       // bind: the host path; volume: its path on the host once created
  std::string destination;  // absolute and clean
  std::string driver;       // volume: its driver ("" = the container's VolumeDriver, else local)
  std::string mode;         // as given after the second colon of -v ("ro,rshared"); "z" for -v volumes
  bool rw = true;
  std::string propagation;  // bind: "rprivate" unless given
  bool recursive = true;    // bind: rbind, unless --mount bind-nonrecursive
  bool copy_data = false;   // volume: filled from the image while empty (not nocopy)
  bool create_source = false;  // -v bind: a missing host directory is made
  std::string tmpfs_data;      // tmpfs: "size=64m,mode=1777"
  boost::json::object driver_opts, labels;  // volume: for its creation (--mount volume-opt, volume-label)

  // As stored with the container, and back.
  boost::json::object to_json() const;
  static MountPoint from_json(const boost::json::value& v);
  // Docker's inspect "Mounts" entry: Type, Name, Source, Destination,
  // Driver, Mode, RW, Propagation.
  boost::json::object inspect() const;
};

// HostConfig.Binds and HostConfig.Mounts as mount points, with Docker's
// checks and messages ("invalid volume specification: 'x'", "invalid mode:
// x", "invalid mount config for type \"bind\": bind source path does not
// exist: /x" when `check_sources`, "Duplicate mount point: /x" — against
// HostConfig.Tmpfs too). A Binds entry whose source is not absolute is a
// named volume; one with only a destination, an anonymous one.
Result<std::vector<MountPoint>> parse_mount_points(const boost::json::object& host_config,
                                                   bool check_sources);

// One HostConfig.VolumesFrom entry, "container[:ro|:rw]": the container and
// the mode ("" keeps each mount's own). Error "invalid mode: x".
Result<std::pair<std::string, std::string>> parse_volumes_from(const std::string& spec);

}  // namespace berth::core::container
