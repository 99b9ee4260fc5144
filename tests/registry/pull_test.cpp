// Pulls through a real berthd from Debian's docker-registry, with images
// pushed by skopeo (an independent client) and the docker CLI as the puller.
#include "pull_fixture.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace berth::testing {
namespace {

using Pull = PullTest;

TEST_F(Pull, Schema2AndOciImagesPullWithTheirConfigAsId) {
  for (auto format : {ImageFormat::docker_v2s2, ImageFormat::oci}) {
    std::string name = std::string("berth-test/") + (format == ImageFormat::oci ? "oci" : "v2s2") + ":1";
    SCOPED_TRACE(name);
    LayoutImage layout;
    ImageSpec spec;
    spec.layers.push_back({Entry::file("etc/second", "layer two\n")});
    push_test_image(registry_, name, format, spec, &layout);
    std::string ref = registry_.host() + "/" + name;
    auto pull = docker({"pull", ref});
    ASSERT_EQ(pull.exit_code, 0) << pull.err << daemon_->log();
    EXPECT_NE(pull.out.find("Downloaded newer image for " + ref), std::string::npos) << pull.out;
    EXPECT_EQ(image_id(ref), layout.entries.at(0).config_digest + "\n");
    auto again = docker({"pull", ref});
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.out.find("Image is up to date for " + ref), std::string::npos) << again.out;
    auto digests = docker({"image", "inspect", "-f", "{{json .RepoDigests}}", ref});
    EXPECT_NE(digests.out.find(registry_.host() + "/" + name.substr(0, name.find(':')) + "@sha256:"),
              std::string::npos)
        << digests.out;
  }
}

TEST_F(Pull, MultiPlatformIndexPicksTheHostPlatform) {
  LayoutImage layout;
  ImageSpec spec;
  spec.platforms = {PlatformSpec{"linux", "arm64", "v8"}, PlatformSpec{"linux", "amd64", ""}};
  push_test_image(registry_, "berth-test/multi:1", ImageFormat::oci, spec, &layout);
  std::string ref = registry_.host() + "/berth-test/multi:1";
  auto pull = docker({"pull", ref});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  std::string want;
  for (const auto& e : layout.entries) {
    if (e.platform.architecture == "amd64") want = e.config_digest;
  }
  EXPECT_EQ(image_id(ref), want + "\n");
}

TEST_F(Pull, MissingImageAndCorruptBlobFailCleanly) {
  auto missing = docker({"pull", registry_.host() + "/berth-test/nothing:1"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;

  LayoutImage layout;
  push_test_image(registry_, "berth-test/corrupt:1", ImageFormat::oci, {}, &layout);
  std::string blob = registry_.blob_data_path(layout.entries.at(0).layer_digests.at(0));
  std::string bytes;
  {
    std::ifstream in(blob, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_FALSE(bytes.empty());
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x55);
  write_file(blob, bytes);
  auto corrupt = docker({"pull", registry_.host() + "/berth-test/corrupt:1"});
  EXPECT_NE(corrupt.exit_code, 0);
  EXPECT_NE(corrupt.err.find("digest mismatch"), std::string::npos) << corrupt.err << corrupt.out;
  auto images = docker({"images", "-q"});
  EXPECT_EQ(images.out, "");
  EXPECT_TRUE(std::filesystem::is_empty(daemon_->data_root() + "/image/ingest"));
}

}  // namespace
}  // namespace berth::testing
