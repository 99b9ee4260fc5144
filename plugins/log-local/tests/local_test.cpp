// What local does beyond the conformance suite: its compact record format,
// rotation with gzipped files by default, and its options.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "berth/plugins/log_common/driver_test.hpp"
#include "berth/plugins/log_local.h"
#include "record.hpp"

namespace {

namespace fs = std::filesystem;
using berth::plugins::log_common::Record;
using berth::plugins::log_common::testing::DriverTest;
using berth::plugins::log_common::testing::numbered;
using berth::plugins::log_common::testing::read_file;
using berth::plugins::log_common::testing::second;
using berth::plugins::log_local::decode_record;
using berth::plugins::log_local::encode_record;
using berth::sdk::LogMessage;
using berth::sdk::StdStream;

std::string encode(StdStream stream, std::int64_t time, bool partial, std::string_view line) {
  std::string out;
  encode_record(LogMessage{stream, time, partial, line}, out);
  return out;
}

TEST(Record, IsLengthPrefixedBigEndianBinary) {
  const std::string bytes = encode(StdStream::err, 0x0102030405060708, true, "hi");
  EXPECT_EQ(bytes, std::string("\0\0\0\x0c\x02\x01\x01\x02\x03\x04\x05\x06\x07\x08hi\0\0\0\x0c", 20));
}

TEST(Record, DecodesWhatItEncodesAndWaitsForTheRest) {
  const std::string a = encode(StdStream::out, second + 1, false, "first line");
  const std::string b = encode(StdStream::err, second + 2, true, std::string(70'000, 'x'));
  const std::string both = a + b;
  Record r;
  bool valid = false;
  ASSERT_EQ(decode_record(both, r, valid), a.size());
  EXPECT_TRUE(valid);
  EXPECT_EQ(r.line, "first line");
  EXPECT_EQ(r.stream, StdStream::out);
  EXPECT_EQ(r.time_unix_nano, second + 1);
  EXPECT_FALSE(r.partial);
  ASSERT_EQ(decode_record(std::string_view(both).substr(a.size()), r, valid), b.size());
  EXPECT_TRUE(valid);
  EXPECT_EQ(r.line.size(), 70'000U);
  EXPECT_EQ(r.stream, StdStream::err);
  EXPECT_TRUE(r.partial);
  for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{10}, a.size() - 1}) {
    EXPECT_EQ(decode_record(std::string_view(a).substr(0, cut), r, valid), 0U) << cut;
  }
  // A record whose trailing size does not match is corruption: skip a byte.
  std::string bad = a;
  bad.back() = 'x';
  EXPECT_EQ(decode_record(bad, r, valid), 1U);
  EXPECT_FALSE(valid);
}

// A local driver on a FakeHost; the file is where berthd puts it, as Docker
// does: <container>/local-logs/container.log.
class Local : public DriverTest {
 protected:
  Local() : DriverTest(&berth_builtin_log_local, "local-logs/container.log") {}
  void SetUp() override {
    DriverTest::SetUp();
    fs::create_directories(path_.parent_path());
  }
};

TEST_F(Local, WritesCompactRecordsWithMode0640) {
  void* stream = nullptr;
  ASSERT_EQ(open(info(), &stream), BERTH_OK);
  log(stream, second, "hello");
  close(stream);
  EXPECT_EQ(read_file(path_), encode(StdStream::out, second, false, "hello"));
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640U);
}

TEST_F(Local, RotatesAndCompressesByDefaultAndReadsAcrossTheFiles) {
  const std::string config = R"({"max-size":"1k","max-file":"3"})";
  void* stream = nullptr;
  ASSERT_EQ(open(info(config), &stream), BERTH_OK);
  constexpr int total = 200;
  for (int i = 0; i < total; ++i) log(stream, second + i, numbered(i));
  close(stream);

  const std::size_t record_size = encode(StdStream::out, second, false, numbered(1)).size();
  EXPECT_LE(fs::file_size(path_), 1000 + record_size);
  for (int n = 1; n <= 2; ++n) {
    const std::string gz = path_.string() + "." + std::to_string(n) + ".gz";
    ASSERT_TRUE(fs::exists(gz)) << gz;
    EXPECT_EQ(read_file(gz).substr(0, 2), "\x1f\x8b") << gz;
    EXPECT_FALSE(fs::exists(path_.string() + "." + std::to_string(n)));
  }
  EXPECT_FALSE(fs::exists(path_.string() + ".3.gz"));

  Collected got;
  read(info(config), got);
  ASSERT_GT(got.lines.size(), 30U);
  const int first = total - static_cast<int>(got.lines.size());
  EXPECT_GT(first, 0) << "the oldest file was dropped";
  for (std::size_t i = 0; i < got.lines.size(); ++i) {
    EXPECT_EQ(got.lines[i], numbered(first + static_cast<int>(i)));
  }
  Collected tail;
  read(info(config), tail, false, 2);
  EXPECT_EQ(tail.lines, (std::vector<std::string>{numbered(198), numbered(199)}));
}

TEST_F(Local, CompressFalseKeepsRotatedFilesPlain) {
  const std::string config = R"({"max-size":"500","max-file":"2","compress":"false"})";
  void* stream = nullptr;
  ASSERT_EQ(open(info(config), &stream), BERTH_OK);
  for (int i = 0; i < 30; ++i) log(stream, second + i, numbered(i));
  close(stream);
  EXPECT_TRUE(fs::exists(path_.string() + ".1"));
  EXPECT_FALSE(fs::exists(path_.string() + ".1.gz"));
  EXPECT_FALSE(fs::exists(path_.string() + ".2"));
  Collected got;
  read(info(config), got);
  ASSERT_FALSE(got.lines.empty());
  EXPECT_EQ(got.lines.back(), numbered(29));
}

TEST_F(Local, FollowCrossesCompressedRotations) {
  expect_follow_crosses_rotations(R"({"max-size":"300","max-file":"4"})");
}

TEST_F(Local, SkipsCorruptBytesAndSaysSo) {
  std::ofstream(path_, std::ios::binary) << encode(StdStream::out, second, false, "before")
                                         << "garbage!"
                                         << encode(StdStream::err, second + 1, false, "after");
  Collected got;
  read(info(), got);
  EXPECT_EQ(got.lines, (std::vector<std::string>{"before", "after"}));
  EXPECT_TRUE(host_.logged("skipped 8 bytes that are not local log records"));
}

TEST_F(Local, OptionsAreValidatedLikeDockers) {
  struct Case {
    const char* config;
    berth_status status;
    const char* message;
  };
  for (const Case& c : {
           Case{R"({"x":"1"})", BERTH_E_INVALID_ARGUMENT, "unknown log opt 'x' for log driver local"},
           Case{R"({"max-buffer-size":"4m"})", BERTH_E_INVALID_ARGUMENT,
                "unknown log opt 'max-buffer-size' for log driver local"},
           Case{R"({"max-size":"big"})", BERTH_E_INVALID_ARGUMENT, "log-opt max-size=big: not a size"},
           Case{R"({"max-file":"0"})", BERTH_E_INVALID_ARGUMENT,
                "log-opt max-file=0: max-file cannot be less than 1"},
           Case{R"({"max-file":"1"})", BERTH_E_INVALID_ARGUMENT,
                "compression cannot be enabled when max file count is 1"},
           Case{R"({"compress":"yes"})", BERTH_E_INVALID_ARGUMENT,
                "log-opt compress=yes: not a boolean"},
           Case{R"({"tag":"web"})", BERTH_E_UNSUPPORTED,
                "log-opt tag=web: not supported by the local driver yet"},
       }) {
    void* stream = nullptr;
    std::string message;
    EXPECT_EQ(open(info(c.config), &stream, &message), c.status) << c.config;
    EXPECT_EQ(message, c.message);
    EXPECT_EQ(stream, nullptr);
  }
  EXPECT_FALSE(fs::exists(path_)) << "a refused open creates no file";
  void* stream = nullptr;
  EXPECT_EQ(open(info(R"({"max-file":"1","compress":"false","max-size":"10k"})"), &stream),
            BERTH_OK);
  close(stream);
}

}  // namespace
