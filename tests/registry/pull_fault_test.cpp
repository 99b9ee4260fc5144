// Pulls that go wrong, through a real berthd and the docker CLI: the registry
// stopped in the middle of a download, manifests and configs that are not
// what their digests say, and the daemon killed mid-pull. Each must fail
// clearly (and fast: not after the 60 s socket timeout), leave no image,
// blob, layer or unfinished write behind, and not stand in the way of the
// next pull.
//
// The downloads go through a ThrottleProxy: on loopback a big layer arrives
// in a fraction of a second, through the proxy it takes seconds, so the test
// can stop the registry or kill the daemon while it is really in progress
// (seen as an unfinished write in the content store's ingest directory).
#include "pull_fixture.hpp"
#include "throttle_proxy.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::size_t kBigLayerBytes = 32 << 20;
constexpr std::int64_t kSlowRate = 8 << 20;  // bytes/s: ~4 s for the big layer

// A small base layer and a big one of random (incompressible) bytes, as an
// OCI layout written once per test process and copied into each test's
// registry.
const LayoutImage& big_image() {
  static TempDir dir("pull-big");
  static const LayoutImage image = [] {
    std::string big(kBigLayerBytes, '\0');
    std::mt19937_64 random{std::random_device{}()};
    for (std::size_t i = 0; i + 8 <= big.size(); i += 8) {
      std::uint64_t v = random();
      std::memcpy(big.data() + i, &v, 8);
    }
    ImageSpec spec;
    spec.layers.push_back({Entry::file("big", big)});
    return write_oci_layout(dir.path(), "big", spec);
  }();
  return image;
}

class PullFaults : public PullTest {
 protected:
  std::string driver() const override { return "overlay"; }

  // Waits until the daemon is writing a blob of at least `bytes` (a layer
  // download under way).
  bool downloading(std::int64_t bytes) const {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      std::error_code ec;
      for (const auto& f : ingest_files()) {
        auto size = fs::file_size(daemon_->data_root() + "/image/ingest/" + f, ec);
        if (!ec && static_cast<std::int64_t>(size) >= bytes) return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  // Pushes the big image and returns its name through a slow proxy.
  std::string push_big(ThrottleProxy& proxy, ImageFormat format = ImageFormat::docker_v2s2) {
    copy_to_registry(big_image(), registry_, "berth-test/big:1", format);
    return proxy.host() + "/berth-test/big:1";
  }

  // Overwrites a blob in the registry's storage: the registry serves what
  // is on disk without checking it against the digest.
  void tamper(const std::string& digest, const std::string& bytes) {
    write_file(registry_.blob_data_path(digest), bytes);
  }
};

TEST_F(PullFaults, RegistryStoppedMidDownloadFailsFastAndLeavesNothing) {
  ThrottleProxy proxy(registry_.port(), kSlowRate);
  std::string ref = push_big(proxy);
  auto pull = docker_async({"pull", ref}, kDocker28);
  ASSERT_TRUE(downloading(1 << 20)) << daemon_->log();
  auto stopped = std::chrono::steady_clock::now();
  registry_.stop();
  auto failed = pull.get();
  auto took = std::chrono::steady_clock::now() - stopped;
  EXPECT_NE(failed.exit_code, 0) << failed.out;
  EXPECT_NE(failed.err.find("unexpected end of blob"), std::string::npos) << failed.err;
  // Well inside the daemon's 60 s socket timeout: a dead registry is noticed
  // when its connection ends, not waited for.
  EXPECT_LT(took, 20s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  std::cout << "[ measure  ] registry stopped -> pull failed: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
  EXPECT_EQ(docker({"images", "-q"}, kDocker28).out, "");
  expect_empty_store();

  // While it is down, a new pull is refused at once.
  auto asked = std::chrono::steady_clock::now();
  auto refused = docker({"pull", registry_.host() + "/berth-test/big:1"}, kDocker28);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("connection refused"), std::string::npos) << refused.err;
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 20s);

  // The registry is back: the same pull works, nothing stale in the way.
  registry_.restart();
  proxy.set_rate(0);
  auto again = docker({"pull", ref}, kDocker28);
  ASSERT_EQ(again.exit_code, 0) << again.err << daemon_->log();
  EXPECT_EQ(image_id(ref), big_image().entries.at(0).config_digest + "\n");
  EXPECT_EQ(driver_layers().size(), 2u);
  EXPECT_EQ(ingest_files(), std::vector<std::string>{});
}

TEST_F(PullFaults, ManifestNotMatchingTheDigestIsRefused) {
  LayoutImage first, second;
  std::string first_digest = push_test_image(registry_, "berth-test/digest:1", ImageFormat::oci, {}, &first);
  ImageSpec other;
  other.layers = {{Entry::file("etc/other", "other\n")}};
  std::string second_digest =
      push_test_image(registry_, "berth-test/digest:2", ImageFormat::oci, other, &second);
  std::string repo = registry_.host() + "/berth-test/digest";

  // A digest the registry does not have.
  std::string absent = "sha256:" + std::string(64, 'e');
  auto missing = docker({"pull", repo + "@" + absent});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;

  // A registry answering for one digest with another manifest.
  tamper(first_digest, read_file(registry_.blob_data_path(second_digest)));
  auto wrong = docker({"pull", repo + "@" + first_digest});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("manifest verification failed for digest " + first_digest),
            std::string::npos)
      << wrong.err;
  EXPECT_EQ(docker({"images", "-q"}).out, "");
  expect_empty_store();

  // The untouched manifest still pulls by digest.
  auto good = docker({"pull", repo + "@" + second_digest});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(image_id(repo + "@" + second_digest), second.entries.at(0).config_digest + "\n");
}

TEST_F(PullFaults, ConfigNotMatchingItsDigestIsRefused) {
  LayoutImage layout;
  push_test_image(registry_, "berth-test/config:1", ImageFormat::docker_v2s2, {}, &layout);
  const std::string& config_digest = layout.entries.at(0).config_digest;
  std::string config = read_file(registry_.blob_data_path(config_digest));
  // Still valid JSON of the same size: only the digest can tell.
  auto pos = config.find("berth test layer");
  ASSERT_NE(pos, std::string::npos) << config;
  config.replace(pos, 5, "BERTH");
  tamper(config_digest, config);
  auto pull = docker({"pull", registry_.host() + "/berth-test/config:1"}, kDocker28);
  EXPECT_NE(pull.exit_code, 0);
  EXPECT_NE(pull.err.find("digest mismatch"), std::string::npos) << pull.err;
  EXPECT_NE(pull.err.find(config_digest), std::string::npos) << pull.err;
  EXPECT_EQ(docker({"images", "-q"}, kDocker28).out, "");
  expect_empty_store();
}

// The daemon killed in the middle of a pull: the restarted daemon's sweep
// removes what the pull left (the unfinished blob, the base layer it had
// already registered, the blobs no image keeps), and pulling again works.
class PullKilled : public PullFaults, public ::testing::WithParamInterface<std::string> {
 protected:
  std::string driver() const override { return GetParam(); }
};

TEST_P(PullKilled, DaemonKilledMidDownloadRestartsCleanAndPullsAgain) {
  ThrottleProxy proxy(registry_.port(), kSlowRate);
  std::string ref = push_big(proxy, ImageFormat::oci);
  auto pull = docker_async({"pull", ref});
  ASSERT_TRUE(downloading(1 << 20)) << daemon_->log();
  // The small base layer arrives at once and is registered while the big
  // one is still coming. The driver makes the layer before the store
  // records it, so the wait is for the record.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (sql("SELECT COUNT(*) FROM layers;") != "1\n" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(driver_layers().size(), 1u);
  daemon_->stop(SIGKILL);
  auto killed = pull.get();
  EXPECT_NE(killed.exit_code, 0) << killed.out;
  // What the dead daemon left: an unfinished write and a registered layer
  // that no image holds.
  EXPECT_FALSE(ingest_files().empty());
  EXPECT_EQ(sql("SELECT COUNT(*) FROM layers;"), "1\n");

  start_daemon();
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  expect_empty_store();

  proxy.set_rate(0);
  auto again = docker({"pull", ref});
  ASSERT_EQ(again.exit_code, 0) << again.err << daemon_->log();
  EXPECT_EQ(image_id(ref), big_image().entries.at(0).config_digest + "\n");
  // The driver holds exactly the layers the metadata names.
  std::string cache_ids;
  for (const auto& id : driver_layers()) cache_ids += id + "\n";
  EXPECT_EQ(sql("SELECT cache_id FROM layers ORDER BY cache_id;"), cache_ids);
  EXPECT_EQ(driver_layers().size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Drivers, PullKilled, ::testing::Values("overlay", "vfs"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace berth::testing
