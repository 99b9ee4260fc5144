// Pushes through a real berthd to Debian's docker-registry, with berth and
// both docker CLIs as the pushers and skopeo (an independent client) reading
// what arrived; round trips push -> rmi -> pull keep the image ID.
#include "pull_fixture.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace berth::testing {
namespace {

class Push : public PullTest {
 protected:
  CommandResult berth(std::vector<std::string> args) { return daemon_->berth(std::move(args)); }

  // skopeo inspect --raw of a pushed manifest (fails the test when skopeo does).
  std::string skopeo_manifest(const std::string& repo_tag) {
    auto r = skopeo({"inspect", "--raw", "--tls-verify=false", "docker://" + registry_.host() + "/" + repo_tag},
                    work_.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  // An image imported from a tar: its one layer is kept uncompressed, so a
  // push must compress it.
  std::string import_image(const std::string& name) {
    TempDir rootfs("push-rootfs");
    write_file(rootfs / "hello", "hello from an imported layer\n");
    std::filesystem::create_directory(rootfs / "etc");
    write_file(rootfs / "etc/berth-test", "imported\n");
    std::string tar = work_ / "rootfs.tar";
    auto t = run({"tar", "-C", rootfs.path(), "-cf", tar, "."});
    EXPECT_EQ(t.exit_code, 0) << t.err;
    auto r = berth({"import", tar, name});
    EXPECT_EQ(r.exit_code, 0) << r.err << daemon_->log();
    return r.out.substr(0, r.out.find('\n'));
  }
};

TEST_F(Push, ImportedImageRoundTripsThroughTheRegistry) {
  std::string ref = registry_.host() + "/berth-test/imported:1";
  std::string id = import_image(ref);
  ASSERT_TRUE(id.starts_with("sha256:")) << id;

  auto push = berth({"push", ref});
  ASSERT_EQ(push.exit_code, 0) << push.err << push.out << daemon_->log();
  EXPECT_NE(push.out.find("The push refers to repository [" + registry_.host() + "/berth-test/imported]"),
            std::string::npos)
      << push.out;
  EXPECT_NE(push.out.find("Pushed"), std::string::npos) << push.out;
  EXPECT_NE(push.out.find("1: digest: sha256:"), std::string::npos) << push.out;

  // skopeo reads it: a schema2 manifest with a gzip layer and our config.
  std::string manifest = skopeo_manifest("berth-test/imported:1");
  EXPECT_NE(manifest.find("application/vnd.docker.distribution.manifest.v2+json"), std::string::npos) << manifest;
  EXPECT_NE(manifest.find("application/vnd.docker.image.rootfs.diff.tar.gzip"), std::string::npos) << manifest;
  EXPECT_NE(manifest.find(id), std::string::npos) << manifest;
  TempDir copy("push-copy");
  // skopeo runs as nobody.
  std::filesystem::permissions(copy.path(), std::filesystem::perms::all);
  auto copied = skopeo({"copy", "--src-tls-verify=false", "docker://" + ref, "oci:" + copy.path() + ":x"},
                       work_.path());
  EXPECT_EQ(copied.exit_code, 0) << copied.err;

  // RepoDigests now name the pushed manifest.
  auto digests = berth({"image", "inspect", "-f", "{{json .RepoDigests}}", ref});
  EXPECT_NE(digests.out.find(registry_.host() + "/berth-test/imported@sha256:"), std::string::npos) << digests.out;

  // A second push finds the layer there; docker 28's client shows it too.
  auto again = docker({"push", ref}, kDocker28);
  ASSERT_EQ(again.exit_code, 0) << again.err << again.out;
  EXPECT_NE(again.out.find("Layer already exists"), std::string::npos) << again.out;

  // push -> rmi -> pull gives the same image ID.
  auto rmi = berth({"rmi", ref});
  ASSERT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_EQ(berth({"images", "-q"}).out, "");
  auto pull = berth({"pull", ref});
  ASSERT_EQ(pull.exit_code, 0) << pull.err << pull.out;
  EXPECT_NE(pull.out.find("Downloaded newer image for " + ref), std::string::npos) << pull.out;
  EXPECT_EQ(image_id(ref), id + "\n");
}

TEST_F(Push, PulledImageIsMountedIntoAnotherRepository) {
  LayoutImage layout;
  ImageSpec spec;
  spec.layers.push_back({Entry::file("etc/second", "layer two\n")});
  push_test_image(registry_, "berth-test/source:1", ImageFormat::docker_v2s2, spec, &layout);
  std::string source = registry_.host() + "/berth-test/source:1";
  ASSERT_EQ(docker({"pull", source}).exit_code, 0) << daemon_->log();
  std::string target = registry_.host() + "/berth-test/target:2";
  ASSERT_EQ(docker({"tag", source, target}).exit_code, 0);

  auto push = docker({"push", target});
  ASSERT_EQ(push.exit_code, 0) << push.err << push.out << daemon_->log();
  EXPECT_NE(push.out.find("Mounted from berth-test/source"), std::string::npos) << push.out;
  // The layers went up as they came down: same blobs, same config.
  std::string manifest = skopeo_manifest("berth-test/target:2");
  for (const auto& digest : layout.entries.at(0).layer_digests) {
    EXPECT_NE(manifest.find(digest), std::string::npos) << manifest;
  }
  EXPECT_NE(manifest.find(layout.entries.at(0).config_digest), std::string::npos) << manifest;

  ASSERT_EQ(docker({"rmi", source, target}).exit_code, 0);
  auto pull = docker({"pull", target}, kDocker28);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(image_id(target), layout.entries.at(0).config_digest + "\n");
}

TEST_F(Push, AllTagsAndMissingImages) {
  std::string repo = registry_.host() + "/berth-test/tags";
  std::string id = import_image(repo + ":a");
  ASSERT_EQ(berth({"tag", repo + ":a", repo + ":b"}).exit_code, 0);
  auto all = berth({"push", "--all-tags", repo});
  ASSERT_EQ(all.exit_code, 0) << all.err << all.out;
  EXPECT_NE(all.out.find("a: digest: sha256:"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("b: digest: sha256:"), std::string::npos) << all.out;
  EXPECT_NE(skopeo_manifest("berth-test/tags:b").find(id), std::string::npos);

  auto missing = berth({"push", repo + ":nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("An image does not exist locally with the tag: " + repo), std::string::npos)
      << missing.err;
  auto docker_missing = docker({"push", registry_.host() + "/berth-test/none:1"});
  EXPECT_NE(docker_missing.exit_code, 0);
  EXPECT_NE(docker_missing.err.find("An image does not exist locally with the tag"), std::string::npos)
      << docker_missing.err;
  auto bad = berth({"push", "Upper/Case"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("invalid reference format"), std::string::npos) << bad.err;
}

TEST_F(Push, UnreachableRegistryFailsWithAClearError) {
  std::string ref = "127.0.0.1:1/berth-test/nowhere:1";
  import_image(ref);
  auto push = berth({"push", ref});
  EXPECT_EQ(push.exit_code, 1);
  EXPECT_NE(push.err.find("127.0.0.1:1"), std::string::npos) << push.err;
  // The image is still there, untouched.
  EXPECT_EQ(berth({"image", "inspect", "-f", "{{.RepoDigests}}", ref}).out, "[]\n");
}

}  // namespace
}  // namespace berth::testing
