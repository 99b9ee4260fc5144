// --userns-remap without a daemon: /etc/subuid parsing, the mappings a user
// gets, remap resolution against test subordinate-ID files, the spec's user
// namespace and the config key.
#include "berth/core/config.hpp"
#include "berth/core/container/oci_spec.hpp"
#include "berth/core/container/userns.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace berth::core::container {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

TEST(SubIds, ParsesLinesSkippingBlanksAndComments) {
  auto r = parse_subids("# ranges\n\nalice:100000:65536\n 4242:300000:65536 \r\nalice:200000:10\n",
                        "/etc/subuid");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r.value(), (std::vector<SubIdRange>{{"alice", 100000, 65536},
                                                {"4242", 300000, 65536},
                                                {"alice", 200000, 10}}));
  auto empty = parse_subids("", "x");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty.value().empty());
}

TEST(SubIds, MalformedLinesNameTheFileAndLine) {
  for (const char* bad : {"alice:100000\n", "alice:x:1\n", "alice:1:0\n", ":1:2\n",
                          "alice:4294967295:2\n", "alice:1:2:3\n", "alice:-1:2\n"}) {
    auto r = parse_subids(std::string("ok:1:1\n") + bad, "/etc/subgid");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message,
              "Cannot parse subuid/gid information: Format not correct for /etc/subgid file (line 2)")
        << bad;
  }
}

TEST(SubIds, MissingFileHasNoRanges) {
  auto r = read_subids("/nonexistent/berth-test-subuid");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r.value().empty());
}

TEST(SubIds, MapsMatchByNameOrNumberInFileOrder) {
  const std::vector<SubIdRange> ranges{
      {"alice", 100000, 1000}, {"bob", 500000, 65536}, {"1001", 200000, 500}};
  EXPECT_EQ(id_maps_for(ranges, "alice", 1001),
            (std::vector<IdMap>{{0, 100000, 1000}, {1000, 200000, 500}}));
  EXPECT_EQ(id_maps_for(ranges, "bob", std::nullopt), (std::vector<IdMap>{{0, 500000, 65536}}));
  EXPECT_TRUE(id_maps_for(ranges, "carol", 7).empty());
}

class RemapFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-test-userns-unit-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    files_ = SubIdFiles{dir_ + "/subuid", dir_ + "/subgid"};
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& subuid, const std::string& subgid) {
    std::ofstream(files_.subuid) << subuid;
    std::ofstream(files_.subgid) << subgid;
  }
  std::string dir_;
  SubIdFiles files_;
};

TEST_F(RemapFiles, NumericUserAndGroupWithoutEntries) {
  write("4242:300000:65536\n", "4243:400000:65536\n");
  auto r = load_userns_remap("4242:4243", files_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r.value().enabled());
  EXPECT_EQ(r.value().uid_maps, (std::vector<IdMap>{{0, 300000, 65536}}));
  EXPECT_EQ(r.value().gid_maps, (std::vector<IdMap>{{0, 400000, 65536}}));
  EXPECT_EQ(r.value().root_uid(), 300000u);
  EXPECT_EQ(r.value().root_gid(), 400000u);
}

TEST_F(RemapFiles, ErrorsAreDockers) {
  write("4242:300000:65536\n", "4242:300000:65536\n");
  auto no_uids = load_userns_remap("4343", files_);
  ASSERT_FALSE(no_uids);
  EXPECT_EQ(no_uids.error().message, "Can't create ID mappings: no subuid ranges found for user \"4343\"");
  auto no_gids = load_userns_remap("4242:4343", files_);
  ASSERT_FALSE(no_gids);
  EXPECT_EQ(no_gids.error().message, "Can't create ID mappings: no subgid ranges found for group \"4343\"");
  auto bad = load_userns_remap("a:b:c", files_);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "Invalid user/group specification in --userns-remap: \"a:b:c\"");
  auto unknown = load_userns_remap("berth-test-no-such-user", files_);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message,
            "Error during uid lookup for \"berth-test-no-such-user\": getent unable to find entry "
            "\"berth-test-no-such-user\" in passwd database");
}

TEST_F(RemapFiles, RootAndNothingAreOff) {
  write("root:100000:65536\n", "root:100000:65536\n");
  for (const char* spec : {"", "root", "0", "0:0"}) {
    auto r = load_userns_remap(spec, files_);
    ASSERT_TRUE(r) << spec << ": " << r.error().message;
    EXPECT_FALSE(r.value().enabled()) << spec;
  }
}

TEST(UsernsMode, ValidatesAndRefusesHostNamespacesWhenRemapped) {
  EXPECT_TRUE(check_userns_mode(json::object{{"Privileged", true}}, false));
  EXPECT_EQ(check_userns_mode(json::object{{"UsernsMode", "private"}}, false).error().message,
            "invalid USER mode: private");
  EXPECT_FALSE(check_userns_mode(json::object{{"Privileged", true}}, true));
  EXPECT_EQ(check_userns_mode(json::object{{"NetworkMode", "host"}}, true).error().message,
            "cannot share the host's network namespace when user namespaces are enabled");
  EXPECT_TRUE(check_userns_mode(json::object{{"PidMode", "host"}, {"UsernsMode", "host"}}, true));
}

SpecInput remapped_input(json::object host_config) {
  SpecInput in;
  in.id = std::string(64, 'a');
  in.config = json::object{{"Cmd", json::array{"sh"}}};
  in.host_config = std::move(host_config);
  in.rootfs = "/nonexistent/rootfs";
  in.uid_mappings = {{0, 300000, 65536}};
  in.gid_mappings = {{0, 400000, 65536}};
  return in;
}

bool has_user_namespace(const json::object& spec, std::string* path = nullptr) {
  for (const auto& ns : spec.at("linux").at("namespaces").as_array()) {
    if (ns.at("type") == "user") {
      if (path != nullptr && ns.as_object().contains("path")) *path = ns.at("path").as_string().c_str();
      return true;
    }
  }
  return false;
}

TEST(UsernsSpec, NewNamespaceWithMappingsUnlessHost) {
  auto spec = make_spec(remapped_input({}));
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_TRUE(has_user_namespace(spec.value()));
  const auto& lx = spec.value().at("linux").as_object();
  EXPECT_EQ(lx.at("uidMappings"),
            json::parse(R"([{"containerID":0,"hostID":300000,"size":65536}])"));
  EXPECT_EQ(lx.at("gidMappings"),
            json::parse(R"([{"containerID":0,"hostID":400000,"size":65536}])"));
  EXPECT_FALSE(lx.at("sysctl").as_object().contains("net.ipv4.ping_group_range"));
  for (const auto& m : spec.value().at("mounts").as_array()) {
    if (m.at("type") == "cgroup") {
      for (const auto& o : m.at("options").as_array()) EXPECT_NE(o, "ro");
    }
  }

  auto host = make_spec(remapped_input(json::object{{"UsernsMode", "host"}}));
  ASSERT_TRUE(host) << host.error().message;
  EXPECT_FALSE(has_user_namespace(host.value()));
  EXPECT_FALSE(host.value().at("linux").as_object().contains("uidMappings"));
}

TEST(UsernsSpec, JoiningAnotherContainersNetworkJoinsItsUserNamespace) {
  auto in = remapped_input(json::object{{"NetworkMode", "container:other"}});
  in.netns_path = "/proc/1234/ns/net";
  auto spec = make_spec(in);
  ASSERT_TRUE(spec) << spec.error().message;
  std::string path;
  EXPECT_TRUE(has_user_namespace(spec.value(), &path));
  EXPECT_EQ(path, "/proc/1234/ns/user");
  EXPECT_FALSE(spec.value().at("linux").as_object().contains("uidMappings"));
}

TEST(UsernsConfig, FileKeyAndFlagResolve) {
  auto file = parse_config_file(R"({"userns-remap": "4242:4242"})", "daemon.json");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file.value().userns_remap, "4242:4242");
  ConfigLayer flags;
  flags.userns_remap = "default";
  auto cfg = resolve_config(file.value(), flags, "/plugins");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg.value().userns_remap, "default");
  EXPECT_FALSE(parse_config_file(R"({"userns-remap": 4242})", "daemon.json"));
}

}  // namespace
}  // namespace berth::core::container
