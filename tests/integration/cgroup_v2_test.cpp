// Containers on a pure cgroup v2 host. This machine has the v1/v2 hybrid
// layout, so berthd runs in a private mount namespace where the v1
// hierarchies are unmounted and the cgroup2 hierarchy is mounted on
// /sys/fs/cgroup: what berthd and its shims see is a v2-only host (with the
// controllers the hybrid host leaves to v2, i.e. none of memory, cpu or pids).
// The host's mounts are untouched; the containers' cgroups are created in the
// real v2 hierarchy, under the test's own cgroup parent.
#include "container_fixture.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Where the host mounts the cgroup2 hierarchy (/sys/fs/cgroup on a v2 host,
// /sys/fs/cgroup/unified on a hybrid one); "" when there is none.
std::string host_v2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    auto dash = line.find(" - cgroup2 ");
    if (dash == std::string::npos) continue;
    std::istringstream f(line);
    std::string id, parent, devno, root, mount_point;
    f >> id >> parent >> devno >> root >> mount_point;
    return mount_point;
  }
  return "";
}

class CgroupV2 : public ContainerFixture<> {
 protected:
  void SetUp() override {
    v2_ = host_v2_mount();
    if (v2_.empty()) GTEST_SKIP() << "no cgroup2 hierarchy is mounted on this host";
    ContainerFixture<>::SetUp();
  }

  void start_daemon() override {
    daemon_.reset();
    daemon_ = std::make_unique<Daemon>(Daemon::Options{
        .args = {"--storage-driver", "overlay"},
        .root = root_.path(),
        .launcher = {"unshare", "--mount", "--propagation", "private", "sh", "-c",
                     "umount -R /sys/fs/cgroup && mount -t cgroup2 berth-test-cgroup2 /sys/fs/cgroup && exec \"$@\"",
                     "sh"}});
  }

  CommandResult berth(std::vector<std::string> args) { return daemon_->berth(std::move(args)); }

  // The container's cgroup as the host sees it.
  std::string cgroup_dir(const std::string& id) const {
    return v2_ + "/" + fs::path(root_.path()).filename().string() + "/" + id;
  }

  std::string v2_;
};

TEST_F(CgroupV2, InfoAndTheContainersViewAreV2) {
  auto info = berth({"info", "--format", "{{.CgroupVersion}} {{.CgroupDriver}}"});
  EXPECT_EQ(info.out, "2 cgroupfs\n") << info.err << daemon_->log();
  // Its own cgroup namespace: the container sees itself at the root of the
  // v2 hierarchy (the kernel still lists its v1 hierarchies first).
  auto r = berth({"run", "--rm", kImage, "sh", "-c", "cat /proc/self/cgroup; ls /sys/fs/cgroup"});
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  EXPECT_TRUE(contains(r.out, "\n0::/\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "cgroup.procs\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "cgroup.controllers\n")) << r.out;
}

TEST_F(CgroupV2, LifecycleOnTheV2Hierarchy) {
  auto started = berth({"run", "-d", "--name", "berth-test-v2", kImage, "sleep", "600"});
  ASSERT_EQ(started.exit_code, 0) << started.err << daemon_->log();
  std::string id = started.out.substr(0, 64);
  std::string dir = cgroup_dir(id);
  ASSERT_TRUE(fs::is_directory(dir)) << dir << "\n" << leftovers(root_.path());
  std::string pid = berth({"inspect", "-f", "{{.State.Pid}}", id}).out;
  EXPECT_EQ(read_file(dir + "/cgroup.procs"), pid);

  // pause and unpause through cgroup.freeze.
  ASSERT_EQ(berth({"pause", id}).exit_code, 0) << daemon_->log();
  EXPECT_EQ(read_file(dir + "/cgroup.freeze"), "1\n");
  EXPECT_EQ(berth({"inspect", "-f", "{{.State.Status}}", id}).out, "paused\n");
  ASSERT_EQ(berth({"unpause", id}).exit_code, 0) << daemon_->log();
  EXPECT_EQ(read_file(dir + "/cgroup.freeze"), "0\n");

  // exec joins the cgroup; top lists its processes.
  auto exec = berth({"exec", id, "sh", "-c", "tail -n1 /proc/self/cgroup"});
  EXPECT_EQ(exec.exit_code, 0) << exec.err;
  EXPECT_EQ(exec.out, "0::/\n");
  auto top = berth({"top", id});
  EXPECT_EQ(top.exit_code, 0) << top.err << daemon_->log();
  EXPECT_TRUE(contains(top.out, "sleep 600")) << top.out;

  // stats from the v2 files there are (a sleep's CPU time is still > 0).
  auto stats = daemon_->api("GET", "/containers/" + id + "/stats?stream=false");
  ASSERT_EQ(stats.status, 200) << stats.body << daemon_->log();
  auto s = json::parse(stats.body).as_object();
  EXPECT_EQ(s.at("id").as_string(), id);
  // cpu.stat is there without the cpu controller; memory and pids are not.
  const auto& usage = s.at("cpu_stats").as_object().at("cpu_usage").as_object();
  EXPECT_GT(usage.at("total_usage").to_number<std::int64_t>(), 0) << stats.body;
  EXPECT_GT(usage.at("usage_in_usermode").to_number<std::int64_t>(), 0) << stats.body;
  EXPECT_TRUE(s.at("memory_stats").as_object().empty()) << stats.body;

  ASSERT_EQ(berth({"rm", "-f", id}).exit_code, 0) << daemon_->log();
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_EQ(leftovers(root_.path()), "");
}

TEST_F(CgroupV2, DeviceRulesAreAnEbpfProgram) {
  // The default rules deny block devices; the runtime's own nodes work.
  auto r = berth({"run", "--rm", kImage, "sh", "-c",
                  "mknod /tmp/disk b 7 0; head -c1 /tmp/disk; echo status=$?; echo -n x > /dev/null && echo null-ok"});
  EXPECT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  EXPECT_TRUE(contains(r.err, "Operation not permitted")) << r.err;
  EXPECT_TRUE(contains(r.out, "status=1\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "null-ok\n")) << r.out;
  // --privileged lifts the rules.
  auto p = berth({"run", "--rm", "--privileged", kImage, "sh", "-c",
                  "mknod /tmp/disk b 7 0 && head -c0 /tmp/disk && echo opened"});
  EXPECT_EQ(p.out, "opened\n") << p.err;
}

TEST_F(CgroupV2, ALimitWithoutItsControllerIsAClearErrorAndLeavesNothing) {
  // A hybrid host leaves memory to v1: on the v2-only view it is missing.
  auto controllers = read_file(v2_ + "/cgroup.controllers");
  if (contains(controllers, "memory")) GTEST_SKIP() << "the v2 hierarchy has the memory controller here";
  auto r = berth({"run", "--rm", "--memory", "64m", kImage, "true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "memory")) << r.err;
  EXPECT_EQ(berth({"ps", "-aq"}).out, "");
  EXPECT_EQ(leftovers(root_.path()), "");
}

}  // namespace
}  // namespace berth::testing
