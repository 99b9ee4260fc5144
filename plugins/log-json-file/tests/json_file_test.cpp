// What json-file does beyond the conformance suite: Docker's exact format,
// rotation, and its options.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "berth/plugins/log_json_file.h"
#include "berth/sdk/testing/driver_under_test.hpp"
#include "berth/sdk/testing/fake_host.hpp"
#include "berth/sdk/types.hpp"
#include "options.hpp"
#include "record.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using berth::plugins::log_json_file::decode_record;
using berth::plugins::log_json_file::encode_record;
using berth::plugins::log_json_file::format_time;
using berth::plugins::log_json_file::parse_size;
using berth::plugins::log_json_file::parse_time;
using berth::sdk::LogMessage;
using berth::sdk::StdStream;
using berth::sdk::to_berth_str;
using berth::sdk::testing::DriverSource;
using berth::sdk::testing::DriverUnderTest;
using berth::sdk::testing::FakeError;
using berth::sdk::testing::FakeHost;

// 2026-11-27T23:59:59Z
constexpr std::int64_t second = 1'795'823'999'000'000'000;
const std::string id = "3f2a9c0e1b7d4a6f8e5c2b1a0d9f8e7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f10";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string encode(StdStream stream, std::int64_t time, bool partial, std::string_view line) {
  std::string out;
  encode_record(LogMessage{stream, time, partial, line}, out);
  return out;
}

TEST(Record, IsByteForByteDockers) {
  EXPECT_EQ(encode(StdStream::out, second + 123'456'789, false, "hello"),
            R"({"log":"hello\n","stream":"stdout","time":"2026-11-27T23:59:59.123456789Z"})"
            "\n");
  EXPECT_EQ(encode(StdStream::err, second, true, "part"),
            R"({"log":"part","stream":"stderr","time":"2026-11-27T23:59:59Z"})"
            "\n");
  EXPECT_EQ(encode(StdStream::out, second + 120'000'000, false, ""),
            R"({"log":"\n","stream":"stdout","time":"2026-11-27T23:59:59.12Z"})"
            "\n");
  EXPECT_EQ(encode(StdStream::out, second + 1, true, ""),
            R"({"stream":"stdout","time":"2026-11-27T23:59:59.000000001Z"})"
            "\n");
  EXPECT_EQ(encode(StdStream::out, second, false,
                   "tab\t <a> & \"q\" \\ \x01 \xc3\xa9 \xe2\x80\xa8 \xff\xfe \xed\xa0\x80 \x7f"),
            R"({"log":"tab\u0009 \u003ca\u003e \u0026 \"q\" \\ \u0001 )"
            "\xc3\xa9"
            R"( \u2028 \ufffd\ufffd \ufffd\ufffd\ufffd )"
            "\x7f"
            R"(\n","stream":"stdout","time":"2026-11-27T23:59:59Z"})"
            "\n");
}

TEST(Record, DecodesWhatDockerAndGoWrite) {
  const auto r = decode_record(
      R"({"log":"a\tb\u003c\n","stream":"stderr","attrs":{"tag":"x"},"time":"2026-11-27T23:59:59.5+01:00"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->line, "a\tb<");
  EXPECT_FALSE(r->partial);
  EXPECT_EQ(r->stream, StdStream::err);
  EXPECT_EQ(r->time_unix_nano, second - 3'600'000'000'000 + 500'000'000);

  const auto empty_partial = decode_record(R"({"stream":"stdout","time":"2026-11-27T23:59:59Z"})");
  ASSERT_TRUE(empty_partial);
  EXPECT_TRUE(empty_partial->partial);
  EXPECT_EQ(empty_partial->line, "");

  EXPECT_FALSE(decode_record(R"({"log":"x\n","stream":"stdin","time":"2026-11-27T23:59:59Z"})"));
  EXPECT_FALSE(decode_record(R"({"log":"x\n","stream":"stdout"})"));
  EXPECT_FALSE(decode_record(R"({"log":"x\n","stream":"stdout","time":"yesterday"})"));
  EXPECT_FALSE(decode_record(R"({"log":"x\n","stream":"stdout","time":"2026-11-2)"));
  EXPECT_FALSE(decode_record("[1,2]"));
}

TEST(Time, FormatsLikeGoRfc3339Nano) {
  EXPECT_EQ(format_time(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_time(1), "1970-01-01T00:00:00.000000001Z");
  EXPECT_EQ(format_time(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(format_time(second + 100'000'000), "2026-11-27T23:59:59.1Z");
  EXPECT_EQ(format_time(951'782'400'000'000'000), "2000-02-29T00:00:00Z");
}

TEST(Time, ParsesRfc3339) {
  EXPECT_EQ(parse_time("2026-11-27T23:59:59Z"), second);
  EXPECT_EQ(parse_time("2026-11-27T23:59:59.000000001Z"), second + 1);
  EXPECT_EQ(parse_time("2026-11-27T23:59:59.1Z"), second + 100'000'000);
  EXPECT_EQ(parse_time("2026-11-28T01:29:59-01:30"), second + 10'800'000'000'000);
  EXPECT_EQ(parse_time("1969-12-31T23:59:59.999999999Z"), -1);
  for (std::int64_t t : {std::int64_t{1}, second, second + 123'456'789, std::int64_t{-5}}) {
    EXPECT_EQ(parse_time(format_time(t)), t);
  }
  for (const char* bad :
       {"", "2026-11-27", "2026-11-27T23:59:59", "2026-02-30T00:00:00Z", "2026-11-27T24:00:00Z",
        "2026-11-27T23:59:59.Z", "2026-11-27T23:59:59.1234567891Z", "2026-11-27T23:59:59+0100",
        "2026-11-27 23:59:59Z"}) {
    EXPECT_FALSE(parse_time(bad)) << bad;
  }
}

TEST(Options, SizesAreDockersDecimalUnits) {
  EXPECT_EQ(parse_size("100"), 100);
  EXPECT_EQ(parse_size("10k"), 10'000);
  EXPECT_EQ(parse_size("10m"), 10'000'000);
  EXPECT_EQ(parse_size("10MB"), 10'000'000);
  EXPECT_EQ(parse_size("10MiB"), 10'000'000);
  EXPECT_EQ(parse_size("1.5g"), 1'500'000'000);
  EXPECT_EQ(parse_size("2 k"), 2'000);
  EXPECT_EQ(parse_size("0"), 0);
  for (const char* bad : {"", "m", "-1", "ten", "10x", "1.2.3k", " 10m", "10m "}) {
    EXPECT_EQ(parse_size(bad), -1) << bad;
  }
}

// A json-file driver on a FakeHost, driven through its C table.
class JsonFile : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(driver_.init(), BERTH_OK) << driver_.init_error();
    fs::create_directories(dir_);
  }

  std::string info(const std::string& config = "{}") const {
    return R"({"ContainerID":")" + id + R"(","ContainerName":"/web","LogPath":")" + path_.string() +
           R"(","Config":)" + config + "}";
  }

  berth_status open(const std::string& info_json, void** stream, std::string* message = nullptr) {
    FakeError err;
    const berth_status status =
        driver_.logging().open(driver_.instance(), to_berth_str(info_json), stream, err.raw());
    if (message != nullptr) *message = err.message();
    return status;
  }

  void log(void* stream, std::int64_t time, const std::string& line) {
    const berth_log_message m{sizeof(berth_log_message), BERTH_LOG_STDOUT, time, 0,
                              to_berth_str(line)};
    FakeError err;
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

  berth_status read(const std::string& info_json, Collected& out, bool follow = false) {
    const berth_log_read_options options{
        sizeof(berth_log_read_options), 0, 0, -1, follow ? 1 : 0, 0};
    const berth_log_sink sink{sizeof(berth_log_sink), &out, &Collected::on, &Collected::stopped};
    FakeError err;
    const berth_status status = driver_.logging().read(driver_.instance(), to_berth_str(info_json),
                                                       &options, &sink, err.raw());
    EXPECT_EQ(status, BERTH_OK) << err.message();
    return status;
  }

  static std::string numbered(int i) {
    std::string line = "record " + std::to_string(i) + " ";
    line.resize(60, '.');
    return line;
  }

  FakeHost host_;
  DriverUnderTest driver_{DriverSource::builtin("json-file", &berth_builtin_log_json_file), host_};
  fs::path dir_ = host_.root() / "containers" / id;
  fs::path path_ = dir_ / (id + "-json.log");
};

TEST_F(JsonFile, WritesDockersFormatWithMode0640) {
  void* stream = nullptr;
  ASSERT_EQ(open(info(), &stream), BERTH_OK);
  log(stream, second + 123'456'789, "hello");
  close(stream);
  EXPECT_EQ(read_file(path_),
            R"({"log":"hello\n","stream":"stdout","time":"2026-11-27T23:59:59.123456789Z"})"
            "\n");
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640U);
}

TEST_F(JsonFile, ReadsAFileDockerWroteAndSkipsGarbage) {
  std::ofstream(path_, std::ios::binary)
      << R"({"log":"from docker\n","stream":"stdout","time":"2026-11-27T23:59:59.5Z"})"
      << "\n"
      << "not json at all\n"
      << R"({"log":"with attrs\n","stream":"stderr","attrs":{"tag":"web"},"time":"2026-11-27T23:59:59.6Z"})"
      << "\n"
      << R"({"log":"half a line wri)";
  Collected got;
  read(info(), got);
  EXPECT_EQ(got.lines, (std::vector<std::string>{"from docker", "with attrs"}));
  EXPECT_TRUE(host_.logged("skipped 1 lines that are not json-file records"));
}

TEST_F(JsonFile, RotatesAtMaxSizeAndKeepsMaxFileFiles) {
  void* stream = nullptr;
  ASSERT_EQ(open(info(R"({"max-size":"1k","max-file":"3"})"), &stream), BERTH_OK);
  constexpr int total = 100;
  for (int i = 0; i < total; ++i) log(stream, second + i, numbered(i));
  close(stream);

  const std::size_t record_size = encode(StdStream::out, second + 1, false, numbered(1)).size();
  EXPECT_TRUE(fs::exists(path_.string() + ".1"));
  EXPECT_TRUE(fs::exists(path_.string() + ".2"));
  EXPECT_FALSE(fs::exists(path_.string() + ".3"));
  for (const char* suffix : {"", ".1", ".2"}) {
    const auto size = fs::file_size(path_.string() + suffix);
    EXPECT_LE(size, 1000 + record_size) << suffix;
    EXPECT_GT(size, 0U) << suffix;
  }
  EXPECT_GE(fs::file_size(path_.string() + ".1"), 1000U) << "a rotated file reached max-size";

  // What is left is the newest records, in order, across the three files.
  Collected got;
  read(info(), got);
  ASSERT_FALSE(got.lines.empty());
  const int first = total - static_cast<int>(got.lines.size());
  EXPECT_GT(first, 0) << "the oldest file was dropped";
  for (std::size_t i = 0; i < got.lines.size(); ++i) {
    EXPECT_EQ(got.lines[i], numbered(first + static_cast<int>(i)));
  }
}

TEST_F(JsonFile, MaxFileOneStartsTheFileOver) {
  void* stream = nullptr;
  ASSERT_EQ(open(info(R"({"max-size":"500"})"), &stream), BERTH_OK);
  for (int i = 0; i < 20; ++i) log(stream, second + i, numbered(i));
  close(stream);
  EXPECT_FALSE(fs::exists(path_.string() + ".1"));
  Collected got;
  read(info(), got);
  ASSERT_FALSE(got.lines.empty());
  EXPECT_LT(got.lines.size(), 20U);
  EXPECT_EQ(got.lines.back(), numbered(19));
}

TEST_F(JsonFile, FollowCrossesRotations) {
  const std::string config = R"({"max-size":"300","max-file":"4"})";
  void* stream = nullptr;
  ASSERT_EQ(open(info(config), &stream), BERTH_OK);
  Collected got;
  std::thread reader([&] { read(info(config), got, true); });
  constexpr int total = 60;
  for (int i = 0; i < total; ++i) {
    log(stream, second + i, numbered(i));
    // Keep within what four files hold between two polls of the reader.
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

TEST_F(JsonFile, BadOptionsAreRefusedWithTheOptionNamed) {
  struct Case {
    const char* config;
    berth_status status;
    const char* message;
  };
  for (const Case& c : {
           Case{R"({"max-size":"abc"})", BERTH_E_INVALID_ARGUMENT,
                "log-opt max-size=abc: not a size"},
           Case{R"({"max-size":"0"})", BERTH_E_INVALID_ARGUMENT,
                "log-opt max-size=0: max-size must be a positive number"},
           Case{R"({"max-file":"0"})", BERTH_E_INVALID_ARGUMENT,
                "log-opt max-file=0: max-file cannot be less than 1"},
           Case{R"({"max-file":"three"})", BERTH_E_INVALID_ARGUMENT,
                "log-opt max-file=three: not a number"},
           Case{R"({"compress":"true"})", BERTH_E_UNSUPPORTED,
                "log-opt compress=true: compressing rotated json-file logs is not supported yet"},
           Case{R"({"compress":"maybe"})", BERTH_E_INVALID_ARGUMENT,
                "log-opt compress=maybe: not a boolean"},
           Case{R"({"labels":"a,b"})", BERTH_E_UNSUPPORTED,
                "log-opt labels=a,b: not supported by the json-file driver yet"},
           Case{R"({"max-buffer-size":"4m"})", BERTH_E_INVALID_ARGUMENT,
                "unknown log opt 'max-buffer-size' for json-file log driver"},
       }) {
    void* stream = nullptr;
    std::string message;
    EXPECT_EQ(open(info(c.config), &stream, &message), c.status) << c.config;
    EXPECT_EQ(message, c.message);
    EXPECT_EQ(stream, nullptr);
  }
  EXPECT_FALSE(fs::exists(path_)) << "a refused open creates no file";

  void* stream = nullptr;
  EXPECT_EQ(open(info(R"({"compress":"false","max-size":"10m","max-file":"2"})"), &stream),
            BERTH_OK);
  close(stream);
}

TEST_F(JsonFile, AMissingLogDirectoryIsNamedInTheError) {
  const std::string missing = (host_.root() / "nowhere" / "x-json.log").string();
  void* stream = nullptr;
  std::string message;
  EXPECT_EQ(
      open(R"({"ContainerID":")" + id + R"(","LogPath":")" + missing + R"("})", &stream, &message),
      BERTH_E_NOT_FOUND);
  EXPECT_EQ(message,
            "open log of container 3f2a9c0e1b7d: " + missing + ": No such file or directory");
}

}  // namespace
