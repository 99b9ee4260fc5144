// berthd as a process: start-up, shutdown, crash recovery, configuration
// errors, and the berth CLI against it.
#include "harness.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <sstream>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

TEST(Daemon, ServesTheCliAndShutsDownCleanly) {
  Daemon d;
  ASSERT_TRUE(d.started()) << d.log();
  struct stat st{};
  ASSERT_EQ(::stat(d.socket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_TRUE(fs::exists(d.exec_root() + "/berthd.pid"));
  EXPECT_EQ(std::stol(read_file(d.exec_root() + "/berthd.pid")), d.pid());
  EXPECT_TRUE(fs::exists(d.data_root() + "/berth.db"));

  auto version = d.berth({"version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_NE(version.out.find("Server: berth"), std::string::npos) << version.out;
  EXPECT_NE(version.out.find("API version:      1.43 (minimum version 1.24)"), std::string::npos);

  EXPECT_EQ(d.stop(SIGTERM), 0);
  EXPECT_FALSE(fs::exists(d.socket()));
  EXPECT_FALSE(fs::exists(d.exec_root() + "/berthd.pid"));
  EXPECT_NE(d.log().find("received SIGTERM, shutting down"), std::string::npos);
}

TEST(Daemon, VersionAndInfoFormats) {
  Daemon d;
  ASSERT_TRUE(d.started()) << d.log();
  auto v = d.berth({"version", "--format", "{{.Server.Version}}|{{.Server.ApiVersion}}"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(v.out, "0.1.0|1.43\n");
  auto j = d.berth({"version", "--format", "{{json .Server.Components}}"});
  EXPECT_EQ(j.exit_code, 0) << j.err;
  auto components = json::parse(j.out);
  EXPECT_EQ(components.at(0).at("Name").as_string(), "Engine");

  auto info = d.berth({"info"});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find(" Logging Driver: json-file"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find(" Berth Root Dir: " + d.data_root()), std::string::npos);
  auto root = d.berth({"info", "--format", "{{.DockerRootDir}} {{.LoggingDriver}}"});
  EXPECT_EQ(root.out, d.data_root() + " json-file\n");
  auto id1 = d.berth({"info", "--format", "{{.ID}}"}).out;
  EXPECT_EQ(id1.size(), 37u);

  auto bad = d.berth({"info", "--format", "{{.Nope"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("template parsing error"), std::string::npos) << bad.err;
}

TEST(Daemon, DaemonIdSurvivesRestart) {
  TempDir root("restart");
  std::string id;
  {
    Daemon d({.root = root.path()});
    ASSERT_TRUE(d.started()) << d.log();
    id = d.berth({"info", "--format", "{{.ID}}"}).out;
  }
  Daemon again({.root = root.path()});
  ASSERT_TRUE(again.started()) << again.log();
  EXPECT_EQ(again.berth({"info", "--format", "{{.ID}}"}).out, id);
}

TEST(Daemon, RestartsCleanlyAfterKill9) {
  TempDir root("kill9");
  {
    Daemon d({.root = root.path()});
    ASSERT_TRUE(d.started()) << d.log();
    EXPECT_EQ(d.stop(SIGKILL), -SIGKILL);
    // The socket file and the pidfile are left behind by a killed daemon.
    EXPECT_TRUE(fs::exists(d.socket()));
    EXPECT_TRUE(fs::exists(d.exec_root() + "/berthd.pid"));
  }
  Daemon again({.root = root.path()});
  ASSERT_TRUE(again.started()) << again.log();
  auto v = again.berth({"version", "--format", "{{.Server.Version}}"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(std::stol(read_file(again.exec_root() + "/berthd.pid")), again.pid());
}

TEST(Daemon, SecondDaemonOnTheSameDataRootIsRefused) {
  Daemon first;
  ASSERT_TRUE(first.started()) << first.log();
  TempDir other("second");
  write_file(other / "none.json", "{}");
  auto second = run({berthd_path(), "--data-root", first.data_root(), "--exec-root",
                     other / "exec", "-H", "unix://" + other / "berth.sock", "--config-file",
                     other / "none.json"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("is in use by another berthd (pid " + std::to_string(first.pid()) + ")"),
            std::string::npos)
      << second.err;
  EXPECT_FALSE(std::filesystem::exists(other / "berth.sock"));
  // The first one is untouched.
  EXPECT_EQ(first.berth({"version"}).exit_code, 0);
}

TEST(Daemon, SecondDaemonOnALiveSocketIsRefused) {
  Daemon first;
  ASSERT_TRUE(first.started()) << first.log();
  TempDir other("socket");
  Daemon second({.args = {"-H", first.host()}, .unix_socket = false, .root = other.path()});
  EXPECT_FALSE(second.started());
  EXPECT_NE(second.log().find("another daemon is serving " + first.socket()), std::string::npos)
      << second.log();
  EXPECT_EQ(first.berth({"version"}).exit_code, 0);
}

TEST(Daemon, TwoDaemonsWithDifferentRootsAreIndependent) {
  Daemon a, b;
  ASSERT_TRUE(a.started()) << a.log();
  ASSERT_TRUE(b.started()) << b.log();
  auto id_a = a.berth({"info", "--format", "{{.ID}} {{.DockerRootDir}}"}).out;
  auto id_b = b.berth({"info", "--format", "{{.ID}} {{.DockerRootDir}}"}).out;
  EXPECT_NE(id_a, id_b);
  EXPECT_NE(id_a.find(a.data_root()), std::string::npos);
  EXPECT_NE(id_b.find(b.data_root()), std::string::npos);
  EXPECT_EQ(a.stop(SIGTERM), 0);
  EXPECT_EQ(b.berth({"version"}).exit_code, 0);
}

TEST(Daemon, BadConfigFileNamesTheKeyAndDoesNotStart) {
  TempDir root("badconfig");
  write_file(root / "daemon.json", R"({"log-level": "info", "storage-drvier": "vfs"})");
  Daemon d({.root = root.path()});
  EXPECT_FALSE(d.started());
  EXPECT_EQ(d.exit_status(), 1);
  EXPECT_NE(d.log().find("daemon.json: unknown key \"storage-drvier\""), std::string::npos)
      << d.log();
  EXPECT_FALSE(fs::exists(root / "berth.sock"));
}

TEST(Daemon, FlagsOverrideTheConfigFile) {
  TempDir root("override");
  write_file(root / "daemon.json", R"({"log-driver": "does-not-exist"})");
  Daemon d({.args = {"--log-driver", "json-file"}, .root = root.path()});
  ASSERT_TRUE(d.started()) << d.log();
  EXPECT_EQ(d.berth({"info", "--format", "{{.LoggingDriver}}"}).out, "json-file\n");
}

TEST(Daemon, UnknownLogDriverIsAStartupError) {
  Daemon d({.args = {"--log-driver", "syslogz"}});
  EXPECT_FALSE(d.started());
  EXPECT_NE(d.log().find("log driver syslogz is not available: not found in any plugin directory"),
            std::string::npos)
      << d.log();
}

TEST(Daemon, ValidateChecksTheConfigurationOnly) {
  TempDir root("validate");
  write_file(root / "daemon.json", R"({"hosts": ["unix:///x", 3]})");
  auto bad = run({berthd_path(), "--config-file", root / "daemon.json", "--validate"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("\"hosts\" must be an array of strings"), std::string::npos) << bad.err;
  write_file(root / "daemon.json", R"({"hosts": ["unix:///x"]})");
  auto good = run({berthd_path(), "--config-file", root / "daemon.json", "--validate"});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  auto flag = run({berthd_path(), "--no-such-flag"});
  EXPECT_NE(flag.exit_code, 0);
  EXPECT_NE(flag.err.find("--no-such-flag"), std::string::npos);
}

TEST(Daemon, PluginDirectoryWithBrokenPluginsStillStarts) {
  Daemon d({.args = {"--plugin-dir", BERTH_TEST_FIXTURE_PLUGIN_DIR "/all"}});
  ASSERT_TRUE(d.started()) << d.log();
  auto ls = d.berth({"plugin", "ls", "--format", "json"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  std::map<std::string, json::value> by_name;
  std::istringstream lines(ls.out);
  for (std::string line; std::getline(lines, line);) {
    auto v = json::parse(line);
    by_name[std::string(v.at("Type").as_string()) + "/" + std::string(v.at("Name").as_string())] = v;
  }
  ASSERT_TRUE(by_name.contains("log/json-file"));
  EXPECT_EQ(by_name["log/json-file"].at("Status").as_string(), "loaded");
  EXPECT_EQ(by_name["log/json-file"].at("Source").as_string(), "builtin");
  EXPECT_EQ(by_name["log/fixture-good"].at("Status").as_string(), "loaded");
  EXPECT_EQ(by_name["log/fixture-unsupported"].at("Status").as_string(), "skipped");
  EXPECT_EQ(by_name["log/fixture-major"].at("Status").as_string(), "failed");
  EXPECT_NE(std::string(by_name["log/fixture-major"].at("Error").as_string()).find("built for ABI 2.0"),
            std::string::npos);
  EXPECT_NE(d.log().find("refused driver log/fixture-noentry"), std::string::npos);
  // Plugins log through the host into the daemon's log.
  EXPECT_NE(d.log().find("[plugin.fixture-good] fixture driver initialised"), std::string::npos);

  auto table = d.berth({"plugin", "ls"});
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_EQ(table.out.rfind("TYPE", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("fixture-initfail"), std::string::npos);
  auto quiet = d.berth({"plugin", "ls", "-q"});
  EXPECT_NE(quiet.out.find("log/json-file\n"), std::string::npos);
}

TEST(Daemon, RequiredDriverThatFailsStopsStartup) {
  TempDir root("required");
  write_file(root / "daemon.json",
             R"({"drivers": {"required": ["log/fixture-initfail"]}, "plugin-dirs": [")" +
                 std::string(BERTH_TEST_FIXTURE_PLUGIN_DIR) + R"(/all"]})");
  Daemon d({.root = root.path()});
  EXPECT_FALSE(d.started());
  EXPECT_NE(d.log().find("required driver log/fixture-initfail is failed: init failed"),
            std::string::npos)
      << d.log();
}

TEST(Daemon, DisabledBuiltinDriverIsListedAsDisabled) {
  TempDir root("disabled");
  write_file(root / "daemon.json", R"({"drivers": {"disabled": ["log/json-file"]}, "log-driver": "none"})");
  Daemon d({.root = root.path()});
  ASSERT_TRUE(d.started()) << d.log();
  auto ls = d.berth({"plugin", "ls", "--format", "{{.Type}}/{{.Name}} {{.Status}}"});
  EXPECT_NE(ls.out.find("log/json-file disabled"), std::string::npos) << ls.out;
}

TEST(Cli, UsageErrorsAndUnreachableDaemon) {
  auto version = run({berth_path(), "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("berth version 0.1.0", 0), 0u) << version.out;

  auto flag = run({berth_path(), "info", "--bogus"});
  EXPECT_EQ(flag.exit_code, 125);
  EXPECT_NE(flag.err.find("See 'berth info --help'."), std::string::npos) << flag.err;

  auto help = run({berth_path(), "plugin", "ls", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--format"), std::string::npos);

  TempDir nowhere("nodaemon");
  auto down = run({berth_path(), "-H", "unix://" + nowhere.path() + "/none.sock", "info"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("Cannot connect to the berth daemon at unix://" + nowhere.path() +
                          "/none.sock. Is the berth daemon running?"),
            std::string::npos)
      << down.err;

  // BERTH_HOST wins over DOCKER_HOST.
  Daemon d;
  ASSERT_TRUE(d.started()) << d.log();
  auto env = run({berth_path(), "version", "--format", "{{.Server.Version}}"},
                 {{"BERTH_HOST", d.host()}, {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  EXPECT_EQ(env.exit_code, 0) << env.err;
  auto docker_host = run({berth_path(), "version", "--format", "{{.Server.Version}}"},
                         {{"BERTH_HOST", ""}, {"DOCKER_HOST", d.host()}});
  EXPECT_EQ(docker_host.exit_code, 0) << docker_host.err;
}

TEST(Cli, NegotiatesOrPinsTheApiVersion) {
  Daemon d;
  ASSERT_TRUE(d.started()) << d.log();
  auto negotiated = d.berth({"version", "--format", "{{.Client.ApiVersion}}"});
  EXPECT_EQ(negotiated.out, "1.43\n");
  auto pinned = run({berth_path(), "-H", d.host(), "version", "--format", "{{.Client.ApiVersion}}"},
                    {{"BERTH_API_VERSION", "1.41"}});
  EXPECT_EQ(pinned.exit_code, 0) << pinned.err;
  EXPECT_EQ(pinned.out, "1.41\n");
  auto too_old = run({berth_path(), "-H", d.host(), "info"}, {{"BERTH_API_VERSION", "1.12"}});
  EXPECT_EQ(too_old.exit_code, 1);
  EXPECT_NE(too_old.err.find("Error response from daemon: client version 1.12 is too old. Minimum "
                             "supported API version is 1.24"),
            std::string::npos)
      << too_old.err;
}

}  // namespace
}  // namespace berth::testing
