// What the container commands share: inspecting a container, waiting for
// its exit on a second connection, streaming an attached container or exec
// through the local terminal, and running one operation over several
// containers the way Docker's CLI reports it.
#pragma once

#include "command.hpp"
#include "hijack.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace berth::cli {

// GET /containers/{name}/json. A missing container throws CliError
// "Error response from daemon: No such container: <name>".
boost::json::object inspect_container(Context& ctx, const std::string& name);

struct ExitWaiterConnection;

// The exit of a container, awaited on its own connection (POST
// /containers/{id}/wait) while the caller attaches and starts it, as
// Docker's waitExitOrRemoved.
class ExitWaiter {
 public:
  // Sends the wait request with `condition` ("next-exit", "removed",
  // "not-running") and returns once the daemon answered its header (it
  // has registered the wait then, so an exit right after a start is not
  // missed), or after a short grace time from a daemon that holds its
  // header back until the exit.
  ExitWaiter(Context& ctx, const std::string& id, const std::string& condition);
  ~ExitWaiter();
  ExitWaiter(const ExitWaiter&) = delete;
  ExitWaiter& operator=(const ExitWaiter&) = delete;

  // The container's exit status; 125 (after printing Docker's "Error
  // waiting for container: ..." on stderr) when the wait failed.
  int status();

 private:
  Context& ctx_;
  std::thread thread_;
  std::promise<void> head_;
  std::future<int> result_;
  std::promise<int> result_promise_;
  std::string error_;
  std::shared_ptr<ExitWaiterConnection> shared_;
};

// How to stream one attached container or exec.
struct AttachStream {
  std::string id;  // container or exec ID
  bool exec = false;
  bool tty = false;
  bool attach_stdin = false, attach_stdout = false, attach_stderr = false;
  std::string detach_keys;  // validated already; empty: ctrl-p,ctrl-q
  bool proxy_signals = false;
  // Keep the remote terminal's size in step with ours (initial size, then
  // every SIGWINCH): only when `tty` and our stdout is a terminal.
  bool monitor_size = false;
  // Resize once to one more row and column first, so that a program
  // re-attached to redraws its screen (docker attach).
  bool nudge_size = false;
};

// Streams `conn` through the local terminal: raw mode while a TTY has our
// stdin, the size followed, signals forwarded with `proxy_signals`; stdout
// (and stderr, or stdout again with a TTY) written to ctx.out/ctx.err.
// Returns how the stream ended.
PumpEnd stream_attached(Context& ctx, Connection& conn, const AttachStream& s);

// The detach keys for attach, run, start and exec: the flag's value checked
// (CliError "Unknown character: ..." when invalid), or empty for the default.
std::string checked_detach_keys(const std::string& flag_value);

// Docker's CheckTty: a TTY with stdin attached needs a terminal as input.
void check_tty(Context& ctx, bool attach_stdin, bool tty);

// The terminal size to create a TTY with ({rows, columns}; {0, 0} when
// stdout is not a terminal).
std::pair<unsigned, unsigned> console_size(Context& ctx);

// Runs `op` over `names` (in parallel, at most 50 at a time, as Docker
// does) and reports in the order given: the name on stdout for each `op`
// that returned true (false: it reported itself), and, when any threw,
// CliError with their messages one per line (Docker's errors.Join).
void for_each_container(Context& ctx, const std::vector<std::string>& names,
                        const std::function<bool(const std::string& name)>& op);

// One container of GET /containers/json as Docker's containerContext
// presents it, every field a string: ID, Image, Command (quoted), CreatedAt,
// RunningFor, Ports, State, Status, Size, Names, Labels, Mounts,
// LocalVolumes, Networks. `trunc` shortens IDs, the command and mount names.
boost::json::object container_row(const boost::json::object& summary, bool trunc);

// Docker's DisplayablePorts: "0.0.0.0:8080->80/tcp, 9000-9001/udp" from
// the API's Ports list (ranges of consecutive ports grouped).
std::string displayable_ports(const boost::json::array& ports);

// Docker's `port` output from a container's NetworkSettings.Ports: a
// "80/tcp -> 0.0.0.0:8080" line per binding, or, for `private_port` ("80",
// "53/udp"; tcp when no protocol is given), each "0.0.0.0:8080" that port
// is published on; in natural order. Throws CliError "Error: No public port
// '<private_port>' published for <container>" when it is not published, or
// "Error: invalid port (<port>): strconv.ParseUint: ..." for a bad number.
// ports.cpp, like displayable_ports.
std::vector<std::string> port_lines(const boost::json::object& ports, const std::string& private_port,
                                    const std::string& container);

// The daemon's answer to a container request, checked: Docker's "Error
// response from daemon: ..." for an error status (304, "already in that
// state", is no error).
Response container_request(Context& ctx, const std::string& method, const std::string& path,
                           const std::string& body = {});

}  // namespace berth::cli
