// Real Docker clients against berthd: Debian's docker 20.10 (API 1.41) and
// the 28.x CLI that negotiates down. Only their client side is used.
#include "docker_clients.hpp"
#include "harness.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <filesystem>

namespace berth::testing {
namespace {

namespace json = boost::json;

class DockerCli : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(GetParam())) {
      GTEST_SKIP() << GetParam() << " is not installed (scripts/install-deps.sh installs docker.io)";
    }
  }
  CommandResult docker(const Daemon& d, std::vector<std::string> args) {
    args.insert(args.begin(), {GetParam(), "-H", d.host()});
    // A private config dir: no user contexts, credentials or CLI plugins.
    return run(args, {{"DOCKER_CONFIG", config_.path()}, {"DOCKER_HOST", ""},
                      {"DOCKER_CONTEXT", ""}, {"DOCKER_API_VERSION", ""}});
  }
  TempDir config_{"docker-config"};
};

TEST_P(DockerCli, Version) {
  Daemon d;
  ASSERT_TRUE(d.started()) << d.log();
  auto r = docker(d, {"version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Server: berth"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("API version:      1.43 (minimum version 1.24)"), std::string::npos);
  auto f = docker(d, {"version", "--format", "{{.Server.Version}} {{.Server.Os}}"});
  EXPECT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(f.out, "0.1.0 linux\n");
}

TEST_P(DockerCli, Info) {
  Daemon d;
  ASSERT_TRUE(d.started()) << d.log();
  auto r = docker(d, {"info"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Logging Driver: json-file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Docker Root Dir: " + d.data_root()), std::string::npos);
  auto j = docker(d, {"info", "--format", "{{json .}}"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto info = json::parse(j.out);
  EXPECT_EQ(info.at("OSType").as_string(), "linux");
  EXPECT_EQ(info.at("Swarm").at("LocalNodeState").as_string(), "inactive");
}

TEST_P(DockerCli, PluginLs) {
  Daemon d;
  ASSERT_TRUE(d.started()) << d.log();
  auto r = docker(d, {"plugin", "ls", "--format", "{{.Name}} {{.Enabled}}"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("log-json-file:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" true"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Clients, DockerCli, kDockerClients, docker_client_name);

}  // namespace
}  // namespace berth::testing
