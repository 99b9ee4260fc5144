#include "process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

namespace berth::runtime::detail {
namespace {

int last_capability() {
  auto text = try_read("/proc/sys/kernel/cap_last_cap");
  if (!text) return CAP_LAST_CAP;
  try {
    return std::stoi(*text);
  } catch (...) {
    return CAP_LAST_CAP;
  }
}

std::string rlimit_text(rlim_t v) { return v == RLIM_INFINITY ? "unlimited" : std::to_string(v); }

Error user_error(std::string message) { return Error{Errc::invalid_argument, std::move(message)}; }

// Go's findExecutable: exists, not a directory, executable for us.
int find_executable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if (::faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) == 0) return 0;
  if (errno != ENOSYS && errno != EPERM) return errno;
  return (st.st_mode & 0111) != 0 ? 0 : EACCES;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

const std::string* env_value(const std::vector<std::string>& env, std::string_view name) {
  for (const std::string& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      return &e;
    }
  }
  return nullptr;
}

// The home directory of `uid` in the container's /etc/passwd, "/" without.
std::string home_of(uid_t uid) {
  std::ifstream in("/etc/passwd");
  for (std::string line; std::getline(in, line);) {
    const auto f = split(line, ':');
    if (f.size() >= 6 && f[2] == std::to_string(uid) && !f[5].empty()) return f[5];
  }
  return "/";
}

// runc's fixStdioPermissions: a non-root process must own its stdio to
// reopen it (/dev/stdout, /proc/self/fd/1). /dev/null stays as it is, and
// a chown the kernel refuses is skipped.
void own_stdio(uid_t uid, gid_t gid) {
  struct stat null_st {};
  const bool have_null = ::stat("/dev/null", &null_st) == 0;
  for (int fd = 0; fd <= 2; ++fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) continue;
    if (have_null && S_ISCHR(st.st_mode) && st.st_rdev == null_st.st_rdev) continue;
    if (st.st_uid == uid && st.st_gid == gid) continue;
    (void)::fchown(fd, uid, gid);
  }
}

Result<void> capset(const CapabilitySets& sets) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    const int shift = 32 * i;
    data[i].effective = static_cast<std::uint32_t>(sets.effective >> shift);
    data[i].permitted = static_cast<std::uint32_t>(sets.permitted >> shift);
    data[i].inheritable = static_cast<std::uint32_t>(sets.inheritable >> shift);
  }
  if (::syscall(SYS_capset, &header, data) != 0) return sys_error("set capabilities");
  return core::ok();
}

Result<void> set_identity(const ProcessSpec& p) {
  const int last = last_capability();
  if (p.capabilities) {
    for (int cap = 0; cap <= last; ++cap) {
      if ((p.capabilities->bounding >> cap) & 1) continue;
      if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
          ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
        return sys_error("drop capability " + std::to_string(cap) + " from the bounding set");
      }
    }
  }
  // A user namespace joined with setgroups denied refuses setgroups(2);
  // then the groups stay as they are (none beyond the mapped gid anyway).
  if (::setgroups(p.additional_gids.size(), p.additional_gids.data()) != 0) {
    const int err = errno;
    const bool denied =
        err == EPERM && try_read("/proc/self/setgroups").value_or("").starts_with("deny");
    if (!denied) return sys_error("setgroups", err);
  }
  if (::setresgid(p.gid, p.gid, p.gid) != 0) return sys_error("setgid " + std::to_string(p.gid));
  if (p.capabilities && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
    return sys_error("keep capabilities");
  if (::setresuid(p.uid, p.uid, p.uid) != 0) return sys_error("setuid " + std::to_string(p.uid));
  if (!p.capabilities) return core::ok();
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return sys_error("clear keep-capabilities");
  BERTH_TRY(capset(*p.capabilities));
  for (int cap = 0; cap <= last; ++cap) {
    if (((p.capabilities->ambient >> cap) & 1) &&
        ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) {
      return sys_error("raise ambient capability " + std::to_string(cap));
    }
  }
  return core::ok();
}

void reset_signals() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    (void)::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  (void)::sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

Result<void> setup_stdio(const Stdio& stdio) {
  Fd null_fd;
  const int given[3] = {stdio.in, stdio.out, stdio.err};
  Fd high[3];
  // Copies above 2 first: one of the given descriptors may itself be 0-2.
  for (int i = 0; i < 3; ++i) {
    int source = given[i];
    if (source < 0) {
      if (!null_fd) null_fd.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
      if (!null_fd) return sys_error("open /dev/null");
      source = null_fd.get();
    }
    high[i].reset(::fcntl(source, F_DUPFD_CLOEXEC, 3));
    if (!high[i]) return sys_error("duplicate stdio descriptor " + std::to_string(source));
  }
  for (int i = 0; i < 3; ++i) {
    if (::dup2(high[i].get(), i) < 0) return sys_error("dup2 stdio");
  }
  return core::ok();
}

Result<Console> open_console(unsigned short rows, unsigned short cols) {
  Console c;
  c.master.reset(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!c.master) return sys_error("open /dev/ptmx");
  int unlock = 0;
  if (::ioctl(c.master.get(), TIOCSPTLCK, &unlock) != 0) return sys_error("unlock the pty");
  int index = -1;
  if (::ioctl(c.master.get(), TIOCGPTN, &index) != 0) return sys_error("get the pty number");
  c.slave_path = "/dev/pts/" + std::to_string(index);
  c.slave.reset(::ioctl(c.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!c.slave) c.slave.reset(::open(c.slave_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!c.slave) return sys_error("open " + c.slave_path);
  if (rows != 0 && cols != 0) {
    winsize ws{};
    ws.ws_row = rows;
    ws.ws_col = cols;
    if (::ioctl(c.master.get(), TIOCSWINSZ, &ws) != 0) return sys_error("set the console size");
  }
  return c;
}

Result<void> use_console(Console& c) {
  if (::ioctl(c.slave.get(), TIOCSCTTY, 0) != 0) return sys_error("set the controlling terminal");
  for (int fd = 0; fd <= 2; ++fd) {
    if (::dup2(c.slave.get(), fd) < 0) return sys_error("dup2 the console");
  }
  return core::ok();
}

Result<void> apply_rlimits(const std::vector<RlimitSpec>& rlimits) {
  for (const RlimitSpec& r : rlimits) {
    const rlimit want{r.soft, r.hard};
    if (::setrlimit(static_cast<__rlimit_resource_t>(r.resource), &want) == 0) continue;
    const int err = errno;
    rlimit have{};
    (void)::getrlimit(static_cast<__rlimit_resource_t>(r.resource), &have);
    std::string message = "setrlimit " + r.name + " (soft " + rlimit_text(r.soft) + ", hard " +
                          rlimit_text(r.hard) + ")";
    if (err == EPERM && r.hard > have.rlim_max) {
      return Error{Errc::permission_denied, message + ": the hard limit cannot be raised above " +
                                                rlimit_text(have.rlim_max) +
                                                " without CAP_SYS_RESOURCE"};
    }
    return sys_error(message, err);
  }
  return core::ok();
}

Result<std::string> look_path(const std::string& file, const std::vector<std::string>& env) {
  if (file.find('/') != std::string::npos) {
    const int err = find_executable(file);
    if (err == 0) return file;
    if (err == ENOENT || err == ENOTDIR) {
      return user_error("exec: " + quoted(file) + ": stat " + file + ": " + errno_text(err));
    }
    return user_error("exec: " + quoted(file) + ": " + errno_text(err));
  }
  const std::string* path = env_value(env, "PATH");
  if (path != nullptr && !file.empty()) {
    for (std::string dir : split(std::string_view(*path).substr(5), ':')) {
      if (dir.empty()) dir = ".";
      const std::string candidate = dir + "/" + file;
      if (find_executable(candidate) == 0) return candidate;
    }
  }
  return user_error("exec: " + quoted(file) + ": executable file not found in $PATH");
}

Result<void> finish_and_exec(const ProcessSpec& p, const SeccompFilter& seccomp) {
  ::umask(p.umask.value_or(022));
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return sys_error("set no_new_privs");
  }
  if (!p.no_new_privileges) {
    BERTH_TRY(seccomp.load());
  }
  if (p.uid != 0) own_stdio(p.uid, p.gid);
  // The working directory is entered before the ids change when it can be
  // (a directory only root may enter), else after (root squashed by NFS).
  const bool in_cwd = ::chdir(p.cwd.c_str()) == 0;
  BERTH_TRY(set_identity(p));
  if (!in_cwd && ::chdir(p.cwd.c_str()) != 0) {
    return user_error("chdir to cwd (" + quoted(p.cwd) +
                      ") set in config.json failed: " + errno_text(errno));
  }
  std::vector<std::string> env = p.env;
  if (env_value(env, "HOME") == nullptr) env.push_back("HOME=" + home_of(p.uid));
  BERTH_TRY(const std::string path, look_path(p.args.front(), env));
  if (p.no_new_privileges) {
    BERTH_TRY(seccomp.load());
  }
  std::vector<char*> argv, envp;
  for (const std::string& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  reset_signals();
  // Nothing of the caller's leaks into the container.
  (void)::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(path.c_str(), argv.data(), envp.data());
  const int err = errno;
  return Error{Errc::invalid_argument, "exec " + path + ": " + errno_text(err)};
}

std::uint64_t available_capabilities() {
  std::uint64_t mask = 0;
  const int last = std::min(last_capability(), 63);
  for (int cap = 0; cap <= last; ++cap) {
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) mask |= std::uint64_t{1} << cap;
  }
  return mask;
}

Result<void> check_capabilities(ProcessSpec& p) {
  if (!p.capabilities) return core::ok();
  const int last = std::min(last_capability(), 63);
  const std::uint64_t known = last >= 63 ? ~std::uint64_t{0} : (std::uint64_t{1} << (last + 1)) - 1;
  CapabilitySets& s = *p.capabilities;
  for (std::uint64_t* set : {&s.bounding, &s.effective, &s.inheritable, &s.permitted, &s.ambient}) {
    *set &= known;
  }
  const std::uint64_t missing =
      (s.bounding | s.effective | s.inheritable | s.permitted | s.ambient) &
      ~available_capabilities();
  if (missing == 0) return core::ok();
  std::string names;
  for (int cap = 0; cap < 64; ++cap) {
    if ((missing >> cap) & 1) names += (names.empty() ? "" : ", ") + capability_name(cap);
  }
  return Error{Errc::failed_precondition,
               "the runtime does not hold " + names + " (not in its bounding set)"};
}

}  // namespace berth::runtime::detail
