#include "harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace berth::testing {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string berthd_path() { return BERTH_TEST_BERTHD; }
std::string berth_path() { return BERTH_TEST_BERTH; }

CommandResult run_on_terminal(const std::vector<std::string>& argv,
                              const std::map<std::string, std::string>& env,
                              unsigned short columns, const std::vector<TerminalStep>& dialogue) {
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    if (env.count(kv.substr(0, kv.find('='))) == 0) envs.push_back(kv);
  }
  for (const auto& [k, v] : env) {
    if (!v.empty()) envs.push_back(k + "=" + v);
  }
  std::vector<char*> c_argv, c_env;
  std::vector<std::string> args = argv;
  for (auto& a : args) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  for (auto& e : envs) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  winsize ws{};
  ws.ws_col = columns;
  ws.ws_row = 40;
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
  if (pid < 0) return {};
  if (pid == 0) {
    termios t{};
    ::tcgetattr(STDOUT_FILENO, &t);
    t.c_oflag &= ~static_cast<tcflag_t>(OPOST);
    ::tcsetattr(STDOUT_FILENO, TCSANOW, &t);
    ::execve(c_argv[0], c_argv.data(), c_env.data());
    ::_exit(127);
  }
  CommandResult result;
  std::size_t step = 0, answered_up_to = 0;
  int status = 0;
  bool reaped = false;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        reaped = true;
        break;
      }
      continue;
    }
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO: the child closed the terminal
    result.out.append(buf, static_cast<std::size_t>(n));
    if (step < dialogue.size()) {
      auto at = result.out.find(dialogue[step].prompt, answered_up_to);
      if (at != std::string::npos) {
        const std::string& answer = dialogue[step].answer;
        if (::write(master, answer.data(), answer.size()) < 0) break;
        answered_up_to = at + dialogue[step].prompt.size();
        ++step;
      }
    }
  }
  // The terminal closes a moment before the process is gone.
  for (int i = 0; !reaped && i < 100; ++i) {
    reaped = ::waitpid(pid, &status, WNOHANG) == pid;
    if (!reaped) std::this_thread::sleep_for(20ms);
  }
  if (!reaped) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  ::close(master);
  return result;
}

TempDir::TempDir(const std::string& name) {
  std::string tmpl = "/tmp/berth-test-" + name + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl);
  path_ = tmpl;
}

namespace {

// Lazily unmounts whatever a failed test left mounted at or below `dir`,
// newest first: remove_all would otherwise delete through the mount (a bind
// mount's source, a storage layer's files). Mount points with escaped
// characters (spaces) are not matched; test directories have none.
void detach_mounts_under(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> targets;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, target;
    fields >> id >> parent >> device >> root >> target;
    if (target == dir || target.starts_with(dir + "/")) targets.push_back(target);
  }
  for (auto it = targets.rbegin(); it != targets.rend(); ++it) {
    ::umount2(it->c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
  }
}

// Processes whose command line names `dir` (the shims of a daemon rooted
// there carry their state dir in argv), killed.
void kill_processes_naming(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_file(entry.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(dir + "/") != std::string::npos) ::kill(std::stoi(name), SIGKILL);
  }
}

// The cgroups named `leaf` directly under each hierarchy (a test daemon's
// --cgroup-parent): their processes killed (thawed first), then removed.
void remove_cgroups_named(const std::string& leaf) {
  std::error_code ec;
  std::vector<fs::path> roots;
  for (const auto& h : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    if (fs::is_directory(h.path() / leaf, ec)) roots.push_back(h.path() / leaf);
  }
  if (fs::is_directory(fs::path("/sys/fs/cgroup") / leaf, ec)) roots.push_back(fs::path("/sys/fs/cgroup") / leaf);
  for (const auto& root : roots) {
    std::vector<fs::path> dirs{root};
    for (const auto& d : fs::recursive_directory_iterator(root, ec)) {
      if (d.is_directory(ec)) dirs.push_back(d.path());
    }
    for (const auto& d : dirs) {
      std::ofstream((d / "freezer.state").string()) << "THAWED";  // v1; fails quietly elsewhere
      std::ofstream((d / "cgroup.freeze").string()) << "0";       // v2
      std::istringstream procs(read_file((d / "cgroup.procs").string()));
      for (pid_t pid = 0; procs >> pid;) ::kill(pid, SIGKILL);
    }
    // Deepest first; a cgroup empties a moment after its processes die.
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      for (int i = 0; i < 100 && ::rmdir(it->c_str()) != 0 && errno == EBUSY; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
}

}  // namespace

TempDir::~TempDir() {
  kill_processes_naming(path_);
  remove_cgroups_named(fs::path(path_).filename().string());
  detach_mounts_under(path_);
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out.flush()) throw std::runtime_error("write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

std::vector<std::string> make_env(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) {
    if (v.empty()) {
      vars.erase(k);
    } else {
      vars[k] = v;
    }
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_array(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

pid_t spawn(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
            int in_fd, int out_fd, int err_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (in_fd >= 0) posix_spawn_file_actions_adddup2(&actions, in_fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  // A new process group, so teardown can signal the whole tree.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  auto envs = make_env(env);
  auto c_argv = c_array(argv);
  auto c_env = c_array(envs);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, c_argv[0], &actions, &attr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("spawn " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

// Waits for `pid` up to `timeout`; returns the raw status or nullopt.
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return std::nullopt;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -WTERMSIG(status);
}

}  // namespace

CommandResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                  const std::string& input, std::chrono::seconds timeout) {
  TempDir io("run");
  std::string in_path = io / "in", out_path = io / "out", err_path = io / "err";
  write_file(in_path, input);
  int in_fd = ::open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
  int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  pid_t pid = spawn(argv, env, in_fd, out_fd, err_fd);
  ::close(in_fd);
  ::close(out_fd);
  ::close(err_fd);
  CommandResult result;
  auto status = wait_for(pid, timeout);
  if (!status) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    result.exit_code = -1;
  } else {
    result.exit_code = exit_code(*status);
  }
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  return result;
}

Daemon::Daemon(Options options) {
  if (options.root.empty()) {
    own_root_.emplace("daemon");
    root_ = own_root_->path();
  } else {
    root_ = options.root;
  }
  // Container cgroups go under one named after the root, which the root's
  // TempDir removes.
  std::vector<std::string> argv{berthd_path(),   "--data-root",     data_root(),
                                "--exec-root",   exec_root(),       "--config-file",
                                root_ + "/daemon.json", "--cgroup-parent", "/" + fs::path(root_).filename().string()};
  if (!fs::exists(root_ + "/daemon.json")) write_file(root_ + "/daemon.json", "{}\n");
  if (!options.networking) {
    for (const char* a : {"--bridge", "none", "--ip-forward=false"}) argv.emplace_back(a);
  }
  if (options.unix_socket) {
    argv.push_back("-H");
    argv.push_back(host());
  }
  argv.insert(argv.end(), options.args.begin(), options.args.end());
  argv.insert(argv.begin(), options.launcher.begin(), options.launcher.end());
  std::string log_path = root_ + "/berthd.log";
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  log_offset_ = fs::exists(log_path) ? static_cast<std::size_t>(fs::file_size(log_path)) : 0;
  pid_ = spawn(argv, {}, null_fd, log_fd, log_fd);
  ::close(log_fd);
  ::close(null_fd);
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (log().find("] berthd ") != std::string::npos &&
        log().find(" started: ") != std::string::npos) {
      started_ = true;
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_status_ = exit_code(status);
      return;
    }
    std::this_thread::sleep_for(20ms);
  }
}

Daemon::~Daemon() {
  if (!exited_) stop(SIGTERM);
}

int Daemon::stop(int sig, std::chrono::seconds timeout) {
  if (exited_) return exit_status_;
  ::kill(pid_, sig);
  auto status = wait_for(pid_, timeout);
  if (!status) {
    ::kill(-pid_, SIGKILL);
    status = wait_for(pid_, 10s);
  }
  exited_ = true;
  exit_status_ = status ? exit_code(*status) : -SIGKILL;
  return exit_status_;
}

std::string Daemon::log() const {
  std::string all = read_file(root_ + "/berthd.log");
  return log_offset_ <= all.size() ? all.substr(log_offset_) : all;
}

std::vector<std::string> Daemon::tcp_endpoints() const {
  std::vector<std::string> out;
  std::string text = log();
  const std::string marker = "API listening on tcp://";
  for (auto pos = text.find(marker); pos != std::string::npos; pos = text.find(marker, pos + 1)) {
    auto start = pos + marker.size() - 6;
    auto end = text.find_first_of(" \n", start);
    out.push_back(text.substr(start, end - start));
  }
  return out;
}

CommandResult Daemon::berth(std::vector<std::string> args, const std::string& input) const {
  args.insert(args.begin(), {berth_path(), "-H", host()});
  return run(args, {{"BERTH_HOST", ""}, {"DOCKER_HOST", ""}, {"BERTH_CONFIG", cli_config()}},
             input);
}

Daemon::ApiAnswer Daemon::api(const std::string& method, const std::string& path,
                              const std::string& body, const std::string& content_type) const {
  TempDir io("api");
  std::vector<std::string> argv{"curl", "-sS", "--max-time", "60", "--unix-socket", socket(),
                                "-X", method, "-o", io / "body", "-w", "%{http_code}"};
  if (!body.empty()) {
    write_file(io / "request", body);
    argv.insert(argv.end(),
                {"-H", "Content-Type: " + content_type, "--data-binary", "@" + (io / "request")});
  }
  argv.push_back("http://berth/v1.43" + path);
  auto r = run(argv);
  return {std::atoi(r.out.c_str()), read_file(io / "body")};
}

std::string raw_exchange(const std::string& socket_path, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect " + socket_path + ": " + std::strerror(errno));
  }
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the daemon may close early on garbage; that is fine
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return reply;
}

Background::Background(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  try {
    pid_ = spawn(argv, env, null_fd, fds[1], fds[1]);
  } catch (...) {
    ::close(null_fd);
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  ::close(null_fd);
  ::close(fds[1]);
  out_ = fds[0];
}

Background::~Background() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_ >= 0) ::close(out_);
}

const std::string& Background::read_until(const std::string& text, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (out_ >= 0 && output_.find(text) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 100))) <= 0) continue;
    ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) {
      ::close(out_);
      out_ = -1;
      break;
    }
    output_.append(buf, static_cast<std::size_t>(n));
  }
  return output_;
}

int Background::stop(int sig, std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  auto status = wait_for(pid_, timeout);
  if (!status) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
  // The rest of its output: a text that never comes reads to the end of
  // the pipe (bounded, should a child of it still hold the pipe).
  read_until(std::string(1, '\0'), 1s);
  return status ? exit_code(*status) : -1;
}

}  // namespace berth::testing
