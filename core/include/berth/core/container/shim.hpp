// The daemon's side of berth-shim (DESIGN §1): one small process per running
// container that owns the container's stdio (pipes, or the pty master), feeds
// the container's log driver, serves attach and exec, reaps the container
// and records its exit. Shims are not children of berthd: they setsid() and
// are reparented, so `kill -9 berthd` leaves containers, logging and attach
// clients' output running; a restarted daemon reconnects through the socket.
//
// Files in the container's state dir (<exec-root>/containers/<id>/):
//   shim.sock   the shim's UNIX socket (protocol below); removed when the
//               shim is done
//   shim.pid    the shim's PID;  init.pid  the container init's PID (host ns)
//   shim.json   the ShimOptions Shim::start passed (JSON)
//   exit.json   {"exit_code", "oom_killed", "finished_at" (RFC 3339 nano),
//                "error"} written atomically (temp + rename + fsync) once the
//                container exited, its output was drained into the log, the
//                log was closed and the runtime removed the container (its
//                cgroup included). Only then are waits answered and exit
//                frames sent; the shim exits once they went out. So when a
//                wait returns, the log is complete and nothing of the
//                container is left but its files. A start that failed
//                leaves exit.json with "error" and Docker's exit code (127
//                command not found, 126 not executable, else 128).
//   shim.log    the shim's own diagnostics (its stderr)
//   runtime.log an OCI runtime CLI's log of its last command (the source of
//               its error messages)
//
// Protocol on shim.sock: one request per connection. The client sends one
// JSON object and a newline; the shim answers one JSON object and a newline
// ({"error": "...", "code": "<Errc name>"} on failure: conflict when the
// container is not running, not_found for an unknown exec_id,
// failed_precondition for a resize without a TTY, invalid_argument for a
// bad request). For attach and exec the connection then
// carries frames both ways, Docker's stdcopy framing: an 8-byte header
// [type, 0, 0, 0, size as 4 bytes big-endian] and `size` bytes, with types
// 0 stdin (client -> shim; size 0 = stdin closed), 1 stdout, 2 stderr
// (shim -> client; on a TTY everything is type 1), 3 exit (shim -> client,
// last frame: {"exit_code": n} of the exec'd process or the container).
//   {"op": "state"}              -> {"pid", "running": bool, "exit_code"?}
//   {"op": "kill", "signal": n}  -> {}   (to the init process)
//   {"op": "resize", "height", "width"[, "exec_id"]} -> {}
//   {"op": "wait"}               -> answered when the container exited:
//                                   the exit.json object
//   {"op": "attach", "stdin", "stdout", "stderr"[, "replay"]: bool} -> {}
//      then frames. Output is live only (history comes from the log
//      driver), except with "replay" on a shim started with hold_output:
//      the output held since the start comes first. When the container was
//      created with stdin_once, the container's stdin closes when the first
//      client attached to stdin closes it (empty stdin frame, or its end of
//      the connection). On a TTY, closing stdin does not reach the process.
//   {"op": "exec", "exec_id", "process": <OCI process object>, "stdin",
//    "stdout", "stderr": bool} -> {"pid"} then frames; the exec'd process's
//      output is not logged; the exit frame carries its exit code. Streams
//      not asked for are /dev/null; process.terminal gives it a pty.
//
// Output is read only as fast as the slowest attached client takes it
// (Docker's behaviour): past 1 MiB unsent to a client, the container waits.
#pragma once

#include "berth/core/error.hpp"

#include <boost/json/value.hpp>

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace berth::core::container {

struct ShimOptions {
  std::string shim_path;  // the berth-shim binary
  std::string id;         // container ID
  std::string bundle;     // OCI bundle (config.json; rootfs already mounted)
  std::string state_dir;  // exists; see above
  // "native" (the built-in runtime) or the path (or PATH name) of an OCI
  // runtime CLI (crun, runc) driven with create/start/exec/delete, see
  // core/shim/runtime_backend.hpp; signals go to the init's PID directly.
  std::string runtime = "native";
  std::vector<std::string> runtime_args;  // e.g. --root for runc
  bool tty = false;
  bool open_stdin = false;  // keep a stdin pipe for attach
  bool stdin_once = false;
  // The log driver (a logging plugin id: "json-file", "local", "none") and
  // its open() info JSON (see sdk/include/berth/sdk/logging.hpp).
  std::string log_driver = "json-file";
  std::string log_info_json = "{}";
  std::vector<std::string> plugin_dirs;  // where non-built-in log drivers are
  // The log driver's daemon-level options (daemon.json, its host table's
  // config_json) and the roots its host table names; its state dir is
  // <data_root>/plugins/log-<id> as in the daemon. An empty data_root means
  // the container's state dir.
  std::string log_driver_config_json = "{}";
  std::string data_root;
  std::string exec_root;
  // A client will attach with "replay" right after the start (docker run
  // without -d attaches before the start): the shim holds the container's
  // output from the start until that attach, the exit, or 10 s, whichever
  // comes first. Past 1 MiB held, the container waits for the attach.
  bool hold_output = false;
};

struct ExitStatus {
  int exit_code = 0;
  bool oom_killed = false;
  std::string finished_at;  // RFC 3339 with nanoseconds, UTC
  std::string error;        // set when the shim could not run the container
};

// A connection carrying frames (attach, exec). Owns the socket.
class FrameStream {
 public:
  explicit FrameStream(int fd) : fd_(fd) {}
  ~FrameStream();
  FrameStream(FrameStream&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FrameStream& operator=(FrameStream&&) = delete;
  int fd() const { return fd_; }
  // Sends a frame of `type` (0 = stdin; an empty stdin frame closes stdin).
  Result<void> send(int type, const void* data, std::size_t len);
  // Reads the next frame into `payload`; returns its type, or nullopt at EOF.
  Result<std::optional<int>> receive(std::string& payload);

 private:
  int fd_;
};

class Shim {
 public:
  // Starts a shim for a container that is not running and waits until the
  // container's process has exec'd (or failed: the error carries the
  // runtime's message, e.g. `exec: "nosuch": executable file not found in
  // $PATH`). Returns the init PID.
  static Result<pid_t> start(const ShimOptions& options);

  // Every call below opens its own connection: any thread may use a Shim.
  explicit Shim(std::string state_dir);

  // Whether a shim answers on the socket.
  bool alive() const;
  Result<boost::json::value> state() const;
  Result<void> kill(int signal) const;
  Result<void> resize(int height, int width, const std::string& exec_id = {}) const;
  // Blocks until the container exited; returns the recorded status (also
  // when the shim is already gone and left exit.json behind).
  Result<ExitStatus> wait() const;
  // The exit.json a finished shim left, if any.
  std::optional<ExitStatus> recorded_exit() const;
  // `replay`: the output held since the start first (see hold_output).
  Result<FrameStream> attach(bool in, bool out, bool err, bool replay = false) const;
  Result<FrameStream> exec(const std::string& exec_id, const boost::json::value& process, bool in, bool out,
                           bool err, pid_t* pid = nullptr) const;

 private:
  std::string state_dir_;
};

}  // namespace berth::core::container
