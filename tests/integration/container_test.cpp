// Containers through a real berthd, driven by the real docker CLIs (20.10 and
// 28.x) and berth: run, exit codes, detached containers with logs, stop and
// rm, exec, isolation defaults, and containers that outlive a daemon killed
// with SIGKILL.
#include "container_fixture.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <memory>
#include <thread>

namespace berth::testing {
namespace {

using Containers = DockerContainerTest;

// The last n of the "tick <n>" lines in `logs` when they count up from 0
// without a gap; -1 otherwise (or when there are none).
int last_tick_in_order(const std::string& logs) {
  int last = -1;
  for (std::size_t pos = 0; (pos = logs.find("tick ", pos)) != std::string::npos; pos += 5) {
    int n = std::atoi(logs.c_str() + pos + 5);
    if (n != last + 1) return -1;
    last = n;
  }
  return last;
}

TEST_P(Containers, RunEchoRemovesTheContainer) {
  auto r = docker({"run", "--rm", kImage, "echo", "hi"});
  EXPECT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_EQ(docker({"ps", "-aq"}).out, "");
}

TEST_P(Containers, ExitCodesAndMissingCommands) {
  auto three = docker({"run", "--rm", kImage, "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(three.exit_code, 3) << three.err;
  EXPECT_EQ(three.out, "out\n");
  EXPECT_NE(three.err.find("err\n"), std::string::npos) << three.err;
  auto missing = docker({"run", "--rm", kImage, "nosuchcommand"});
  EXPECT_EQ(missing.exit_code, 127) << missing.err;
  EXPECT_NE(missing.err.find("executable file not found"), std::string::npos) << missing.err;
  auto no_image = docker({"create", "127.0.0.1:1/berth-test/none"});
  EXPECT_NE(no_image.exit_code, 0);
}

TEST_P(Containers, DetachedContainerLogsStopsAndIsRemoved) {
  auto started = docker({"run", "-d", "--name", "berth-test-ticker", kImage, "sh", "-c",
                         "trap 'echo bye; exit 0' TERM; echo hello; while true; do sleep 0.1; done"});
  ASSERT_EQ(started.exit_code, 0) << started.err << daemon_->log();
  std::string id = started.out.substr(0, 64);
  std::string logs;
  for (int i = 0; i < 50 && logs.find("hello") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    logs = docker({"logs", "berth-test-ticker"}).out;
  }
  EXPECT_EQ(logs, "hello\n");
  auto ps = docker({"ps", "--format", "{{.Names}} {{.Status}}"});
  EXPECT_NE(ps.out.find("berth-test-ticker Up"), std::string::npos) << ps.out;
  auto stop = docker({"stop", "berth-test-ticker"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  auto state = docker({"inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", id});
  EXPECT_EQ(state.out, "exited 0\n") << state.err;
  EXPECT_NE(docker({"logs", id}).out.find("bye"), std::string::npos);
  auto rm = docker({"rm", "berth-test-ticker"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(docker({"ps", "-aq"}).out, "");
}

TEST_P(Containers, IsolationDefaultsLikeDocker) {
  auto r = docker({"run", "--rm", kImage, "sh", "-c",
                   "cat /proc/1/cmdline | tr '\\0' ' '; echo; hostname; grep CapEff /proc/self/status; "
                   "ls /proc | grep -c '^[0-9]'"});
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  EXPECT_NE(r.out.find("sh -c "), std::string::npos) << r.out;
  // Docker's default capability set.
  EXPECT_NE(r.out.find("CapEff:\t00000000a80425fb"), std::string::npos) << r.out;
  auto priv = docker({"run", "--rm", "--privileged", kImage, "grep", "CapEff", "/proc/self/status"});
  EXPECT_EQ(priv.exit_code, 0) << priv.err;
  EXPECT_EQ(priv.out.find("00000000a80425fb"), std::string::npos) << priv.out;
}

TEST_P(Containers, ExecRunsInsideARunningContainer) {
  auto started = docker({"run", "-d", kImage, "sleep", "30"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  std::string id = started.out.substr(0, 12);
  auto exec = docker({"exec", id, "sh", "-c", "echo from-exec; exit 4"});
  EXPECT_EQ(exec.exit_code, 4) << exec.err;
  EXPECT_EQ(exec.out, "from-exec\n");
  auto pid1 = docker({"exec", id, "cat", "/proc/1/cmdline"});
  EXPECT_EQ(pid1.out.substr(0, 5), std::string("sleep", 5));
}

TEST_P(Containers, ContainersSurviveADaemonKilledWithSigkill) {
  auto started = docker({"run", "-d", kImage, "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  std::string id = started.out.substr(0, 64);
  ASSERT_EQ(::kill(daemon_->pid(), SIGKILL), 0);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  start_daemon();
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  auto state = docker({"inspect", "-f", "{{.State.Status}}", id});
  EXPECT_EQ(state.out, "running\n") << state.err << daemon_->log();
  // No gap in the log while the daemon was away.
  auto logs = docker({"logs", id}).out;
  EXPECT_GT(last_tick_in_order(logs), 4) << logs;
  auto stop = docker({"stop", "-t", "1", id});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(docker({"inspect", "-f", "{{.State.Status}}", id}).out, "exited\n");
}

// The seed scenario with docker's own CLI on a real pseudo-terminal: a shell,
// its exit status, the container left exited and startable again.
TEST_P(Containers, RunInteractiveTerminalThroughAPty) {
  std::map<std::string, std::string> env{{"DOCKER_CONFIG", work_.path()}, {"DOCKER_HOST", ""}};
  auto r = run_on_terminal({GetParam(), "-H", daemon_->host(), "run", "-it", "--name", "berth-test-pty", kImage, "sh"},
                           env, 100, {{"# ", "echo pid=$$; stty size; exit 3\n"}});
  EXPECT_EQ(r.exit_code, 3) << r.out << daemon_->log();
  EXPECT_NE(r.out.find("pid=1\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 100\r\n"), std::string::npos) << r.out;
  EXPECT_EQ(docker({"inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "berth-test-pty"}).out, "exited 3\n");
  auto again = run_on_terminal({GetParam(), "-H", daemon_->host(), "start", "-ai", "berth-test-pty"}, env, 100,
                               {{"# ", "echo again; exit 0\n"}});
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("again\r\n"), std::string::npos) << again.out;
  EXPECT_EQ(docker({"rm", "berth-test-pty"}).exit_code, 0);
}

// kill -9 of the daemon under a client attached to one container and
// another container logging: both run on, the attached client is cut off,
// and after the restart logs -f, wait and stop work on them.
TEST_P(Containers, DaemonKilledUnderAttachedAndLoggingContainers) {
  const std::string ticker = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done";
  std::map<std::string, std::string> env{{"DOCKER_CONFIG", work_.path()}, {"DOCKER_HOST", ""}};
  Background attached({GetParam(), "-H", daemon_->host(), "run", "--name", "berth-test-attached", kImage, "sh", "-c",
                       ticker},
                      env);
  EXPECT_NE(attached.read_until("tick 3", std::chrono::seconds(20)).find("tick 3"), std::string::npos)
      << daemon_->log();
  auto logging = docker({"run", "-d", "--name", "berth-test-logging", kImage, "sh", "-c", ticker});
  ASSERT_EQ(logging.exit_code, 0) << logging.err;

  ASSERT_EQ(::kill(daemon_->pid(), SIGKILL), 0);
  // The attached client loses its daemon and ends with an error.
  EXPECT_NE(attached.stop(0, std::chrono::seconds(20)), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  start_daemon();
  ASSERT_TRUE(daemon_->started()) << daemon_->log();

  for (const char* name : {"berth-test-attached", "berth-test-logging"}) {
    EXPECT_EQ(docker({"inspect", "-f", "{{.State.Status}}", name}).out, "running\n") << name << daemon_->log();
    Background follow({GetParam(), "-H", daemon_->host(), "logs", "-f", name}, env);
    Background wait({GetParam(), "-H", daemon_->host(), "wait", name}, env);
    // logs -f goes on with new output.
    std::string first = docker({"logs", "--tail", "1", name}).out;
    int n = std::atoi(first.c_str() + first.find("tick ") + 5);
    std::string later = "tick " + std::to_string(n + 5) + "\n";
    EXPECT_NE(follow.read_until(later, std::chrono::seconds(20)).find(later), std::string::npos) << name;
    // sh as PID 1 ignores SIGTERM: stop kills it after the timeout.
    auto stop = docker({"stop", "-t", "1", name});
    EXPECT_EQ(stop.exit_code, 0) << stop.err;
    EXPECT_EQ(wait.read_until("\n", std::chrono::seconds(20)), "137\n") << name;
    EXPECT_EQ(wait.stop(0), 0);
    EXPECT_EQ(follow.stop(0), 0) << "logs -f did not end with the container";
    // Everything logged, before, during and after the daemon's absence, in order.
    auto logs = docker({"logs", name}).out;
    EXPECT_GT(last_tick_in_order(logs), n + 4) << name << ": " << logs;
  }
}

TEST_P(Containers, ImportWithChangesThenRunItsCmd) {
  // The busybox binary alone, imported with a CMD and an ENV (--change).
  auto rootfs = run({"sh", "-c", "tar -cf " + (work_ / "rootfs.tar") + " -C / bin/busybox"});
  ASSERT_EQ(rootfs.exit_code, 0) << rootfs.err;
  auto imported = docker({"import", "-c", R"(CMD ["/bin/busybox", "sh", "-c", "echo $GREETING"])", "-c",
                          "ENV GREETING=from-change", work_ / "rootfs.tar", "berth-test/imported:changes"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err << daemon_->log();
  auto r = docker({"run", "--rm", "berth-test/imported:changes"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "from-change\n");
  auto bad = docker({"import", "-c", "RUN make", work_ / "rootfs.tar", "berth-test/imported:bad"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("RUN is not a valid change command"), std::string::npos) << bad.err;
  EXPECT_NE(docker({"image", "inspect", "berth-test/imported:bad"}).exit_code, 0);
}

TEST_P(Containers, RunsWithAnOciRuntimeFromDaemonJson) {
  // runc keeps its state under the test's root, not the host's /run/runc.
  daemon_.reset();
  write_file(root_ / "daemon.json", R"({"runtimes": {"berth-test-runc": {"path": "runc", "runtimeArgs": ["--root", ")" +
                                        (root_ / "runc") + R"("]}}})");
  start_daemon();
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  auto info = docker({"info", "--format", "{{json .Runtimes}} {{.DefaultRuntime}}"});
  EXPECT_NE(info.out.find("\"berth-test-runc\""), std::string::npos) << info.out << info.err;
  EXPECT_NE(info.out.find(" native\n"), std::string::npos) << info.out;
  auto r = docker({"run", "--rm", "--runtime", "berth-test-runc", kImage, "sh", "-c", "echo via-runc; exit 4"});
  EXPECT_EQ(r.exit_code, 4) << r.err << daemon_->log();
  EXPECT_EQ(r.out, "via-runc\n");
  auto unknown = docker({"run", "--rm", "--runtime", "berth-test-nosuch", kImage, "true"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("unknown or invalid runtime name: berth-test-nosuch"), std::string::npos) << unknown.err;
  EXPECT_EQ(docker({"ps", "-aq"}).out, "");
}

INSTANTIATE_TEST_SUITE_P(Clients, Containers, kDockerClients, docker_client_name);

}  // namespace
}  // namespace berth::testing
