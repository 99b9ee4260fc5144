#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "berth/sdk/testing/conformance.hpp"
#include "berth/sdk/types.hpp"

namespace berth::sdk::testing {

namespace detail {
int logging_conformance_anchor() { return 0; }
}  // namespace detail

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(LoggingConformance);

namespace {

using namespace std::chrono_literals;

// 2025-11-27T23:59:59.123456789Z
constexpr std::int64_t t0 = 1'764'287'999'123'456'789;
constexpr auto wait_limit = 10s;

struct Record {
  std::int32_t stream = BERTH_LOG_STDOUT;
  std::int64_t time = 0;
  bool partial = false;
  std::string line;
  bool operator==(const Record&) const = default;
};

void PrintTo(const Record& r, std::ostream* os) {
  *os << "{" << (r.stream == BERTH_LOG_STDERR ? "stderr" : "stdout") << " " << r.time
      << (r.partial ? " partial" : "") << " \"" << r.line << "\"}";
}

// Five records a millisecond apart, both streams, one partial.
std::vector<Record> five_records() {
  return {
      {BERTH_LOG_STDOUT, t0, false, "zero"},
      {BERTH_LOG_STDERR, t0 + 1'000'000, false, "one"},
      {BERTH_LOG_STDOUT, t0 + 2'000'000, true, "two, partial"},
      {BERTH_LOG_STDOUT, t0 + 3'000'000, false, "three"},
      {BERTH_LOG_STDERR, t0 + 4'000'000, false, "four"},
  };
}

std::vector<Record> pick(const std::vector<Record>& all, std::initializer_list<std::size_t> at) {
  std::vector<Record> out;
  for (std::size_t i : at) out.push_back(all[i]);
  return out;
}

berth_log_read_options read_options(std::int64_t since = 0, std::int64_t until = 0,
                                    std::int64_t tail = -1, bool follow = false) {
  berth_log_read_options o{};
  o.struct_size = struct_size_of<berth_log_read_options>();
  o.since_unix_nano = since;
  o.until_unix_nano = until;
  o.tail = tail;
  o.follow = follow ? 1 : 0;
  return o;
}

// A host-side sink: collects records; stop() makes stopped() answer 1;
// `stop_after` records make on_message ask to stop.
class Reading {
 public:
  explicit Reading(std::size_t stop_after = 0) : stop_after_(stop_after) {}

  berth_log_sink sink() {
    return berth_log_sink{struct_size_of<berth_log_sink>(), this, &Reading::on_message,
                          &Reading::stopped};
  }

  std::vector<Record> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }

  void stop() { stop_.store(true); }

  bool wait_for(std::size_t n) const {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, wait_limit, [&] { return records_.size() >= n; });
  }

 private:
  static std::int32_t on_message(void* ctx, const berth_log_message* m) {
    auto* self = static_cast<Reading*>(ctx);
    std::lock_guard lock(self->mutex_);
    self->records_.push_back(Record{m->stream, m->time_unix_nano, m->partial != 0,
                                    std::string(to_string_view(m->line))});
    self->arrived_.notify_all();
    return self->stop_after_ != 0 && self->records_.size() >= self->stop_after_ ? 1 : 0;
  }

  static std::int32_t stopped(void* ctx) { return static_cast<Reading*>(ctx)->stop_.load(); }

  mutable std::mutex mutex_;
  mutable std::condition_variable arrived_;
  std::vector<Record> records_;
  std::atomic<bool> stop_{false};
  std::size_t stop_after_;
};

// Drives one logging driver through its C table, like berthd would.
class Harness {
 public:
  Harness(DriverUnderTest& driver, FakeHost& host, const DriverSource& source)
      : driver_(driver), host_(host), table_(driver.logging()), log_opts_(source.log_opts_json) {}

  // A new container id, with the directory the host reserves for its log.
  std::string new_container() {
    static std::mt19937_64 random{std::random_device{}()};
    char id[65];
    for (int i = 0; i < 64; i += 16) {
      std::snprintf(id + i, 17, "%016llx", static_cast<unsigned long long>(random()));
    }
    std::filesystem::create_directories(host_.root() / "containers" / id);
    return id;
  }

  std::string log_path(const std::string& id) const {
    return (host_.root() / "containers" / id / (id + "-json.log")).string();
  }

  // The info_json berthd sends for container `id`; host paths need no escaping.
  std::string info(const std::string& id) const {
    return R"({"ContainerID":")" + id + R"(","ContainerName":"/conformance-)" + id.substr(0, 12) +
           R"(","LogPath":")" + log_path(id) + R"(","Config":)" + log_opts_ + "}";
  }

  berth_status open(std::string_view info_json, void** stream, std::string* message = nullptr) {
    FakeError err;
    *stream = nullptr;
    const berth_status status =
        table_.open(driver_.instance(), to_berth_str(info_json), stream, err.raw());
    if (message != nullptr) *message = err.message();
    return status;
  }

  berth_status log(void* stream, const Record& r) {
    FakeError err;
    const berth_log_message m{struct_size_of<berth_log_message>(), r.stream, r.time,
                              r.partial ? 1 : 0, to_berth_str(r.line)};
    const berth_status status = table_.log(driver_.instance(), stream, &m, err.raw());
    EXPECT_EQ(status, BERTH_OK) << "log: " << err.message();
    return status;
  }

  void close(void* stream) { table_.close(driver_.instance(), stream); }

  // open, log every record, close.
  void write(const std::string& id, const std::vector<Record>& records) {
    void* stream = nullptr;
    std::string message;
    ASSERT_EQ(open(info(id), &stream, &message), BERTH_OK) << message;
    for (const Record& r : records) log(stream, r);
    close(stream);
  }

  berth_status read(std::string_view info_json, const berth_log_read_options& options,
                    Reading& reading, std::string* message = nullptr) {
    FakeError err;
    const berth_log_sink sink = reading.sink();
    const berth_status status =
        table_.read(driver_.instance(), to_berth_str(info_json), &options, &sink, err.raw());
    if (message != nullptr) *message = err.message();
    return status;
  }

  std::vector<Record> read_all(const std::string& id,
                               const berth_log_read_options& options = read_options()) {
    Reading reading;
    std::string message;
    EXPECT_EQ(read(info(id), options, reading, &message), BERTH_OK) << message;
    return reading.records();
  }

  bool can_read() const {
    return (driver_.descriptor().capabilities & BERTH_CAP_LOGGING_READ) != 0;
  }

 private:
  DriverUnderTest& driver_;
  FakeHost& host_;
  const berth_logging_v1& table_;
  std::string log_opts_;
};

// A read with follow on its own thread. finish() stops it and returns its
// status; a driver that does not return after stopped() aborts the run, as
// a hung reader would otherwise hang every test after it.
class Follower {
 public:
  Follower(Harness& h, const std::string& id, berth_log_read_options options)
      : reading_(), result_(std::async(std::launch::async, [&h, this, info = h.info(id), options] {
          return h.read(info, options, reading_, &message_);
        })) {}
  ~Follower() {
    if (result_.valid()) finish();
  }

  Reading& reading() { return reading_; }
  const std::string& message() const { return message_; }

  berth_status finish() {
    reading_.stop();
    if (result_.wait_for(wait_limit) != std::future_status::ready) {
      std::fprintf(stderr, "follow: read did not return within 10 s after stopped() said 1\n");
      std::abort();
    }
    return result_.get();
  }

 private:
  Reading reading_;
  std::string message_;
  std::future<berth_status> result_;
};

#define BERTH_LOGGING_INIT_OR_SKIP()                           \
  do {                                                         \
    if (!init_driver()) GTEST_SKIP() << driver().init_error(); \
  } while (0)

#define BERTH_LOGGING_REQUIRE_READ(h)                                                \
  do {                                                                               \
    if (!(h).can_read()) GTEST_SKIP() << "the driver has no BERTH_CAP_LOGGING_READ"; \
  } while (0)

}  // namespace

TEST_P(LoggingConformance, DescriptorIsLogging) { check_descriptor(BERTH_KIND_LOGGING_V1, 48, 55); }

TEST_P(LoggingConformance, TableIsComplete) {
  const berth_logging_v1& t = driver().logging();
  EXPECT_GE(t.struct_size, abi_v1_0::logging_size);
  EXPECT_NE(t.open, nullptr);
  EXPECT_NE(t.log, nullptr);
  EXPECT_NE(t.close, nullptr);
  if ((driver().descriptor().capabilities & BERTH_CAP_LOGGING_READ) != 0) {
    EXPECT_NE(t.read, nullptr) << "BERTH_CAP_LOGGING_READ without read()";
  }
}

TEST_P(LoggingConformance, InitThenShutdown) {
  if (!init_driver()) GTEST_SKIP() << driver().init_error();
  driver().shutdown();
  EXPECT_FALSE(driver().initialised());
}

TEST_P(LoggingConformance, RoundTrip) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  const std::vector<Record> records{{BERTH_LOG_STDOUT, t0, false, "hello"},
                                    {BERTH_LOG_STDOUT, t0 + 1, false, "world"},
                                    {BERTH_LOG_STDOUT, t0 + 2, false, "bye"}};
  h.write(id, records);
  EXPECT_EQ(h.read_all(id), records);
}

TEST_P(LoggingConformance, StreamsArePreserved) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  const std::vector<Record> records{{BERTH_LOG_STDERR, t0, false, "to stderr"},
                                    {BERTH_LOG_STDOUT, t0 + 10, false, "to stdout"},
                                    {BERTH_LOG_STDERR, t0 + 20, false, "stderr again"}};
  h.write(id, records);
  EXPECT_EQ(h.read_all(id), records);
}

TEST_P(LoggingConformance, PartialFlagIsPreserved) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  const std::vector<Record> records{{BERTH_LOG_STDOUT, t0, true, "a line split "},
                                    {BERTH_LOG_STDOUT, t0 + 1, true, "in three "},
                                    {BERTH_LOG_STDOUT, t0 + 2, false, "records"},
                                    {BERTH_LOG_STDERR, t0 + 3, true, ""},
                                    {BERTH_LOG_STDERR, t0 + 4, false, "complete"}};
  h.write(id, records);
  EXPECT_EQ(h.read_all(id), records);
}

TEST_P(LoggingConformance, TimestampsArePreserved) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  const std::vector<Record> records{
      {BERTH_LOG_STDOUT, 1, false, "one nanosecond after the epoch"},
      {BERTH_LOG_STDOUT, 1'700'000'000'000'000'000, false, "a whole second"},
      {BERTH_LOG_STDOUT, 1'700'000'000'120'000'000, false, "trailing zeros"},
      {BERTH_LOG_STDOUT, t0, false, "every digit"},
      {BERTH_LOG_STDOUT, t0, false, "the same instant twice"},
      {BERTH_LOG_STDOUT, 4'102'444'800'000'000'001, false, "in 2100"}};
  h.write(id, records);
  EXPECT_EQ(h.read_all(id), records);
}

TEST_P(LoggingConformance, LineBytesArePreserved) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  std::vector<Record> records;
  const std::vector<std::string> lines{
      "",
      "quote \" backslash \\ slash /",
      "tab\there, carriage\rreturn",
      std::string("control \x01\x1f\x7f and a NUL \0 inside", 30),
      "<html> & entities &amp;",
      "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\xb3",
      "separators \xe2\x80\xa8 and \xe2\x80\xa9",
      "{\"looks\": \"like json\"}",
      std::string(100 * 1024, 'x'),
  };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    records.push_back({BERTH_LOG_STDOUT, t0 + static_cast<std::int64_t>(i), false, lines[i]});
  }
  h.write(id, records);
  EXPECT_EQ(h.read_all(id), records);
}

TEST_P(LoggingConformance, TailKeepsTheLastRecords) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  const auto all = five_records();
  h.write(id, all);
  EXPECT_EQ(h.read_all(id, read_options(0, 0, 2)), pick(all, {3, 4}));
  EXPECT_EQ(h.read_all(id, read_options(0, 0, 1)), pick(all, {4}));
  EXPECT_EQ(h.read_all(id, read_options(0, 0, 0)), std::vector<Record>{});
  EXPECT_EQ(h.read_all(id, read_options(0, 0, 5)), all);
  EXPECT_EQ(h.read_all(id, read_options(0, 0, 100)), all);
  EXPECT_EQ(h.read_all(id, read_options(0, 0, -1)), all);
}

TEST_P(LoggingConformance, SinceIsInclusive) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  const auto all = five_records();
  h.write(id, all);
  EXPECT_EQ(h.read_all(id, read_options(all[2].time)), pick(all, {2, 3, 4}));
  EXPECT_EQ(h.read_all(id, read_options(all[2].time + 1)), pick(all, {3, 4}));
  EXPECT_EQ(h.read_all(id, read_options(all[4].time + 1)), std::vector<Record>{});
}

TEST_P(LoggingConformance, UntilIsInclusive) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  const auto all = five_records();
  h.write(id, all);
  EXPECT_EQ(h.read_all(id, read_options(0, all[2].time)), pick(all, {0, 1, 2}));
  EXPECT_EQ(h.read_all(id, read_options(0, all[2].time - 1)), pick(all, {0, 1}));
  EXPECT_EQ(h.read_all(id, read_options(all[1].time, all[3].time)), pick(all, {1, 2, 3}));
  EXPECT_EQ(h.read_all(id, read_options(0, all[0].time - 1)), std::vector<Record>{});
}

TEST_P(LoggingConformance, TailAppliesAfterSinceAndUntil) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  const auto all = five_records();
  h.write(id, all);
  EXPECT_EQ(h.read_all(id, read_options(0, all[2].time, 2)), pick(all, {1, 2}));
  EXPECT_EQ(h.read_all(id, read_options(all[1].time, 0, 2)), pick(all, {3, 4}));
  EXPECT_EQ(h.read_all(id, read_options(all[1].time, all[3].time, 1)), pick(all, {3}));
}

TEST_P(LoggingConformance, ReopenAppends) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  const auto all = five_records();
  h.write(id, pick(all, {0, 1}));
  h.write(id, pick(all, {2, 3, 4}));
  EXPECT_EQ(h.read_all(id), all);
}

TEST_P(LoggingConformance, ContainersAreSeparate) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string a = h.new_container();
  const std::string b = h.new_container();
  const auto all = five_records();
  void* sa = nullptr;
  void* sb = nullptr;
  ASSERT_EQ(h.open(h.info(a), &sa), BERTH_OK);
  ASSERT_EQ(h.open(h.info(b), &sb), BERTH_OK);
  h.log(sa, all[0]);
  h.log(sb, all[1]);
  h.log(sa, all[2]);
  h.log(sb, all[3]);
  h.close(sa);
  h.close(sb);
  EXPECT_EQ(h.read_all(a), pick(all, {0, 2}));
  EXPECT_EQ(h.read_all(b), pick(all, {1, 3}));
}

TEST_P(LoggingConformance, ConcurrentStreams) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  constexpr int containers = 4;
  constexpr int per_container = 200;
  std::vector<std::string> ids;
  std::vector<std::vector<Record>> expected(containers);
  for (int c = 0; c < containers; ++c) {
    ids.push_back(h.new_container());
    for (int i = 0; i < per_container; ++i) {
      expected[static_cast<std::size_t>(c)].push_back(
          {i % 3 == 0 ? BERTH_LOG_STDERR : BERTH_LOG_STDOUT, t0 + i, false,
           "container " + std::to_string(c) + " record " + std::to_string(i)});
    }
  }
  std::vector<std::thread> writers;
  for (std::size_t c = 0; c < containers; ++c) {
    writers.emplace_back([&, c] { h.write(ids[c], expected[c]); });
  }
  for (auto& w : writers) w.join();
  for (std::size_t c = 0; c < containers; ++c) EXPECT_EQ(h.read_all(ids[c]), expected[c]);
}

TEST_P(LoggingConformance, SinkCanStopReading) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  const auto all = five_records();
  h.write(id, all);
  for (bool follow : {false, true}) {
    Reading reading(2);
    std::string message;
    EXPECT_EQ(h.read(h.info(id), read_options(0, 0, -1, follow), reading, &message), BERTH_OK)
        << message;
    EXPECT_EQ(reading.records(), pick(all, {0, 1})) << (follow ? "following" : "not following");
  }
}

TEST_P(LoggingConformance, ReadOfAContainerWithoutLogIsEmpty) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  EXPECT_EQ(h.read_all(id), std::vector<Record>{});
  EXPECT_EQ(h.read_all(id, read_options(0, 0, 10)), std::vector<Record>{});
}

TEST_P(LoggingConformance, FollowDeliversNewRecordsUntilStopped) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  const auto all = five_records();
  void* stream = nullptr;
  ASSERT_EQ(h.open(h.info(id), &stream), BERTH_OK);
  h.log(stream, all[0]);
  h.log(stream, all[1]);
  {
    Follower follower(h, id, read_options(0, 0, -1, true));
    EXPECT_TRUE(follower.reading().wait_for(2)) << "the existing records did not arrive";
    h.log(stream, all[2]);
    EXPECT_TRUE(follower.reading().wait_for(3)) << "a record logged while following did not arrive";
    std::thread writer([&] {
      h.log(stream, all[3]);
      h.log(stream, all[4]);
    });
    writer.join();
    EXPECT_TRUE(follower.reading().wait_for(5));
    EXPECT_EQ(follower.finish(), BERTH_OK) << follower.message();
    EXPECT_EQ(follower.reading().records(), all);
  }
  h.close(stream);
}

TEST_P(LoggingConformance, FollowAppliesTailThenWaits) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  const auto all = five_records();
  void* stream = nullptr;
  ASSERT_EQ(h.open(h.info(id), &stream), BERTH_OK);
  for (std::size_t i = 0; i < 3; ++i) h.log(stream, all[i]);
  {
    Follower follower(h, id, read_options(0, 0, 1, true));
    EXPECT_TRUE(follower.reading().wait_for(1));
    h.log(stream, all[3]);
    h.log(stream, all[4]);
    EXPECT_TRUE(follower.reading().wait_for(3));
    EXPECT_EQ(follower.finish(), BERTH_OK) << follower.message();
    EXPECT_EQ(follower.reading().records(), pick(all, {2, 3, 4}));
  }
  h.close(stream);
}

TEST_P(LoggingConformance, FollowWaitsForALogThatDoesNotExistYet) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  const auto all = five_records();
  Follower follower(h, id, read_options(0, 0, -1, true));
  std::this_thread::sleep_for(200ms);
  h.write(id, pick(all, {0, 1}));
  EXPECT_TRUE(follower.reading().wait_for(2)) << "records of a log created while following";
  EXPECT_EQ(follower.finish(), BERTH_OK) << follower.message();
  EXPECT_EQ(follower.reading().records(), pick(all, {0, 1}));
}

TEST_P(LoggingConformance, StoppedEndsAnIdleFollow) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  BERTH_LOGGING_REQUIRE_READ(h);
  const std::string id = h.new_container();
  h.write(id, pick(five_records(), {0}));
  Follower follower(h, id, read_options(0, 0, -1, true));
  EXPECT_TRUE(follower.reading().wait_for(1));
  std::this_thread::sleep_for(150ms);
  const auto stopped_at = std::chrono::steady_clock::now();
  EXPECT_EQ(follower.finish(), BERTH_OK) << follower.message();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 2s)
      << "read should notice stopped() within its polling interval";
}

TEST_P(LoggingConformance, BadInfoJsonIsInvalidArgument) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  const std::string id = h.new_container();
  const std::string path = h.log_path(id);
  const std::vector<std::string> bad{
      "",
      "not json",
      "[]",
      "{}",
      R"({"ContainerID":")" + id + R"(","LogPath":5,"Config":{}})",
      R"({"ContainerID":")" + id + R"(","LogPath":")" + path + R"(","Config":{"max-size":5}})",
      R"({"ContainerID":")" + id + R"(","LogPath":")" + path + R"(","Config":[]})",
  };
  for (const std::string& info : bad) {
    void* stream = nullptr;
    std::string message;
    EXPECT_EQ(h.open(info, &stream, &message), BERTH_E_INVALID_ARGUMENT) << "open " << info;
    EXPECT_FALSE(message.empty()) << "open " << info << " gave no message";
    if (stream != nullptr) h.close(stream);
    if (h.can_read()) {
      Reading reading;
      message.clear();
      EXPECT_EQ(h.read(info, read_options(), reading, &message), BERTH_E_INVALID_ARGUMENT)
          << "read " << info;
      EXPECT_FALSE(message.empty()) << "read " << info << " gave no message";
    }
  }
}

TEST_P(LoggingConformance, UnknownOptionIsInvalidArgument) {
  BERTH_LOGGING_INIT_OR_SKIP();
  Harness h(driver(), host(), GetParam());
  const std::string id = h.new_container();
  const std::string info = R"({"ContainerID":")" + id + R"(","LogPath":")" + h.log_path(id) +
                           R"(","Config":{"no-such-log-opt":"1"}})";
  void* stream = nullptr;
  std::string message;
  EXPECT_EQ(h.open(info, &stream, &message), BERTH_E_INVALID_ARGUMENT);
  EXPECT_NE(message.find("no-such-log-opt"), std::string::npos)
      << "the message should name the option: " << message;
  if (stream != nullptr) h.close(stream);
}

}  // namespace berth::sdk::testing
