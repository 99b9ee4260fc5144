// Containers: the owner of their lifecycle (DESIGN §5, §6). A container is a
// record in the metadata store (what was asked for, and its state), a
// read-write layer in the storage driver, and while it runs an OCI bundle
// under the exec root with a berth-shim that holds its stdio and exit status.
//
// States and transitions follow Docker's: created -> running <-> paused,
// running -> exited (or restarting under a restart policy), any -> removed.
// Every change of state commits to the store before it is reported, so a
// daemon killed at any moment comes back with each container either running
// (its shim answers: reconnected) or exited (its shim recorded how; a shim
// that vanished without a record reads as exit 255).
//
// Threading: every member may be called from any thread. Operations on one
// container are serialised by its lock; a wait or attach does not hold it.
#pragma once

#include "berth/core/config.hpp"
#include "berth/core/container/mount_points.hpp"
#include "berth/core/container/shim.hpp"
#include "berth/core/container/userns.hpp"
#include "berth/core/error.hpp"
#include "berth/core/image/image_store.hpp"
#include "berth/core/log_driver.hpp"
#include "berth/core/network/manager.hpp"
#include "berth/core/plugin_host.hpp"
#include "berth/core/store.hpp"
#include "berth/core/volume/manager.hpp"

#include <boost/json/object.hpp>

#include <condition_variable>
#include <cstdint>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace berth::core::container {

// Docker's State object.
struct State {
  std::string status = "created";  // created|running|paused|restarting|removing|exited|dead
  int pid = 0;
  int exit_code = 0;
  bool oom_killed = false;
  std::string error;
  std::string started_at = "0001-01-01T00:00:00Z";
  std::string finished_at = "0001-01-01T00:00:00Z";
  int restart_count = 0;
  // Set by `stop`/`kill` from the user so the restart policy leaves it be.
  bool stopped_by_user = false;

  boost::json::object to_json() const;
  static State from_json(const boost::json::value& v);
  bool running() const { return status == "running" || status == "paused" || status == "restarting"; }
};

struct Container {
  std::string id;
  std::string name;  // with Docker's leading "/"
  std::string image_id;
  std::string created;  // RFC 3339 nano
  // The create request as stored: {"Config", "HostConfig", "Image" (as the
  // user named it), "Path", "Args", "LogPath", "Driver", ...}.
  boost::json::object config;
  State state;

  const boost::json::object& container_config() const;
  const boost::json::object& host_config() const;
  std::string image_name() const;
  bool tty() const;
};

// The container's mount points as stored at create (inspect's "Mounts").
std::vector<MountPoint> mount_points(const Container& c);

// Docker's copy-up: when the directory at `volume_path` is empty, what the
// image has at `destination` (resolved inside `rootfs`) is copied into it —
// modes, owners, times, symlinks as symlinks, hard links kept — and the
// volume's root takes the owner and mode of the image's directory. Nothing
// there in the image: nothing to do.
Result<void> copy_up(const std::string& rootfs, const std::string& destination, const std::string& volume_path);

struct ManagerOptions {
  std::string data_root, exec_root;
  std::string shim_path;                  // berth-shim
  std::vector<std::string> plugin_dirs;   // handed to shims for log drivers
  std::string default_log_driver = "json-file";
  std::map<std::string, std::string> default_log_opts;  // the default driver's
  // OCI runtime CLIs by name (daemon.json "runtimes", runc when installed);
  // "native" is the built-in one.
  std::map<std::string, RuntimeConfig> runtimes;
  std::string default_runtime = "native";
  std::string cgroup_parent = "/berth";
  // --userns-remap (off when it has no mappings), and a user namespace with
  // its mapping for idmapped rootfs mounts, owned by the daemon.
  UsernsRemap userns_remap;
  int userns_fd = -1;
};

// What `wait` waits for (Docker's condition parameter).
enum class WaitCondition { not_running, next_exit, removed };

struct LogsOptions {
  bool stdout_ = true, stderr_ = true, follow = false, timestamps = false;
  std::int64_t since_unix_nano = 0, until_unix_nano = 0;
  std::int64_t tail = -1;
};

// One exec instance (docker exec create / start / inspect).
struct ExecInstance {
  std::string id, container_id;
  boost::json::object config;  // the create request (Cmd, Env, Tty, User, ...)
  bool running = false;
  int exit_code = -1;
  bool has_exit = false;
  int pid = 0;
};

class ContainerManager {
 public:
  ContainerManager(MetadataStore& db, image::ImageStore& images, const PluginHost& plugins,
                   ManagerOptions options);
  ~ContainerManager();

  // At start-up: reconnects to the shims of containers that were running,
  // records the exits of those that stopped meanwhile, cleans up what
  // interrupted work left, and starts containers whose restart policy says so.
  Result<void> restore();

  // POST /containers/create. `body` is the request (Config fields at the top
  // level, "HostConfig", "NetworkingConfig"); `name` may be empty (a random
  // Docker-style name). Returns the ID and warnings.
  Result<std::pair<std::string, std::vector<std::string>>> create(const boost::json::object& body,
                                                                  const std::string& name);
  Result<void> start(const std::string& name);
  // Sends the stop signal, then SIGKILL after `timeout` seconds (default the
  // container's StopTimeout or 10). Not running: not an error (Docker answers
  // 304, reported through `was_running`).
  Result<void> stop(const std::string& name, std::optional<int> timeout, std::optional<std::string> signal,
                    bool* was_running = nullptr);
  Result<void> restart(const std::string& name, std::optional<int> timeout);
  Result<void> kill(const std::string& name, const std::string& signal);
  Result<void> pause(const std::string& name);
  Result<void> unpause(const std::string& name);
  // Blocks per `condition`; returns the exit code (and error text).
  Result<State> wait(const std::string& name, WaitCondition condition, const std::function<bool()>& cancelled);
  Result<void> remove(const std::string& name, bool force, bool volumes);
  Result<void> rename(const std::string& name, const std::string& new_name);
  Result<void> resize(const std::string& name, int height, int width);

  Result<Container> get(const std::string& name);
  std::vector<Container> list();
  // Whether any container uses image `image_id` (rmi refuses then).
  std::vector<Container> using_image(const std::string& image_id);

  // Streams live output (frames, shim.hpp) of a running container; with
  // `replay`, what it printed since it started comes first.
  Result<FrameStream> attach(const std::string& name, bool in, bool out, bool err, bool replay = false);
  // Announces an attach made while the container is not running (docker
  // run, start -a), which then attaches with `replay`: the container's next
  // start holds its output for it. Returns the start count to wait past.
  Result<std::uint64_t> expect_attach(const std::string& name);
  // Withdraws an expect_attach whose client went away before the start.
  void forget_attach(const std::string& name);
  // Waits up to `timeout` for a start after `after_starts` (see
  // expect_attach): true once it came (successful or not), false on
  // timeout, an error when the container was removed meanwhile.
  Result<bool> wait_started(const std::string& name, std::uint64_t after_starts, std::chrono::milliseconds timeout);
  // Reads the log back through the container's log driver.
  Result<void> logs(const std::string& name, const LogsOptions& options,
                    const std::function<bool(const LogRecord&)>& on_record, const std::function<bool()>& stopped);

  // docker exec.
  Result<std::string> exec_create(const std::string& name, const boost::json::object& config);
  Result<ExecInstance> exec_get(const std::string& exec_id);
  // Starts the exec and returns its frame stream (the caller relays it);
  // `on_exit` records the exit code the last frame carries.
  Result<FrameStream> exec_start(const std::string& exec_id);
  void exec_finished(const std::string& exec_id, int exit_code);
  Result<void> exec_resize(const std::string& exec_id, int height, int width);

  // Called with "create", "start", "die", "destroy", ... for /events.
  using EventFn = std::function<void(const std::string& action, const Container& c,
                                     const std::map<std::string, std::string>& extra)>;
  void on_event(EventFn fn) { event_ = std::move(fn); }
  // Publishes a container event for work done outside the manager (top,
  // export, archive-path, extract-to-dir, commit); with an empty name, one
  // about no container in particular (prune).
  void log_event(const std::string& action, const std::string& name,
                 const std::map<std::string, std::string>& extra = {});

  const ManagerOptions& options() const { return options_; }

  // The network manager that gives containers their sandboxes; set once,
  // before restore().
  void set_network(network::NetworkManager* network) { network_ = network; }
  network::NetworkManager* network() const { return network_; }
  // The volume manager that gives containers their volumes; set once,
  // before restore().
  void set_volumes(volume::VolumeManager* volumes) { volumes_ = volumes; }
  volume::VolumeManager* volumes() const { return volumes_; }
  // What the network manager needs to know of `c`. The image's exposed
  // ports (which -P publishes and inspect lists) cost a read and parse of its
  // config: lists and restore, which need neither, leave them out.
  network::ContainerNetworking networking_of(const Container& c, bool with_image_ports = true) const;
  // Connects a container to a network (docker network connect): a running
  // one at once; a stopped one at its next start. Disconnect likewise.
  Result<void> connect(const std::string& name, const std::string& network,
                       const boost::json::object& endpoint_config);
  Result<void> disconnect(const std::string& name, const std::string& network, bool force);

  // A container's root filesystem readable and writable on the host, for
  // export and cp: the running container's own mount, or else its layer
  // mounted at the bundle's rootfs until this object goes. It holds the
  // container's operation lock meanwhile (as Docker holds its container lock
  // while copying), so the container cannot start, stop or be removed under
  // it; destroy it on the thread that made it.
  class MountedRootfs {
   public:
    ~MountedRootfs();
    MountedRootfs(const MountedRootfs&) = delete;
    MountedRootfs& operator=(const MountedRootfs&) = delete;
    const std::string& path() const { return path_; }
    const Container& container() const { return c_; }

   private:
    friend class ContainerManager;
    MountedRootfs() = default;
    std::shared_ptr<void> entry_;  // the Entry whose lock op_ holds
    std::unique_lock<std::mutex> op_;
    Container c_;
    std::string path_;
    const StorageDriver* driver_ = nullptr;  // set when this object mounted it
  };
  Result<std::unique_ptr<MountedRootfs>> mount_rootfs(const std::string& name);
  // Runs `fn` on a thread of its own in a private mount namespace where the
  // container's binds and volumes are mounted on `rootfs` at their
  // destinations (resolved inside it; read-only ones read-only), so that cp
  // reads and writes them as the container sees them. Nothing of it is
  // visible outside; a stopped container's volumes are mounted for the
  // call only. Errors: setting the namespace up (fn has not run then).
  Result<void> with_volumes(const MountedRootfs& rootfs, const std::function<void()>& fn);
  // The changes of a container's read-write layer against its image, as the
  // driver reports them (a JSON array of {"Path", "Kind"}, sorted by path)
  // without the mount points the runtime made there (archive.hpp's
  // is_runtime_stub: Docker keeps those in an init layer).
  Result<std::string> layer_changes(const std::string& name);
  // The tar of those changes (OCI whiteouts, the same stubs left out), for
  // commit.
  Result<void> layer_diff(const std::string& name, const std::function<bool(const void*, std::size_t)>& write);

  // The cgroup (the bundle's linux.cgroupsPath) of a running container, for
  // stats and top: conflict "Container <id> is not running" otherwise.
  Result<std::string> cgroup_of(const std::string& name);
  // docker update. Under the container's operation lock, `change` edits a
  // copy of its HostConfig (or refuses: nothing changes) and returns the
  // OCI linux.resources to apply. A running container gets them written to
  // its cgroup first (a failure there: "Cannot update container <id>: ...",
  // HostConfig kept); then the HostConfig is stored, so inspect and the
  // next start see it. Emits "update".
  using HostConfigChange =
      std::function<Result<boost::json::object>(const Container& c, boost::json::object& host_config)>;
  Result<void> update(const std::string& name, const HostConfigChange& change);

 private:
  struct Entry;
  Result<std::shared_ptr<Entry>> find(const std::string& name);
  Result<void> save(const Container& c);
  Result<void> start_locked(Entry& e);
  // stop(), reporting "stop" only when `stop_event` (rm -f does not).
  Result<void> halt(const std::string& name, std::optional<int> timeout, std::optional<std::string> signal,
                    bool* was_running, bool stop_event);
  Result<void> cleanup_after_exit(Entry& e);
  void monitor(std::shared_ptr<Entry> e);
  void on_exit(const std::shared_ptr<Entry>& e, const ExitStatus& status);
  Result<void> remove_files(const Container& c);
  // Runs `fn` with the driver, the container and the driver id of the
  // layer under its read-write layer, under the container's op lock.
  using LayerFn = std::function<Result<void>(const StorageDriver&, const Container&, const std::string& parent)>;
  Result<void> with_layer(const std::string& name, const LayerFn& fn);
  Result<const LogDriver*> log_driver_for(const Container& c);
  std::string state_dir(const std::string& id) const;
  std::string bundle_dir(const std::string& id) const;
  std::string container_dir(const std::string& id) const;
  std::string log_info(const Container& c) const;
  void emit(const std::string& action, const Container& c, const std::map<std::string, std::string>& extra = {});
  Result<const LogDriver*> log_driver_named(const std::string& type);
  // Create time, like Docker's mergeAndVerifyLogConfig: the daemon's default
  // driver and its options fill in what HostConfig.LogConfig leaves out, and
  // the driver checks the result (unknown driver or options: 400).
  Result<void> resolve_log_config(boost::json::object& host_config, const std::string& id);
  // Where a container's driver writes, as Docker puts it: <id>-json.log for
  // json-file (the LogPath inspect shows), <driver>-logs/container.log in
  // the container's directory for any other (inspect shows none: the file
  // is the driver's business).
  std::string log_path(const std::string& id, const std::string& type) const;

  // Volumes (volumes.cpp). plan_mounts works out a new container's mount
  // points, creating and referencing its volumes (the anonymous ones it
  // made are added to `anonymous`); drop_volumes undoes that for a
  // container that goes. mount_volumes mounts them for a start (copy-up
  // included: `copied` tells whether the points changed), unmount_volumes
  // gives them back; restore_volumes squares references and driver mounts
  // with the containers found at start-up.
  Result<std::vector<MountPoint>> plan_mounts(const std::string& id, const boost::json::object& host_config,
                                              const boost::json::object& config, std::vector<std::string>& anonymous);
  void drop_volumes(const std::string& id, const std::vector<std::string>& anonymous);
  Result<std::vector<MountPoint>> mount_volumes(const Container& c, const std::string& rootfs, bool& copied);
  void unmount_volumes(const Container& c);
  void restore_volumes();

  MetadataStore& db_;
  image::ImageStore& images_;
  const PluginHost& plugins_;
  ManagerOptions options_;
  std::mutex mutex_;  // entries_, names, execs_
  std::condition_variable removed_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::map<std::string, ExecInstance> execs_;
  std::map<std::string, std::unique_ptr<LogDriver>> log_drivers_;
  EventFn event_;
  bool shutting_down_ = false;
  network::NetworkManager* network_ = nullptr;
  volume::VolumeManager* volumes_ = nullptr;
};

}  // namespace berth::core::container
