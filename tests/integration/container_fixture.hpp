// The fixture of the container suites: a berthd (overlay storage) with the
// test busybox image loaded, every container removed afterwards while the
// daemon still runs (containers outlive it by design), and helpers that
// find what a failed or removed container could leave behind (mounts under
// the daemon's root, cgroups under its cgroup parent, shims).
//
// ContainerFixture<Base> is the fixture on any gtest base (Test, or
// TestWithParam for suites parameterised by docker client);
// DockerContainerTest is the one driven by the docker CLIs of
// docker_clients.hpp, one test per client.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "../support/image_builder.hpp"
#include "docker_clients.hpp"
#include "harness.hpp"

namespace berth::testing {

constexpr const char* kBusyboxImage = "berth-test/busybox:latest";
constexpr const char* kImage = kBusyboxImage;

// docker_archive() of busybox_image(kBusyboxImage), built once.
const std::string& busybox_archive();

// Runs docker CLI `client` against `daemon` with its config in `config_dir`.
CommandResult docker_cli(const Daemon& daemon, const std::string& client,
                         const std::string& config_dir, std::vector<std::string> args,
                         const std::string& input = {},
                         std::chrono::seconds timeout = std::chrono::seconds(60));

// Removes every container of `daemon` (rm -f).
void remove_all_containers(const Daemon& daemon);

// Mount points below `root`, from this process's mount table.
std::vector<std::string> mounts_under(const std::string& root);
// Cgroups below the cgroup parent the harness gives the daemon of `root`.
std::vector<std::string> cgroups_under_parent(const std::string& root);
// berth-shim processes whose command line names a path below `root`.
std::vector<pid_t> shims_of(const std::string& root);
// All of the above, one line each; "" when nothing is left.
std::string leftovers(const std::string& root);

template <class Base = ::testing::Test>
class ContainerFixture : public Base {
 protected:
  void SetUp() override {
    if (!daemon_) start_daemon();  // a derived SetUp may have started it
    ASSERT_TRUE(daemon_->started()) << daemon_->log();
    write_file(work_ / "busybox.tar", busybox_archive());
    auto load = daemon_->berth({"load", "-i", work_ / "busybox.tar"});
    ASSERT_EQ(load.exit_code, 0) << load.err << daemon_->log();
  }

  void TearDown() override {
    if (daemon_ && daemon_->started()) remove_all_containers(*daemon_);
  }

  virtual void start_daemon() {
    daemon_.reset();
    daemon_ = std::make_unique<Daemon>(
        Daemon::Options{.args = {"--storage-driver", "overlay"}, .root = root_.path()});
  }

  CommandResult cli(const std::string& client, std::vector<std::string> args,
                    const std::string& input = {},
                    std::chrono::seconds timeout = std::chrono::seconds(60)) {
    return docker_cli(*daemon_, client, work_.path(), std::move(args), input, timeout);
  }

  TempDir work_{"containers"};
  TempDir root_{"containers-daemon"};
  std::unique_ptr<Daemon> daemon_;
};

class DockerContainerTest : public ContainerFixture<::testing::TestWithParam<std::string>> {
 protected:
  CommandResult docker(std::vector<std::string> args, const std::string& input = {}) {
    return cli(GetParam(), std::move(args), input);
  }
};

}  // namespace berth::testing
