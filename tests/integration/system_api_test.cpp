// System-wide API behaviour on a real berthd. GET /system/df: layers shared
// by two images counted once, SharedSize per image, the `type` selection;
// `berth system df` printing what the real docker CLIs print for the same
// daemon. And JSON written the way Go writes it, in progress streams too.
#include "harness.hpp"
#include "../support/image_builder.hpp"

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

class SystemDf : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(daemon_.started()) << daemon_.log(); }

  // Two images on one base layer, plus an untagged one of its own.
  void load_images() {
    Layer base{Entry::dir("etc"), Entry::file("etc/base", std::string(20000, 'b'))};
    TestImage a{{base, {Entry::file("a", std::string(3000, 'a'))}}, {"berth-test/a:1"}};
    TestImage b{{base, {Entry::file("b", std::string(5000, 'b'))}}, {"berth-test/b:2"}};
    TestImage lone{{{Entry::file("lone", "x")}}, {}};
    std::string tar = work_ / "images.tar";
    write_file(tar, docker_archive({a, b, lone}));
    auto r = daemon_.berth({"load", "-q", "-i", tar});
    ASSERT_EQ(r.exit_code, 0) << r.err << daemon_.log();
  }

  json::value df(const std::string& query = {}) {
    auto r = daemon_.api("GET", "/system/df" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }

  CommandResult docker(const std::string& binary, std::vector<std::string> args) {
    args.insert(args.begin(), {binary, "-H", daemon_.host()});
    return run(args, {{"DOCKER_CONFIG", work_.path()},
                      {"DOCKER_HOST", ""},
                      {"DOCKER_CONTEXT", ""},
                      {"DOCKER_API_VERSION", ""},
                      {"TZ", "UTC"}});
  }

  Daemon daemon_{{.args = {"--storage-driver", "vfs"}}};
  TempDir work_{"system-df"};
};

TEST_F(SystemDf, EmptyDaemonAnswersEmptyLists) {
  auto r = daemon_.api("GET", "/system/df");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(
      r.body,
      "{\"LayersSize\":0,\"Images\":[],\"Containers\":[],\"Volumes\":[],\"BuildCache\":[]}\n");
}

TEST_F(SystemDf, SharedLayersAreCountedOnce) {
  load_images();
  auto usage = df();
  auto list = daemon_.api("GET", "/images/json");
  ASSERT_EQ(list.status, 200);
  std::map<std::string, json::object> listed;
  json::value summaries = json::parse(list.body);
  for (const auto& i : summaries.as_array()) {
    listed[std::string(i.at("Id").as_string())] = i.as_object();
  }

  const auto& images = usage.at("Images").as_array();
  ASSERT_EQ(images.size(), 3u);
  std::map<std::string, const json::object*> by_tag;
  std::int64_t total = 0;
  for (const auto& v : images) {
    const auto& i = v.as_object();
    // The image summary of /images/json, with SharedSize and Containers
    // computed.
    json::object expected = listed.at(std::string(i.at("Id").as_string()));
    EXPECT_EQ(expected.at("SharedSize").as_int64(), -1);
    EXPECT_EQ(i.at("Containers").as_int64(), 0);
    expected["SharedSize"] = i.at("SharedSize");
    expected["Containers"] = 0;
    EXPECT_EQ(json::value(i), json::value(expected));
    total += i.at("Size").as_int64();
    const auto& tags = i.at("RepoTags").as_array();
    by_tag[tags.empty() ? "" : std::string(tags[0].as_string())] = &i;
  }
  const auto& a = *by_tag.at("berth-test/a:1");
  const auto& b = *by_tag.at("berth-test/b:2");
  const auto& lone = *by_tag.at("");
  std::int64_t shared = a.at("SharedSize").as_int64();
  EXPECT_GE(shared, 20000);                    // the base layer ...
  EXPECT_LT(shared, a.at("Size").as_int64());  // ... but not a's own one
  EXPECT_EQ(b.at("SharedSize").as_int64(), shared);
  EXPECT_EQ(lone.at("SharedSize").as_int64(), 0);
  EXPECT_EQ(usage.at("LayersSize").as_int64(), total - shared);

  // `type` picks what is computed; the rest is null.
  auto only_images = df("?type=image");
  EXPECT_EQ(only_images.at("Images").as_array().size(), 3u);
  EXPECT_TRUE(only_images.at("Containers").is_null());
  EXPECT_TRUE(only_images.at("BuildCache").is_null());
  auto only_volumes = df("?type=volume&type=container");
  EXPECT_TRUE(only_volumes.at("Images").is_null());
  EXPECT_EQ(only_volumes.at("LayersSize").as_int64(), 0);
  EXPECT_TRUE(only_volumes.at("Volumes").is_array());
  auto bad = daemon_.api("GET", "/system/df?type=bogus");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body).at("message").as_string(), "unknown object type: bogus");
}

TEST_F(SystemDf, BerthPrintsTheSummaryTable) {
  load_images();
  auto usage = df();
  auto r = daemon_.berth({"system", "df"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto layers = usage.at("LayersSize").as_int64();
  ASSERT_LT(layers, 100000);  // shown in kB
  char size[32];
  std::snprintf(size, sizeof size, "%.4gkB", static_cast<double>(layers) / 1000);
  std::string s(size);
  std::string want =
      "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n"
      "Images          3         0         " +
      s + std::string(10 - s.size(), ' ') + s +
      " (100%)\n"
      "Containers      0         0         0B        0B\n"
      "Local Volumes   0         0         0B        0B\n"
      "Build Cache     0         0         0B        0B\n";
  EXPECT_EQ(r.out, want);

  auto f = daemon_.berth({"system", "df", "--format", "{{.Type}}={{.TotalCount}}/{{.Active}}"});
  EXPECT_EQ(f.out, "Images=3/0\nContainers=0/0\nLocal Volumes=0/0\nBuild Cache=0/0\n");
  auto j = daemon_.berth({"system", "df", "--format", "json"});
  auto first = json::parse(j.out.substr(0, j.out.find('\n')));
  EXPECT_EQ(first,
            json::parse("{\"Active\":\"0\",\"Reclaimable\":\"" + s + " (100%)\",\"Size\":\"" + s +
                        "\",\"TotalCount\":\"3\",\"Type\":\"Images\"}"));

  auto v = daemon_.berth({"system", "df", "-v"});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_TRUE(
      v.out.starts_with("Images space usage:\n\nREPOSITORY     TAG       IMAGE ID       CREATED"))
      << v.out;
  EXPECT_THAT(v.out, HasSubstr("SHARED SIZE   UNIQUE SIZE   CONTAINERS\n"));
  EXPECT_THAT(v.out, HasSubstr("\nberth-test/a   1         "));
  EXPECT_THAT(v.out, HasSubstr("\n<none>         <none>    "));
  EXPECT_THAT(v.out,
              HasSubstr("\n\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   "
                        "LAST USED   USAGE     SHARED\n"));
}

// The docker CLIs read berthd's answer into their own types and print it:
// the same text as berth's, line for line.
TEST_F(SystemDf, DockerClientsPrintTheSame) {
  load_images();
  int compared = 0;
  for (bool verbose : {false, true}) {
    std::vector<std::string> args{"system", "df"};
    if (verbose) args.push_back("-v");
    auto mine = daemon_.berth(args);
    ASSERT_EQ(mine.exit_code, 0) << mine.err;
    for (const std::string binary : {"/usr/bin/docker", "/usr/local/bin/docker"}) {
      if (!std::filesystem::exists(binary)) continue;
      SCOPED_TRACE(binary + (verbose ? " -v" : ""));
      auto theirs = docker(binary, args);
      ASSERT_EQ(theirs.exit_code, 0) << theirs.err;
      EXPECT_EQ(theirs.out, mine.out);
      ++compared;
    }
  }
  if (compared == 0) GTEST_SKIP() << "no docker CLI is installed";
}

// A load whose manifest names a missing config "a<b>&c.json": the error
// arrives in the progress stream, escaped as Docker's Go encoder does.
TEST(JsonAnswers, ProgressStreamsEscapeLikeGo) {
  Daemon daemon({.args = {"--storage-driver", "vfs"}});
  ASSERT_TRUE(daemon.started()) << daemon.log();
  TempDir work("json-escape");
  fs::create_directories(work / "tar");
  write_file(work / "tar/manifest.json",
             R"([{"Config":"a<b>&c.json","RepoTags":["berth-test/x:1"],"Layers":[]}])");
  ASSERT_EQ(run({"tar", "-C", work / "tar", "-cf", work / "bad.tar", "manifest.json"}).exit_code,
            0);
  auto r = daemon.api("POST", "/images/load", read_file(work / "bad.tar"), "application/x-tar");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(
      r.body,
      HasSubstr(
          R"("error":"manifest.json names a\u003cb\u003e\u0026c.json, which is not in the archive")"));
  EXPECT_THAT(r.body, Not(HasSubstr("<")));
}

}  // namespace
}  // namespace berth::testing
