// End to end: a 125-layer image (each layer adds /layer-NNN and rewrites
// /top) pushed by skopeo into a local registry, pulled by the docker CLI
// through a real berthd on the overlay driver, then - the daemon stopped -
// its top layer mounted from the daemon's data root with the core's mount
// module, whose lowerdir list is far beyond a page.
#include "berth/core/image/content_store.hpp"
#include "berth/core/image/image_store.hpp"
#include "berth/core/mount.hpp"
#include "berth/core/store.hpp"

#include "harness.hpp"
#include "in_process_storage.hpp"
#include "registry.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TEST(DeepImage, A125LayerImagePulledThroughBerthdMountsWithEveryLayer) {
  if (::geteuid() != 0) GTEST_SKIP() << "the overlay driver and mounting need root";
  constexpr std::size_t depth = 125;
  LocalRegistry registry;
  TempDir work("deep");
  const std::string name = "berth-test/deep:latest";
  const std::string ref = registry.host() + "/" + name;

  auto start = Clock::now();
  ImageSpec spec;
  spec.layers = numbered_layers(depth);
  push_test_image(registry, name, ImageFormat::oci, spec);
  const double push_seconds = seconds_since(start);

  Daemon daemon(Daemon::Options{.args = {"--storage-driver", "overlay"}});
  ASSERT_TRUE(daemon.started()) << daemon.log();
  auto docker = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/docker", "-H", daemon.host()});
    return run(args, {{"DOCKER_CONFIG", work.path()}, {"DOCKER_HOST", ""}});
  };
  start = Clock::now();
  auto pull = docker({"pull", ref});
  const double pull_seconds = seconds_since(start);
  ASSERT_EQ(pull.exit_code, 0) << pull.out << pull.err << daemon.log();
  auto layers = docker({"image", "inspect", "-f", "{{len .RootFS.Layers}} {{.RootFS.Type}}", ref});
  ASSERT_EQ(layers.exit_code, 0) << layers.err;
  EXPECT_EQ(layers.out, std::to_string(depth) + " layers\n");
  auto driver_name = docker({"info", "-f", "{{.Driver}}"});
  EXPECT_EQ(driver_name.out, "overlay\n") << driver_name.err;
  ASSERT_EQ(daemon.stop(SIGTERM), 0) << daemon.log();

  // The daemon's stores and driver, opened in this process.
  auto db = core::MetadataStore::open(daemon.data_root() + "/berth.db");
  ASSERT_TRUE(db) << db.error().message;
  auto content = core::image::ContentStore::open(daemon.data_root() + "/image");
  ASSERT_TRUE(content) << content.error().message;
  InProcessStorage storage(daemon.data_root(), daemon.exec_root(), "overlay");
  ASSERT_NE(storage.driver(), nullptr) << storage.why();
  core::image::ImageStore images(*db.value(), *content.value(), storage.driver());
  auto id = images.resolve(ref);
  ASSERT_TRUE(id) << id.error().message;
  auto image = images.get(id.value());
  ASSERT_TRUE(image) << image.error().message;
  ASSERT_EQ(image.value().layers.size(), depth);
  const core::image::LayerInfo& top = image.value().layers.back();
  EXPECT_EQ(top.chain_id, image.value().top_layer);

  const std::string rootfs = work / "rootfs";
  fs::create_directory(rootfs);
  start = Clock::now();
  {
    auto mounted = core::MountedLayer::mount(*storage.driver(), top.cache_id, rootfs);
    ASSERT_TRUE(mounted) << mounted.error().message;
    const double mount_seconds = seconds_since(start);
    ASSERT_EQ(mounted.value().specs().size(), 1u);
    EXPECT_GT(mounted.value().specs().front().options.size(), 4096u);
    EXPECT_EQ(read_file(rootfs + "/top"), "125\n");
    EXPECT_EQ(read_file(rootfs + "/layer-001"), "001\n");
    EXPECT_EQ(read_file(rootfs + "/layer-125"), "125\n");
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(rootfs)) {
      if (entry.path().filename().string().starts_with("layer-")) ++files;
    }
    EXPECT_EQ(files, depth);
    ASSERT_TRUE(mounted.value().release());
    std::cout << "deep image: " << depth << " layers, push " << push_seconds << " s, pull "
              << pull_seconds << " s, mount " << mount_seconds << " s, options "
              << mounted.value().specs().front().options.size() << " bytes\n";
  }
  auto left = core::mounts_under(work.path());
  ASSERT_TRUE(left);
  EXPECT_TRUE(left.value().empty());
  auto left_in_daemon = core::mounts_under(daemon.root());
  ASSERT_TRUE(left_in_daemon);
  EXPECT_TRUE(left_in_daemon.value().empty());
}

}  // namespace
}  // namespace berth::testing
