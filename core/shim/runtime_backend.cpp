#include "runtime_backend.hpp"

#include "berth/core/container/shim_protocol.hpp"
#include "berth/core/unique_fd.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace berth::shim {

namespace json = boost::json;
using core::container::shim_protocol::read_text;
using core::Errc;
using core::errno_error;
using core::make_error;
using core::ok;
using core::UniqueFd;

namespace {

// A runtime command that takes longer is killed.
constexpr int kCommandTimeoutMs = 60'000;

// Waits for `pid`, killing it after the timeout; returns its wait status.
int wait_with_timeout(pid_t pid, int timeout_ms) {
  // glibc 2.36's <sys/pidfd.h> lacks extern "C": the raw system call.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd) {
    pollfd p{pidfd.get(), POLLIN, 0};
    int n = 0;
    do {
      n = ::poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n == 0) ::kill(pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + ::strsignal(WTERMSIG(status));
  return "wait failed";
}

// A listening socket for --console-socket: the runtime connects and passes
// the pty master with SCM_RIGHTS before its command returns, so the
// connection is waiting in the backlog once it did.
class ConsoleSocket {
 public:
  ~ConsoleSocket() {
    if (fd_) ::unlink(path_.c_str());
  }

  Result<std::string> listen(const std::string& path) {
    path_ = path;
    ::unlink(path.c_str());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
      return make_error(Errc::invalid_argument, "console socket path " + path + " is too long");
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd_) return errno_error(Errc::internal, "console socket", errno);
    if (::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_.get(), 1) != 0) {
      return errno_error(Errc::internal, "listen on " + path, errno);
    }
    return path;
  }

  Result<int> receive() {
    UniqueFd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return errno_error(Errc::internal, "the runtime sent no console on " + path_, errno);
    char data[4096];
    iovec iov{data, sizeof data};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = 0;
    do {
      n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno_error(Errc::internal, "receive the console from " + path_, errno);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
        return fd;
      }
    }
    return make_error(Errc::internal, "the runtime sent no console file descriptor");
  }

 private:
  std::string path_;
  UniqueFd fd_;
};

class OciCli final : public RuntimeBackend {
 public:
  explicit OciCli(const core::container::ShimOptions& o)
      : path_(o.runtime), args_(o.runtime_args), id_(o.id), bundle_(o.bundle), state_(o.state_dir) {
    auto slash = path_.rfind('/');
    name_ = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  }

  Result<runtime::Process> create(const runtime::Stdio& stdio, bool tty) override {
    std::string pid_file = state_ + "/runtime.pid";
    ::unlink(pid_file.c_str());
    std::vector<std::string> verb = {"create", "--bundle", bundle_, "--pid-file", pid_file};
    ConsoleSocket console;
    if (tty) {
      BERTH_TRY(auto path, console.listen(state_ + "/console.sock"));
      verb.insert(verb.end(), {"--console-socket", path});
    }
    verb.push_back(id_);
    if (auto r = run(verb, tty ? runtime::Stdio{} : stdio); !r) {
      (void)run({"delete", "--force", id_}, {});
      return std::move(r).error();
    }
    runtime::Process p;
    if (tty) {
      auto master = console.receive();
      if (!master) {
        (void)run({"delete", "--force", id_}, {});
        return std::move(master).error();
      }
      p.console_master = master.value();
    }
    p.pid = read_pid(pid_file);
    ::unlink(pid_file.c_str());
    auto fail = [&](core::Error e) -> core::Error {
      if (p.console_master >= 0) ::close(p.console_master);
      (void)run({"delete", "--force", id_}, {});
      return e;
    };
    if (p.pid <= 0) return fail(make_error(Errc::internal, name_ + " create wrote no pid file"));
    if (auto r = run({"start", id_}, {}); !r) return fail(std::move(r).error());
    return p;
  }

  Result<runtime::Process> exec(pid_t, const json::value& process,
                                const runtime::Stdio& stdio) override {
    std::string n = std::to_string(++execs_);
    std::string process_file = state_ + "/exec-" + n + ".json", pid_file = state_ + "/exec-" + n + ".pid";
    BERTH_TRY(core::container::shim_protocol::write_atomic(process_file, json::serialize(process)));
    struct Remove {
      std::string a, b;
      ~Remove() {
        ::unlink(a.c_str());
        ::unlink(b.c_str());
      }
    } remove{process_file, pid_file};
    bool tty = false;
    if (const auto* o = process.if_object()) {
      if (const auto* t = o->if_contains("terminal")) tty = t->is_bool() && t->get_bool();
    }
    std::vector<std::string> verb = {"exec", "--process", process_file, "--detach", "--pid-file", pid_file};
    ConsoleSocket console;
    if (tty) {
      BERTH_TRY(auto path, console.listen(state_ + "/console-exec.sock"));
      verb.insert(verb.end(), {"--console-socket", path});
    }
    verb.push_back(id_);
    BERTH_TRY(run(verb, tty ? runtime::Stdio{} : stdio));
    runtime::Process p;
    if (tty) {
      BERTH_TRY(p.console_master, console.receive());
    }
    p.pid = read_pid(pid_file);
    if (p.pid <= 0) {
      if (p.console_master >= 0) ::close(p.console_master);
      return make_error(Errc::internal, name_ + " exec wrote no pid file");
    }
    return p;
  }

  Result<void> destroy() override { return run({"delete", "--force", id_}, {}); }

 private:
  static pid_t read_pid(const std::string& file) {
    std::string text = read_text(file);
    return text.empty() ? -1 : static_cast<pid_t>(std::atol(text.c_str()));
  }

  // The runtime's last error from its JSON log ({"level", "msg"} lines).
  std::string logged_error(const std::string& log) const {
    std::string text = read_text(log), last;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      boost::system::error_code ec;
      json::value v = json::parse(std::string_view(text).substr(start, end - start), ec);
      if (!ec && v.is_object()) {
        const auto* msg = v.as_object().if_contains("msg");
        if (msg != nullptr && msg->is_string()) last = std::string(msg->get_string());
      } else if (end > start) {
        last = text.substr(start, end - start);
      }
      start = end + 1;
    }
    return last;
  }

  Result<void> run(const std::vector<std::string>& verb, const runtime::Stdio& stdio) {
    std::string log = state_ + "/runtime.log";
    UniqueFd truncate(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    std::vector<std::string> args = {path_};
    args.insert(args.end(), args_.begin(), args_.end());
    args.insert(args.end(), {"--log=" + log, "--log-format=json"});
    args.insert(args.end(), verb.begin(), verb.end());
    BERTH_TRY(pid_t pid, core::container::shim_protocol::spawn(
                             args, {{stdio.in, 0}, {stdio.out, 1}, {stdio.err, 2}}));
    int status = wait_with_timeout(pid, kCommandTimeoutMs);
    if (status == 0) return ok();
    std::string why = logged_error(log);
    return make_error(Errc::internal, name_ + " " + verb.front() + " failed: " +
                                          (why.empty() ? describe_status(status) : why));
  }

  std::string path_, name_;
  std::vector<std::string> args_;
  std::string id_, bundle_, state_;
  unsigned execs_ = 0;
};

#ifdef BERTH_SHIM_NATIVE_RUNTIME
class Native final : public RuntimeBackend {
 public:
  explicit Native(const core::container::ShimOptions& o)
      : id_(o.id), bundle_(o.bundle), state_(o.state_dir) {}

  Result<runtime::Process> create(const runtime::Stdio& stdio, bool) override {
    return runtime::create(runtime::CreateOptions{id_, bundle_, state_, stdio});
  }
  Result<runtime::Process> exec(pid_t init_pid, const json::value& process,
                                const runtime::Stdio& stdio) override {
    return runtime::exec(bundle_, state_, init_pid, process, stdio);
  }
  Result<void> destroy() override { return runtime::destroy(bundle_, state_); }

 private:
  std::string id_, bundle_, state_;
};
#else
// A build without the native runtime library (its sources not there yet).
class Native final : public RuntimeBackend {
 public:
  explicit Native(const core::container::ShimOptions&) {}
  Result<runtime::Process> create(const runtime::Stdio&, bool) override { return missing(); }
  Result<runtime::Process> exec(pid_t, const json::value&, const runtime::Stdio&) override {
    return missing();
  }
  Result<void> destroy() override { return ok(); }

 private:
  static core::Error missing() {
    return make_error(Errc::unsupported, "the native runtime is not built into this berth-shim");
  }
};
#endif

}  // namespace

std::unique_ptr<RuntimeBackend> make_runtime(const core::container::ShimOptions& options) {
  if (options.runtime == "native") return std::make_unique<Native>(options);
  return std::make_unique<OciCli>(options);
}

}  // namespace berth::shim
