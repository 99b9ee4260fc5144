// The pull tests' fixture: a real berthd on its own root and a LocalRegistry,
// with the docker CLI as the puller, plus what the fault tests inspect on
// the daemon's data root after a pull went wrong.
#pragma once

#include "harness.hpp"
#include "registry.hpp"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

namespace berth::testing {

inline constexpr const char* kDocker20 = "/usr/bin/docker";        // Debian's 20.10
inline constexpr const char* kDocker28 = "/usr/local/bin/docker";  // upstream 28.x

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    start_daemon();
    ASSERT_TRUE(daemon_->started()) << daemon_->log();
  }

  // The storage driver the daemon runs with.
  virtual std::string driver() const { return "vfs"; }

  // (Re)starts berthd on the fixture's root: a restart finds what the last
  // daemon left there.
  void start_daemon() {
    daemon_.reset();
    daemon_ = std::make_unique<Daemon>(
        Daemon::Options{.args = {"--storage-driver", driver()}, .root = root_.path()});
  }

  CommandResult docker(std::vector<std::string> args, const std::string& cli = kDocker20) {
    args.insert(args.begin(), {cli, "-H", daemon_->host()});
    return run(args, {{"DOCKER_CONFIG", work_.path()}, {"DOCKER_HOST", ""}}, {},
               std::chrono::seconds(120));
  }
  // The same on another thread, for tests that act while it runs.
  std::future<CommandResult> docker_async(std::vector<std::string> args,
                                          const std::string& cli = kDocker20) {
    return std::async(std::launch::async,
                      [this, args = std::move(args), cli] { return docker(args, cli); });
  }

  std::string image_id(const std::string& name) {
    return docker({"image", "inspect", "-f", "{{.Id}}", name}).out;
  }

  // --- the data root, for "nothing left behind" -------------------------

  // One query on the metadata database with the sqlite3 CLI (rows as
  // "a|b\n").
  std::string sql(const std::string& query) const;
  // Unfinished content-store writes.
  std::vector<std::string> ingest_files() const;
  // Blobs in the content store.
  std::vector<std::string> blobs() const;
  // The storage driver's layer directories (its layers/ names, sorted), and
  // what it is building or removing (tmp/).
  std::vector<std::string> driver_layers() const;
  std::vector<std::string> driver_tmp() const;
  // GET /images/json over the daemon's socket: the body.
  std::string images_json() const;
  // Asserts the root holds no image, layer, blob or unfinished work.
  void expect_empty_store() const;

  LocalRegistry registry_;
  TempDir work_{"pull"};
  TempDir root_{"pull-daemon"};  // outlives daemon_
  std::unique_ptr<Daemon> daemon_;
};

}  // namespace berth::testing
