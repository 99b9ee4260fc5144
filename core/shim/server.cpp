#include "server.hpp"

#include "berth/core/container/shim_protocol.hpp"
#include "berth/core/log.hpp"
#include "berth/core/time_format.hpp"

#ifdef BERTH_SHIM_NATIVE_RUNTIME
#include <berth/runtime/cgroups.hpp>
#endif

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <thread>

namespace berth::shim {

namespace json = boost::json;
namespace proto = core::container::shim_protocol;
using core::Errc;
using core::errno_error;
using core::make_error;
using core::ok;

namespace {

constexpr std::size_t kReadChunk = 32 * 1024;
constexpr std::size_t kHighWater = 1u << 20;
constexpr std::size_t kLowWater = 256u << 10;
constexpr auto kDrainTime = std::chrono::seconds(2);
constexpr auto kQuitTime = std::chrono::seconds(5);
constexpr auto kHoldTime = std::chrono::seconds(10);
constexpr std::uint64_t kListenerKey = 1, kSignalKey = 2;

// One buffer for every read: the loop is single-threaded and each read's
// data is consumed before the next.
char g_buffer[kReadChunk];

std::int64_t now_unix_nano() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// SIGCHLD is blocked (it arrives through the signalfd) except while the
// runtime forks: a process it starts must not inherit a blocked SIGCHLD.
// Exits in that window go unsignalled; the caller reaps right after.
class SigchldUnblocked {
 public:
  SigchldUnblocked() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGCHLD);
    ::sigprocmask(SIG_UNBLOCK, &set_, nullptr);
  }
  ~SigchldUnblocked() { ::sigprocmask(SIG_BLOCK, &set_, nullptr); }
  SigchldUnblocked(const SigchldUnblocked&) = delete;
  SigchldUnblocked& operator=(const SigchldUnblocked&) = delete;

 private:
  sigset_t set_;
};

const json::value* member(const json::object& o, std::string_view key) { return o.if_contains(key); }

bool flag(const json::object& o, std::string_view key) {
  const auto* v = member(o, key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

std::optional<std::int64_t> integer(const json::object& o, std::string_view key) {
  const auto* v = member(o, key);
  if (v == nullptr || !v->is_int64()) return std::nullopt;
  return v->get_int64();
}

}  // namespace

// Output of a session: a pipe's read end, or the pty master.
struct Output final : Watched {
  Session* session = nullptr;
  int stream = BERTH_LOG_STDOUT;

  void on_event(std::uint32_t) override {
    ssize_t n = ::read(fd.get(), g_buffer, sizeof g_buffer);
    if (n > 0) {
      server->on_output(*session, stream, std::string_view(g_buffer, static_cast<std::size_t>(n)));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      // 0: every writer closed the pipe; EIO: the pty's last slave closed.
      server->on_output_closed(*session, stream);
    }
  }
};

// What the shim writes to a session's stdin (a pipe, or a dup of the pty
// master), buffered while the process does not read.
struct Input final : Watched {
  Session* session = nullptr;
  std::string pending;
  bool closing = false;

  void write(std::string_view data) {
    if (!fd) return;
    if (pending.empty()) {
      ssize_t n = ::write(fd.get(), data.data(), data.size());
      if (n < 0 && errno != EAGAIN && errno != EINTR) return lost();
      data.remove_prefix(n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    if (data.empty()) return;
    pending.append(data);
    if (key == 0) server->watch(*this, EPOLLOUT);
  }

  void close() {
    closing = true;
    if (pending.empty()) {
      server->unwatch(*this);
      fd.reset();
    }
  }

  void on_event(std::uint32_t) override {
    ssize_t n = ::write(fd.get(), pending.data(), pending.size());
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) lost();
      return;
    }
    pending.erase(0, static_cast<std::size_t>(n));
    if (!pending.empty()) return;
    pending.shrink_to_fit();
    server->unwatch(*this);
    if (closing) fd.reset();
    server->on_input_drained(*session);
  }

  // The reader is gone (EPIPE): nothing more can reach it.
  void lost() {
    pending.clear();
    server->unwatch(*this);
    fd.reset();
    server->on_input_drained(*session);
  }
};

// The container's init or one exec'd process, with its stdio.
struct Session {
  bool is_exec = false;
  std::string exec_id;
  pid_t pid = -1;
  bool tty = false;
  std::unique_ptr<Output> out, err;  // tty: out reads the master
  std::unique_ptr<Input> in;
  bool paused = false;  // output not read: a receiver is too far behind
  bool exited = false;
  int exit_code = 0;
  Clock::time_point drain_until;
  Client* client = nullptr;  // exec: the connection that started it
};

struct Client final : Watched {
  enum class Mode { request, done, wait, attach, exec } mode = Mode::request;
  std::string in, out;
  bool want_in = false, want_out = false, want_err = false;
  Session* session = nullptr;  // attach: the container; exec: its session
  bool read_closed = false, stdin_done = false, close_after_flush = false, dead = false;
  std::uint32_t events = 0;

  bool read_once() {
    ssize_t n = ::recv(fd.get(), g_buffer, sizeof g_buffer, MSG_DONTWAIT);
    if (n > 0) {
      in.append(g_buffer, static_cast<std::size_t>(n));
      server->on_client_input(*this);
      return true;
    }
    if (n == 0) {
      read_closed = true;
      server->on_client_eof(*this);
    } else if (errno != EAGAIN && errno != EINTR) {
      server->drop(*this);
    }
    return false;
  }

  void on_event(std::uint32_t ev) override {
    if ((ev & EPOLLERR) != 0) return server->drop(*this);
    if ((ev & EPOLLHUP) != 0) {
      // Gone both ways: take what it sent, then forget it.
      while (!dead && !read_closed && read_once()) {
      }
      if (!dead) server->drop(*this);
      return;
    }
    if ((ev & EPOLLIN) != 0 && !read_closed) read_once();
    if (!dead && (ev & EPOLLOUT) != 0) server->flush(*this);
  }
};

Server::Server(core::container::ShimOptions options, int dir_fd)
    : options_(std::move(options)), dir_fd_(dir_fd) {}

Server::~Server() = default;

std::string Server::path(std::string_view name) const {
  return options_.state_dir + "/" + std::string(name);
}

void Server::watch(Watched& w, std::uint32_t events) {
  w.server = this;
  w.key = ++next_key_;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = w.key;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, w.fd.get(), &ev);
  watched_[w.key] = &w;
}

void Server::unwatch(Watched& w) {
  if (w.key == 0) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, w.fd.get(), nullptr);
  watched_.erase(w.key);
  w.key = 0;
}

void Server::update_events(Watched& w, std::uint32_t events) {
  if (w.key == 0) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = w.key;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, w.fd.get(), &ev);
}

// --- start -------------------------------------------------------------------

Result<pid_t> Server::start() {
  container_ = std::make_unique<Session>();
  container_->tty = options_.tty;
  auto started = open_socket();
  if (started) started = start_container();
  if (!started) {
    record_failed_start(started.error());
    return std::move(started).error();
  }
  return container_->pid;
}

Result<void> Server::open_socket() {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return errno_error(Errc::internal, "epoll_create1", errno);

  // Writes to a client that went away fail with EPIPE instead.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  signals_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signals_) return errno_error(Errc::internal, "signalfd", errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kSignalKey;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, signals_.get(), &ev);

  std::string socket_path = path(proto::kSocket);
  ::unlink(socket_path.c_str());
  BERTH_TRY(auto addr, proto::unix_address(socket_path, dir_fd_));
  listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listener_ || ::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_.get(), 128) != 0) {
    return errno_error(Errc::internal, "listen on " + socket_path, errno);
  }
  ev.data.u64 = kListenerKey;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &ev);
  return ok();
}

// Pipes for the streams asked for (none on a terminal: the runtime makes
// the pty). The process's ends stay in `child_ends` until it started.
Result<runtime::Stdio> Server::setup_stdio(Session& s, bool in, bool out, bool err,
                                           std::vector<UniqueFd>& child_ends) {
  runtime::Stdio stdio;
  if (s.tty) return stdio;
  auto pipe_for = [&](int stream, bool to_child) -> Result<int> {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return errno_error(Errc::internal, "pipe", errno);
    int mine = to_child ? p[1] : p[0], theirs = to_child ? p[0] : p[1];
    child_ends.emplace_back(theirs);
    set_nonblocking(mine);
    if (to_child) {
      s.in = std::make_unique<Input>();
      s.in->server = this;
      s.in->session = &s;
      s.in->fd.reset(mine);
    } else {
      auto o = std::make_unique<Output>();
      o->session = &s;
      o->stream = stream;
      o->fd.reset(mine);
      (stream == BERTH_LOG_STDERR ? s.err : s.out) = std::move(o);
    }
    return theirs;
  };
  if (in) {
    BERTH_TRY(stdio.in, pipe_for(0, true));
  }
  if (out) {
    BERTH_TRY(stdio.out, pipe_for(BERTH_LOG_STDOUT, false));
  }
  if (err) {
    BERTH_TRY(stdio.err, pipe_for(BERTH_LOG_STDERR, false));
  }
  return stdio;
}

// Takes the started process's PID and, for a terminal, its pty master; puts
// the session's output in the epoll set.
void Server::attach_process(Session& s, const runtime::Process& p) {
  s.pid = p.pid;
  if (p.console_master >= 0) {
    set_nonblocking(p.console_master);
    s.out = std::make_unique<Output>();
    s.out->session = &s;
    s.out->fd.reset(p.console_master);
    if (!s.in) {
      s.in = std::make_unique<Input>();
      s.in->server = this;
      s.in->session = &s;
    }
    s.in->fd.reset(::fcntl(p.console_master, F_DUPFD_CLOEXEC, 3));
  }
  if (s.out) watch(*s.out, EPOLLIN);
  if (s.err) watch(*s.err, EPOLLIN);
}

Result<void> Server::start_container() {
  BERTH_TRY(log_, ContainerLog::open(options_));
  {
    boost::system::error_code ec;
    json::value spec = json::parse(proto::read_text(options_.bundle + "/config.json"), ec);
    if (ec) return make_error(Errc::invalid_argument, "read " + options_.bundle + "/config.json: not JSON");
    if (const auto* linux_ = spec.is_object() ? spec.as_object().if_contains("linux") : nullptr) {
      if (const auto* p = linux_->is_object() ? linux_->as_object().if_contains("cgroupsPath") : nullptr) {
        if (p->is_string()) cgroup_path_ = std::string(p->get_string());
      }
      boost::system::error_code no_limit;
      if (const auto* limit = spec.find_pointer("/linux/resources/memory/limit", no_limit);
          limit != nullptr && limit->is_int64()) {
        memory_limited_ = limit->get_int64() > 0;
      }
    }
  }
  runtime_ = make_runtime(options_);
  holding_ = options_.hold_output;
  hold_until_ = Clock::now() + kHoldTime;
  Session& s = *container_;
  const bool tty = options_.tty;
  std::vector<UniqueFd> ends;
  BERTH_TRY(auto stdio, setup_stdio(s, options_.open_stdin, true, true, ends));
  Result<runtime::Process> p = core::make_error(Errc::internal, "not started");
  {
    SigchldUnblocked unblocked;
    p = runtime_->create(stdio, tty);
  }
  ends.clear();
  if (!p) return std::move(p).error();
  attach_process(s, p.value());
  if (tty && !options_.open_stdin) s.in.reset();
  oom_before_ = oom_kills();
  if (auto r = proto::write_atomic(path(proto::kInitPid), std::to_string(s.pid)); !r) {
    core::logger("shim")->warn("{}", r.error().message);
  }
  core::logger("shim")->info("container {} started, init pid {}", options_.id, s.pid);
  reap();
  return ok();
}

std::optional<std::uint64_t> Server::oom_kills() const {
#ifdef BERTH_SHIM_NATIVE_RUNTIME
  if (cgroup_path_.empty()) return std::nullopt;
  auto count = runtime::cgroups::oom_kills(cgroup_path_);
  return count ? count.value() : std::nullopt;
#else
  return std::nullopt;
#endif
}

void Server::record_failed_start(const core::Error& error) {
  const std::string& m = error.message;
  // Docker's codes for a command that cannot run.
  exit_.exit_code = m.find("not found") != std::string::npos || m.find("no such file") != std::string::npos ||
                            m.find("No such file") != std::string::npos
                        ? 127
                    : m.find("permission denied") != std::string::npos ||
                            m.find("Permission denied") != std::string::npos
                        ? 126
                        : 128;
  exit_.error = m;
  exit_.finished_at = core::rfc3339_now();
  container_->exited = true;
  if (log_) log_->close(now_unix_nano());
  write_exit();
  ::unlink(path(proto::kSocket).c_str());
  core::logger("shim")->error("container {} did not start: {}", options_.id, m);
}

void Server::write_exit() {
  if (auto r = proto::write_atomic(path(proto::kExit), json::serialize(proto::exit_to_json(exit_)));
      !r) {
    core::logger("shim")->error("{}", r.error().message);
  }
}

// --- loop --------------------------------------------------------------------

void Server::run() {
  epoll_event events[16];
  for (;;) {
    auto now = Clock::now();
    if (finished_ && (clients_.empty() || (quit_at_ && now >= *quit_at_))) break;
    std::optional<Clock::time_point> next = quit_at_;
    if (holding_ && (!next || hold_until_ < *next)) next = hold_until_;
    auto consider = [&](const Session& s) {
      if (s.exited && (!next || s.drain_until < *next)) next = s.drain_until;
    };
    if (!finished_) consider(*container_);
    for (const auto& e : execs_) consider(*e);
    int timeout = -1;
    if (next) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*next - now).count() + 1;
      timeout = static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
    }
    int n = ::epoll_wait(epoll_.get(), events, 16, timeout);
    if (n < 0 && errno != EINTR) {
      core::logger("shim")->error("epoll_wait: {}", std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      std::uint64_t key = events[i].data.u64;
      if (key == kListenerKey) {
        accept_clients();
      } else if (key == kSignalKey) {
        reap();
      } else if (auto it = watched_.find(key); it != watched_.end()) {
        it->second->on_event(events[i].events);
      }
    }
    check_deadlines();
    graveyard_.clear();
    dead_sessions_.clear();
  }
  core::logger("shim")->info("container {} exited with {}, shim exiting", options_.id, exit_.exit_code);
}

void Server::accept_clients() {
  for (;;) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    auto c = std::make_unique<Client>();
    c->fd.reset(fd);
    c->events = EPOLLIN;
    watch(*c, EPOLLIN);
    clients_.push_back(std::move(c));
  }
}

void Server::reap() {
  signalfd_siginfo info;
  while (::read(signals_.get(), &info, sizeof info) == sizeof info) {
  }
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    on_exited(pid, status);
  }
}

void Server::on_exited(pid_t pid, int status) {
  auto deadline = Clock::now() + kDrainTime;
  if (pid == container_->pid && !container_->exited) {
    container_->exited = true;
    container_->exit_code = exit_.exit_code = exit_code_of(status);
    exit_.finished_at = core::rfc3339_now();
    if (oom_before_) {
      auto after = oom_kills();
      // The kernel counts an OOM kill just after it sent the SIGKILL: when a
      // memory-limited container died of SIGKILL, the count gets a moment
      // (at most 20 ms) to catch up.
      for (int i = 0; i < 10 && memory_limited_ && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && after &&
                      *after <= *oom_before_;
           ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        after = oom_kills();
      }
      exit_.oom_killed = after && *after > *oom_before_;
    }
    container_->drain_until = deadline;
    core::logger("shim")->info("container {} init {} exited with {}", options_.id, pid, exit_.exit_code);
    backpressure(*container_);
    maybe_finish(*container_);
    return;
  }
  for (auto& e : execs_) {
    if (e->pid == pid && !e->exited) {
      e->exited = true;
      e->exit_code = exit_code_of(status);
      e->drain_until = deadline;
      maybe_finish(*e);
      return;
    }
  }
}

void Server::check_deadlines() {
  auto now = Clock::now();
  if (holding_ && now >= hold_until_) {
    release_hold();
    maybe_finish(*container_);
  }
  std::vector<Session*> due;
  for (auto& e : execs_) {
    if (e->exited && now >= e->drain_until) due.push_back(e.get());
  }
  for (Session* s : due) {
    close_outputs(*s);
    finish_exec(*s);
  }
  if (!finished_ && container_->exited && now >= container_->drain_until && !holding_) finish_container();
}

void Server::maybe_finish(Session& s) {
  if (!s.exited || s.out || s.err) return;
  // An attach made before the start (docker run) is on its way: it takes the
  // held output, then the exit, so a container that exits at once is seen
  // even with a log driver that cannot replay it.
  if (!s.is_exec && holding_) return;
  if (s.is_exec) {
    finish_exec(s);
  } else {
    finish_container();
  }
}

void Server::close_outputs(Session& s) {
  for (auto* o : {&s.out, &s.err}) {
    if (!*o) continue;
    unwatch(**o);
    if (!s.is_exec && log_) log_->end((*o)->stream, now_unix_nano());
    graveyard_.push_back(std::move(*o));
  }
}

void Server::finish_exec(Session& s) {
  close_outputs(s);
  if (s.in) {
    unwatch(*s.in);
    graveyard_.push_back(std::move(s.in));
  }
  if (Client* c = s.client; c != nullptr && !c->dead) {
    queue_frame(*c, proto::kExitFrame, json::serialize(json::object{{"exit_code", s.exit_code}}));
    c->close_after_flush = true;
    c->session = nullptr;
    flush(*c);
  }
  s.client = nullptr;
  auto it = std::find_if(execs_.begin(), execs_.end(), [&](const auto& e) { return e.get() == &s; });
  if (it != execs_.end()) {
    dead_sessions_.push_back(std::move(*it));
    execs_.erase(it);
  }
}

void Server::finish_container() {
  if (finished_) return;
  finished_ = true;
  holding_ = false;
  std::string().swap(held_);
  Session& s = *container_;
  close_outputs(s);
  if (s.in) {
    unwatch(*s.in);
    graveyard_.push_back(std::move(s.in));
  }
  // Whatever was exec'd and still runs (a container without its own PID
  // namespace) goes with the container.
  std::vector<Session*> left;
  for (auto& e : execs_) left.push_back(e.get());
  for (Session* e : left) {
    if (!e->exited) {
      ::kill(e->pid, SIGKILL);
      int status = 0;
      while (::waitpid(e->pid, &status, 0) < 0 && errno == EINTR) {
      }
      e->exited = true;
      e->exit_code = exit_code_of(status);
    }
    finish_exec(*e);
  }
  if (log_) log_->close(now_unix_nano());
  if (runtime_) {
    if (auto r = runtime_->destroy(); !r) {
      core::logger("shim")->error("remove container {}: {}", options_.id, r.error().message);
    }
  }
  reap();
  write_exit();
  ::unlink(path(proto::kSocket).c_str());
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listener_.get(), nullptr);
  listener_.reset();

  std::string status = json::serialize(proto::exit_to_json(exit_));
  std::string exit_frame = json::serialize(json::object{{"exit_code", exit_.exit_code}});
  std::vector<Client*> all;
  for (auto& c : clients_) all.push_back(c.get());
  for (Client* c : all) {
    if (c->dead) continue;
    if (c->mode == Client::Mode::wait) {
      c->out += status + "\n";
    } else if (c->mode == Client::Mode::attach) {
      queue_frame(*c, proto::kExitFrame, exit_frame);
    } else if (c->mode == Client::Mode::request) {
      drop(*c);
      continue;
    }
    c->close_after_flush = true;
    flush(*c);
  }
  quit_at_ = Clock::now() + kQuitTime;
}

// --- output ------------------------------------------------------------------

std::vector<Client*> Server::receivers(const Session& s) {
  std::vector<Client*> out;
  if (s.is_exec) {
    if (s.client != nullptr && !s.client->dead) out.push_back(s.client);
    return out;
  }
  for (auto& c : clients_) {
    if (!c->dead && c->mode == Client::Mode::attach && (c->want_out || c->want_err)) {
      out.push_back(c.get());
    }
  }
  return out;
}

void Server::on_output(Session& s, int stream, std::string_view data) {
  if (!s.is_exec && log_) log_->write(stream, data, now_unix_nano());
  const bool is_err = stream == BERTH_LOG_STDERR && !s.tty;
  if (!s.is_exec && holding_) {
    unsigned char header[proto::kHeaderSize];
    proto::encode_header(header, is_err ? proto::kStderr : proto::kStdout, static_cast<std::uint32_t>(data.size()));
    held_.append(reinterpret_cast<const char*>(header), sizeof header);
    held_.append(data);
  }
  for (Client* c : receivers(s)) {
    if (is_err ? c->want_err : c->want_out) {
      queue_frame(*c, is_err ? proto::kStderr : proto::kStdout, data);
    }
  }
  backpressure(s);
}

void Server::on_output_closed(Session& s, int stream) {
  auto& o = stream == BERTH_LOG_STDERR ? s.err : s.out;
  if (!o) return;
  unwatch(*o);
  if (!s.is_exec && log_) log_->end(stream, now_unix_nano());
  graveyard_.push_back(std::move(o));
  maybe_finish(s);
}

void Server::backpressure(Session& s) {
  bool over = false, under = true;
  for (Client* c : receivers(s)) {
    over = over || c->out.size() > kHighWater;
    under = under && c->out.size() <= kLowWater;
  }
  // Holding output for an attach does not hold up an exited container's
  // last output (what is left in its pipes).
  if (!s.is_exec && holding_ && !s.exited) {
    over = over || held_.size() > kHighWater;
    under = under && held_.size() <= kLowWater;
  }
  bool pause = s.paused ? !under : over;
  if (pause == s.paused) return;
  s.paused = pause;
  // Out of the epoll set entirely: a hung-up pipe would report EPOLLHUP
  // whatever events were asked for.
  for (auto* o : {s.out.get(), s.err.get()}) {
    if (o == nullptr) continue;
    if (pause) {
      unwatch(*o);
    } else {
      watch(*o, EPOLLIN);
    }
  }
}

void Server::release_hold() {
  holding_ = false;
  std::string().swap(held_);
  backpressure(*container_);
}

// --- clients -----------------------------------------------------------------

void Server::client_events(Client& c) {
  if (c.dead) return;
  bool stdin_full = c.want_in && c.session != nullptr && c.session->in &&
                    c.session->in->pending.size() > kHighWater;
  std::uint32_t events = 0;
  if (!c.read_closed && !stdin_full && c.mode != Client::Mode::done) events |= EPOLLIN;
  if (!c.out.empty()) events |= EPOLLOUT;
  if (events != c.events) {
    c.events = events;
    update_events(c, events);
  }
}

void Server::flush(Client& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return drop(c);
    }
    c.out.erase(0, static_cast<std::size_t>(n));
  }
  if (c.out.empty()) {
    if (c.close_after_flush) return drop(c);
    if (c.out.capacity() > kReadChunk) c.out.shrink_to_fit();
  }
  client_events(c);
  if (c.session != nullptr) backpressure(*c.session);
}

void Server::drop(Client& c) {
  if (c.dead) return;
  c.dead = true;
  unwatch(c);
  Session* s = c.session;
  c.session = nullptr;
  if (s != nullptr && s->client == &c) s->client = nullptr;
  auto it = std::find_if(clients_.begin(), clients_.end(), [&](const auto& p) { return p.get() == &c; });
  if (it != clients_.end()) {
    graveyard_.push_back(std::move(*it));
    clients_.erase(it);
  }
  if (s != nullptr) backpressure(*s);
}

void Server::queue_frame(Client& c, int type, std::string_view data) {
  if (c.dead) return;
  unsigned char header[proto::kHeaderSize];
  proto::encode_header(header, type, static_cast<std::uint32_t>(data.size()));
  c.out.append(reinterpret_cast<const char*>(header), sizeof header);
  c.out.append(data);
  flush(c);
}

void Server::reply(Client& c, const json::object& answer) {
  c.out += json::serialize(answer);
  c.out += '\n';
  flush(c);
}

void Server::reply_error(Client& c, const core::Error& error) {
  c.out += proto::error_reply(error);
  c.mode = Client::Mode::done;
  c.close_after_flush = true;
  flush(c);
}

void Server::on_client_input(Client& c) {
  if (c.mode == Client::Mode::request) {
    auto newline = c.in.find('\n');
    if (newline == std::string::npos) {
      if (c.in.size() > proto::kMaxRequest) {
        c.in.clear();
        reply_error(c, make_error(Errc::invalid_argument, "request too long"));
      }
      return;
    }
    std::string line = c.in.substr(0, newline);
    c.in.erase(0, newline + 1);
    handle_request(c, line);
    if (c.dead) return;
  }
  if (c.mode != Client::Mode::attach && c.mode != Client::Mode::exec) {
    c.in.clear();
    return;
  }
  std::size_t at = 0;
  while (!c.dead && c.in.size() - at >= proto::kHeaderSize) {
    const auto* header = reinterpret_cast<const unsigned char*>(c.in.data() + at);
    std::uint32_t size = proto::decode_size(header);
    if (size > proto::kMaxFrame) return drop(c);
    if (c.in.size() - at < proto::kHeaderSize + size) break;
    if (header[0] == proto::kStdin) {
      stdin_frame(c, std::string_view(c.in).substr(at + proto::kHeaderSize, size));
    }
    at += proto::kHeaderSize + size;
  }
  if (!c.dead) {
    c.in.erase(0, at);
    client_events(c);
  }
}

void Server::on_client_eof(Client& c) {
  if (c.mode == Client::Mode::request) return drop(c);
  if (c.mode == Client::Mode::attach || c.mode == Client::Mode::exec) stdin_closed(c);
  client_events(c);
}

void Server::stdin_frame(Client& c, std::string_view payload) {
  if (!c.want_in || c.stdin_done || c.session == nullptr) return;
  if (payload.empty()) return stdin_closed(c);
  if (c.session->in) c.session->in->write(payload);
}

void Server::stdin_closed(Client& c) {
  if (!c.want_in || c.stdin_done || c.session == nullptr) return;
  c.stdin_done = true;
  Session& s = *c.session;
  if (!s.in) return;
  // An exec's stdin belongs to its one client. The container's closes only
  // with stdin_once, when the first client attached to stdin ends it.
  if (s.is_exec || (options_.stdin_once && !stdin_once_fired_)) {
    if (!s.is_exec) stdin_once_fired_ = true;
    s.in->close();
  }
}

void Server::on_input_drained(Session& s) {
  std::vector<Client*> feeding;
  for (auto& c : clients_) {
    if (!c->dead && c->session == &s && c->want_in) feeding.push_back(c.get());
  }
  for (Client* c : feeding) client_events(*c);
}

// --- requests ----------------------------------------------------------------

void Server::handle_request(Client& c, std::string_view line) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec || !v.is_object()) return reply_error(c, make_error(Errc::invalid_argument, "request is not a JSON object"));
  const json::object& request = v.as_object();
  const auto* op_value = member(request, "op");
  std::string op = op_value != nullptr && op_value->is_string() ? std::string(op_value->get_string()) : "";
  Session& s = *container_;
  auto not_running = [&] {
    return make_error(Errc::conflict, "container " + options_.id + " is not running");
  };

  if (op == "state") {
    json::object answer{{"pid", s.pid}, {"running", !s.exited}};
    if (s.exited) answer["exit_code"] = s.exit_code;
    c.mode = Client::Mode::done;
    c.close_after_flush = true;
    return reply(c, answer);
  }
  if (op == "kill") {
    auto sig = integer(request, "signal");
    if (!sig || *sig <= 0 || *sig > 64) {
      return reply_error(c, make_error(Errc::invalid_argument, "kill: invalid signal"));
    }
    if (s.exited) return reply_error(c, not_running());
    if (::kill(s.pid, static_cast<int>(*sig)) != 0) {
      return reply_error(c, errno_error(Errc::internal, "kill container " + options_.id, errno));
    }
    c.mode = Client::Mode::done;
    c.close_after_flush = true;
    return reply(c, {});
  }
  if (op == "resize") {
    if (auto r = do_resize(request); !r) return reply_error(c, r.error());
    c.mode = Client::Mode::done;
    c.close_after_flush = true;
    return reply(c, {});
  }
  if (op == "wait") {
    c.mode = Client::Mode::wait;
    client_events(c);
    return;
  }
  if (op == "attach") {
    c.mode = Client::Mode::attach;
    c.session = &s;
    c.want_in = flag(request, "stdin");
    c.want_out = flag(request, "stdout");
    c.want_err = flag(request, "stderr");
    c.out += "{}\n";
    if (flag(request, "replay") && holding_) {
      for (std::size_t at = 0; at + proto::kHeaderSize <= held_.size();) {
        const auto* header = reinterpret_cast<const unsigned char*>(held_.data() + at);
        std::size_t frame = proto::kHeaderSize + proto::decode_size(header);
        if (header[0] == proto::kStderr ? c.want_err : c.want_out) c.out.append(held_, at, frame);
        at += frame;
      }
      release_hold();
      flush(c);
      // The container may be gone already: the exit follows what it printed.
      if (!finished_) maybe_finish(*container_);
      return;
    }
    return flush(c);
  }
  if (op == "exec") {
    auto answer = do_exec(c, request);
    if (answer) {
      reply(c, answer.value());
    } else {
      reply_error(c, answer.error());
    }
    // What exited while the runtime ran (SIGCHLD unblocked) went unsignalled:
    // the exec'd process, or a runtime's child that failed to exec — a
    // zombie the container's init would wait for forever when it dies.
    reap();
    return;
  }
  reply_error(c, make_error(Errc::invalid_argument, "unknown request \"" + op + "\""));
}

Result<void> Server::do_resize(const json::object& request) {
  auto height = integer(request, "height"), width = integer(request, "width");
  if (!height || !width || *height < 0 || *width < 0 || *height > 0xffff || *width > 0xffff) {
    return make_error(Errc::invalid_argument, "resize: height and width must be numbers from 0 to 65535");
  }
  Session* s = container_.get();
  std::string what = "container " + options_.id;
  if (const auto* id = member(request, "exec_id"); id != nullptr && id->is_string() && !id->get_string().empty()) {
    what = "exec " + std::string(id->get_string());
    auto it = std::find_if(execs_.begin(), execs_.end(), [&](const auto& e) { return e->exec_id == id->get_string(); });
    if (it == execs_.end()) return make_error(Errc::not_found, "no running " + what);
    s = it->get();
  }
  if (!s->tty) return make_error(Errc::failed_precondition, what + " has no TTY");
  if (!s->out || s->exited) return make_error(Errc::conflict, what + " is not running");
  winsize ws{};
  ws.ws_row = static_cast<unsigned short>(*height);
  ws.ws_col = static_cast<unsigned short>(*width);
  if (::ioctl(s->out->fd.get(), TIOCSWINSZ, &ws) != 0) return errno_error(Errc::internal, "resize " + what, errno);
  return ok();
}

Result<json::object> Server::do_exec(Client& c, const json::object& request) {
  if (container_->exited) return make_error(Errc::conflict, "container " + options_.id + " is not running");
  const auto* id = member(request, "exec_id");
  const auto* process = member(request, "process");
  if (id == nullptr || !id->is_string() || id->get_string().empty()) {
    return make_error(Errc::invalid_argument, "exec: no exec_id");
  }
  if (process == nullptr || !process->is_object()) {
    return make_error(Errc::invalid_argument, "exec: process must be an OCI process object");
  }
  std::string exec_id(id->get_string());
  if (std::any_of(execs_.begin(), execs_.end(), [&](const auto& e) { return e->exec_id == exec_id; })) {
    return make_error(Errc::conflict, "exec " + exec_id + " is already running");
  }
  auto s = std::make_unique<Session>();
  s->is_exec = true;
  s->exec_id = exec_id;
  s->tty = flag(process->as_object(), "terminal");
  bool in = flag(request, "stdin"), out = flag(request, "stdout"), err = flag(request, "stderr");
  std::vector<UniqueFd> ends;
  BERTH_TRY(auto stdio, setup_stdio(*s, in, out, err, ends));
  Result<runtime::Process> p = core::make_error(Errc::internal, "not started");
  {
    SigchldUnblocked unblocked;
    p = runtime_->exec(container_->pid, *process, stdio);
  }
  ends.clear();
  if (!p) return std::move(p).error().wrap("exec in container " + options_.id);
  attach_process(*s, p.value());
  if (s->tty && !in) s->in.reset();
  s->client = &c;
  c.mode = Client::Mode::exec;
  c.session = s.get();
  c.want_in = in;
  c.want_out = out;
  c.want_err = err;
  pid_t pid = s->pid;
  execs_.push_back(std::move(s));
  return json::object{{"pid", pid}};
}

}  // namespace berth::shim
