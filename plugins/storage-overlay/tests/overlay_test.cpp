// What overlay does beyond the conformance suite: overlay2's layout (short
// link names, lower files), deep chains within a mount option page, native
// whiteouts on disk, repairs at start-up, and "unsupported here".
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "berth/plugins/storage_overlay.h"
#include "berth/sdk/testing/conformance.hpp"
#include "berth/sdk/testing/driver_under_test.hpp"
#include "berth/sdk/testing/fake_host.hpp"
#include "probe.hpp"

namespace {

namespace fs = std::filesystem;
using berth::sdk::testing::DriverSource;
using berth::sdk::testing::DriverUnderTest;
using berth::sdk::testing::FakeHost;
using berth::sdk::testing::FakeMount;
using berth::sdk::testing::make_tar;
using berth::sdk::testing::MountedView;
using berth::sdk::testing::StorageClient;
using berth::sdk::testing::tar_dir;
using berth::sdk::testing::tar_file;
using berth::sdk::testing::tar_opaque;
using berth::sdk::testing::tar_whiteout;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, separator);) parts.push_back(part);
  return parts;
}

// The value of `key=` in a mount option string.
std::string option(const std::string& options, const std::string& key) {
  for (const std::string& o : split(options, ',')) {
    if (o.starts_with(key + "=")) return o.substr(key.size() + 1);
  }
  return {};
}

class Overlay : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "overlay needs root";
    start();
  }

  void start() {
    client_.reset();
    driver_.reset();
    driver_ = std::make_unique<DriverUnderTest>(
        DriverSource::builtin("builtin", &berth_builtin_storage_overlay), host_);
    ASSERT_EQ(driver_->init(), BERTH_OK) << driver_->init_error();
    client_ = std::make_unique<StorageClient>(*driver_);
  }

  StorageClient& c() { return *client_; }
  fs::path state() const { return host_.state_dir(); }

  std::vector<FakeMount> describe(const std::string& id) {
    std::vector<FakeMount> mounts;
    EXPECT_EQ(c().get(id, &mounts), BERTH_OK) << c().error();
    EXPECT_EQ(c().put(id), BERTH_OK) << c().error();
    return mounts;
  }

  FakeHost host_;
  std::unique_ptr<DriverUnderTest> driver_;
  std::unique_ptr<StorageClient> client_;
};

TEST_F(Overlay, DescribesABindForABaseAndAnOverlayOnTop) {
  ASSERT_EQ(c().create("base"), BERTH_OK) << c().error();
  ASSERT_EQ(c().create("mid", "base"), BERTH_OK) << c().error();
  ASSERT_EQ(c().create_rw("rw", "mid"), BERTH_OK) << c().error();

  EXPECT_EQ(describe("base"),
            (std::vector<FakeMount>{{"bind", (state() / "layers/base/diff").string(), "rbind"}}));

  const std::vector<FakeMount> mounts = describe("rw");
  ASSERT_EQ(mounts.size(), 1U);
  EXPECT_EQ(mounts[0].type, "overlay");
  EXPECT_EQ(mounts[0].source, "overlay");
  const std::string& options = mounts[0].options;
  EXPECT_EQ(option(options, "upperdir"), (state() / "layers/rw/diff").string());
  EXPECT_EQ(option(options, "workdir"), (state() / "layers/rw/work").string());
  const std::vector<std::string> lowers = split(option(options, "lowerdir"), ':');
  ASSERT_EQ(lowers.size(), 2U) << options;
  // Nearest parent first, each a short link to the parent's diff directory.
  EXPECT_EQ(fs::canonical(lowers[0]), fs::canonical(state() / "layers/mid/diff"));
  EXPECT_EQ(fs::canonical(lowers[1]), fs::canonical(state() / "layers/base/diff"));
  for (const std::string& lower : lowers) {
    EXPECT_EQ(fs::path(lower).parent_path(), state() / "l") << lower;
  }
  EXPECT_EQ(read_file(state() / "layers/rw/lower"), "l/" + fs::path(lowers[0]).filename().string() +
                                                        ":l/" +
                                                        fs::path(lowers[1]).filename().string());
}

TEST_F(Overlay, LinkNamesAreShortAndFollowTheirLayers) {
  ASSERT_EQ(c().create("base"), BERTH_OK) << c().error();
  ASSERT_EQ(c().create("child", "base"), BERTH_OK) << c().error();
  const std::regex link_syntax("[A-Z2-7]{26}");
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(state() / "l")) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(std::regex_match(name, link_syntax)) << name;
    EXPECT_TRUE(entry.is_symlink()) << name;
    names.insert(name);
  }
  ASSERT_EQ(names.size(), 2U);
  for (const char* id : {"base", "child"}) {
    const std::string link = read_file(state() / "layers" / id / "link");
    EXPECT_TRUE(names.contains(link)) << id;
    EXPECT_EQ(fs::read_symlink(state() / "l" / link), fs::path("../layers") / id / "diff");
  }
  const std::string child_link = read_file(state() / "layers/child/link");
  ASSERT_EQ(c().remove("child"), BERTH_OK) << c().error();
  EXPECT_FALSE(fs::exists(fs::symlink_status(state() / "l" / child_link)));
}

// Docker caps images at 125 layers (overlay2 at 128 lowers): the deepest
// chain must mount, though its absolute lowerdirs exceed a page; relative
// to l/ they fit, which is how the host mounts it.
TEST_F(Overlay, A125LayerChainMounts) {
  constexpr int depth = 125;
  std::string parent;
  for (int i = 0; i < depth; ++i) {
    const std::string id = "layer" + std::to_string(i);
    ASSERT_EQ(c().create(id, parent), BERTH_OK) << c().error();
    ASSERT_EQ(c().apply_diff(id, parent,
                             make_tar({tar_file("f" + std::to_string(i), std::to_string(i)),
                                       tar_file("top", std::to_string(i))})),
              BERTH_OK)
        << c().error();
    parent = id;
  }
  ASSERT_EQ(c().create_rw("container", parent), BERTH_OK) << c().error();

  std::vector<FakeMount> mounts;
  ASSERT_EQ(c().get("container", &mounts), BERTH_OK) << c().error();
  ASSERT_EQ(mounts.size(), 1U);
  const std::vector<std::string> lowers = split(option(mounts[0].options, "lowerdir"), ':');
  ASSERT_EQ(lowers.size(), static_cast<std::size_t>(depth));
  std::size_t relative = 0;
  for (const std::string& lower : lowers)
    relative += fs::path(lower).filename().string().size() + 1;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  EXPECT_LT(relative + option(mounts[0].options, "upperdir").size() +
                option(mounts[0].options, "workdir").size() + 64,
            page);
  {
    const MountedView view(mounts);
    for (int i = 0; i < depth; ++i) {
      EXPECT_EQ(read_file(view.path() + "/f" + std::to_string(i)), std::to_string(i)) << i;
    }
    EXPECT_EQ(read_file(view.path() + "/top"), std::to_string(depth - 1));
    std::ofstream(view.path() + "/written") << "in the container";
  }
  EXPECT_EQ(c().put("container"), BERTH_OK) << c().error();
  EXPECT_EQ(read_file(state() / "layers/container/diff/written"), "in the container");

  // overlay2's own limit: 128 parents.
  for (int i = depth; i < 128; ++i) {
    const std::string id = "layer" + std::to_string(i);
    ASSERT_EQ(c().create(id, parent), BERTH_OK) << c().error();
    parent = id;
  }
  ASSERT_EQ(c().create("layer128", parent), BERTH_OK) << c().error();
  EXPECT_EQ(c().create("layer129", "layer128"), BERTH_E_FAILED_PRECONDITION);
  EXPECT_NE(c().error().find("128"), std::string::npos) << c().error();
}

TEST_F(Overlay, AppliedWhiteoutsAreOverlaysOwn) {
  ASSERT_EQ(c().create("base"), BERTH_OK) << c().error();
  ASSERT_EQ(
      c().apply_diff("base", "",
                     make_tar({tar_dir("dir"), tar_file("dir/a", "a"), tar_file("gone", "g")})),
      BERTH_OK)
      << c().error();
  ASSERT_EQ(c().create("top", "base"), BERTH_OK) << c().error();
  ASSERT_EQ(c().apply_diff("top", "base",
                           make_tar({tar_whiteout("gone"), tar_dir("dir"), tar_opaque("dir"),
                                     tar_file("dir/b", "b")})),
            BERTH_OK)
      << c().error();
  const fs::path diff = state() / "layers/top/diff";
  struct stat st {};
  ASSERT_EQ(::lstat((diff / "gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char value[8] = {};
  ASSERT_EQ(::lgetxattr((diff / "dir").c_str(), "trusted.overlay.opaque", value, sizeof value), 1)
      << std::strerror(errno);
  EXPECT_EQ(value[0], 'y');
  EXPECT_FALSE(fs::exists(diff / "dir/.wh..wh..opq"));
  EXPECT_FALSE(fs::exists(diff / ".wh.gone"));
}

TEST_F(Overlay, DiffOnlyAgainstTheLayersOwnParent) {
  ASSERT_EQ(c().create("a"), BERTH_OK) << c().error();
  ASSERT_EQ(c().create("b"), BERTH_OK) << c().error();
  ASSERT_EQ(c().create("child", "a"), BERTH_OK) << c().error();
  std::string out;
  EXPECT_EQ(c().diff("child", "b", &out), BERTH_E_INVALID_ARGUMENT);
  EXPECT_NE(c().error().find("\"a\""), std::string::npos) << c().error();
  EXPECT_EQ(c().changes("child", "", &out), BERTH_E_INVALID_ARGUMENT);
  EXPECT_EQ(c().changes("child", "a", &out), BERTH_OK) << c().error();
  EXPECT_EQ(out, "[]");
}

TEST_F(Overlay, MountLabelsBecomeContextOptions) {
  ASSERT_EQ(c().create("base"), BERTH_OK) << c().error();
  ASSERT_EQ(c().create("child", "base"), BERTH_OK) << c().error();
  std::vector<FakeMount> mounts;
  ASSERT_EQ(c().get("child", &mounts, "bad\"label"), BERTH_E_INVALID_ARGUMENT);
  ASSERT_EQ(c().get("child", &mounts, "system_u:object_r:container_file_t:s0:c1,c2"), BERTH_OK);
  ASSERT_EQ(mounts.size(), 1U);
  EXPECT_TRUE(
      mounts[0].options.ends_with(",context=\"system_u:object_r:container_file_t:s0:c1,c2\""))
      << mounts[0].options;
  EXPECT_EQ(c().put("child"), BERTH_OK) << c().error();
}

TEST_F(Overlay, StartUpRepairsLinksAndSweepsLeftovers) {
  ASSERT_EQ(c().create("base"), BERTH_OK) << c().error();
  ASSERT_EQ(c().apply_diff("base", "", make_tar({tar_file("f", "base file")})), BERTH_OK);
  ASSERT_EQ(c().create("child", "base"), BERTH_OK) << c().error();
  const std::string base_link = read_file(state() / "layers/base/link");
  // A lost link, a dangling one from an interrupted create, a half-built layer.
  fs::remove(state() / "l" / base_link);
  fs::create_symlink("../layers/never/diff", state() / "l/AAAAAAAAAAAAAAAAAAAAAAAAAA");
  fs::create_directories(state() / "tmp/half.XyZ123/diff");
  start();
  EXPECT_EQ(fs::read_symlink(state() / "l" / base_link), fs::path("../layers/base/diff"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(state() / "l/AAAAAAAAAAAAAAAAAAAAAAAAAA")));
  EXPECT_TRUE(fs::is_empty(state() / "tmp"));
  EXPECT_TRUE(c().exists("base"));
  EXPECT_TRUE(c().exists("child"));
  std::vector<FakeMount> mounts;
  ASSERT_EQ(c().get("child", &mounts), BERTH_OK) << c().error();
  {
    const MountedView view(mounts);
    EXPECT_EQ(read_file(view.path() + "/f"), "base file");
  }
  EXPECT_EQ(c().put("child"), BERTH_OK) << c().error();
}

TEST_F(Overlay, StatusReportsOverlay2Keys) {
  std::string json;
  ASSERT_EQ(c().status(&json), BERTH_OK) << c().error();
  std::map<std::string, std::string> status;
  const boost::json::value pairs = boost::json::parse(json);
  for (const auto& pair : pairs.as_array()) {
    status.emplace(pair.as_array()[0].as_string(), pair.as_array()[1].as_string());
  }
  EXPECT_FALSE(status["Backing Filesystem"].empty()) << json;
  EXPECT_EQ(status["Supports d_type"], "true") << json;
  EXPECT_EQ(status["Native Overlay Diff"], "true") << json;
}

TEST(OverlayProbe, TmpReportsFileTypes) {
  EXPECT_TRUE(berth::plugins::storage_overlay::supports_d_type("/tmp"));
}

// On a backing filesystem overlay cannot use (here: overlay itself, which
// cannot be an upper directory), init answers "unsupported here" with why.
TEST(OverlayProbe, AnUnusableBackingFilesystemIsUnsupported) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  FakeHost host;
  const fs::path base = host.root() / "backing";
  for (const char* dir : {"lower", "upper", "work"}) fs::create_directories(base / dir);
  const std::string options = "lowerdir=" + (base / "lower").string() +
                              ",upperdir=" + (base / "upper").string() +
                              ",workdir=" + (base / "work").string();
  ASSERT_EQ(::mount("overlay", host.state_dir().c_str(), "overlay", 0, options.c_str()), 0)
      << std::strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{host.state_dir()};
  {
    DriverUnderTest driver(DriverSource::builtin("builtin", &berth_builtin_storage_overlay), host);
    EXPECT_EQ(driver.init(), BERTH_E_UNSUPPORTED) << driver.init_error();
    EXPECT_NE(driver.init_error().find("overlay"), std::string::npos) << driver.init_error();
  }
}

}  // namespace
