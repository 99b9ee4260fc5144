#include "berth/runtime/native.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>

#include "berth/runtime/cgroups.hpp"
#include "process.hpp"
#include "rootfs.hpp"
#include "seccomp.hpp"
#include "spec.hpp"
#include "sync.hpp"
#include "sys.hpp"

namespace berth::runtime {
namespace {

namespace json = boost::json;
using detail::Errc;
using detail::Error;
using detail::Fd;
using detail::Msg;
using detail::sys_error;

// What the container process does once it runs; it lives in the caller's
// memory and reaches the child as a copy (fork, then clone without
// CLONE_VM), so the child needs no parsing of its own.
struct ChildPlan {
  const detail::Spec* spec = nullptr;
  const detail::ProcessSpec* process = nullptr;
  const detail::SeccompFilter* seccomp = nullptr;
  bool is_exec = false;
  int sync = -1;  // the children's end of the socketpair
  Stdio stdio;
  detail::CgroupView cgroups;
  bool new_cgroupns = false;
  bool new_userns = false;
  bool set_hostname = false;
};

// A namespace the helper enters before it clones the container process.
struct Join {
  int flag = 0;
  std::string path;
  Fd fd;
};

constexpr std::size_t child_stack_size = 1 << 20;

Result<void> child_setup(const ChildPlan& plan) {
  const detail::ProcessSpec& p = *plan.process;
  if (::setsid() < 0) return sys_error("setsid");
  // Cloned into a new user namespace, the process still has the host's ids
  // (unmapped there, so it could not even create files): become the mapped
  // root, now that the caller wrote the maps.
  if (plan.new_userns && (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0)) {
    return sys_error("become root in the user namespace");
  }
  if (!plan.is_exec) {
    // After the cgroup join, so that the namespace's root is the container's cgroup.
    if (plan.new_cgroupns && ::unshare(CLONE_NEWCGROUP) != 0) {
      return sys_error("unshare the cgroup namespace");
    }
    if (!p.terminal) {
      BERTH_TRY(detail::setup_stdio(plan.stdio));
    }
    BERTH_TRY(detail::prepare_rootfs(*plan.spec, plan.cgroups));
    BERTH_TRY(detail::enter_rootfs(plan.spec->root));
  } else if (!p.terminal) {
    BERTH_TRY(detail::setup_stdio(plan.stdio));
  }
  if (p.terminal) {
    BERTH_TRY(auto console, detail::open_console(p.rows, p.cols));
    if (!plan.is_exec) {
      BERTH_TRY(detail::bind_console(console.slave_path));
    }
    BERTH_TRY(detail::send_msg(plan.sync, Msg::console, {}, console.master.get()));
    console.master.reset();
    BERTH_TRY(detail::use_console(console));
  }
  if (!plan.is_exec) {
    const detail::Spec& s = *plan.spec;
    if (plan.set_hostname) {
      if (!s.hostname.empty() && ::sethostname(s.hostname.data(), s.hostname.size()) != 0) {
        return sys_error("sethostname " + s.hostname);
      }
      if (!s.domainname.empty() && ::setdomainname(s.domainname.data(), s.domainname.size()) != 0) {
        return sys_error("setdomainname " + s.domainname);
      }
    }
    BERTH_TRY(detail::write_sysctls(s.sysctl));
    BERTH_TRY(detail::make_readonly_paths(s.readonly_paths));
    BERTH_TRY(detail::mask_paths(s.masked_paths));
    if (s.root_readonly) {
      BERTH_TRY(detail::remount_root_readonly());
    }
  }
  BERTH_TRY(detail::apply_rlimits(p.rlimits));
  return detail::finish_and_exec(p, *plan.seccomp);
}

// The container process: waits for "go", sets itself up, execs. Anything
// that fails before execve goes back to the caller as text.
int child_main(void* arg) {
  const ChildPlan& plan = *static_cast<const ChildPlan*>(arg);
  auto go = detail::recv_msg(plan.sync);
  if (!go || go.value().eof || go.value().kind != Msg::go) ::_exit(1);  // the caller gave up
  auto r = child_setup(plan);
  detail::send_error(plan.sync, r ? Error{Errc::internal, "container setup returned"} : r.error());
  ::_exit(1);
}

// The helper, forked from the caller (so single-threaded): enters the joined
// namespaces (a PID namespace only applies to children), clones the
// container process as the caller's child (CLONE_PARENT), reports its PID.
[[noreturn]] void run_helper(const ChildPlan& plan, const std::vector<Join>& joins,
                             int clone_flags) {
  for (const Join& j : joins) {
    if (::setns(j.fd.get(), j.flag) != 0) {
      detail::send_error(plan.sync, sys_error("join namespace " + j.path));
      ::_exit(1);
    }
  }
  void* stack = ::mmap(nullptr, child_stack_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    detail::send_error(plan.sync, sys_error("allocate the child's stack"));
    ::_exit(1);
  }
  const pid_t pid = ::clone(child_main, static_cast<char*>(stack) + child_stack_size,
                            clone_flags | CLONE_PARENT | SIGCHLD, const_cast<ChildPlan*>(&plan));
  if (pid < 0) {
    detail::send_error(plan.sync, sys_error("clone the container process"));
    ::_exit(1);
  }
  (void)detail::send_msg(plan.sync, Msg::pid, std::to_string(pid));
  ::_exit(0);
}

void reap(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// A started container process, waiting for "go".
struct Started {
  pid_t pid = -1;
  Fd sync;

  // Kills and reaps the process (a failed start).
  void abandon() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      reap(pid);
      pid = -1;
    }
  }
};

Fd above_stdio(int fd) {
  Fd owned(fd);
  if (fd > 2) return owned;
  return Fd(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
}

Result<Started> start(ChildPlan& plan, const std::vector<Join>& joins, int clone_flags) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return sys_error("create the runtime's sync socket");
  }
  // Never 0-2: the child moves the container's stdio there.
  Fd mine = above_stdio(sv[0]);
  Fd theirs = above_stdio(sv[1]);
  if (!mine || !theirs) return sys_error("duplicate the sync socket");
  plan.sync = theirs.get();
  const pid_t helper = ::fork();
  if (helper < 0) return sys_error("fork");
  if (helper == 0) {
    ::close(mine.get());
    run_helper(plan, joins, clone_flags);
  }
  theirs.reset();
  auto first = detail::recv_msg(mine.get());
  reap(helper);
  BERTH_TRY(auto msg, std::move(first));
  if (msg.eof) return Error{Errc::internal, "the runtime's helper process died"};
  if (msg.kind == Msg::error) return detail::decode_error(msg.payload);
  Started s;
  s.pid = static_cast<pid_t>(std::stol(msg.payload));
  s.sync = std::move(mine);
  return s;
}

// Sends "go" and waits until the process exec'd: EOF on the sync socket.
// Returns the console master when the process has a terminal.
Result<Fd> run_to_exec(Started& s) {
  BERTH_TRY(detail::send_msg(s.sync.get(), Msg::go));
  Fd console;
  for (;;) {
    BERTH_TRY(auto msg, detail::recv_msg(s.sync.get()));
    if (msg.eof) return console;
    if (msg.kind == Msg::console) console = std::move(msg.fd);
    if (msg.kind == Msg::error) return detail::decode_error(msg.payload);
  }
}

Result<Join> open_namespace(int flag, const std::string& path) {
  Join j;
  j.flag = flag;
  j.path = path;
  j.fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!j.fd) return sys_error("open namespace " + path);
  return j;
}

// Whether `fd` is the namespace the caller is already in (setns into one's
// own user namespace is refused, and the others are no-ops).
bool is_own_namespace(const Join& j) {
  struct stat target {
  }, own{};
  const std::string mine = std::string("/proc/self/ns/") + detail::proc_ns_name(j.flag);
  return ::fstat(j.fd.get(), &target) == 0 && ::stat(mine.c_str(), &own) == 0 &&
         target.st_dev == own.st_dev && target.st_ino == own.st_ino;
}

// setns order: the user namespace first (it grants the rights for the
// others), the mount namespace last (it changes the root).
int join_rank(int flag) {
  if (flag == CLONE_NEWUSER) return 0;
  if (flag == CLONE_NEWNS) return 2;
  return 1;
}

void sort_joins(std::vector<Join>& joins) {
  std::stable_sort(joins.begin(), joins.end(), [](const Join& a, const Join& b) {
    return join_rank(a.flag) < join_rank(b.flag);
  });
}

Result<void> write_id_map(pid_t pid, const char* file, const std::vector<detail::IdMapping>& maps) {
  std::string text;
  for (const auto& m : maps) {
    text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
            std::to_string(m.size) + "\n";
  }
  return detail::write_existing("/proc/" + std::to_string(pid) + "/" + file, text);
}

std::string state_file(const std::string& state_dir) { return state_dir + "/native.json"; }

// The cgroup a container was created in: from the state file create()
// wrote, else the spec's linux.cgroupsPath.
std::string recorded_cgroup(const std::string& bundle, const std::string& state_dir) {
  if (auto text = detail::try_read(state_file(state_dir))) {
    boost::system::error_code ec;
    json::value v = json::parse(*text, ec);
    if (!ec && v.is_object()) {
      if (const json::value* p = v.as_object().if_contains("cgroupsPath"); p && p->is_string()) {
        return std::string(p->as_string());
      }
    }
  }
  if (auto spec = detail::load_spec(bundle)) return spec.value().cgroups_path;
  return {};
}

}  // namespace

Result<Process> create(const CreateOptions& options) {
  BERTH_TRY(detail::Spec spec, detail::load_spec(options.bundle));
  if (spec.find_namespace(CLONE_NEWNS) == nullptr) {
    return Error{Errc::invalid_argument, "linux.namespaces must include a mount namespace"};
  }
  BERTH_TRY(detail::check_capabilities(spec.process));
  BERTH_TRY(detail::SeccompFilter seccomp, detail::build_seccomp(spec.seccomp));
  const std::string cgroup_path =
      spec.cgroups_path.empty() ? "/berth/" + options.id : spec.cgroups_path;

  int clone_flags = 0;
  std::vector<Join> joins;
  for (const detail::NamespaceSpec& ns : spec.namespaces) {
    if (!ns.path.empty()) {
      BERTH_TRY(Join j, open_namespace(ns.flag, ns.path));
      if (!is_own_namespace(j)) joins.push_back(std::move(j));
    } else if (ns.flag != CLONE_NEWCGROUP) {
      clone_flags |= ns.flag;
    }
  }
  sort_joins(joins);

  ChildPlan plan;
  plan.spec = &spec;
  plan.process = &spec.process;
  plan.seccomp = &seccomp;
  plan.stdio = options.stdio;
  const detail::NamespaceSpec* cgroupns = spec.find_namespace(CLONE_NEWCGROUP);
  plan.new_cgroupns = cgroupns != nullptr && cgroupns->path.empty();
  plan.cgroups = detail::CgroupView{cgroups::hierarchies(), cgroup_path, cgroupns != nullptr};
  const detail::NamespaceSpec* uts = spec.find_namespace(CLONE_NEWUTS);
  plan.set_hostname = uts != nullptr && uts->path.empty();
  plan.new_userns = (clone_flags & CLONE_NEWUSER) != 0;

  BERTH_TRY(Started started, start(plan, joins, clone_flags));
  auto failed = [&](Error e, bool cgroup_made) {
    started.abandon();
    if (cgroup_made) (void)cgroups::remove(cgroup_path);
    return e;
  };
  if (clone_flags & CLONE_NEWUSER) {
    if (auto r = write_id_map(started.pid, "uid_map", spec.uid_mappings); !r) {
      return failed(std::move(r).error().wrap("write uid_map"), false);
    }
    if (auto r = write_id_map(started.pid, "gid_map", spec.gid_mappings); !r) {
      return failed(std::move(r).error().wrap("write gid_map"), false);
    }
  }
  if (auto r = cgroups::create(cgroup_path, spec.resources, started.pid); !r) {
    return failed(std::move(r).error(), false);
  }
  if (spec.process.oom_score_adj) {
    auto r = detail::write_existing("/proc/" + std::to_string(started.pid) + "/oom_score_adj",
                                    std::to_string(*spec.process.oom_score_adj));
    if (!r) return failed(std::move(r).error(), true);
  }
  auto console = run_to_exec(started);
  if (!console) return failed(std::move(console).error(), true);

  json::object state{{"id", options.id}, {"pid", started.pid}, {"cgroupsPath", cgroup_path}};
  if (auto r = detail::write_atomic(state_file(options.state_dir), json::serialize(state)); !r) {
    return failed(std::move(r).error(), true);
  }
  return Process{started.pid, console.value().release()};
}

Result<Process> exec(const std::string& bundle, const std::string& state_dir, pid_t init_pid,
                     const json::value& process, const Stdio& stdio) {
  BERTH_TRY(detail::Spec spec, detail::load_spec(bundle));
  BERTH_TRY(detail::ProcessSpec proc, detail::parse_process(process));
  BERTH_TRY(detail::check_capabilities(proc));
  BERTH_TRY(detail::SeccompFilter seccomp, detail::build_seccomp(spec.seccomp));
  const std::string cgroup_path = recorded_cgroup(bundle, state_dir);

  // The init's namespaces now, whatever the spec's paths said at create.
  std::vector<Join> joins;
  for (const detail::NamespaceSpec& ns : spec.namespaces) {
    BERTH_TRY(Join j, open_namespace(ns.flag, "/proc/" + std::to_string(init_pid) + "/ns/" +
                                                  detail::proc_ns_name(ns.flag)));
    if (!is_own_namespace(j)) joins.push_back(std::move(j));
  }
  sort_joins(joins);

  ChildPlan plan;
  plan.spec = &spec;
  plan.process = &proc;
  plan.seccomp = &seccomp;
  plan.is_exec = true;
  plan.stdio = stdio;
  BERTH_TRY(Started started, start(plan, joins, 0));
  if (!cgroup_path.empty()) {
    if (auto r = cgroups::join(cgroup_path, started.pid); !r) {
      started.abandon();
      return std::move(r).error();
    }
  }
  auto console = run_to_exec(started);
  if (!console) {
    started.abandon();
    return std::move(console).error();
  }
  return Process{started.pid, console.value().release()};
}

Result<void> destroy(const std::string& bundle, const std::string& state_dir) {
  const std::string cgroup_path = recorded_cgroup(bundle, state_dir);
  if (!cgroup_path.empty()) {
    BERTH_TRY(cgroups::remove(cgroup_path));
  }
  if (::unlink(state_file(state_dir).c_str()) != 0 && errno != ENOENT) {
    return sys_error("remove " + state_file(state_dir));
  }
  return core::ok();
}

}  // namespace berth::runtime
