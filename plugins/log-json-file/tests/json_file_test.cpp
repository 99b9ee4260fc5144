// What json-file does beyond the conformance suite: Docker's exact format,
// rotation, and its options.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "berth/plugins/log_common/driver_test.hpp"
#include "berth/plugins/log_json_file.h"
#include "options.hpp"
#include "record.hpp"

namespace {

namespace fs = std::filesystem;
using berth::plugins::log_json_file::decode_record;
using berth::plugins::log_json_file::encode_record;
using berth::plugins::log_json_file::format_time;
using berth::plugins::log_json_file::parse_size;
using berth::plugins::log_json_file::parse_time;
using berth::sdk::LogMessage;
using berth::sdk::StdStream;
using berth::plugins::log_common::testing::DriverTest;
using berth::plugins::log_common::testing::id;
using berth::plugins::log_common::testing::numbered;
using berth::plugins::log_common::testing::read_file;
using berth::plugins::log_common::testing::second;

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
class JsonFile : public DriverTest {
 protected:
  JsonFile() : DriverTest(&berth_builtin_log_json_file, id + "-json.log") {}
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
  expect_follow_crosses_rotations(R"({"max-size":"300","max-file":"4"})");
}

TEST_F(JsonFile, CompressGzipsRotatedFilesAndReadsThemBack) {
  const std::string config = R"({"max-size":"1k","max-file":"4","compress":"true"})";
  void* stream = nullptr;
  ASSERT_EQ(open(info(config), &stream), BERTH_OK);
  constexpr int total = 200;
  for (int i = 0; i < total; ++i) log(stream, second + i, numbered(i));
  close(stream);  // waits for the last compression

  for (int n = 1; n <= 3; ++n) {
    const std::string gz = path_.string() + "." + std::to_string(n) + ".gz";
    EXPECT_TRUE(fs::exists(gz)) << gz;
    EXPECT_FALSE(fs::exists(path_.string() + "." + std::to_string(n))) << "left uncompressed";
    const std::string head = read_file(gz).substr(0, 2);
    EXPECT_EQ(head, "\x1f\x8b") << gz << " is not gzip";
  }
  EXPECT_FALSE(fs::exists(path_.string() + ".4.gz"));

  Collected got;
  read(info(config), got);
  ASSERT_GT(got.lines.size(), 24U) << "records of the compressed files are read back";
  const int first = total - static_cast<int>(got.lines.size());
  for (std::size_t i = 0; i < got.lines.size(); ++i) {
    EXPECT_EQ(got.lines[i], numbered(first + static_cast<int>(i)));
  }
  Collected tail;
  read(info(config), tail, false, 3);
  EXPECT_EQ(tail.lines, (std::vector<std::string>{numbered(197), numbered(198), numbered(199)}));
}

TEST_F(JsonFile, FollowCrossesCompressedRotations) {
  expect_follow_crosses_rotations(R"({"max-size":"300","max-file":"4","compress":"true"})");
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
           Case{R"({"compress":"true","max-size":"1m"})", BERTH_E_INVALID_ARGUMENT,
                "compress cannot be true when max-file is less than 2 or max-size is not set"},
           Case{R"({"compress":"true","max-file":"3"})", BERTH_E_INVALID_ARGUMENT,
                "compress cannot be true when max-file is less than 2 or max-size is not set"},
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
  EXPECT_EQ(open(info(R"({"compress":"true","max-size":"10m","max-file":"2"})"), &stream),
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
