// The core's mount module against the real kernel: layer chains of the
// built-in overlay and vfs drivers (loaded in this process) mounted through
// MountedLayer, a 125-layer overlay chain whose options exceed a page,
// busy and stacked mounts, and failures that must leave nothing mounted.
#include "berth/core/mount.hpp"

#include "harness.hpp"
#include "in_process_storage.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
using core::Errc;
using core::MountedLayer;
using core::MountSpec;

std::vector<std::string> mounts_below(const std::string& dir) {
  auto mounts = core::mounts_under(dir);
  EXPECT_TRUE(mounts) << mounts.error().message;
  return mounts ? mounts.value() : std::vector<std::string>{};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class MountModule : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
    fs::create_directory(target_);
  }
  void TearDown() override {
    // A failed expectation must not leave the machine with our mounts.
    if (::geteuid() == 0) {
      EXPECT_TRUE(core::unmount_all_under(root_.path()));
    }
  }

  TempDir root_{"mount"};
  const std::string target_ = root_ / "target";
};

class Layers : public MountModule, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    MountModule::SetUp();
    if (IsSkipped()) return;
    storage_.emplace(root_ / "data", root_ / "exec", GetParam());
    if (storage_->driver() == nullptr) GTEST_SKIP() << GetParam() << " " << storage_->why();
  }
  void TearDown() override {
    MountModule::TearDown();
    storage_.reset();
  }
  const core::StorageDriver& driver() const { return *storage_->driver(); }

  std::optional<InProcessStorage> storage_;
};

TEST_P(Layers, BaseAndChildShowTheirFilesAndHideWhiteouts) {
  ASSERT_TRUE(storage_->add_layer(
      "base", "",
      {Entry::dir("etc"), Entry::file("etc/a", "base a\n"), Entry::file("etc/b", "base b\n"),
       Entry::dir("d"), Entry::file("d/old", "old\n")}));
  ASSERT_TRUE(
      storage_->add_layer("child", "base",
                          {Entry::dir("etc"), Entry::file("etc/a", "child a\n"),
                           Entry::whiteout("etc/b"), Entry::file("c", "new\n"), Entry::dir("d"),
                           Entry::opaque("d"), Entry::file("d/new", "new\n")}));
  {
    auto base = MountedLayer::mount(driver(), "base", target_);
    ASSERT_TRUE(base) << base.error().message;
    EXPECT_EQ(read_file(target_ + "/etc/b"), "base b\n");
    EXPECT_EQ(read_file(target_ + "/d/old"), "old\n");
    ASSERT_TRUE(base.value().release());
    EXPECT_TRUE(mounts_below(target_).empty());
    EXPECT_FALSE(fs::exists(target_ + "/etc"));
  }
  auto child = MountedLayer::mount(driver(), "child", target_);
  ASSERT_TRUE(child) << child.error().message;
  EXPECT_EQ(mounts_below(target_), std::vector<std::string>(child.value().specs().size(), target_));
  EXPECT_EQ(read_file(target_ + "/etc/a"), "child a\n");
  EXPECT_EQ(read_file(target_ + "/c"), "new\n");
  EXPECT_FALSE(fs::exists(target_ + "/etc/b")) << "whiteout not applied";
  EXPECT_FALSE(fs::exists(target_ + "/d/old")) << "opaque directory shows its parent's files";
  EXPECT_EQ(read_file(target_ + "/d/new"), "new\n");
  for (const auto& entry : fs::recursive_directory_iterator(target_)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with(".wh."))
        << entry.path() << " is a whiteout marker";
  }
  EXPECT_FALSE(driver().remove("child")) << "a mounted layer was removed";

  ASSERT_TRUE(child.value().release());
  EXPECT_TRUE(mounts_below(root_.path()).empty());
  EXPECT_TRUE(fs::is_empty(target_));
  EXPECT_TRUE(child.value().release()) << "a second release is a no-op";
  // Released means put: the driver lets the layer go.
  EXPECT_TRUE(driver().remove("child"));
  EXPECT_TRUE(driver().remove("base"));
}

TEST_P(Layers, ABusyMountIsDetachedLazily) {
  ASSERT_TRUE(storage_->add_layer("base", "", {Entry::file("held", "x")}));
  auto layer = MountedLayer::mount(driver(), "base", target_);
  ASSERT_TRUE(layer) << layer.error().message;
  const int fd = ::open((target_ + "/held").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto normal = core::unmount(target_);
  EXPECT_FALSE(normal);
  if (!normal) {
    EXPECT_EQ(normal.error().code, Errc::conflict) << normal.error().message;
  }
  EXPECT_TRUE(layer.value().release());
  EXPECT_TRUE(mounts_below(target_).empty());
  ::close(fd);
  EXPECT_TRUE(driver().remove("base"));
}

TEST_P(Layers, FailuresComeBackAsErrorsAndLeaveNothingMounted) {
  ASSERT_TRUE(storage_->add_layer("base", "", {Entry::file("f", "x")}));
  ASSERT_TRUE(storage_->add_layer("child", "base", {Entry::file("g", "y")}));

  auto missing = MountedLayer::mount(driver(), "child", root_ / "absent");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found) << missing.error().message;
  EXPECT_TRUE(contains(missing.error().message, "mount layer child: mount "))
      << missing.error().message;
  EXPECT_TRUE(contains(missing.error().message, root_ / "absent")) << missing.error().message;
  EXPECT_TRUE(contains(missing.error().message, "No such file or directory"))
      << missing.error().message;

  auto unknown = MountedLayer::mount(driver(), "nonexistent", target_);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found) << unknown.error().message;

  EXPECT_TRUE(mounts_below(root_.path()).empty());
  // Both failed mounts put their reference back.
  EXPECT_TRUE(driver().remove("child"));
  EXPECT_TRUE(driver().remove("base"));
}

INSTANTIATE_TEST_SUITE_P(Drivers, Layers, ::testing::Values("overlay", "vfs"),
                         [](const auto& param) { return param.param; });

// 125 layers: the lowerdir list of the top one is far beyond a page with the
// driver's absolute paths, and fits once relative to the data root.
TEST_F(MountModule, A125LayerOverlayChainMountsWithOptionsBeyondAPage) {
  InProcessStorage storage(root_ / "data", root_ / "exec", "overlay");
  if (storage.driver() == nullptr) GTEST_SKIP() << "overlay " << storage.why();
  const auto layers = numbered_layers(125);
  std::string parent;
  for (std::size_t i = 1; i <= layers.size(); ++i) {
    ASSERT_TRUE(storage.add_layer(numbered_file(i), parent, layers[i - 1]));
    parent = numbered_file(i);
  }
  {
    auto specs = storage.driver()->get(parent);
    ASSERT_TRUE(specs) << specs.error().message;
    ASSERT_EQ(specs.value().size(), 1u);
    EXPECT_GT(specs.value().front().options.size(), 4096u);
    ASSERT_TRUE(storage.driver()->put(parent));
  }

  const fs::path cwd = fs::current_path();
  auto top = MountedLayer::mount(*storage.driver(), parent, target_);
  ASSERT_TRUE(top) << top.error().message;
  EXPECT_EQ(read_file(target_ + "/top"), "125\n");
  for (std::size_t i = 1; i <= layers.size(); ++i) {
    EXPECT_TRUE(fs::is_regular_file(target_ + "/" + numbered_file(i))) << numbered_file(i);
  }
  EXPECT_EQ(read_file(target_ + "/layer-001"), "001\n");
  EXPECT_EQ(read_file(target_ + "/layer-125"), "125\n");
  // The relative paths were resolved on a thread of its own: ours is unchanged.
  EXPECT_EQ(fs::current_path(), cwd);

  // Layers below the top mount their own shorter chains too.
  const std::string middle = root_ / "middle";
  fs::create_directory(middle);
  auto mid = MountedLayer::mount(*storage.driver(), numbered_file(64), middle);
  ASSERT_TRUE(mid) << mid.error().message;
  EXPECT_EQ(read_file(middle + "/top"), "064\n");
  EXPECT_FALSE(fs::exists(middle + "/layer-065"));

  ASSERT_TRUE(top.value().release());
  ASSERT_TRUE(mid.value().release());
  EXPECT_TRUE(mounts_below(root_.path()).empty());
  EXPECT_TRUE(fs::is_empty(target_));
}

// An overlay of `count` lower directories below `lowers_dir` (each holding
// from-<i> and "which" = i, the first on top) with upper and work in `rw_dir`.
MountSpec long_overlay(const std::string& lowers_dir, int count, const std::string& rw_dir) {
  std::string lowerdir;
  for (int i = 0; i < count; ++i) {
    const std::string dir = lowers_dir + "/lower-" + std::to_string(i);
    fs::create_directories(dir);
    write_file(dir + "/from-" + std::to_string(i), "");
    write_file(dir + "/which", std::to_string(i));
    lowerdir += (i == 0 ? "" : ":") + dir;
  }
  fs::create_directories(rw_dir + "/upper");
  fs::create_directories(rw_dir + "/work");
  return {"overlay", "overlay",
          "lowerdir=" + lowerdir + ",upperdir=" + rw_dir + "/upper,workdir=" + rw_dir + "/work"};
}

// Lower directories in one place, upper and work in another (a container's
// layer kept apart from the image's): the lowers' directory is the one to
// mount from, the upper stays absolute.
TEST_F(MountModule, LongOverlayOptionsWithTheUpperElsewhere) {
  const MountSpec spec =
      long_overlay(root_ / "image-layers-under-a-long-directory-name", 80, root_ / "rw");
  ASSERT_GT(spec.options.size(), 4096u);
  auto mounted = core::mount(spec, target_);
  ASSERT_TRUE(mounted) << mounted.error().message;
  EXPECT_EQ(read_file(target_ + "/which"), "0");
  EXPECT_TRUE(fs::exists(target_ + "/from-79"));
  write_file(target_ + "/written", "up");
  EXPECT_EQ(read_file(root_ / "rw/upper/written"), "up");
  EXPECT_TRUE(core::unmount(target_));
  EXPECT_TRUE(mounts_below(target_).empty());
}

// Each long mount resolves its relative paths from its own directory even
// while another thread does the same from a different one.
TEST_F(MountModule, ConcurrentLongMountsKeepTheirOwnDirectories) {
  constexpr int rounds = 50;
  std::vector<std::string> failures[2];
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    const std::string name = "set-" + std::to_string(t);
    const std::string lowers = root_ / (name + "/lowers-below-a-long-directory-name");
    const MountSpec spec = long_overlay(lowers, 70, root_ / name);
    ASSERT_GT(spec.options.size(), 4096u);
    // Relative to either set's directory the paths exist: only this tells them apart.
    write_file(lowers + "/lower-69/set", name);
    const std::string target = root_ / (name + "/target");
    fs::create_directory(target);
    threads.emplace_back([spec, target, name, &errors = failures[t]] {
      for (int round = 0; round < rounds; ++round) {
        if (auto mounted = core::mount(spec, target); !mounted) {
          errors.push_back(mounted.error().message);
          continue;
        }
        if (read_file(target + "/set") != name) errors.push_back(target + " shows another set");
        if (auto unmounted = core::unmount(target); !unmounted) {
          errors.push_back(unmounted.error().message);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& errors : failures) EXPECT_EQ(errors, std::vector<std::string>{});
  EXPECT_TRUE(mounts_below(root_.path()).empty());
}

TEST_F(MountModule, OptionsThatCannotBeShortenedAreRefused) {
  // 300 lower directories that share no directory but "/".
  std::string lowerdir;
  for (int i = 0; i < 300; ++i)
    lowerdir += (i == 0 ? "/berth-test-x" : ":/berth-test-x") + std::to_string(i);
  auto mounted = core::mount({"overlay", "overlay", "lowerdir=" + lowerdir}, target_);
  ASSERT_FALSE(mounted);
  EXPECT_EQ(mounted.error().code, Errc::invalid_argument);
  EXPECT_TRUE(contains(mounted.error().message, "more than a page")) << mounted.error().message;
  EXPECT_TRUE(contains(mounted.error().message, target_)) << mounted.error().message;
  EXPECT_LT(mounted.error().message.size(), 600u) << "the options are abbreviated";
  EXPECT_TRUE(mounts_below(root_.path()).empty());
}

TEST_F(MountModule, BadDescriptionsAreErrorsNamingWhatFailed) {
  fs::create_directories(root_ / "upper");
  fs::create_directories(root_ / "work");
  const MountSpec bad_lower{"overlay", "overlay",
                            "lowerdir=" + (root_ / "no-such-lower") +
                                ",upperdir=" + (root_ / "upper") + ",workdir=" + (root_ / "work")};
  auto lower = core::mount(bad_lower, target_);
  ASSERT_FALSE(lower);
  EXPECT_TRUE(
      contains(lower.error().message, "mount overlay overlay at " + target_ + " (lowerdir="))
      << lower.error().message;
  EXPECT_TRUE(contains(lower.error().message, "no-such-lower")) << lower.error().message;
  EXPECT_TRUE(contains(lower.error().message, "a path in the options does not exist"))
      << lower.error().message;
  EXPECT_EQ(lower.error().code, Errc::not_found);

  auto fstype = core::mount({"berth-test-nofs", "none", ""}, target_);
  ASSERT_FALSE(fstype);
  EXPECT_TRUE(contains(fstype.error().message, "berth-test-nofs")) << fstype.error().message;

  auto untyped = core::mount({"", "none", ""}, target_);
  ASSERT_FALSE(untyped);
  EXPECT_EQ(untyped.error().code, Errc::invalid_argument);

  auto bad_flag = core::mount({"tmpfs", "berth-test", "size=nonsense"}, target_);
  ASSERT_FALSE(bad_flag);
  EXPECT_EQ(bad_flag.error().code, Errc::invalid_argument) << bad_flag.error().message;
  EXPECT_TRUE(contains(bad_flag.error().message, "Invalid argument")) << bad_flag.error().message;

  auto empty = core::mount_all({}, target_);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::invalid_argument);

  auto not_mounted = core::unmount(target_);
  ASSERT_FALSE(not_mounted);
  EXPECT_EQ(not_mounted.error().code, Errc::invalid_argument);
  EXPECT_TRUE(contains(not_mounted.error().message, "not mounted")) << not_mounted.error().message;

  EXPECT_TRUE(mounts_below(root_.path()).empty());
}

TEST_F(MountModule, AFailingSpecUndoesTheOnesMountedBeforeIt) {
  auto mounted = core::mount_all({{"tmpfs", "berth-test", "size=1m"},
                                  {"tmpfs", "berth-test", "mode=0700"},
                                  {"tmpfs", "berth-test", "size=nonsense"}},
                                 target_);
  ASSERT_FALSE(mounted);
  EXPECT_TRUE(contains(mounted.error().message, "size=nonsense")) << mounted.error().message;
  EXPECT_TRUE(mounts_below(root_.path()).empty());
}

TEST_F(MountModule, BindsWithFlagsAndStackedMountsUnmountInOrder) {
  fs::create_directories(root_ / "src/sub");
  write_file(root_ / "src/file", "bound");
  ASSERT_TRUE(core::mount({"bind", root_ / "src", "ro"}, target_));
  EXPECT_EQ(read_file(target_ + "/file"), "bound");
  EXPECT_EQ(::access((target_ + "/file").c_str(), W_OK), -1) << "ro was not applied to the bind";
  EXPECT_EQ(errno, EROFS);
  ASSERT_TRUE(core::mount({"tmpfs", "berth-test", "size=1m"}, target_ + "/sub"));
  ASSERT_TRUE(core::mount({"tmpfs", "berth-test", "size=1m"}, target_ + "/sub"));
  auto below = mounts_below(target_);
  EXPECT_EQ(below, (std::vector<std::string>{target_ + "/sub", target_ + "/sub", target_}));

  auto detached = core::unmount_all_under(target_);
  ASSERT_TRUE(detached) << detached.error().message;
  EXPECT_EQ(detached.value(), 3u);
  EXPECT_TRUE(mounts_below(root_.path()).empty());
  EXPECT_EQ(read_file(root_ / "src/file"), "bound") << "the bind's source was touched";
}

// The harness's safety net: a TempDir unmounts what a failed test left in it
// before removing it, instead of deleting through the mount.
TEST(TempDirSafetyNet, DetachesLeftoverMountsBeforeRemoving) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  TempDir source("mount-source");
  write_file(source / "keep", "kept");
  std::string leaked;
  {
    TempDir dir("mount-leak");
    leaked = dir / "bound";
    fs::create_directory(leaked);
    ASSERT_TRUE(core::mount({"bind", source.path(), ""}, leaked));
    ASSERT_EQ(read_file(leaked + "/keep"), "kept");
  }
  EXPECT_FALSE(fs::exists(leaked));
  EXPECT_EQ(read_file(source / "keep"), "kept");
  EXPECT_TRUE(mounts_below(fs::path(leaked).parent_path()).empty());
}

}  // namespace
}  // namespace berth::testing
