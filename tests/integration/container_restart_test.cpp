// Containers across restarts, through the docker 28 CLI: restart policies
// (on-failure:N, always with Docker's doubling back-off that resets after
// 10 s of running, stop of a restarting container), policies applied when
// the daemon starts again, and a daemon killed with SIGKILL under running,
// attached and logging containers: they keep running, their logs have no
// gap, and stop, wait and logs -f work on them after the restart.
#include "container_fixture.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

namespace berth::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kDocker = "/usr/local/bin/docker";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Seconds since the epoch of an RFC 3339 timestamp with nanoseconds
// ("2026-11-28T10:58:15.123456789Z"), as docker logs -t prints them; only
// differences matter, so the date is folded in roughly.
double seconds_of(const std::string& ts) {
  if (ts.size() < 20) return 0;
  int day = std::stoi(ts.substr(8, 2)), h = std::stoi(ts.substr(11, 2)), m = std::stoi(ts.substr(14, 2));
  double s = std::stod(ts.substr(17, ts.find('Z') - 17));
  return ((day * 24 + h) * 60 + m) * 60 + s;
}

// The timestamps of log lines that start with `prefix` (docker logs -t).
std::vector<std::pair<std::string, double>> stamped(const std::string& logs) {
  std::vector<std::pair<std::string, double>> out;
  std::istringstream in(logs);
  for (std::string line; std::getline(in, line);) {
    auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    out.emplace_back(line.substr(sp + 1), seconds_of(line.substr(0, sp)));
  }
  return out;
}

// Checks every `tick <n>` line is there once, in order; returns the last n.
int last_tick_without_gap(const std::string& logs, const std::string& word) {
  int last = -1;
  for (std::size_t pos = 0; (pos = logs.find(word + " ", pos)) != std::string::npos; pos += word.size() + 1) {
    int n = std::atoi(logs.c_str() + pos + word.size() + 1);
    EXPECT_EQ(n, last + 1) << "a gap in the log:\n" << logs;
    last = n;
  }
  return last;
}

class ContainerRestarts : public ContainerFixture<> {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kDocker)) GTEST_SKIP() << kDocker << " is not installed";
    ContainerFixture::SetUp();
  }

  CommandResult docker(std::vector<std::string> args, std::chrono::seconds timeout = 60s) {
    return cli(kDocker, std::move(args), {}, timeout);
  }

  std::string inspect(const std::string& container, const std::string& format) {
    return docker({"inspect", "-f", format, container}).out;
  }

  // Polls `format` of `container` until it reads `want` (or `timeout`).
  std::string await(const std::string& container, const std::string& format, const std::string& want,
                    std::chrono::milliseconds timeout = 15s) {
    auto deadline = Clock::now() + timeout;
    std::string got;
    while (Clock::now() < deadline) {
      got = inspect(container, format);
      if (got == want) break;
      std::this_thread::sleep_for(50ms);
    }
    return got;
  }

  // Polls the log of `container` until `text` shows.
  std::string logs_until(const std::string& container, const std::string& text) {
    std::string logs;
    for (int i = 0; i < 100 && !contains(logs, text); ++i) {
      logs = docker({"logs", container}).out;
      if (!contains(logs, text)) std::this_thread::sleep_for(100ms);
    }
    return logs;
  }
};

TEST_F(ContainerRestarts, OnFailureRetriesAtMostN) {
  auto r = docker({"run", "-d", "--name", "berth-test-onfail", "--restart", "on-failure:2", kBusyboxImage, "sh", "-c",
                   "echo run; exit 1"});
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  EXPECT_EQ(await("berth-test-onfail", "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}", "exited 2 1\n"),
            "exited 2 1\n");
  // And no more: the first run and two restarts.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(inspect("berth-test-onfail", "{{.State.Status}} {{.RestartCount}}"), "exited 2\n");
  EXPECT_EQ(docker({"logs", "berth-test-onfail"}).out, "run\nrun\nrun\n");
  // A success is not a failure: no restart.
  auto ok = docker({"run", "-d", "--name", "berth-test-onfail-ok", "--restart", "on-failure", kBusyboxImage, "true"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(await("berth-test-onfail-ok", "{{.State.Status}}", "exited\n"), "exited\n");
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(inspect("berth-test-onfail-ok", "{{.RestartCount}}"), "0\n");
}

TEST_F(ContainerRestarts, AlwaysBacksOffDoublingAndResetsAfterTenSeconds) {
  // Runs 1-4 exit at once; run 5 runs for 11 s; then quick exits again.
  auto r = docker({"run", "-d", "--name", "berth-test-always", "--restart", "always", kBusyboxImage, "sh", "-c",
                   "n=$(cat /n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /n; echo start $n; "
                   "if [ $n = 5 ]; then sleep 11; fi; echo end $n"});
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  auto logs = logs_until("berth-test-always", "start 6\n");
  for (int i = 0; i < 30 && !contains(logs, "start 6\n"); ++i) {
    std::this_thread::sleep_for(500ms);
    logs = docker({"logs", "berth-test-always"}).out;
  }
  ASSERT_TRUE(contains(logs, "start 6\n")) << logs << daemon_->log();
  auto lines = stamped(docker({"logs", "-t", "berth-test-always"}).out);
  std::map<std::string, double> at;
  for (const auto& [text, t] : lines) at.emplace(text, t);
  auto gap = [&](int n) { return at["start " + std::to_string(n + 1)] - at["end " + std::to_string(n)]; };
  // 100, 200, 400, 800 ms (plus the time a start takes).
  EXPECT_GE(gap(1), 0.09) << logs;
  EXPECT_GE(gap(2), 0.19) << logs;
  EXPECT_GE(gap(3), 0.39) << logs;
  EXPECT_GE(gap(4), 0.79) << logs;
  EXPECT_LT(gap(4), 1.5) << logs;
  EXPECT_GT(gap(4), gap(2) * 1.5) << logs;
  // Run 5 lasted more than 10 s: back to 100 ms (without the reset it would
  // be 1.6 s; the margin is for the start's own time on a loaded machine).
  EXPECT_LT(gap(5), 1.0) << logs;
  EXPECT_GE(std::stoi(inspect("berth-test-always", "{{.RestartCount}}")), 5);
  auto stop = docker({"stop", "-t", "1", "berth-test-always"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(inspect("berth-test-always", "{{.State.Status}}"), "exited\n");
}

TEST_F(ContainerRestarts, StopOfARestartingContainer) {
  auto r = docker({"run", "-d", "--name", "berth-test-flap", "--restart", "always", kBusyboxImage, "false"});
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  // From the 6th restart on the back-off is seconds long: mostly restarting.
  auto count = await("berth-test-flap", "{{.State.Status}} {{ge .RestartCount 6}}", "restarting true\n", 30s);
  ASSERT_EQ(count, "restarting true\n") << daemon_->log();
  auto restarts = inspect("berth-test-flap", "{{.RestartCount}}");
  auto before = Clock::now();
  auto stop = docker({"stop", "berth-test-flap"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_LT(Clock::now() - before, 5s);
  EXPECT_EQ(inspect("berth-test-flap", "{{.State.Status}}"), "exited\n");
  // The pending restart does not come.
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(inspect("berth-test-flap", "{{.State.Status}} {{.RestartCount}}"), "exited " + restarts);
  // A start by the user starts afresh, and the policy holds again.
  auto start = docker({"start", "berth-test-flap"});
  EXPECT_EQ(start.exit_code, 0) << start.err;
  EXPECT_EQ(await("berth-test-flap", "{{.State.Status}}", "restarting\n"), "restarting\n");
  EXPECT_EQ(docker({"rm", "-f", "berth-test-flap"}).exit_code, 0);
  EXPECT_EQ(leftovers(root_.path()), "");
}

TEST_F(ContainerRestarts, PoliciesAppliedWhenTheDaemonStartsAgain) {
  // Containers outlive the daemon; those that die while it is away are
  // started again by policy when it comes back.
  std::map<std::string, std::string> policy = {{"berth-test-always", "always"},
                                               {"berth-test-unless", "unless-stopped"},
                                               {"berth-test-onfail", "on-failure"},
                                               {"berth-test-none", "no"},
                                               {"berth-test-stopped-unless", "unless-stopped"},
                                               {"berth-test-stopped-always", "always"},
                                               {"berth-test-alive", "always"}};
  for (const auto& [name, p] : policy) {
    auto r = docker({"run", "-d", "--name", name, "--restart", p, kBusyboxImage, "sleep", "600"});
    ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->log();
  }
  for (const char* name : {"berth-test-stopped-unless", "berth-test-stopped-always"}) {
    EXPECT_EQ(docker({"stop", "-t", "0", name}).exit_code, 0);
  }
  std::map<std::string, std::string> pids;
  for (const auto& [name, p] : policy) pids[name] = inspect(name, "{{.State.Pid}}");
  ASSERT_EQ(daemon_->stop(SIGTERM), 0) << daemon_->log();
  // While the daemon is away, all but one die.
  for (const char* name : {"berth-test-always", "berth-test-unless", "berth-test-onfail", "berth-test-none"}) {
    ASSERT_EQ(::kill(std::stoi(pids[name]), SIGKILL), 0) << name;
  }
  std::this_thread::sleep_for(500ms);
  start_daemon();
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  const std::string format = "{{.State.Status}} {{.State.ExitCode}}";
  EXPECT_EQ(await("berth-test-always", "{{.State.Status}}", "running\n"), "running\n") << daemon_->log();
  EXPECT_EQ(await("berth-test-unless", "{{.State.Status}}", "running\n"), "running\n");
  // Killed by a signal: a failure.
  EXPECT_EQ(await("berth-test-onfail", "{{.State.Status}}", "running\n"), "running\n");
  EXPECT_EQ(inspect("berth-test-none", format), "exited 137\n");
  EXPECT_EQ(inspect("berth-test-stopped-unless", format), "exited 137\n");
  // Docker's rule: `always` comes back at a daemon start even after a stop.
  EXPECT_EQ(await("berth-test-stopped-always", "{{.State.Status}}", "running\n"), "running\n");
  // The one that kept running was reconnected, not restarted.
  EXPECT_EQ(inspect("berth-test-alive", "{{.State.Status}} {{.State.Pid}}"), "running " + pids["berth-test-alive"]);
  EXPECT_NE(inspect("berth-test-always", "{{.State.Pid}}"), pids["berth-test-always"]);
}

TEST_F(ContainerRestarts, DaemonKilledUnderRunningAttachedAndLoggingContainers) {
  const std::string ticker = "trap 'exit 3' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done";
  auto logging = docker({"run", "-d", "--name", "berth-test-logging", kBusyboxImage, "sh", "-c", ticker});
  ASSERT_EQ(logging.exit_code, 0) << logging.err << daemon_->log();
  // `docker run` without -d: attached until the daemon goes away.
  CommandResult attached;
  std::thread client([&] {
    attached = docker({"run", "--name", "berth-test-attached", kBusyboxImage, "sh", "-c", ticker}, 120s);
  });
  EXPECT_TRUE(contains(logs_until("berth-test-attached", "tick 3\n"), "tick 3\n")) << daemon_->log();
  EXPECT_TRUE(contains(logs_until("berth-test-logging", "tick 3\n"), "tick 3\n"));
  ASSERT_EQ(::kill(daemon_->pid(), SIGKILL), 0);
  client.join();  // the attach ends with the daemon
  EXPECT_TRUE(contains(attached.out, "tick 3\n")) << attached.out << attached.err;
  std::this_thread::sleep_for(1s);
  start_daemon();
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  for (const char* name : {"berth-test-logging", "berth-test-attached"}) {
    EXPECT_EQ(inspect(name, "{{.State.Status}}"), "running\n") << name << daemon_->log();
    // The ticks the container printed while the daemon was away are there.
    EXPECT_GT(last_tick_without_gap(docker({"logs", name}).out, "tick"), 6) << name;
  }
  // logs -f and wait follow the containers to their end.
  CommandResult follow, waited;
  std::thread follower([&] { follow = docker({"logs", "-f", "berth-test-logging"}); });
  std::thread waiter([&] { waited = docker({"wait", "berth-test-attached"}); });
  std::this_thread::sleep_for(500ms);
  auto stop = docker({"stop", "-t", "5", "berth-test-logging", "berth-test-attached"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  follower.join();
  waiter.join();
  EXPECT_EQ(follow.exit_code, 0) << follow.err;
  int last = last_tick_without_gap(follow.out, "tick");
  EXPECT_EQ(follow.out, docker({"logs", "berth-test-logging"}).out);
  EXPECT_GT(last, 8);
  EXPECT_EQ(waited.out, "3\n") << waited.err;
  EXPECT_EQ(inspect("berth-test-logging", "{{.State.Status}} {{.State.ExitCode}}"), "exited 3\n");
}

}  // namespace
}  // namespace berth::testing
