// Isolation, security options and resource limits, checked from inside
// containers that berthd runs (through the docker 28 CLI): namespaces,
// Docker's default capabilities and seccomp profile and the flags that
// loosen or tighten them, users, rlimits, the read-only root, memory (an OOM
// kill reported as such), pids and CPU limits, and the network modes.
#include "container_fixture.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace berth::testing {
namespace {

constexpr const char* kDocker = "/usr/local/bin/docker";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A field of /proc/self/status ("CapBnd") of this process.
std::string own_status(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(field + ":")) return line.substr(line.find_first_not_of(" \t", field.size() + 1));
  }
  return {};
}

class Isolation : public ContainerFixture<> {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kDocker)) GTEST_SKIP() << kDocker << " is not installed";
    ContainerFixture::SetUp();
  }

  // `docker run --rm <flags> busybox sh -c <script>`.
  CommandResult sh(std::vector<std::string> flags, const std::string& script) {
    std::vector<std::string> args{"run", "--rm"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {kBusyboxImage, "sh", "-c", script});
    return cli(kDocker, args);
  }

  // The container's CapEff with `flags`.
  std::string cap_eff(std::vector<std::string> flags) {
    auto r = sh(std::move(flags), "grep CapEff /proc/self/status | cut -f2");
    EXPECT_EQ(r.exit_code, 0) << r.err << daemon_->log();
    return r.out;
  }
};

TEST_F(Isolation, NamespacesPidOneHostnameAndNoHostProcesses) {
  auto r = cli(kDocker, {"run", "--name", "berth-test-ns", kBusyboxImage, "sh", "-c",
                         "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$; hostname; ps -o pid,comm | tail -n +2 | wc -l"});
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  auto id = cli(kDocker, {"inspect", "-f", "{{.Id}}", "berth-test-ns"}).out;
  ASSERT_GE(id.size(), 12U);
  std::istringstream lines(r.out);
  std::string cmdline, pid, hostname, processes;
  std::getline(lines, cmdline);
  std::getline(lines, pid);
  std::getline(lines, hostname);
  std::getline(lines, processes);
  EXPECT_TRUE(cmdline.starts_with("sh -c tr ")) << r.out;
  EXPECT_EQ(pid, "1");
  // The default hostname is the short ID.
  EXPECT_EQ(hostname, id.substr(0, 12));
  // Only the container's own processes: sh, ps, and the pipeline's tail and wc.
  EXPECT_LE(std::stoi(processes), 4) << r.out;

  auto named = sh({"--hostname", "berth-test-host"}, "hostname; cat /etc/hostname; grep berth-test-host /etc/hosts");
  EXPECT_EQ(named.exit_code, 0) << named.err;
  EXPECT_TRUE(named.out.starts_with("berth-test-host\nberth-test-host\n")) << named.out;
}

TEST_F(Isolation, CapabilitiesLikeDocker) {
  EXPECT_EQ(cap_eff({}), "00000000a80425fb\n");
  // NET_ADMIN is bit 12.
  EXPECT_EQ(cap_eff({"--cap-add", "NET_ADMIN"}), "00000000a80435fb\n");
  EXPECT_EQ(cap_eff({"--cap-drop", "ALL"}), "0000000000000000\n");
  EXPECT_EQ(cap_eff({"--cap-drop", "ALL", "--cap-add", "CHOWN"}), "0000000000000001\n");
  // Privileged: every capability the host's bounding set holds (this host's
  // root lacks CAP_SYS_RESOURCE).
  EXPECT_EQ(cap_eff({"--privileged"}), own_status("CapBnd") + "\n");
  auto bad = sh({"--cap-add", "NOT_A_CAP"}, "true");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(contains(bad.err, "unknown capability: \"CAP_NOT_A_CAP\"")) << bad.err;
}

TEST_F(Isolation, PrivilegedSeesHostDevices) {
  // /dev/loop0 is a host device: absent by default, present and openable
  // (the device cgroup allows it) when privileged.
  ASSERT_TRUE(std::filesystem::exists("/dev/loop0"));
  auto plain = sh({}, "test -e /dev/loop0");
  EXPECT_EQ(plain.exit_code, 1) << plain.err;
  auto priv = sh({"--privileged"}, "blockdev --getsize64 /dev/loop0");
  EXPECT_EQ(priv.exit_code, 0) << priv.err << daemon_->log();
}

TEST_F(Isolation, DefaultSeccompProfileBlocksUnshareUnlessUnconfined) {
  // Creating a user namespace needs no capability; the default profile
  // refuses unshare(2) without CAP_SYS_ADMIN.
  auto blocked = sh({}, "unshare -U true");
  EXPECT_NE(blocked.exit_code, 0);
  EXPECT_TRUE(contains(blocked.err, "Operation not permitted")) << blocked.err;
  auto status = sh({}, "grep Seccomp: /proc/self/status");
  EXPECT_EQ(status.out, "Seccomp:\t2\n");
  auto unconfined = sh({"--security-opt", "seccomp=unconfined"}, "unshare -U true && grep Seccomp: /proc/self/status");
  EXPECT_EQ(unconfined.exit_code, 0) << unconfined.err << daemon_->log();
  EXPECT_EQ(unconfined.out, "Seccomp:\t0\n");
}

TEST_F(Isolation, ReadOnlyRootKeepsDevShmWritable) {
  auto r = sh({"--read-only"},
              "touch /x 2>&1; touch /tmp/x 2>&1; touch /dev/shm/x && echo shm-ok; grep ' / ' /proc/mounts | cut -d' ' -f4 "
              "| cut -d, -f1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "touch: /x: Read-only file system")) << r.out;
  // Docker adds no tmpfs of its own: /tmp is read-only too.
  EXPECT_TRUE(contains(r.out, "touch: /tmp/x: Read-only file system")) << r.out;
  EXPECT_TRUE(contains(r.out, "shm-ok\nro\n")) << r.out;
  auto rw = sh({}, "touch /x && echo rw-ok");
  EXPECT_EQ(rw.out, "rw-ok\n") << rw.err;
}

TEST_F(Isolation, UsersFromFlagsAndTheImagesPasswd) {
  auto numeric = sh({"--user", "1000:1000"}, "id");
  EXPECT_EQ(numeric.exit_code, 0) << numeric.err;
  EXPECT_EQ(numeric.out, "uid=1000 gid=1000 groups=1000\n");
  auto nobody = sh({"--user", "nobody"}, "id -u; id -g; echo $HOME");
  EXPECT_EQ(nobody.exit_code, 0) << nobody.err;
  EXPECT_EQ(nobody.out, "65534\n65534\n/home\n");
  auto missing = sh({"--user", "berth-test-nosuchuser"}, "true");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(contains(missing.err, "unable to find user berth-test-nosuchuser: no matching entries in passwd file"))
      << missing.err;
}

TEST_F(Isolation, UlimitAndNoNewPrivileges) {
  auto r = sh({"--ulimit", "nofile=1024:2048", "--security-opt", "no-new-privileges"},
              "ulimit -Sn; ulimit -Hn; grep NoNewPrivs /proc/self/status");
  EXPECT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  EXPECT_EQ(r.out, "1024\n2048\nNoNewPrivs:\t1\n");
  auto plain = sh({}, "grep NoNewPrivs /proc/self/status");
  EXPECT_EQ(plain.out, "NoNewPrivs:\t0\n");
}

TEST_F(Isolation, MemoryLimitOomKillIsReported) {
  // tail keeps the current line, and /dev/zero has no newline: it grows
  // until the cgroup's limit kills it.
  auto r = cli(kDocker, {"run", "--name", "berth-test-oom", "-m", "16m", kBusyboxImage, "tail", "/dev/zero"},
               {}, std::chrono::seconds(90));
  EXPECT_EQ(r.exit_code, 137) << r.err << daemon_->log();
  auto state = cli(kDocker, {"inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}",
                             "berth-test-oom"});
  EXPECT_EQ(state.out, "true 137 16777216\n") << state.err;
  // A container within its limit is not reported as OOM-killed.
  auto fine = cli(kDocker, {"run", "--name", "berth-test-fine", "-m", "16m", kBusyboxImage, "true"});
  EXPECT_EQ(fine.exit_code, 0) << fine.err;
  EXPECT_EQ(cli(kDocker, {"inspect", "-f", "{{.State.OOMKilled}}", "berth-test-fine"}).out, "false\n");
}

TEST_F(Isolation, PidsLimitHolds) {
  auto started = cli(kDocker, {"run", "-d", "--name", "berth-test-pids", "--pids-limit", "10", kBusyboxImage, "sleep",
                               "600"});
  ASSERT_EQ(started.exit_code, 0) << started.err << daemon_->log();
  std::string id = started.out.substr(0, 64);
  // The shell gives up at the first fork the limit refuses.
  auto r = cli(kDocker, {"exec", "berth-test-pids", "sh", "-c", "for i in $(seq 20); do sleep 30 & done"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "can't fork: Resource temporarily unavailable")) << r.err;
  std::string pids_cgroup;
  for (const auto& dir : cgroups_under_parent(root_.path())) {
    if (contains(dir, "/pids/") && dir.ends_with("/" + id)) pids_cgroup = dir;
  }
  ASSERT_FALSE(pids_cgroup.empty()) << leftovers(root_.path());
  EXPECT_EQ(read_file(pids_cgroup + "/pids.max"), "10\n");
  // sleep 600 and the sleeps that did start (the shell is gone).
  int current = std::stoi(read_file(pids_cgroup + "/pids.current"));
  EXPECT_GE(current, 8);
  EXPECT_LE(current, 10);
}

TEST_F(Isolation, CpusWritesTheQuota) {
  auto r = sh({"--cpus", "0.5"},
              "if [ -e /sys/fs/cgroup/cpu.max ]; then cat /sys/fs/cgroup/cpu.max; else "
              "echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us); fi");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "50000 100000\n");
  auto bad = sh({"--cpus", "-1"}, "true");
  EXPECT_NE(bad.exit_code, 0);
}

TEST_F(Isolation, NetworkNoneAndHost) {
  auto none = sh({"--network", "none"}, "ls /sys/class/net");
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "lo\n");
  auto dflt = sh({}, "ls /sys/class/net");
  EXPECT_EQ(dflt.out, "lo\n");
  std::string host_interfaces;
  for (const auto& d : std::filesystem::directory_iterator("/sys/class/net")) {
    const std::string name = d.path().filename().string();
    if (!name.starts_with("berth-test")) host_interfaces += name + "\n";
  }
  // Interfaces other tests make (berth-test-*) come and go meanwhile.
  auto host = sh({"--network", "host"}, "ls /sys/class/net | grep -v '^berth-test'; hostname");
  EXPECT_EQ(host.exit_code, 0) << host.err;
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  // Sorted alike: ls sorts, and so do these names.
  std::vector<std::string> sorted;
  std::istringstream in(host_interfaces);
  for (std::string l; std::getline(in, l);) sorted.push_back(l);
  std::sort(sorted.begin(), sorted.end());
  std::string expected;
  for (const auto& l : sorted) expected += l + "\n";
  EXPECT_EQ(host.out, expected + name + "\n");
}

}  // namespace
}  // namespace berth::testing
