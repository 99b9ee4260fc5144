// Images through the API on a real berthd, with each storage driver:
// load/save round trips with the docker CLI, OCI layouts, tagging and
// removal semantics, import, prune, hostile or broken archives, and a
// daemon killed mid-load.
#include "harness.hpp"
#include "../support/image_builder.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <thread>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

TestImage two_layer_image(const std::string& tag) {
  TestImage img;
  img.layers.push_back({Entry::dir("bin"), Entry::file("bin/hello", "#!/bin/sh\necho hello\n", 0755),
                        Entry::dir("etc"), Entry::file("etc/motd", "first\n")});
  img.layers.push_back({Entry::dir("etc"), Entry::file("etc/motd", "second\n"),
                        Entry::symlink("etc/link", "motd")});
  img.tags = {tag};
  return img;
}

class Images : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Daemon>(Daemon::Options{.args = {"--storage-driver", GetParam()}});
    ASSERT_TRUE(daemon_->started()) << daemon_->log();
  }

  // The API over the UNIX socket with curl: {status, body}.
  std::pair<int, std::string> api(const std::string& method, const std::string& path,
                                  const std::string& body_file = {}) {
    std::vector<std::string> argv{"curl", "-sS", "--max-time", "60", "--unix-socket",
                                  daemon_->socket(), "-X", method, "-o", work_ / "body",
                                  "-w", "%{http_code}"};
    if (!body_file.empty()) {
      argv.insert(argv.end(), {"-H", "Content-Type: application/x-tar", "--data-binary", "@" + body_file});
    }
    argv.push_back("http://berth/v1.41" + path);
    auto r = run(argv);
    return {std::atoi(r.out.c_str()), read_file(work_ / "body")};
  }

  CommandResult docker(std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/docker", "-H", daemon_->host()});
    return run(args, {{"DOCKER_CONFIG", work_.path()}, {"DOCKER_HOST", ""}});
  }

  json::value images() {
    auto [status, body] = api("GET", "/images/json");
    EXPECT_EQ(status, 200) << body;
    return json::parse(body);
  }

  std::unique_ptr<Daemon> daemon_;
  TempDir work_{"images"};
};

TEST_P(Images, DockerLoadSaveRoundTripKeepsTheImageId) {
  TestImage img = two_layer_image("berth-test/app:1");
  write_file(work_ / "in.tar", docker_archive({img}));
  auto load = docker({"load", "-i", work_ / "in.tar"});
  ASSERT_EQ(load.exit_code, 0) << load.err << daemon_->log();
  EXPECT_NE(load.out.find("Loaded image: berth-test/app:1"), std::string::npos) << load.out;

  auto id = docker({"image", "inspect", "-f", "{{.Id}}", "berth-test/app:1"});
  ASSERT_EQ(id.exit_code, 0) << id.err;
  EXPECT_EQ(id.out, image_id(img) + "\n");
  auto layers = docker({"image", "inspect", "-f", "{{len .RootFS.Layers}} {{.Os}}", "berth-test/app:1"});
  EXPECT_EQ(layers.out, "2 linux\n");

  auto save = docker({"save", "-o", work_ / "saved.tar", "berth-test/app:1"});
  ASSERT_EQ(save.exit_code, 0) << save.err;
  auto rmi = docker({"rmi", "berth-test/app:1"});
  ASSERT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_NE(rmi.out.find("Deleted: " + image_id(img)), std::string::npos) << rmi.out;
  EXPECT_EQ(images().as_array().size(), 0u);

  auto again = docker({"load", "-i", work_ / "saved.tar"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto id2 = docker({"image", "inspect", "-f", "{{.Id}}", "berth-test/app:1"});
  EXPECT_EQ(id2.out, image_id(img) + "\n");
  auto listed = docker({"images", "--format", "{{.Repository}}:{{.Tag}}"});
  EXPECT_EQ(listed.out, "berth-test/app:1\n");
}

TEST_P(Images, OciLayoutLoads) {
  TestImage img = two_layer_image("127.0.0.1:5000/berth-test/oci:latest");
  write_file(work_ / "oci.tar", oci_archive(img));
  auto [status, body] = api("POST", "/images/load", work_ / "oci.tar");
  EXPECT_EQ(status, 200);
  EXPECT_NE(body.find("Loaded image: 127.0.0.1:5000/berth-test/oci:latest"), std::string::npos) << body;
  auto [s2, inspect] = api("GET", "/images/127.0.0.1:5000/berth-test/oci:latest/json");
  ASSERT_EQ(s2, 200) << inspect;
  EXPECT_EQ(json::parse(inspect).at("Id").as_string(), image_id(img));
}

TEST_P(Images, SharedLayersAreFreedOnlyWithTheLastImage) {
  TestImage base = two_layer_image("berth-test/base:1");
  TestImage child = base;
  child.layers.push_back({Entry::file("extra", "x")});
  child.tags = {"berth-test/child:1"};
  write_file(work_ / "both.tar", docker_archive({base, child}));
  ASSERT_EQ(docker({"load", "-i", work_ / "both.tar"}).exit_code, 0);
  ASSERT_EQ(docker({"rmi", "berth-test/base:1"}).exit_code, 0);
  // The child still works: its layers, shared with base, are intact.
  ASSERT_EQ(docker({"save", "-o", work_ / "child.tar", "berth-test/child:1"}).exit_code, 0);
  ASSERT_EQ(docker({"rmi", "berth-test/child:1"}).exit_code, 0);
  ASSERT_EQ(docker({"load", "-i", work_ / "child.tar"}).exit_code, 0);
  EXPECT_EQ(docker({"image", "inspect", "-f", "{{.Id}}", "berth-test/child:1"}).out, image_id(child) + "\n");
}

TEST_P(Images, TagAndRemoveSemantics) {
  TestImage img = two_layer_image("berth-test/one:1");
  write_file(work_ / "in.tar", docker_archive({img}));
  ASSERT_EQ(docker({"load", "-i", work_ / "in.tar"}).exit_code, 0);
  ASSERT_EQ(docker({"tag", "berth-test/one:1", "berth-test/two:2"}).exit_code, 0);
  auto both = docker({"images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"});
  EXPECT_NE(both.out.find("berth-test/two:2 " + image_id(img).substr(7, 12)), std::string::npos) << both.out;

  auto filtered = docker({"images", "--filter", "reference=berth-test/two", "--format", "{{.Repository}}:{{.Tag}}"});
  EXPECT_EQ(filtered.out, "berth-test/two:2\n");

  auto conflict = docker({"rmi", image_id(img).substr(7, 12)});
  EXPECT_NE(conflict.exit_code, 0);
  EXPECT_NE(conflict.err.find("image is referenced in multiple repositories"), std::string::npos) << conflict.err;

  auto untag = docker({"rmi", "berth-test/two:2"});
  EXPECT_EQ(untag.exit_code, 0);
  EXPECT_EQ(untag.out, "Untagged: berth-test/two:2\n");
  ASSERT_EQ(docker({"tag", "berth-test/one:1", "berth-test/two:2"}).exit_code, 0);
  auto forced = docker({"rmi", "-f", image_id(img)});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.out.find("Deleted: " + image_id(img)), std::string::npos);
  EXPECT_EQ(images().as_array().size(), 0u);

  auto missing = docker({"rmi", "berth-test/nothing:here"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("No such image: berth-test/nothing:here"), std::string::npos) << missing.err;
}

TEST_P(Images, ImportMakesAOneLayerImageAndPruneRemovesDangling) {
  write_file(work_ / "rootfs.tar", layer_tar({Entry::dir("etc"), Entry::file("etc/os-release", "ID=test\n")}));
  auto imp = docker({"import", work_ / "rootfs.tar", "berth-test/imported:v1"});
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  EXPECT_EQ(imp.out.rfind("sha256:", 0), 0u) << imp.out;
  auto layers = docker({"image", "inspect", "-f", "{{len .RootFS.Layers}}", "berth-test/imported:v1"});
  EXPECT_EQ(layers.out, "1\n");
  auto dangling = docker({"import", work_ / "rootfs.tar"});
  ASSERT_EQ(dangling.exit_code, 0) << dangling.err;
  auto [status, body] = api("POST", "/images/prune");
  EXPECT_EQ(status, 200);
  auto pruned = json::parse(body);
  ASSERT_TRUE(pruned.at("ImagesDeleted").is_array()) << body;
  EXPECT_EQ(pruned.at("ImagesDeleted").as_array().size(), 1u) << body;
  EXPECT_EQ(images().as_array().size(), 1u);
}

TEST_P(Images, BrokenArchivesAreRefusedAndChangeNothing) {
  TestImage img = two_layer_image("berth-test/bad:1");
  std::string good = docker_archive({img});
  struct Case {
    std::string name, bytes;
  };
  std::vector<Case> cases{
      {"garbage", std::string(4096, 'x')},
      {"truncated", good.substr(0, good.size() / 2)},
      {"no manifest", layer_tar({Entry::file("hello", "world")})},
  };
  {
    // A layer's bytes changed after the config recorded its diff ID.
    Case c{"wrong diff id", good};
    auto pos = c.bytes.find("second\n");
    ASSERT_NE(pos, std::string::npos);
    c.bytes[pos + 3] = 'X';
    cases.push_back(c);
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    write_file(work_ / "bad.tar", c.bytes);
    auto [status, body] = api("POST", "/images/load", work_ / "bad.tar");
    EXPECT_NE(body.find("\"error\""), std::string::npos) << status << " " << body;
    EXPECT_EQ(images().as_array().size(), 0u);
  }
  // Nothing was left behind: no blobs, no unfinished layers.
  EXPECT_TRUE(fs::is_empty(daemon_->data_root() + "/image/blobs/sha256"));
  EXPECT_TRUE(fs::is_empty(daemon_->data_root() + "/image/ingest"));
  auto pending = run({"sqlite3", daemon_->data_root() + "/berth.db",
                      "SELECT COUNT(*) FROM pending_layers; SELECT COUNT(*) FROM layers;"});
  EXPECT_EQ(pending.out, "0\n0\n") << pending.err;
  // And a good archive still loads afterwards.
  write_file(work_ / "good.tar", good);
  EXPECT_EQ(docker({"load", "-i", work_ / "good.tar"}).exit_code, 0);
}

TEST_P(Images, DaemonKilledMidLoadRestartsConsistent) {
  // One big layer so the load is still running when the daemon dies.
  std::string big(64 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i / 4096);
  TestImage img;
  img.layers.push_back({Entry::file("big", big)});
  img.tags = {"berth-test/big:1"};
  write_file(work_ / "big.tar", docker_archive({img}));
  // A daemon on a root this test owns, so it survives the first daemon.
  TempDir root("kill-load");
  daemon_ = std::make_unique<Daemon>(Daemon::Options{.args = {"--storage-driver", GetParam()}, .root = root.path()});
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  std::thread loader([&] { (void)api("POST", "/images/load", work_ / "big.tar"); });
  std::this_thread::sleep_for(150ms);
  daemon_->stop(SIGKILL);
  loader.join();
  daemon_.reset();
  Daemon again({.args = {"--storage-driver", GetParam()}, .root = root.path()});
  ASSERT_TRUE(again.started()) << again.log();
  auto pending = run({"sqlite3", again.data_root() + "/berth.db", "SELECT COUNT(*) FROM pending_layers;"});
  EXPECT_EQ(pending.out, "0\n");
  EXPECT_TRUE(fs::is_empty(again.data_root() + "/image/ingest"));
  // Either the load finished before the kill (a complete image) or nothing
  // of it remains.
  auto ls = run({"curl", "-sS", "--unix-socket", again.socket(), "http://b/v1.41/images/json"});
  auto list = json::parse(ls.out);
  if (list.as_array().empty()) {
    auto layers = run({"sqlite3", again.data_root() + "/berth.db", "SELECT COUNT(*) FROM layers;"});
    EXPECT_EQ(layers.out, "0\n");
  } else {
    EXPECT_EQ(list.as_array()[0].at("Id").as_string(), image_id(img));
  }
}

INSTANTIATE_TEST_SUITE_P(Drivers, Images, ::testing::Values("vfs", "overlay"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace berth::testing
