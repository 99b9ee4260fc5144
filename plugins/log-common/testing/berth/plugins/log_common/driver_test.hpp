// For the file-based logging drivers' own tests (json-file, local): a driver
// on a FakeHost driven through its C table, with one container's log in the
// host's directory. Beyond the conformance suite, these tests look at the
// files themselves: format, rotation, compression.
#ifndef BERTH_PLUGINS_LOG_COMMON_DRIVER_TEST_HPP
#define BERTH_PLUGINS_LOG_COMMON_DRIVER_TEST_HPP

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "berth/sdk/testing/driver_under_test.hpp"
#include "berth/sdk/testing/fake_host.hpp"
#include "berth/sdk/types.hpp"

namespace berth::plugins::log_common::testing {

namespace fs = std::filesystem;

// 2026-11-27T23:59:59Z
constexpr std::int64_t second = 1'795'823'999'000'000'000;
inline const std::string id = "3f2a9c0e1b7d4a6f8e5c2b1a0d9f8e7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f10";

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// A 60-byte line naming record i.
inline std::string numbered(int i) {
  std::string line = "record " + std::to_string(i) + " ";
  line.resize(60, '.');
  return line;
}

class DriverTest : public ::testing::Test {
 protected:
  // `descriptor`: the driver's built-in descriptor; `file_name`: its log
  // file's name in the container's directory.
  DriverTest(berth_plugin_entry_fn descriptor, const std::string& file_name)
      : driver_(sdk::testing::DriverSource::builtin("driver", descriptor), host_),
        path_(dir_ / file_name) {}

  void SetUp() override {
    ASSERT_EQ(driver_.init(), BERTH_OK) << driver_.init_error();
    fs::create_directories(dir_);
  }

  std::string info(const std::string& config = "{}") const {
    return R"({"ContainerID":")" + id + R"(","ContainerName":"/web","LogPath":")" + path_.string() +
           R"(","Config":)" + config + "}";
  }

  berth_status open(const std::string& info_json, void** stream, std::string* message = nullptr) {
    sdk::testing::FakeError err;
    const berth_status status = driver_.logging().open(
        driver_.instance(), sdk::to_berth_str(info_json), stream, err.raw());
    if (message != nullptr) *message = err.message();
    return status;
  }

  void log(void* stream, std::int64_t time, const std::string& line) {
    const berth_log_message m{sizeof(berth_log_message), BERTH_LOG_STDOUT, time, 0,
                              sdk::to_berth_str(line)};
    sdk::testing::FakeError err;
    ASSERT_EQ(driver_.logging().log(driver_.instance(), stream, &m, err.raw()), BERTH_OK)
        << err.message();
  }

  void close(void* stream) { driver_.logging().close(driver_.instance(), stream); }

  struct Collected {
    std::vector<std::string> lines;
    std::atomic<bool> stop{false};
    std::mutex mutex;
    static std::int32_t on(void* ctx, const berth_log_message* m) {
      auto* self = static_cast<Collected*>(ctx);
      std::lock_guard lock(self->mutex);
      self->lines.emplace_back(m->line.data, m->line.len);
      return 0;
    }
    static std::int32_t stopped(void* ctx) { return static_cast<Collected*>(ctx)->stop.load(); }
    std::size_t size() {
      std::lock_guard lock(mutex);
      return lines.size();
    }
  };

  berth_status read(const std::string& info_json, Collected& out, bool follow = false,
                    std::int64_t tail = -1) {
    const berth_log_read_options options{
        sizeof(berth_log_read_options), 0, 0, tail, follow ? 1 : 0, 0};
    const berth_log_sink sink{sizeof(berth_log_sink), &out, &Collected::on, &Collected::stopped};
    sdk::testing::FakeError err;
    const berth_status status = driver_.logging().read(
        driver_.instance(), sdk::to_berth_str(info_json), &options, &sink, err.raw());
    EXPECT_EQ(status, BERTH_OK) << err.message();
    return status;
  }

  // Logs 60 records with rotation by `config` while a follower reads, paced
  // so that a file does not rotate away between two of its polls, and
  // expects the follower to get every record once, in order.
  void expect_follow_crosses_rotations(const std::string& config) {
    using namespace std::chrono_literals;
    void* stream = nullptr;
    ASSERT_EQ(open(info(config), &stream), BERTH_OK);
    Collected got;
    std::thread reader([&] { read(info(config), got, true); });
    constexpr int total = 60;
    for (int i = 0; i < total; ++i) {
      log(stream, second + i, numbered(i));
      if (i % 3 == 2) std::this_thread::sleep_for(60ms);
    }
    for (int waited = 0; got.size() < total && waited < 200; ++waited) {
      std::this_thread::sleep_for(50ms);
    }
    got.stop = true;
    reader.join();
    close(stream);
    std::vector<std::string> expected;
    for (int i = 0; i < total; ++i) expected.push_back(numbered(i));
    EXPECT_EQ(got.lines, expected);
  }

  sdk::testing::FakeHost host_;
  sdk::testing::DriverUnderTest driver_;
  fs::path dir_ = host_.root() / "containers" / id;
  fs::path path_;
};

}  // namespace berth::plugins::log_common::testing

#endif  // BERTH_PLUGINS_LOG_COMMON_DRIVER_TEST_HPP
