// Bad input to the container endpoints, through both docker CLIs and the
// Engine API: unknown images, bad flags, invalid resource values and restart
// policies, names that clash, removing a running container, and a container
// removed while it is being started. Docker's messages are the reference;
// after each, nothing of a failed or removed container is left: no mounts
// under the daemon's root, no cgroups under its cgroup parent, no shims.
#include "container_fixture.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

namespace berth::testing {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class ContainerErrors : public DockerContainerTest {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(GetParam())) GTEST_SKIP() << GetParam() << " is not installed";
    DockerContainerTest::SetUp();
  }

  // Nothing of the daemon's containers outside its files, and no container
  // directories left but those of `remaining` containers.
  void expect_nothing_leaked(std::size_t remaining = 0) {
    EXPECT_EQ(leftovers(root_.path()), "") << daemon_->log();
    std::size_t dirs = 0;
    std::error_code ec;
    for (const auto& d : std::filesystem::directory_iterator(daemon_->data_root() + "/containers", ec)) {
      (void)d;
      ++dirs;
    }
    EXPECT_EQ(dirs, remaining);
  }
};

TEST_P(ContainerErrors, UnknownImage) {
  const std::string missing = "127.0.0.1:1/berth-test/none:latest";
  auto r = docker({"run", "--rm", missing, "true"});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  // The client's own words, then the pull's failure from the daemon.
  EXPECT_TRUE(contains(r.err, "Unable to find image '" + missing + "' locally")) << r.err;
  EXPECT_TRUE(contains(r.err, "connection refused")) << r.err;
  auto created = daemon_->api("POST", "/containers/create", R"({"Image": "berth-test/none:latest"})");
  EXPECT_EQ(created.status, 404);
  EXPECT_TRUE(contains(created.body, "No such image: berth-test/none:latest")) << created.body;
  auto start = docker({"start", "berth-test-nosuch"});
  EXPECT_NE(start.exit_code, 0);
  EXPECT_TRUE(contains(start.err, "No such container: berth-test-nosuch")) << start.err;
  EXPECT_EQ(docker({"ps", "-aq"}).out, "");
  expect_nothing_leaked();
}

TEST_P(ContainerErrors, BadFlagsAndInvalidResources) {
  auto flag = docker({"run", "--berth-test-nosuchflag", kBusyboxImage, "true"});
  EXPECT_EQ(flag.exit_code, 125);
  EXPECT_TRUE(contains(flag.err, "unknown flag: --berth-test-nosuchflag")) << flag.err;
  auto memory = docker({"run", "-m", "1k", kBusyboxImage, "true"});
  EXPECT_EQ(memory.exit_code, 125);
  EXPECT_TRUE(contains(memory.err, "Minimum memory limit allowed is 6MB")) << memory.err;
  auto cpus = docker({"run", "--cpus", "1000", kBusyboxImage, "true"});
  EXPECT_EQ(cpus.exit_code, 125);
  EXPECT_TRUE(contains(cpus.err, "Range of CPUs is from 0.01 to")) << cpus.err;
  auto ulimit = docker({"run", "--ulimit", "nofile=2048:1024", kBusyboxImage, "true"});
  EXPECT_EQ(ulimit.exit_code, 125);
  EXPECT_TRUE(contains(ulimit.err, "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"))
      << ulimit.err;
  auto restart = docker({"run", "--restart", "bogus", kBusyboxImage, "true"});
  EXPECT_EQ(restart.exit_code, 125);
  EXPECT_TRUE(contains(restart.err, "invalid restart policy")) << restart.err;
  // The daemon checks what the clients do not.
  auto negative = daemon_->api("POST", "/containers/create",
                               R"({"Image": "berth-test/busybox", "HostConfig": {"NanoCpus": -1}})");
  EXPECT_EQ(negative.status, 400);
  EXPECT_TRUE(contains(negative.body, "Range of CPUs is from 0.01 to")) << negative.body;
  auto bad_ulimit = daemon_->api(
      "POST", "/containers/create",
      R"({"Image": "berth-test/busybox", "HostConfig": {"Ulimits": [{"Name": "nosuch", "Soft": 1, "Hard": 1}]}})");
  EXPECT_EQ(bad_ulimit.status, 400);
  EXPECT_TRUE(contains(bad_ulimit.body, "invalid ulimit type: nosuch")) << bad_ulimit.body;
  auto policy = daemon_->api("POST", "/containers/create",
                             R"({"Image": "berth-test/busybox", "HostConfig": {"RestartPolicy": {"Name": "bogus"}}})");
  EXPECT_EQ(policy.status, 400);
  EXPECT_TRUE(contains(policy.body, "invalid restart policy: unknown policy 'bogus'; use one of 'no', 'always', "
                                    "'on-failure', or 'unless-stopped'"))
      << policy.body;
  auto count = daemon_->api(
      "POST", "/containers/create",
      R"({"Image": "berth-test/busybox", "HostConfig": {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 3}}})");
  EXPECT_EQ(count.status, 400);
  EXPECT_TRUE(contains(count.body, "invalid restart policy: maximum retry count can only be used with 'on-failure'"))
      << count.body;
  auto rm_restart = daemon_->api(
      "POST", "/containers/create",
      R"({"Image": "berth-test/busybox", "HostConfig": {"AutoRemove": true, "RestartPolicy": {"Name": "always"}}})");
  EXPECT_EQ(rm_restart.status, 400);
  EXPECT_TRUE(contains(rm_restart.body, "can't create 'AutoRemove' container with restart policy")) << rm_restart.body;
  EXPECT_EQ(docker({"ps", "-aq"}).out, "");
  expect_nothing_leaked();
}

TEST_P(ContainerErrors, NameClashAndRemovingARunningContainer) {
  auto first = docker({"run", "-d", "--name", "berth-test-clash", kBusyboxImage, "sleep", "60"});
  ASSERT_EQ(first.exit_code, 0) << first.err << daemon_->log();
  std::string id = first.out.substr(0, 64);
  auto second = docker({"run", "-d", "--name", "berth-test-clash", kBusyboxImage, "true"});
  EXPECT_EQ(second.exit_code, 125);
  EXPECT_TRUE(contains(second.err, "Conflict. The container name \"/berth-test-clash\" is already in use by "
                                   "container \"" + id + "\". You have to remove (or rename) that container to be "
                                   "able to reuse that name."))
      << second.err;
  auto api = daemon_->api("POST", "/containers/create?name=berth-test-clash", R"({"Image": "berth-test/busybox"})");
  EXPECT_EQ(api.status, 409);
  auto rm = docker({"rm", "berth-test-clash"});
  EXPECT_NE(rm.exit_code, 0);
  EXPECT_TRUE(contains(rm.err, "You cannot remove a running container " + id +
                                   ". Stop the container before attempting removal or force remove"))
      << rm.err;
  auto rm_api = daemon_->api("DELETE", "/containers/berth-test-clash");
  EXPECT_EQ(rm_api.status, 409);
  EXPECT_EQ(docker({"inspect", "-f", "{{.State.Status}}", id}).out, "running\n");
  // The failed create left nothing; the running one its own things only.
  EXPECT_EQ(shims_of(root_.path()).size(), 1U);
  auto forced = docker({"rm", "-f", "berth-test-clash"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(docker({"ps", "-aq"}).out, "");
  expect_nothing_leaked();
  // The name is free again.
  auto again = docker({"create", "--name", "berth-test-clash", kBusyboxImage, "true"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

TEST_P(ContainerErrors, FailedStartsLeaveNothing) {
  auto missing = docker({"run", "--name", "berth-test-nocmd", kBusyboxImage, "berth-test-nosuchcommand"});
  EXPECT_EQ(missing.exit_code, 127) << missing.err;
  auto bad_user = docker({"run", "--name", "berth-test-nouser", "--user", "berth-test-nobody", kBusyboxImage, "true"});
  EXPECT_NE(bad_user.exit_code, 0);
  EXPECT_TRUE(contains(bad_user.err, "unable to find user berth-test-nobody")) << bad_user.err;
  // Both exist, exited, and hold nothing outside their files.
  EXPECT_EQ(docker({"inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "berth-test-nocmd"}).out,
            "created 127\n");
  expect_nothing_leaked(2);
  EXPECT_EQ(docker({"rm", "berth-test-nocmd", "berth-test-nouser"}).exit_code, 0);
  expect_nothing_leaked();
}

TEST_P(ContainerErrors, RemovedWhileBeingStarted) {
  // rm -f races start: whichever wins, the container ends removed with
  // nothing left, and the daemon keeps serving.
  for (int i = 0; i < 8; ++i) {
    std::string name = "berth-test-race" + std::to_string(i);
    auto created = docker({"create", "--name", name, kBusyboxImage, "sleep", "60"});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    Daemon::ApiAnswer started;
    std::thread starter([&] { started = daemon_->api("POST", "/containers/" + name + "/start"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(i * 5));
    auto removed = daemon_->api("DELETE", "/containers/" + name + "?force=1");
    starter.join();
    EXPECT_EQ(removed.status, 204) << removed.body << daemon_->log();
    // The start either happened first, or found no container (or one being
    // removed).
    EXPECT_TRUE(started.status == 204 || started.status == 404 || started.status == 409)
        << started.status << " " << started.body;
    EXPECT_EQ(daemon_->api("GET", "/containers/" + name + "/json").status, 404);
  }
  EXPECT_EQ(docker({"ps", "-aq"}).out, "");
  expect_nothing_leaked();
  auto r = docker({"run", "--rm", kBusyboxImage, "echo", "still-serving"});
  EXPECT_EQ(r.out, "still-serving\n") << r.err;
}

INSTANTIATE_TEST_SUITE_P(Clients, ContainerErrors, kDockerClients, docker_client_name);

}  // namespace
}  // namespace berth::testing
