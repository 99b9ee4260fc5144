// The native runtime against the real kernel: busybox containers from a
// Docker-shaped spec, checked from inside (PID 1, hostname, /proc, /sys,
// masked paths, ids, capabilities, no_new_privs, seccomp, rlimits, cgroup
// limits, the console, exec, user and joined namespaces) and for what they
// leave behind: after each test no cgroup, mount or process remains.
#include "berth/runtime/native.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>

#include "berth/runtime/cgroups.hpp"
#include "harness.hpp"
#include "oci_bundle.hpp"
#include "runtime_support.hpp"

namespace berth::testing {
namespace {

namespace json = boost::json;
namespace rt = berth::runtime;
using namespace std::chrono_literals;

class NativeRuntime : public ::testing::Test {
 protected:
  struct Container {
    std::string id, bundle, state;
    json::object spec;
    pid_t pid = -1;
    int console = -1;
  };

  struct Run {
    std::string error;  // create() failed with this
    int status = -1;
    std::string out, err;
  };

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the native runtime needs root";
    dir_.emplace("runtime");
    // Containers in a user namespace must traverse it.
    ASSERT_EQ(::chmod(dir_->path().c_str(), 0755), 0);
    rootfs_ = *dir_ / "rootfs";
    make_busybox_rootfs(rootfs_);
    std::ofstream(rootfs_ + "/etc/passwd", std::ios::app)
        << "tester:x:1000:1000:tester:/home/tester:/bin/sh\n";
    cgroup_parent_ = "/" + unique_name();
  }

  void TearDown() override {
    if (!dir_) return;
    for (Container& c : containers_) {
      if (c.console >= 0) ::close(c.console);
      if (c.pid > 0) {
        ::kill(c.pid, SIGKILL);
        wait_exit(c.pid, 5s);
      }
      auto r = rt::destroy(c.bundle, c.state);
      EXPECT_TRUE(r) << r.error().message;
      auto again = rt::destroy(c.bundle, c.state);  // idempotent
      EXPECT_TRUE(again) << again.error().message;
    }
    auto removed = rt::cgroups::remove(cgroup_parent_);
    EXPECT_TRUE(removed) << removed.error().message;
    EXPECT_TRUE(cgroup_dirs(cgroup_parent_).empty());
    EXPECT_TRUE(mounts_below(dir_->path()).empty());
    for (const Container& c : containers_) {
      if (c.pid > 0) {
        EXPECT_TRUE(::kill(c.pid, 0) == -1 && errno == ESRCH) << "pid " << c.pid;
      }
    }
    dir_.reset();
  }

  std::string cgroup_of(const Container& c) const { return cgroup_parent_ + "/" + c.id; }

  Container& add(std::vector<std::string> args) {
    Container& c = containers_.emplace_back();
    c.id = "c" + std::to_string(containers_.size());
    c.bundle = *dir_ / c.id;
    c.state = *dir_ / (c.id + "-state");
    std::filesystem::create_directories(c.bundle);
    std::filesystem::create_directories(c.state);
    c.spec = docker_spec(args, rootfs_, cgroup_of(c));
    return c;
  }

  json::object& process(Container& c) { return c.spec["process"].as_object(); }
  json::object& linux_of(Container& c) { return c.spec["linux"].as_object(); }

  rt::Result<rt::Process> start(Container& c, rt::Stdio stdio = {}) {
    write_file(c.bundle + "/config.json", json::serialize(c.spec));
    auto p = rt::create(rt::CreateOptions{c.id, c.bundle, c.state, stdio});
    if (p) {
      c.pid = p.value().pid;
      c.console = p.value().console_master;
    }
    return p;
  }

  // Starts `c` with its output on pipes and waits for it to exit.
  Run run(Container& c, std::chrono::milliseconds timeout = 10s) {
    int out[2], err[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
    auto p = start(c, rt::Stdio{-1, out[1], err[1]});
    ::close(out[1]);
    ::close(err[1]);
    Run r;
    if (!p) {
      r.error = p.error().message;
    } else {
      r = collect(c, out[0], err[0], timeout);
    }
    ::close(out[0]);
    ::close(err[0]);
    return r;
  }

  // Output of `c` until it exits (background children may keep the pipes
  // open, so exit, not EOF, ends it).
  Run collect(Container& c, int out, int err, std::chrono::milliseconds timeout) {
    Run r;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto drain = [&](int fd, std::string& to) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) to.append(buf, static_cast<std::size_t>(n));
    };
    ::fcntl(out, F_SETFL, O_NONBLOCK);
    ::fcntl(err, F_SETFL, O_NONBLOCK);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
      ::poll(fds, 2, 5);
      drain(out, r.out);
      drain(err, r.err);
      if (auto status = wait_exit(c.pid, 0ms)) {
        c.pid = -1;
        r.status = *status;
        drain(out, r.out);
        drain(err, r.err);
        return r;
      }
    }
    ADD_FAILURE() << "container " << c.id << " did not exit; output: " << r.out << r.err;
    return r;
  }

  // Exec into `c` (running) with `proc`, output on pipes; waits for exit.
  Run exec(Container& c, const json::object& proc) {
    int out[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    auto p = rt::exec(c.bundle, c.state, c.pid, proc, rt::Stdio{-1, out[1], out[1]});
    ::close(out[1]);
    Run r;
    if (!p) {
      r.error = p.error().message;
    } else {
      Container tmp;
      tmp.id = c.id + "-exec";
      tmp.pid = p.value().pid;
      int none[2];
      EXPECT_EQ(::pipe2(none, O_CLOEXEC), 0);
      ::close(none[1]);
      r = collect(tmp, out[0], none[0], 10s);
      ::close(none[0]);
    }
    ::close(out[0]);
    return r;
  }

  std::optional<TempDir> dir_;
  std::string rootfs_, cgroup_parent_;
  std::deque<Container> containers_;
};

TEST_F(NativeRuntime, Pid1IsTheCommand) {
  auto& c = add({"cat", "/proc/1/cmdline"});
  Run r = run(c);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, std::string("cat\0/proc/1/cmdline\0", 20));
}

TEST_F(NativeRuntime, HostnameProcAndSysAreTheContainers) {
  auto& c = add({"sh", "-c",
                 "hostname; echo /proc/[0-9]*; grep ' /sys ' /proc/mounts; "
                 "cat /proc/timer_list | wc -c; grep ' /proc/sys ' /proc/mounts; "
                 "ls /dev; readlink /dev/ptmx; cat /proc/self/cgroup"});
  c.spec["hostname"] = "berth-test-host";
  Run r = run(c);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "berth-test-host");
  std::getline(lines, line);
  EXPECT_EQ(line, "/proc/1") << "host processes are visible";
  std::getline(lines, line);
  EXPECT_TRUE(line.starts_with("sysfs /sys sysfs ro,")) << line;
  std::getline(lines, line);
  EXPECT_EQ(line, "0") << "/proc/timer_list is not masked; " << r.err;
  std::getline(lines, line);
  EXPECT_NE(line.find(" ro,"), std::string::npos) << "/proc/sys is writable: " << line;
  for (const char* dev :
       {"null\n", "zero\n", "full\n", "random\n", "urandom\n", "tty\n", "ptmx\n", "pts\n", "shm\n",
        "mqueue\n", "fd\n", "stdin\n", "stdout\n", "stderr\n"}) {
    EXPECT_NE(r.out.find(dev), std::string::npos) << "no /dev/" << dev << r.out;
  }
  EXPECT_NE(r.out.find("pts/ptmx\n"), std::string::npos);
  // Joined to the cgroup in every v1 hierarchy (no cgroup namespace here).
  EXPECT_NE(r.out.find(cgroup_of(c)), std::string::npos) << r.out;
}

TEST_F(NativeRuntime, UserGroupsEnvironmentAndWorkingDirectory) {
  auto& c =
      add({"sh", "-c",
           "grep -E '^(Uid|Gid|Groups):' /proc/self/status; pwd; echo \"$FOO $HOME\"; umask"});
  process(c)["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}, {"umask", 18}};
  process(c)["env"] = {"PATH=/bin", "FOO=bar"};
  process(c)["cwd"] = "/tmp";
  Run r = run(c);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Uid:\t1000\t1000\t1000\t1000\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Gid:\t1000\t1000\t1000\t1000\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Groups:\t10 20"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/tmp\nbar /home/tester\n0022\n"), std::string::npos) << r.out;
}

TEST_F(NativeRuntime, CapabilitiesAndNoNewPrivileges) {
  auto& c = add({"grep", "-E", "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):", "/proc/self/status"});
  Run r = run(c);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("CapInh:\t0000000000000000\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapPrm:\t00000000a80425fb\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapEff:\t00000000a80425fb\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapBnd:\t00000000a80425fb\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NoNewPrivs:\t1\n"), std::string::npos) << r.out;
}

TEST_F(NativeRuntime, AmbientCapabilitiesReachANonRootUser) {
  auto& c = add({"grep", "-E", "^Cap(Eff|Amb):", "/proc/self/status"});
  process(c)["user"] = {{"uid", 1000}, {"gid", 1000}};
  json::array caps = {"CAP_NET_BIND_SERVICE"};
  process(c)["capabilities"] = {{"bounding", caps},
                                {"effective", caps},
                                {"permitted", caps},
                                {"inheritable", caps},
                                {"ambient", caps}};
  Run r = run(c);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "CapEff:\t0000000000000400\nCapAmb:\t0000000000000400\n");
}

TEST_F(NativeRuntime, SeccompRuleDeniesMkdir) {
  auto& c = add({"sh", "-c", "mkdir /tmp/x; echo rc=$?; grep NoNewPrivs /proc/self/status"});
  process(c)["noNewPrivileges"] = false;
  linux_of(c)["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
      {"syscalls",
       {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}},
        {{"names", {"no_such_syscall"}}, {"action", "SCMP_ACT_ERRNO"}}}}};
  Run r = run(c);
  ASSERT_EQ(r.error, "");
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("rc=1\n"), std::string::npos) << r.out;
  // libseccomp would set no_new_privs itself; the spec's false must win.
  EXPECT_NE(r.out.find("NoNewPrivs:\t0\n"), std::string::npos) << r.out;
}

TEST_F(NativeRuntime, SeccompArgumentConditions) {
  // kill(2) with signal SIGUSR1 (argument 1) is denied, signal 0 allowed.
  auto& c =
      add({"sh", "-c",
           "sleep 5 & kill -0 $! && echo zero-allowed; kill -USR1 $! 2>&1 || echo usr1-denied; "
           "kill -9 $!"});
  linux_of(c)["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls",
       {{{"names", {"kill"}},
         {"action", "SCMP_ACT_ERRNO"},
         {"args", {{{"index", 1}, {"value", SIGUSR1}, {"op", "SCMP_CMP_EQ"}}}}}}}};
  Run r = run(c);
  ASSERT_EQ(r.error, "");
  EXPECT_NE(r.out.find("zero-allowed\n"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("Operation not permitted"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("usr1-denied\n"), std::string::npos) << r.out << r.err;
}

TEST_F(NativeRuntime, Rlimits) {
  auto& c = add({"sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"});
  process(c)["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 1024}, {"hard", 2048}},
                           {{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 0}}};
  Run r = run(c);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.out, "1024\n2048\n0\n") << r.err;
}

// Whether this process holds CAP_SYS_RESOURCE (root on this host does not).
bool have_sys_resource() {
  std::ifstream status("/proc/self/status");
  std::string line;
  std::uint64_t cap_bnd = 0;
  while (std::getline(status, line)) {
    if (line.starts_with("CapBnd:")) cap_bnd = std::stoull(line.substr(7), nullptr, 16);
  }
  return (cap_bnd & (1ULL << 24)) != 0;
}

TEST_F(NativeRuntime, RlimitAboveTheHardLimitFailsClearly) {
  if (have_sys_resource()) GTEST_SKIP() << "this root may raise hard limits (CAP_SYS_RESOURCE)";
  rlimit have{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &have), 0);
  auto& c = add({"true"});
  process(c)["rlimits"] = {
      {{"type", "RLIMIT_NOFILE"}, {"soft", have.rlim_max + 1}, {"hard", have.rlim_max + 1}}};
  Run r = run(c);
  EXPECT_NE(r.error.find("setrlimit RLIMIT_NOFILE"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("cannot be raised above " + std::to_string(have.rlim_max)),
            std::string::npos)
      << r.error;
  EXPECT_TRUE(cgroup_dirs(cgroup_of(c)).empty()) << "a failed create left its cgroup";
}

TEST_F(NativeRuntime, CapabilityTheRuntimeLacksFailsClearly) {
  if (have_sys_resource()) GTEST_SKIP() << "this root holds CAP_SYS_RESOURCE";
  auto& c = add({"true"});
  json::array caps = {"CAP_CHOWN", "CAP_SYS_RESOURCE"};
  process(c)["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  Run r = run(c);
  EXPECT_EQ(r.error, "the runtime does not hold CAP_SYS_RESOURCE (not in its bounding set)");
}

TEST_F(NativeRuntime, MemoryLimitOomKill) {
  auto& c = add({"sh", "-c", "x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done"});
  linux_of(c)["resources"].as_object()["memory"] = {{"limit", 32 << 20}, {"swap", 32 << 20}};
  Run r = run(c, 20s);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 128 + SIGKILL) << r.out << r.err;
  auto stats = rt::cgroups::stats(cgroup_of(c));
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_GE(stats.value().oom_kills, 1u);
  EXPECT_EQ(stats.value().memory_limit, 32u << 20);
}

TEST_F(NativeRuntime, PidsLimitHolds) {
  // A failed fork ends a non-interactive busybox sh: the forks happen in a
  // subshell, and the outer shell reports with builtins only (no fork left).
  auto& c = add({"sh", "-c",
                 "(i=0; while [ $i -lt 30 ]; do sleep 30 & i=$((i+1)); done) 2>/tmp/err; "
                 "while read l; do echo \"$l\"; done </tmp/err; echo spawned; exec sleep 30"});
  linux_of(c)["resources"].as_object()["pids"] = {{"limit", 10}};
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  auto p = start(c, rt::Stdio{-1, out[1], out[1]});
  ::close(out[1]);
  ASSERT_TRUE(p) << p.error().message;
  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (output.find("spawned") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    output += read_all(out[0], 50ms);
  }
  ::close(out[0]);
  EXPECT_NE(output.find("spawned"), std::string::npos) << output;
  EXPECT_NE(output.find("can't fork"), std::string::npos) << output;
  auto stats = rt::cgroups::stats(cgroup_of(c));
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats.value().pids_limit, 10u);
  EXPECT_LE(stats.value().pids_current, 10u);
  EXPECT_GE(stats.value().pids_current, 5u);
}

TEST_F(NativeRuntime, TerminalGivesTheMasterToTheCaller) {
  auto& c = add({"sh", "-c",
                 "test -t 0 && test -t 1 && echo isatty; stty size; readlink /proc/self/fd/0; "
                 "test -c /dev/console && echo console"});
  process(c)["terminal"] = true;
  process(c)["consoleSize"] = {{"height", 30}, {"width", 100}};
  auto p = start(c);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_GE(c.console, 0);
  const std::string out = read_all(c.console, 10s);
  EXPECT_EQ(wait_exit(c.pid, 5s), 0);
  c.pid = -1;
  EXPECT_NE(out.find("isatty\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("30 100\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("/dev/pts/0\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("console\r\n"), std::string::npos) << out;
}

TEST_F(NativeRuntime, ExecJoinsTheRunningContainer) {
  auto& c = add({"sleep", "60"});
  c.spec["hostname"] = "berth-test-exec";
  auto p = start(c);
  ASSERT_TRUE(p) << p.error().message;

  json::object proc = c.spec["process"].as_object();
  proc["args"] = {"sh", "-c",
                  "tr '\\0' ' ' < /proc/1/cmdline; echo; hostname; cat /proc/self/cgroup"};
  Run r = exec(c, proc);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("sleep 60 \nberth-test-exec\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(cgroup_of(c)), std::string::npos) << r.out;

  proc["args"] = {"nosuch"};
  r = exec(c, proc);
  EXPECT_EQ(r.error, "exec: \"nosuch\": executable file not found in $PATH");

  proc["args"] = {"sh", "-c", "test -t 0 && echo exec-tty; stty size"};
  proc["terminal"] = true;
  proc["consoleSize"] = {{"height", 12}, {"width", 34}};
  auto e = rt::exec(c.bundle, c.state, c.pid, proc, {});
  ASSERT_TRUE(e) << e.error().message;
  ASSERT_GE(e.value().console_master, 0);
  const std::string out = read_all(e.value().console_master, 10s);
  ::close(e.value().console_master);
  EXPECT_EQ(wait_exit(e.value().pid, 5s), 0);
  EXPECT_NE(out.find("exec-tty\r\n12 34\r\n"), std::string::npos) << out;
}

TEST_F(NativeRuntime, ExecutableNotFoundUsesDockersMessage) {
  auto& c = add({"nosuch"});
  Run r = run(c);
  EXPECT_EQ(r.error, "exec: \"nosuch\": executable file not found in $PATH");
  EXPECT_TRUE(cgroup_dirs(cgroup_of(c)).empty()) << "a failed create left its cgroup";

  auto& d = add({"/bin/nosuch"});
  r = run(d);
  EXPECT_EQ(r.error, "exec: \"/bin/nosuch\": stat /bin/nosuch: no such file or directory");

  auto& e = add({"/etc/passwd"});
  r = run(e);
  EXPECT_EQ(r.error, "exec: \"/etc/passwd\": permission denied");
}

TEST_F(NativeRuntime, BadWorkingDirectory) {
  auto& c = add({"true"});
  process(c)["cwd"] = "/nosuch";
  Run r = run(c);
  EXPECT_EQ(r.error,
            "chdir to cwd (\"/nosuch\") set in config.json failed: no such file or directory");
}

TEST_F(NativeRuntime, ReadonlyRootfs) {
  auto& c = add({"sh", "-c", "touch /x 2>&1; touch /dev/shm/ok && echo shm-writable"});
  c.spec["root"].as_object()["readonly"] = true;
  Run r = run(c);
  ASSERT_EQ(r.error, "");
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shm-writable"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(rootfs_ + "/x"));
}

TEST_F(NativeRuntime, CgroupNamespace) {
  auto& c = add({"sh", "-c", "cat /proc/self/cgroup; ls /sys/fs/cgroup"});
  linux_of(c)["namespaces"].as_array().push_back(json::object{{"type", "cgroup"}});
  Run r = run(c);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 0) << r.err;
  std::istringstream lines(r.out);
  int cgroup_lines = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find(':') == std::string::npos) continue;
    ++cgroup_lines;
    EXPECT_TRUE(line.ends_with(":/")) << "cgroup path visible: " << line;
  }
  EXPECT_GT(cgroup_lines, 0);
}

TEST_F(NativeRuntime, UserNamespace) {
  auto& c = add({"sh", "-c",
                 "cat /proc/self/uid_map; id -u; test -c /dev/null && echo null-ok; "
                 "echo hi > /dev/null && echo writable"});
  linux_of(c)["namespaces"].as_array().push_back(json::object{{"type", "user"}});
  linux_of(c)["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  linux_of(c)["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  Run r = run(c);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("100000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n0\nnull-ok\nwritable\n"), std::string::npos) << r.out << r.err;

  // exec enters the user namespace first, then the others.
  auto& d = add({"sleep", "60"});
  linux_of(d)["namespaces"] = linux_of(c)["namespaces"];
  linux_of(d)["uidMappings"] = linux_of(c)["uidMappings"];
  linux_of(d)["gidMappings"] = linux_of(c)["gidMappings"];
  auto p = start(d);
  ASSERT_TRUE(p) << p.error().message;
  json::object proc = d.spec["process"].as_object();
  proc["args"] = {"sh", "-c", "id -u; cat /proc/self/uid_map; tr '\\0' ' ' < /proc/1/cmdline"};
  r = exec(d, proc);
  ASSERT_EQ(r.error, "");
  EXPECT_NE(r.out.find("0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("100000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sleep 60"), std::string::npos) << r.out;
}

TEST_F(NativeRuntime, JoinsANetworkNamespaceByPath) {
  auto& a = add({"sleep", "60"});
  auto p = start(a);
  ASSERT_TRUE(p) << p.error().message;
  char link[128] = {};
  ASSERT_GT(
      ::readlink(("/proc/" + std::to_string(a.pid) + "/ns/net").c_str(), link, sizeof link - 1), 0);

  auto& b = add({"readlink", "/proc/self/ns/net"});
  for (json::value& ns : linux_of(b)["namespaces"].as_array()) {
    if (ns.as_object()["type"] == "network") {
      ns.as_object()["path"] = "/proc/" + std::to_string(a.pid) + "/ns/net";
    }
  }
  Run r = run(b);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.out, std::string(link) + "\n");
}

}  // namespace
}  // namespace berth::testing
