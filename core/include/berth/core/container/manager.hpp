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

#include "berth/core/container/shim.hpp"
#include "berth/core/error.hpp"
#include "berth/core/image/image_store.hpp"
#include "berth/core/log_driver.hpp"
#include "berth/core/plugin_host.hpp"
#include "berth/core/store.hpp"

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

struct ManagerOptions {
  std::string data_root, exec_root;
  std::string shim_path;                  // berth-shim
  std::vector<std::string> plugin_dirs;   // handed to shims for log drivers
  std::string default_log_driver = "json-file";
  // Extra OCI runtimes by name (daemon.json "runtimes"): name -> path.
  std::map<std::string, std::string> runtimes;
  std::string default_runtime = "native";
  std::string cgroup_parent = "/berth";
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

  const ManagerOptions& options() const { return options_; }

 private:
  struct Entry;
  Result<std::shared_ptr<Entry>> find(const std::string& name);
  Result<void> save(const Container& c);
  Result<void> start_locked(Entry& e);
  Result<void> cleanup_after_exit(Entry& e);
  void monitor(std::shared_ptr<Entry> e);
  void on_exit(const std::shared_ptr<Entry>& e, const ExitStatus& status);
  Result<void> remove_files(const Container& c);
  Result<const LogDriver*> log_driver_for(const Container& c);
  std::string state_dir(const std::string& id) const;
  std::string bundle_dir(const std::string& id) const;
  std::string container_dir(const std::string& id) const;
  std::string log_info(const Container& c) const;
  void emit(const std::string& action, const Container& c, const std::map<std::string, std::string>& extra = {});

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
};

}  // namespace berth::core::container
