// berth-shim's event loop: one thread, one epoll set holding the shim's
// socket, a SIGCHLD signalfd, the container's output (pipes or the pty
// master), the stdin it writes, and the clients (protocol in
// berth/core/container/shim.hpp).
//
// Output is read as it comes, cut into log records and written to the log
// driver, and framed to the attached clients that asked for that stream.
// Docker's backpressure: while an attached client has more than 1 MiB
// unsent, the shim stops reading the container's output (the container
// blocks on a full pipe) until that client drained below 256 KiB. With
// hold_output the output is also kept, as frames, for the first attach with
// replay (the same 1 MiB limit applies until the container exited).
//
// When the init exits, the shim keeps reading the output until every writer
// closed it (at most 2 s more: a process outside the container's PID
// namespace may hold a pipe), closes the log, SIGKILLs and reaps exec'd
// processes still running, has the runtime remove the container, writes
// exit.json, and only then answers the waits and sends the exit frames; it
// exits once those are sent (at most 5 s later). So when a wait returns,
// the log is complete and the container's cgroup is gone.
#pragma once

#include "berth/core/container/shim.hpp"
#include "berth/core/error.hpp"
#include "berth/core/unique_fd.hpp"

#include "container_log.hpp"
#include "runtime_backend.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace berth::shim {

using core::Result;
using core::UniqueFd;
using Clock = std::chrono::steady_clock;

class Server;
struct Session;
struct Client;

// Something in the epoll set.
struct Watched {
  virtual ~Watched() = default;
  virtual void on_event(std::uint32_t events) = 0;
  std::uint64_t key = 0;  // epoll data; 0 = not in the set
  UniqueFd fd;
  Server* server = nullptr;
};

class Server {
 public:
  // `dir_fd`: an O_PATH descriptor of the state dir (sockets with long paths).
  Server(core::container::ShimOptions options, int dir_fd);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens on shim.sock, opens the log and starts the container; returns
  // the init's PID. On failure nothing is left running and exit.json holds
  // the error.
  Result<pid_t> start();

  // Serves until the container exited and its clients were answered.
  void run();

  // Called by the watched objects.
  void on_output(Session& session, int stream, std::string_view data);
  void on_output_closed(Session& session, int stream);
  void on_input_drained(Session& session);
  void on_client_input(Client& client);
  void on_client_eof(Client& client);
  void flush(Client& client);
  void drop(Client& client);
  void watch(Watched& w, std::uint32_t events);
  void unwatch(Watched& w);
  void update_events(Watched& w, std::uint32_t events);

 private:
  Result<void> open_socket();
  void accept_clients();
  void reap();
  void on_exited(pid_t pid, int status);
  void check_deadlines();
  void maybe_finish(Session& session);
  void finish_exec(Session& session);
  void finish_container();
  void close_outputs(Session& session);
  void backpressure(Session& session);
  void release_hold();
  std::vector<Client*> receivers(const Session& session);
  void client_events(Client& client);

  void handle_request(Client& client, std::string_view line);
  void reply(Client& client, const boost::json::object& answer);
  void reply_error(Client& client, const core::Error& error);
  void queue_frame(Client& client, int type, std::string_view data);
  void stdin_frame(Client& client, std::string_view payload);
  void stdin_closed(Client& client);
  Result<boost::json::object> do_exec(Client& client, const boost::json::object& request);
  Result<void> do_resize(const boost::json::object& request);

  Result<runtime::Stdio> setup_stdio(Session& session, bool in, bool out, bool err,
                                     std::vector<UniqueFd>& child_ends);
  void attach_process(Session& session, const runtime::Process& process);
  Result<void> start_container();
  std::optional<std::uint64_t> oom_kills() const;
  void record_failed_start(const core::Error& error);
  void write_exit();
  std::string path(std::string_view name) const;

  core::container::ShimOptions options_;
  int dir_fd_;
  UniqueFd epoll_, listener_, signals_;
  std::unique_ptr<ContainerLog> log_;
  std::unique_ptr<RuntimeBackend> runtime_;
  std::unique_ptr<Session> container_;
  std::list<std::unique_ptr<Session>> execs_;
  std::list<std::unique_ptr<Client>> clients_;
  std::unordered_map<std::uint64_t, Watched*> watched_;
  std::uint64_t next_key_ = 2;  // 1 and 2: the listener and the signalfd
  // Objects dropped during an epoll batch, freed after it: later events of
  // the batch may still name them (their keys are gone by then).
  std::vector<std::unique_ptr<Watched>> graveyard_;
  std::vector<std::unique_ptr<Session>> dead_sessions_;

  std::string cgroup_path_;
  bool memory_limited_ = false;  // the spec sets linux.resources.memory.limit
  std::optional<std::uint64_t> oom_before_;
  core::container::ExitStatus exit_;
  // hold_output: the container's output since the start, as frames, until
  // an attach with replay takes it (or hold_until_, or the exit).
  bool holding_ = false;
  std::string held_;
  Clock::time_point hold_until_;
  bool stdin_once_fired_ = false;
  bool finished_ = false;
  std::optional<Clock::time_point> quit_at_;
};

}  // namespace berth::shim
