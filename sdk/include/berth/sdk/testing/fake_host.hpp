// A real berth_host for tests: drivers run against it exactly as against
// berthd, without a daemon. Part of berth::sdk-conformance.
//
//   berth::sdk::testing::FakeHost host;                  // config "{}"
//   berth::sdk::testing::FakeError err;
//   status = descriptor->init(host.raw(), &instance, err.raw());
//   EXPECT_EQ(err.message(), "...");
//
// The host's state dir, data root and exec root live in a fresh directory
// /tmp/berth-test-XXXXXX (root()), removed with everything in it by the
// destructor. Log lines the plugin sends are kept (log_lines()).
//
// Ownership: FakeHost, FakeError, FakeOut, FakeReader and FakeWriter own
// their state; raw() hands out a pointer valid as long as the object, which
// must not move (they are neither copyable nor movable).
//
// Threading: the host's log callback may be called from any thread, like
// berthd's. A FakeError/FakeOut/FakeReader/FakeWriter belongs to one call at
// a time.
#ifndef BERTH_SDK_TESTING_FAKE_HOST_HPP
#define BERTH_SDK_TESTING_FAKE_HOST_HPP

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "berth/sdk/abi.h"

namespace berth::sdk::testing {

// Receives the message of a failing call (berth_error).
class FakeError {
 public:
  FakeError() = default;
  FakeError(const FakeError&) = delete;
  FakeError& operator=(const FakeError&) = delete;

  berth_error* raw() noexcept;
  // Whether error_set was called since construction or clear().
  bool is_set() const noexcept { return set_; }
  const std::string& message() const noexcept { return message_; }
  void clear() noexcept;

 private:
  friend class FakeHost;
  std::string message_;
  bool set_ = false;
};

struct FakeMount {
  std::string type;
  std::string source;
  std::string options;
  bool operator==(const FakeMount&) const = default;
};

// Collects a call's results (berth_out): text and mounts.
class FakeOut {
 public:
  FakeOut() = default;
  FakeOut(const FakeOut&) = delete;
  FakeOut& operator=(const FakeOut&) = delete;

  berth_out* raw() noexcept;
  const std::string& text() const noexcept { return text_; }
  const std::vector<FakeMount>& mounts() const noexcept { return mounts_; }

 private:
  friend class FakeHost;
  std::string text_;
  std::vector<FakeMount> mounts_;
};

// A byte stream over a string (berth_reader). Hands out at most `chunk`
// bytes per read so drivers meet short reads; fail() makes it report -1.
class FakeReader {
 public:
  explicit FakeReader(std::string data, std::size_t chunk = 4096);
  FakeReader(const FakeReader&) = delete;
  FakeReader& operator=(const FakeReader&) = delete;

  berth_reader* raw() noexcept;
  void fail() noexcept { failed_ = true; }
  std::size_t consumed() const noexcept { return offset_; }

 private:
  friend class FakeHost;
  std::string data_;
  std::size_t chunk_;
  std::size_t offset_ = 0;
  bool failed_ = false;
};

// A byte stream into a string (berth_writer). disconnect() makes further
// writes report -1, as when the consumer went away.
class FakeWriter {
 public:
  FakeWriter() = default;
  FakeWriter(const FakeWriter&) = delete;
  FakeWriter& operator=(const FakeWriter&) = delete;

  berth_writer* raw() noexcept;
  const std::string& data() const noexcept { return data_; }
  void disconnect() noexcept { disconnected_ = true; }

 private:
  friend class FakeHost;
  std::string data_;
  bool disconnected_ = false;
};

class FakeHost {
 public:
  struct LogLine {
    berth_log_level level;
    std::string message;
  };

  // Creates root() and, inside it, state/ (0700), data/ and exec/.
  // Throws std::system_error when it cannot.
  explicit FakeHost(std::string config_json = "{}");
  ~FakeHost();
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  // The table to pass to init. mutable_raw() lets a test shrink struct_size
  // or change the ABI version to play an older or newer host.
  const berth_host* raw() const noexcept { return &host_; }
  berth_host& mutable_raw() noexcept { return host_; }

  const std::filesystem::path& root() const noexcept { return root_; }
  const std::string& state_dir() const noexcept { return state_dir_; }
  const std::string& data_root() const noexcept { return data_root_; }
  const std::string& exec_root() const noexcept { return exec_root_; }

  // Copies of the lines logged so far, oldest first.
  std::vector<LogLine> log_lines() const;
  // Whether any logged line contains `needle`.
  bool logged(std::string_view needle) const;

 private:
  static void log(const berth_host* host, berth_log_level level, berth_str message);
  static void error_set(berth_error* err, berth_str message);
  static void out_write(berth_out* out, berth_str bytes);
  static void out_mount(berth_out* out, const berth_mount* mount);
  static std::int64_t reader_read(berth_reader* reader, void* buf, std::size_t cap);
  static std::int32_t writer_write(berth_writer* writer, const void* buf, std::size_t len);

  std::filesystem::path root_;
  std::string config_json_;
  std::string state_dir_;
  std::string data_root_;
  std::string exec_root_;
  mutable std::mutex mutex_;
  std::vector<LogLine> lines_;
  berth_host host_{};
};

}  // namespace berth::sdk::testing

#endif  // BERTH_SDK_TESTING_FAKE_HOST_HPP
