// Logging drivers through a real berthd and the real docker CLIs: local
// (rotated, gzipped, read back with --tail and --since), json-file with
// compress, none (logs refused like Docker), create-time checks of the
// driver and its options, and the daemon's default driver and options.
#include "container_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

// 1000 lines of 100 bytes: "line 0000 xxx…".
constexpr const char* kHundredKb =
    "i=0; while [ $i -lt 1000 ]; do printf 'line %04d %089d\\n' $i 0; i=$((i+1)); done";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string numbered_line(int i) {
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "line %04d ", i);
  return prefix + std::string(89, '0');
}

// The names of the files in `dir`, sorted.
std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

class LoggingTest : public DockerContainerTest {
 protected:
  // Runs `script` in a detached container with `log_args` and waits for it.
  std::string run_and_wait(const std::vector<std::string>& log_args, const std::string& script) {
    std::vector<std::string> args{"run", "-d"};
    args.insert(args.end(), log_args.begin(), log_args.end());
    args.insert(args.end(), {kImage, "sh", "-c", script});
    auto started = docker(args);
    EXPECT_EQ(started.exit_code, 0) << started.err << daemon_->log();
    std::string id = started.out.substr(0, 64);
    auto waited = docker({"wait", id});
    EXPECT_EQ(waited.out, "0\n") << waited.err;
    return id;
  }

  fs::path container_dir(const std::string& id) const { return fs::path(daemon_->data_root()) / "containers" / id; }
};

TEST_P(LoggingTest, LocalRotatesCompressesAndReadsBackTheNewestLines) {
  std::string id = run_and_wait({"--log-driver", "local", "--log-opt", "max-size=10k", "--log-opt", "max-file=2"},
                                kHundredKb);
  // Docker's place for the local driver's files, two of them at most: the
  // live one and one rotated, gzipped.
  EXPECT_EQ(files_in(container_dir(id) / "local-logs"),
            (std::vector<std::string>{"container.log", "container.log.1.gz"}));
  EXPECT_EQ(docker({"inspect", "-f", "{{.HostConfig.LogConfig.Type}} [{{.LogPath}}]", id}).out, "local []\n");

  auto logs = docker({"logs", id});
  ASSERT_EQ(logs.exit_code, 0) << logs.err << daemon_->log();
  auto lines = lines_of(logs.out);
  ASSERT_GT(lines.size(), 100U) << "what two 10k files hold";
  ASSERT_LT(lines.size(), 300U) << "the oldest lines were rotated away";
  const int first = 1000 - static_cast<int>(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(lines[i], numbered_line(first + static_cast<int>(i))) << i;
  }

  auto tail = docker({"logs", "--tail", "5", id});
  EXPECT_EQ(lines_of(tail.out),
            (std::vector<std::string>{numbered_line(995), numbered_line(996), numbered_line(997),
                                      numbered_line(998), numbered_line(999)}));
}

TEST_P(LoggingTest, SinceSelectsByTimestamp) {
  std::string id = run_and_wait({"--log-driver", "local"}, "echo early; sleep 1.2; echo late");
  auto stamped = lines_of(docker({"logs", "-t", id}).out);
  ASSERT_EQ(stamped.size(), 2U);
  const std::string late_time = stamped[1].substr(0, stamped[1].find(' '));
  EXPECT_EQ(stamped[1].substr(late_time.size()), " late");
  EXPECT_EQ(docker({"logs", "--since", late_time, id}).out, "late\n");
  EXPECT_EQ(docker({"logs", "--until", late_time, id}).out, "early\nlate\n");
  EXPECT_EQ(docker({"logs", id}).out, "early\nlate\n");
  // A timestamp the API cannot read is refused, not taken as "from the start".
  auto bad = daemon_->api("GET", "/containers/" + id + "/logs?stdout=1&since=yesterday");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find(R"(invalid timestamp \"yesterday\")"), std::string::npos) << bad.body;
}

TEST_P(LoggingTest, JsonFileCompressesRotatedFiles) {
  std::string id = run_and_wait(
      {"--log-opt", "max-size=10k", "--log-opt", "max-file=3", "--log-opt", "compress=true"}, kHundredKb);
  for (const char* name : {"-json.log", "-json.log.1.gz", "-json.log.2.gz"}) {
    EXPECT_TRUE(fs::exists(container_dir(id) / (id + name))) << name;
  }
  EXPECT_FALSE(fs::exists(container_dir(id) / (id + "-json.log.3.gz")));
  auto lines = lines_of(docker({"logs", id}).out);
  ASSERT_GT(lines.size(), 150U);
  EXPECT_EQ(lines.back(), numbered_line(999));
  EXPECT_EQ(lines.front(), numbered_line(1000 - static_cast<int>(lines.size())));
}

TEST_P(LoggingTest, NoneLogsNothingAndLogsIsRefusedLikeDocker) {
  std::string id = run_and_wait({"--log-driver", "none"}, "echo unlogged");
  auto logs = docker({"logs", id});
  EXPECT_NE(logs.exit_code, 0);
  EXPECT_NE(logs.err.find("configured logging driver does not support reading"), std::string::npos) << logs.err;
  EXPECT_EQ(docker({"inspect", "-f", "{{.HostConfig.LogConfig.Type}}", id}).out, "none\n");
  for (const auto& name : files_in(container_dir(id))) {
    EXPECT_EQ(name.find("log"), std::string::npos) << "a log file for a none container: " << name;
  }
  // The output still reaches an attached client, even from a container that
  // exits at once: the client attaches before the start.
  for (int i = 0; i < 5; ++i) {
    auto attached = docker({"run", "--rm", "--log-driver", "none", kImage, "echo", "attached"});
    EXPECT_EQ(attached.out, "attached\n") << attached.err;
  }
}

TEST_P(LoggingTest, UnknownDriversAndOptionsAreRefusedAtCreateWithNothingCreated) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : {
           Case{{"--log-driver", "berth-test-nosuch"}, "logger: no log driver named 'berth-test-nosuch' is registered"},
           Case{{"--log-driver", "local", "--log-opt", "x=1"}, "unknown log opt 'x' for log driver local"},
           Case{{"--log-driver", "local", "--log-opt", "max-file=1"},
                "compression cannot be enabled when max file count is 1"},
           Case{{"--log-opt", "max-size=abc"}, "log-opt max-size=abc: not a size"},
           Case{{"--log-opt", "colour=blue"}, "unknown log opt 'colour' for json-file log driver"},
       }) {
    std::vector<std::string> args{"create"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.push_back(kImage);
    auto created = docker(args);
    EXPECT_NE(created.exit_code, 0) << c.message;
    EXPECT_NE(created.err.find("Error response from daemon: " + c.message), std::string::npos) << created.err;
  }
  EXPECT_EQ(docker({"ps", "-aq"}).out, "");
  EXPECT_EQ(files_in(fs::path(daemon_->data_root()) / "containers"), std::vector<std::string>{});
}

TEST_P(LoggingTest, DaemonDefaultDriverAndOptionsApplyToNewContainers) {
  daemon_.reset();
  daemon_ = std::make_unique<Daemon>(Daemon::Options{
      .args = {"--storage-driver", "overlay", "--log-driver", "local", "--log-opt", "max-file=3"},
      .root = root_.path()});
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  EXPECT_EQ(docker({"info", "-f", "{{.LoggingDriver}}"}).out, "local\n");

  std::string id = run_and_wait({}, "echo by default");
  EXPECT_EQ(docker({"inspect", "-f", "{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}", id}).out,
            "local {\"max-file\":\"3\"}\n");
  EXPECT_EQ(docker({"logs", id}).out, "by default\n");
  EXPECT_TRUE(fs::exists(container_dir(id) / "local-logs" / "container.log"));

  // The default options are the default driver's: another driver does not get them.
  std::string json = run_and_wait({"--log-driver", "json-file"}, "echo explicit");
  EXPECT_EQ(docker({"inspect", "-f", "{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}", json}).out,
            "json-file {}\n");
  EXPECT_EQ(docker({"logs", json}).out, "explicit\n");
  // A container's own option wins over the default.
  std::string own = run_and_wait({"--log-opt", "max-file=4"}, "true");
  EXPECT_EQ(docker({"inspect", "-f", "{{json .HostConfig.LogConfig.Config}}", own}).out, "{\"max-file\":\"4\"}\n");
}

INSTANTIATE_TEST_SUITE_P(Clients, LoggingTest, kDockerClients, docker_client_name);

}  // namespace
}  // namespace berth::testing
