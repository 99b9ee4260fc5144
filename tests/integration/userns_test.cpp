// --userns-remap: containers in a user namespace mapped to subordinate IDs.
//
// The host's users and /etc/subuid are not touched: berthd runs in a private
// mount namespace where test files are bind-mounted over /etc/subuid and
// /etc/subgid, giving the numeric user and group 4242 the range
// 300000-365535. The suite skips (with the daemon's reason) only when the
// kernel cannot mount overlayfs over idmapped layers, which berthd probes at
// start-up.
#include "container_fixture.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <sstream>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* kSkipMarker = "needs idmapped overlay layers";

// A uid_map's lines with their padding squeezed: "0 300000 65536\n".
std::string squeezed(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string word, joined;
    while (words >> word) joined += (joined.empty() ? "" : " ") + word;
    if (!joined.empty()) out += joined + "\n";
  }
  return out;
}

// berthd in a private mount namespace with `subuid`/`subgid` (files under
// `dir`) over the host's.
Daemon::Options remapped_daemon(const TempDir& dir, const std::string& root, const std::string& remap,
                                const std::string& ranges) {
  write_file(dir / "subuid", ranges);
  write_file(dir / "subgid", ranges);
  return Daemon::Options{
      .args = {"--storage-driver", "overlay", "--userns-remap", remap},
      .root = root,
      .launcher = {"unshare", "--mount", "--propagation", "private", "sh", "-c",
                   "mount --bind \"$1\" /etc/subuid && mount --bind \"$2\" /etc/subgid && "
                   "shift 2 && exec \"$@\"",
                   "sh", dir / "subuid", dir / "subgid"}};
}

class UsernsTest : public ContainerFixture<> {
 protected:
  void SetUp() override {
    if (!fs::exists("/etc/subuid") || !fs::exists("/etc/subgid")) {
      GTEST_SKIP() << "/etc/subuid and /etc/subgid must exist to bind-mount test ranges over them";
    }
    // The containers' root (uid 300000) must reach the rootfs and the files
    // below the daemon's root, as Docker requires of its data root's parents.
    fs::permissions(root_.path(), fs::perms::group_exec | fs::perms::others_exec, fs::perm_options::add);
    start_daemon();
    if (!daemon_->started() && daemon_->log().find(kSkipMarker) != std::string::npos) {
      GTEST_SKIP() << "this kernel cannot mount overlayfs over idmapped layers: " << daemon_->log();
    }
    ContainerFixture<>::SetUp();
  }

  void start_daemon() override {
    daemon_.reset();
    daemon_ = std::make_unique<Daemon>(remapped_daemon(work_, root_.path(), "4242:4242", "4242:300000:65536\n"));
  }

  CommandResult berth(std::vector<std::string> args) { return daemon_->berth(std::move(args)); }
};

TEST_F(UsernsTest, ContainerRootIsMappedToTheSubordinateRange) {
  auto r = berth({"run", "--rm", kImage, "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g"});
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  EXPECT_EQ(squeezed(r.out), "0 300000 65536\n0 300000 65536\n0\n0\n");

  // exec joins the container's user namespace.
  auto started = berth({"run", "-d", "--name", "sleeper", kImage, "sleep", "60"});
  ASSERT_EQ(started.exit_code, 0) << started.err << daemon_->log();
  auto exec = berth({"exec", "sleeper", "sh", "-c", "cat /proc/self/uid_map; id -u"});
  ASSERT_EQ(exec.exit_code, 0) << exec.err << daemon_->log();
  EXPECT_EQ(squeezed(exec.out), "0 300000 65536\n0\n");
}

TEST_F(UsernsTest, RootfsIsOwnedByTheContainersRootAndWritable) {
  // Image files (owned by host root in the layer) show as the container's
  // root; /etc/passwd is copied up; new files belong to it; the daemon's
  // network files are readable.
  auto r = berth({"run", "--name", "writer", kImage, "sh", "-c",
                  "stat -c %u:%g /bin/busybox / && echo 'berth:x:1000:1000::/:/bin/sh' >> /etc/passwd && "
                  "echo made > /berth-userns-made && stat -c %u:%g /etc/passwd /berth-userns-made && "
                  "cat /etc/hostname /etc/hosts /etc/resolv.conf > /dev/null && echo readable"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << daemon_->log();
  const std::string expected = "0:0\n0:0\n0:0\n0:0\nreadable\n";
  EXPECT_EQ(r.out, expected);

  // On the host, in the container's upper layer: the subordinate IDs.
  std::optional<fs::path> made, passwd;
  for (const auto& entry : fs::recursive_directory_iterator(daemon_->data_root())) {
    if (entry.path().filename() == "berth-userns-made") made = entry.path();
    if (entry.path().filename() == "passwd" && entry.path().parent_path().filename() == "etc" &&
        read_file(entry.path().string()).find("berth:x:1000") != std::string::npos) {
      passwd = entry.path();
    }
  }
  ASSERT_TRUE(made.has_value());
  ASSERT_TRUE(passwd.has_value());
  for (const fs::path& p : {*made, *passwd}) {
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_uid, 300000u) << p;
    EXPECT_EQ(st.st_gid, 300000u) << p;
  }
  // Started again, the container still sees its files as its own.
  auto again = berth({"start", "-a", "writer"});
  ASSERT_EQ(again.exit_code, 0) << again.err << daemon_->log();
  EXPECT_TRUE(again.out.ends_with(expected)) << again.out;  // after the first run's logs
}

TEST_F(UsernsTest, UsernsHostOptsOut) {
  auto r = berth({"run", "--name", "hostns", "--userns", "host", kImage, "sh", "-c",
                  "cat /proc/self/uid_map; id -u; stat -c %u /bin/busybox"});
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  EXPECT_EQ(squeezed(r.out), "0 0 4294967295\n0\n0\n");
  auto inspect = berth({"inspect", "--format", "{{.HostConfig.UsernsMode}}", "hostns"});
  EXPECT_EQ(inspect.out, "host\n") << inspect.err;
}

TEST_F(UsernsTest, InfoShowsUsernsSecurityOption) {
  auto info = daemon_->api("GET", "/info");
  ASSERT_EQ(info.status, 200) << info.body;
  const json::array& options = json::parse(info.body).at("SecurityOptions").as_array();
  EXPECT_NE(std::find(options.begin(), options.end(), json::value("name=userns")), options.end())
      << info.body;
}

TEST_F(UsernsTest, ConflictingHostNamespacesAreRefused) {
  auto privileged = berth({"create", "--privileged", kImage});
  EXPECT_NE(privileged.exit_code, 0);
  EXPECT_NE(privileged.err.find("privileged mode is incompatible with user namespaces"), std::string::npos)
      << privileged.err;
  auto pid = berth({"create", "--pid", "host", kImage});
  EXPECT_NE(pid.err.find("cannot share the host PID namespace when user namespaces are enabled"),
            std::string::npos)
      << pid.err;
  auto allowed = berth({"create", "--privileged", "--userns", "host", kImage});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
}

TEST(UsernsRemapConfig, MissingRangesStopTheDaemon) {
  if (!fs::exists("/etc/subuid") || !fs::exists("/etc/subgid")) {
    GTEST_SKIP() << "/etc/subuid and /etc/subgid must exist to bind-mount test ranges over them";
  }
  TempDir files("userns-files"), root("userns-daemon");
  Daemon daemon(remapped_daemon(files, root.path(), "4343", "4242:300000:65536\n"));
  EXPECT_FALSE(daemon.started());
  EXPECT_NE(daemon.log().find("Can't create ID mappings: no subuid ranges found for user \"4343\""),
            std::string::npos)
      << daemon.log();
}

}  // namespace
}  // namespace berth::testing
