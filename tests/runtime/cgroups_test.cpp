// The cgroups library against this host's hierarchies (v1, hybrid or v2):
// create with resources, join, stats, update, freeze, pids, remove; the v2
// device filter (eBPF) on the v2 mount. Every cgroup lives under
// /berth-test-<random> and is removed, with the processes in it.
#include "berth/runtime/cgroups.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "device_rules.hpp"
#include "runtime_support.hpp"

namespace berth::testing {
namespace {

namespace json = boost::json;
namespace cg = berth::runtime::cgroups;
using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

const cg::Hierarchy* hierarchy_with(const std::string& controller) {
  for (const auto& h : cg::hierarchies()) {
    if (std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end()) {
      return &h;
    }
  }
  return nullptr;
}

class Cgroups : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "cgroups need root";
    if (cg::hierarchies().empty()) GTEST_SKIP() << "no cgroup filesystem mounted";
    parent_ = "/" + unique_name();
  }
  void TearDown() override {
    if (parent_.empty()) return;
    auto r = cg::remove(parent_);
    EXPECT_TRUE(r) << r.error().message;
    EXPECT_TRUE(cgroup_dirs(parent_).empty());
    for (pid_t pid : children_) {
      ::kill(pid, SIGKILL);
      wait_exit(pid, 5s);
    }
  }

  // A child that sleeps until killed.
  pid_t sleeper() {
    const pid_t pid = ::fork();
    if (pid == 0) {
      for (;;) ::pause();
    }
    children_.push_back(pid);
    return pid;
  }

  std::string parent_;
  std::vector<pid_t> children_;
};

TEST_F(Cgroups, LayoutMatchesTheMounts) {
  struct stat st {};
  const bool v1_memory = ::stat("/sys/fs/cgroup/memory/memory.limit_in_bytes", &st) == 0;
  const bool root_is_v2 = ::stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0;
  const bool unified = ::stat("/sys/fs/cgroup/unified/cgroup.controllers", &st) == 0;
  if (root_is_v2) {
    EXPECT_EQ(cg::detect_layout(), cg::Layout::v2);
  } else if (v1_memory) {
    EXPECT_EQ(cg::detect_layout(), unified ? cg::Layout::hybrid : cg::Layout::v1);
  }
  const auto& all = cg::hierarchies();
  EXPECT_EQ(std::count_if(all.begin(), all.end(), [](const cg::Hierarchy& h) { return h.unified; }),
            cg::detect_layout() == cg::Layout::v1 ? 0 : 1);
}

TEST_F(Cgroups, CreateUpdateFreezeAndRemove) {
  const std::string path = parent_ + "/box";
  const pid_t pid = sleeper();
  const json::value resources = {
      {"memory", {{"limit", 64 << 20}, {"reservation", 32 << 20}}},
      {"cpu", {{"shares", 512}, {"quota", 50000}, {"period", 100000}, {"cpus", "0"}}},
      {"pids", {{"limit", 32}}},
  };
  auto created = cg::create(path, resources, pid);
  ASSERT_TRUE(created) << created.error().message;

  if (const cg::Hierarchy* m = hierarchy_with("memory"); m && !m->unified) {
    EXPECT_EQ(slurp(m->mount_point + path + "/memory.limit_in_bytes"), std::to_string(64 << 20));
    EXPECT_EQ(slurp(m->mount_point + path + "/memory.soft_limit_in_bytes"),
              std::to_string(32 << 20));
  } else if (m) {
    EXPECT_EQ(slurp(m->mount_point + path + "/memory.max"), std::to_string(64 << 20));
  }
  if (const cg::Hierarchy* c = hierarchy_with("cpu"); c && !c->unified) {
    EXPECT_EQ(slurp(c->mount_point + path + "/cpu.shares"), "512");
    EXPECT_EQ(slurp(c->mount_point + path + "/cpu.cfs_quota_us"), "50000");
  } else if (c) {
    EXPECT_EQ(slurp(c->mount_point + path + "/cpu.max"), "50000 100000");
    EXPECT_EQ(slurp(c->mount_point + path + "/cpu.weight"), "20");
  }
  if (const cg::Hierarchy* s = hierarchy_with("cpuset")) {
    EXPECT_EQ(slurp(s->mount_point + path + "/cpuset.cpus"), "0");
  }

  auto listed = cg::pids(path);
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(listed.value(), std::vector<pid_t>{pid});

  auto stats = cg::stats(path);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats.value().memory_limit, 64u << 20);
  EXPECT_EQ(stats.value().pids_limit, 32u);
  EXPECT_EQ(stats.value().pids_current, 1u);

  auto updated = cg::update(path, json::value{{"memory", {{"limit", 128 << 20}, {"swap", -1}}},
                                              {"pids", {{"limit", -1}}}});
  ASSERT_TRUE(updated) << updated.error().message;
  stats = cg::stats(path);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats.value().memory_limit, 128u << 20);
  EXPECT_EQ(stats.value().pids_limit, 0u) << "unlimited";

  ASSERT_TRUE(cg::freeze(path, true));
  if (const cg::Hierarchy* f = hierarchy_with("freezer"); f && !f->unified) {
    EXPECT_EQ(slurp(f->mount_point + path + "/freezer.state"), "FROZEN");
  }
  ASSERT_TRUE(cg::freeze(path, false));

  // remove() kills what is left, even frozen.
  ASSERT_TRUE(cg::freeze(path, true));
  auto removed = cg::remove(path);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(wait_exit(pid, 5s), 128 + SIGKILL);
  children_.clear();
  EXPECT_TRUE(cgroup_dirs(path).empty());
  EXPECT_TRUE(cg::remove(path)) << "remove is idempotent";
  EXPECT_EQ(cg::stats(path).error().code, core::Errc::not_found);
}

TEST_F(Cgroups, NewCpusetGetsTheParentsCpusAndMems) {
  const cg::Hierarchy* s = hierarchy_with("cpuset");
  if (s == nullptr || s->unified) GTEST_SKIP() << "no v1 cpuset hierarchy";
  const std::string path = parent_ + "/a/b";
  auto created = cg::create(path, json::value(nullptr), sleeper());
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(slurp(s->mount_point + path + "/cpuset.cpus"), slurp(s->mount_point + "/cpuset.cpus"));
  EXPECT_EQ(slurp(s->mount_point + path + "/cpuset.mems"), slurp(s->mount_point + "/cpuset.mems"));
}

TEST_F(Cgroups, BadInputChangesNothing) {
  EXPECT_EQ(cg::create("/../etc", json::value(nullptr), 0).error().code,
            core::Errc::invalid_argument);
  EXPECT_EQ(cg::create("/", json::value(nullptr), 0).error().code, core::Errc::invalid_argument);
  const std::string path = parent_ + "/bad";
  auto r = cg::create(path, json::value{{"memory", {{"limit", "lots"}}}}, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::Errc::invalid_argument);
  EXPECT_NE(r.error().message.find("linux.resources.memory.limit"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(cgroup_dirs(parent_).empty()) << "a failed create left directories";
}

TEST_F(Cgroups, V2DeviceFilter) {
  const cg::Hierarchy* unified = nullptr;
  for (const auto& h : cg::hierarchies()) {
    if (h.unified) unified = &h;
  }
  if (unified == nullptr) GTEST_SKIP() << "no cgroup v2 mount";
  const std::string path = parent_ + "/dev";
  ASSERT_TRUE(cg::create(path, json::value(nullptr), 0));
  const std::string dir = unified->mount_point + path;
  ASSERT_TRUE(cgroup_dirs(path).size() > 0);
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0) << "the v2 cgroup was not created";

  // Docker's shape: deny everything, then allow /dev/null read-write.
  std::vector<runtime::detail::DeviceRule> rules = {
      {false, 'a', -1, -1, "rwm"},
      {true, 'c', 1, 3, "rw"},
      {false, 'c', 1, 3, "w"},  // later rules win: writes refused again
      {true, 'c', 1, 5, "r"},
  };
  auto attached = runtime::detail::attach_device_filter(dir, rules);
  ASSERT_TRUE(attached) << attached.error().message;

  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(report[0]);
    const std::string self = std::to_string(::getpid());
    const int procs = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY);
    if (procs < 0 || ::write(procs, self.data(), self.size()) < 0) ::_exit(2);
    auto try_open = [](const char* p, int flags) {
      const int fd = ::open(p, flags);
      if (fd >= 0) ::close(fd);
      return fd >= 0 ? '1' : '0';
    };
    const char result[4] = {try_open("/dev/null", O_RDONLY), try_open("/dev/null", O_WRONLY),
                            try_open("/dev/zero", O_RDONLY), try_open("/dev/full", O_RDONLY)};
    if (::write(report[1], result, 4) != 4) ::_exit(3);
    ::_exit(0);
  }
  ::close(report[1]);
  char got[5] = {};
  EXPECT_EQ(::read(report[0], got, 4), 4);
  ::close(report[0]);
  EXPECT_EQ(wait_exit(pid, 5s), 0);
  EXPECT_STREQ(got, "1010") << "null r, null w, zero r, full r";

  // Replacing the rules detaches the old program.
  ASSERT_TRUE(runtime::detail::attach_device_filter(dir, {{true, 'a', -1, -1, "rwm"}}));
}

TEST(DeviceFilterProgram, LaterRulesComeFirst) {
  using runtime::detail::DeviceRule;
  const auto prog = runtime::detail::device_filter_program(
      {{false, 'a', -1, -1, "rwm"}, {true, 'c', 1, 3, "rwm"}});
  // prologue (6), allow c 1:3 (type, major, minor, mov, exit), deny all
  // (mov, exit); no default after a rule that matches everything.
  ASSERT_EQ(prog.size(), 6u + 5u + 2u);
  EXPECT_EQ(prog[6].imm, BPF_DEVCG_DEV_CHAR);
  EXPECT_EQ(prog[6].off, 4);
  EXPECT_EQ(prog[9].imm, 1);   // allow
  EXPECT_EQ(prog[11].imm, 0);  // deny all
  EXPECT_EQ(runtime::detail::v1_rule_line({true, 'c', 136, -1, "rwm"}), "c 136:* rwm");
  EXPECT_EQ(runtime::detail::v1_rule_line({false, 'a', -1, -1, "rwm"}), "a");
}

}  // namespace
}  // namespace berth::testing
