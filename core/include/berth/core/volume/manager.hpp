// Volumes (DESIGN §5): the owner of named and anonymous volumes. A volume is
// a row in the metadata store (name, driver, labels, options) and the
// driver's data; which containers use it is recorded next to it, so a volume
// in use is never removed and a daemon killed at any moment comes back with
// the right users.
//
// The driver keeps the data and the mounts (berth.volume.v1: create, mount
// per caller, ...); this module decides names, records, references and
// Docker's semantics and messages on top:
//   - create is idempotent (Docker's GetOrCreate): an existing volume with
//     the same driver is returned as is;
//   - a volume referenced by any container, running or not, refuses removal
//     ("remove x: volume is in use - [ids]");
//   - anonymous volumes carry Docker's label com.docker.volume.anonymous and
//     are what `rm -v` and a plain `volume prune` remove.
//
// Crash safety: create calls the driver before recording, remove records
// before calling the driver; open() adopts volumes the driver has but the
// store lacks and drops records whose volume the driver no longer has.
// restore() drops references of containers that no longer exist.
//
// Threading: every member may be called from any thread.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "berth/core/error.hpp"
#include "berth/core/plugin_host.hpp"
#include "berth/core/store.hpp"

namespace berth::core::volume {

// Docker's label on volumes made for one container (-v /path, VOLUME).
inline constexpr const char* kAnonymousLabel = "com.docker.volume.anonymous";

// A loaded berth.volume.v1 driver, called through its table; errors carry
// the driver's status and message.
class VolumeDriver {
 public:
  explicit VolumeDriver(const Driver& driver);
  const std::string& id() const { return driver_.record().id; }

  Result<void> create(const std::string& name, const std::string& opts_json) const;
  Result<void> remove(const std::string& name) const;
  Result<std::string> mount(const std::string& name, const std::string& caller) const;
  Result<void> unmount(const std::string& name, const std::string& caller) const;
  Result<std::string> path(const std::string& name) const;
  Result<boost::json::object> get(const std::string& name) const;
  Result<boost::json::array> list() const;
  // "local" or "global".
  std::string scope() const;

 private:
  const Driver& driver_;
  const berth_volume_v1* table_;
};

struct Volume {
  std::string name, driver, created;  // created: RFC 3339
  boost::json::object labels, options;
  std::string mountpoint;  // the driver's path
  std::string scope = "local";
  boost::json::object status;  // the driver's Status, if any

  bool anonymous() const { return labels.contains(kAnonymousLabel); }
  // Docker's Volume object (without UsageData).
  boost::json::object to_json() const;
};

// What POST /volumes/create asks for.
struct VolumeRequest {
  std::string name;  // "" = a new anonymous-style random name (64 hex)
  std::string driver = "local";
  boost::json::object options, labels;  // {string: string}
};

class VolumeManager {
 public:
  static Result<std::unique_ptr<VolumeManager>> open(MetadataStore& db, const PluginHost& plugins);

  // Docker's messages: invalid local names ("create x/y: \"x/y\" includes
  // invalid characters for a local volume name, ..."), an unknown driver
  // (not_found "error looking up volume plugin x: plugin \"x\" not found"),
  // the name taken by another driver (conflict). Reports "create" through
  // the event callback when the volume is new.
  Result<Volume> create(const VolumeRequest& request);
  // not_found "get x: no such volume".
  Result<Volume> get(const std::string& name) const;
  std::vector<Volume> list() const;
  // conflict "remove x: volume is in use - [id, ...]" while any container
  // uses it; with `force` a missing volume is no error.
  Result<void> remove(const std::string& name, bool force = false);

  // --- containers
  // Records that container `id` uses volume `name` (at container create).
  Result<void> add_reference(const std::string& name, const std::string& container_id);
  // Drops every reference of the container; returns the volumes it used.
  std::vector<std::string> release_references(const std::string& container_id);
  // The containers using `name`.
  std::vector<std::string> references(const std::string& name) const;
  // The driver's mount for a starting container: the host path.
  Result<std::string> mount(const std::string& name, const std::string& container_id);
  // Never fails (logged): a stopped container's mounts.
  void unmount(const std::string& name, const std::string& container_id);
  // At daemon start: references of containers not in `existing` go.
  void restore(const std::set<std::string>& existing);

  // Bytes under the volume's path (-1 when it cannot be read).
  std::int64_t usage(const Volume& v) const;

  // "create" / "destroy" of a volume, for /events.
  using EventFn = std::function<void(const std::string& action, const std::string& name,
                                     const std::string& driver)>;
  void on_event(EventFn fn) { event_ = std::move(fn); }

 private:
  VolumeManager(MetadataStore& db, const PluginHost& plugins);
  Result<void> load();
  const VolumeDriver* driver_for(const std::string& name) const;
  Result<Volume> describe(const std::string& name) const;  // under mutex_
  Result<void> record(const Volume& v);                    // its row in the store
  void emit(const std::string& action, const std::string& name, const std::string& driver) const;

  MetadataStore& db_;
  const PluginHost& plugins_;
  std::map<std::string, std::unique_ptr<VolumeDriver>> drivers_;  // by driver id
  mutable std::mutex mutex_;  // volumes_, refs_
  std::map<std::string, Volume> volumes_;
  std::map<std::string, std::set<std::string>> refs_;  // volume -> container ids
  EventFn event_;
};

}  // namespace berth::core::volume
