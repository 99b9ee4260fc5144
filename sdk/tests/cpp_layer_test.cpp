// The C++ layer seen from the host's side: stub drivers of every kind, built
// with BERTH_DEFINE_PLUGIN, called through their generated C tables.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "berth/sdk/logging.hpp"
#include "berth/sdk/network.hpp"
#include "berth/sdk/storage.hpp"
#include "berth/sdk/testing/conformance.hpp"
#include "berth/sdk/volume.hpp"

namespace {

using berth::sdk::Errc;
using berth::sdk::Error;
using berth::sdk::Host;
using berth::sdk::Out;
using berth::sdk::Reader;
using berth::sdk::to_berth_str;
using berth::sdk::Writer;
using berth::sdk::testing::DriverSource;
using berth::sdk::testing::DriverUnderTest;
using berth::sdk::testing::FakeError;
using berth::sdk::testing::FakeHost;
using berth::sdk::testing::FakeOut;
using berth::sdk::testing::FakeReader;
using berth::sdk::testing::FakeWriter;

// Throws what `what` names: "not_found", "std", "int", "ok"; else nothing.
void throw_for(std::string_view what) {
  if (what == "not_found") throw Error(Errc::not_found, "layer x: not found here");
  if (what == "std") throw std::runtime_error("boom");
  if (what == "int") throw 42;
  if (what == "ok") throw Error(Errc::ok, "thrown with ok");
}

// The host config decides how construction goes: {"init": "unsupported"} or
// {"init": "std"} make the constructor throw.
void check_config(const Host& host) {
  if (host.config_json().find("unsupported") != std::string_view::npos) {
    throw Error(Errc::unsupported, "stub: not on this host");
  }
  if (host.config_json().find("\"std\"") != std::string_view::npos) {
    throw std::runtime_error("stub: constructor failed");
  }
}

class StubStorage final : public berth::sdk::StorageDriver {
 public:
  explicit StubStorage(const Host& host) : host_(host) { check_config(host); }
  void create(std::string_view id, std::string_view, std::string_view) override { throw_for(id); }
  void create_rw(std::string_view id, std::string_view, std::string_view) override {
    throw_for(id);
  }
  void get(std::string_view id, std::string_view, const Out& out) override {
    out.mount("overlay", "overlay", "lowerdir=/l,upperdir=/u/" + std::string(id));
    out.mount("bind", "/src", "rbind,ro");
  }
  void put(std::string_view id) override { throw_for(id); }
  void remove(std::string_view id) override { throw_for(id); }
  bool exists(std::string_view id) override {
    throw_for(id);
    return id == "present";
  }
  std::int64_t apply_diff(std::string_view, std::string_view, const Reader& diff) override {
    std::int64_t total = 0;
    std::byte buf[7];
    while (std::size_t n = diff.read(buf)) total += static_cast<std::int64_t>(n);
    return total;
  }
  void diff(std::string_view id, std::string_view, const Writer& out) override {
    out.write("tar of ");
    out.write(id);
  }
  void changes(std::string_view, std::string_view, const Out& out) override {
    out.write(R"([{"Path":"/a","Kind":1}])");
  }
  berth::sdk::Usage usage(std::string_view) override { return {4096, 3}; }
  void status(const Out& out) override { out.write(R"([["Backing Filesystem","stub"]])"); }

 private:
  Host host_;
};

class StubNetwork final : public berth::sdk::NetworkDriver {
 public:
  explicit StubNetwork(const Host& host) { check_config(host); }
  void create_network(std::string_view id, std::string_view) override { throw_for(id); }
  void delete_network(std::string_view id) override { throw_for(id); }
  void create_endpoint(std::string_view, std::string_view, std::string_view,
                       const Out& out) override {
    out.write(R"({"MacAddress":"02:42:ac:11:00:02"})");
  }
  void delete_endpoint(std::string_view, std::string_view) override {}
  void join(std::string_view, std::string_view endpoint, std::string_view sandbox, std::string_view,
            const Out& out) override {
    out.write(std::string(endpoint) + "@" + std::string(sandbox));
  }
  void leave(std::string_view, std::string_view endpoint) override { throw_for(endpoint); }
  void program_external_connectivity(std::string_view, std::string_view,
                                     std::string_view) override {}
  void revoke_external_connectivity(std::string_view, std::string_view) override {}
};

// A network driver that keeps only books, for the behaviour part of the
// network conformance suite (StubNetwork above answers whatever the
// adapter tests need, which no conforming driver would).
class BookNetwork final : public berth::sdk::NetworkDriver {
 public:
  explicit BookNetwork(const Host& host) { check_config(host); }
  void create_network(std::string_view id, std::string_view spec) override {
    parse(spec, "network spec");
    std::lock_guard lock(m_);
    networks_.insert(std::string(id));
  }
  void delete_network(std::string_view id) override {
    std::lock_guard lock(m_);
    if (networks_.erase(std::string(id)) == 0) throw Error(Errc::not_found, "network not found");
  }
  void create_endpoint(std::string_view net, std::string_view ep, std::string_view spec, const Out& out) override {
    parse(spec, "endpoint spec");
    std::lock_guard lock(m_);
    network(net);
    if (!endpoints_.emplace(std::string(ep), std::string(net)).second) {
      throw Error(Errc::already_exists, "endpoint exists");
    }
    out.write("{}");
  }
  void delete_endpoint(std::string_view net, std::string_view ep) override {
    std::lock_guard lock(m_);
    endpoint(net, ep);
    endpoints_.erase(std::string(ep));
  }
  void join(std::string_view net, std::string_view ep, std::string_view, std::string_view opts,
            const Out& out) override {
    parse(opts, "join options");
    std::lock_guard lock(m_);
    endpoint(net, ep);
    out.write(R"({"Gateway":""})");
  }
  void leave(std::string_view net, std::string_view ep) override {
    std::lock_guard lock(m_);
    endpoint(net, ep);
  }
  void program_external_connectivity(std::string_view net, std::string_view ep, std::string_view opts) override {
    parse(opts, "port options");
    std::lock_guard lock(m_);
    endpoint(net, ep);
  }
  void revoke_external_connectivity(std::string_view net, std::string_view ep) override {
    std::lock_guard lock(m_);
    endpoint(net, ep);
  }

 private:
  static void parse(std::string_view text, const char* what) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) throw Error(Errc::invalid_argument, std::string(what) + ": not a JSON object");
  }
  void network(std::string_view net) const {
    if (!networks_.contains(std::string(net))) throw Error(Errc::not_found, "network not found");
  }
  void endpoint(std::string_view net, std::string_view ep) const {
    network(net);
    auto it = endpoints_.find(std::string(ep));
    if (it == endpoints_.end() || it->second != net) throw Error(Errc::not_found, "endpoint not found");
  }
  std::mutex m_;
  std::set<std::string> networks_;
  std::map<std::string, std::string> endpoints_;
};

class StubVolume final : public berth::sdk::VolumeDriver {
 public:
  explicit StubVolume(const Host& host) : root_(host.state_dir()) { check_config(host); }
  void create(std::string_view name, std::string_view) override { throw_for(name); }
  void remove(std::string_view name) override { throw_for(name); }
  void mount(std::string_view name, std::string_view, const Out& out) override {
    out.write(root_ + "/" + std::string(name));
  }
  void unmount(std::string_view, std::string_view) override {}
  void path(std::string_view name, const Out& out) override {
    out.write(root_ + "/" + std::string(name));
  }
  void get(std::string_view, const Out& out) override { out.write("{}"); }
  void list(const Out& out) override { out.write("[]"); }
  void capabilities(const Out& out) override { out.write(R"({"Scope":"local"})"); }

 private:
  std::string root_;
};

// Records what it is given; behaviour keyed on the text it receives.
class StubLog final : public berth::sdk::ContainerLog {
 public:
  explicit StubLog(std::vector<std::string>* lines) : lines_(lines) {}
  void log(const berth::sdk::LogMessage& m) override {
    throw_for(m.line);
    lines_->push_back(std::string(berth::sdk::std_stream_name(m.stream)) + ":" +
                      std::to_string(m.time_unix_nano) + ":" + (m.partial ? "p:" : "") +
                      std::string(m.line));
  }
  void close() override {
    if (!lines_->empty() && lines_->back().ends_with("throw-on-close")) {
      throw std::runtime_error("close log: flush failed");
    }
  }

 private:
  std::vector<std::string>* lines_;
};

class StubLogging final : public berth::sdk::LoggingDriver {
 public:
  explicit StubLogging(const Host& host) { check_config(host); }
  std::unique_ptr<berth::sdk::ContainerLog> open(std::string_view info) override {
    throw_for(info);
    return std::make_unique<StubLog>(&lines);
  }
  void read(std::string_view info, const berth::sdk::LogReadOptions& options,
            const berth::sdk::LogSink& sink) override {
    throw_for(info);
    for (std::int64_t i = 0; i < options.tail; ++i) {
      if (!sink.deliver({berth::sdk::StdStream::err, options.since_unix_nano + i, i % 2 == 0,
                         "line " + std::to_string(i)})) {
        return;
      }
    }
  }
  std::vector<std::string> lines;
};

}  // namespace

BERTH_DEFINE_PLUGIN(stub_storage_descriptor, StubStorage, "stub", "0.1.0", BERTH_CAP_STORAGE_QUOTA)
BERTH_DEFINE_PLUGIN(stub_network_descriptor, StubNetwork, "stub-net", "0.1.0", 0)
BERTH_DEFINE_PLUGIN(book_network_descriptor, BookNetwork, "book-net", "0.1.0", 0)
BERTH_DEFINE_PLUGIN(stub_volume_descriptor, StubVolume, "stub", "0.1.0",
                    BERTH_CAP_VOLUME_GLOBAL_SCOPE)
BERTH_DEFINE_PLUGIN(stub_logging_descriptor, StubLogging, "stub", "0.1.0", BERTH_CAP_LOGGING_READ)

namespace {

using berth::sdk::testing::NetworkConformance;
using berth::sdk::testing::StorageConformance;
using berth::sdk::testing::VolumeConformance;

// The basic conformance tests run against the stubs, which proves the
// suites' scaffolding and the adapters' tables together. The storage and
// volume suites check behaviour a stub does not have (as the logging suite
// does): those stubs only meet it through StubSkipping below.
INSTANTIATE_TEST_SUITE_P(Stub, NetworkConformance,
                         ::testing::Values(DriverSource::builtin("builtin",
                                                                 &book_network_descriptor)),
                         berth::sdk::testing::driver_source_name);

DriverSource unsupported_storage() {
  DriverSource source = DriverSource::builtin("unsupported", &stub_storage_descriptor);
  source.config_json = R"({"init": "unsupported"})";
  return source;
}
INSTANTIATE_TEST_SUITE_P(StubSkipping, StorageConformance, ::testing::Values(unsupported_storage()),
                         berth::sdk::testing::driver_source_name);

DriverSource unsupported_volume() {
  DriverSource source = DriverSource::builtin("unsupported", &stub_volume_descriptor);
  source.config_json = R"({"init": "unsupported"})";
  return source;
}
INSTANTIATE_TEST_SUITE_P(StubSkipping, VolumeConformance, ::testing::Values(unsupported_volume()),
                         berth::sdk::testing::driver_source_name);

TEST(Descriptor, CarriesKindIdVersionCapabilitiesAndAbi) {
  const berth_plugin* d = stub_storage_descriptor();
  EXPECT_EQ(d->struct_size, sizeof(berth_plugin));
  EXPECT_EQ(d->abi_major, BERTH_ABI_MAJOR);
  EXPECT_EQ(d->abi_minor, BERTH_ABI_MINOR);
  EXPECT_STREQ(d->kind, BERTH_KIND_STORAGE_V1);
  EXPECT_STREQ(d->id, "stub");
  EXPECT_STREQ(d->version, "0.1.0");
  EXPECT_EQ(d->capabilities, BERTH_CAP_STORAGE_QUOTA);
  EXPECT_EQ(stub_storage_descriptor(), d) << "the descriptor is static";
  EXPECT_STREQ(stub_network_descriptor()->kind, BERTH_KIND_NETWORK_V1);
  EXPECT_STREQ(stub_volume_descriptor()->kind, BERTH_KIND_VOLUME_V1);
  EXPECT_STREQ(stub_logging_descriptor()->kind, BERTH_KIND_LOGGING_V1);
  EXPECT_EQ(static_cast<const berth_logging_v1*>(stub_logging_descriptor()->table)->struct_size,
            sizeof(berth_logging_v1));
}

TEST(Init, ConstructorThrowingUnsupportedIsASkip) {
  FakeHost host(R"({"init": "unsupported"})");
  DriverUnderTest driver(DriverSource::builtin("x", &stub_logging_descriptor), host);
  EXPECT_EQ(driver.init(), BERTH_E_UNSUPPORTED);
  EXPECT_EQ(driver.init_error(), "stub: not on this host");
  EXPECT_FALSE(driver.initialised());
}

TEST(Init, ConstructorThrowingStdExceptionIsInternal) {
  FakeHost host(R"({"init": "std"})");
  DriverUnderTest driver(DriverSource::builtin("x", &stub_logging_descriptor), host);
  EXPECT_EQ(driver.init(), BERTH_E_INTERNAL);
  EXPECT_EQ(driver.init_error(), "stub: constructor failed");
}

TEST(Init, RefusesAHostOfAnotherMajorOrTooSmall) {
  const berth_plugin* d = stub_logging_descriptor();
  for (int variant = 0; variant < 2; ++variant) {
    FakeHost host;
    if (variant == 0) host.mutable_raw().abi_major = BERTH_ABI_MAJOR + 1;
    if (variant == 1) host.mutable_raw().struct_size = offsetof(berth_host, writer_write);
    FakeError err;
    void* instance = &err;
    EXPECT_EQ(d->init(host.raw(), &instance, err.raw()), BERTH_E_FAILED_PRECONDITION);
    EXPECT_EQ(instance, static_cast<void*>(&err)) << "no instance was created";
  }
}

class Adapters : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(storage_.init(), BERTH_OK) << storage_.init_error();
    ASSERT_EQ(network_.init(), BERTH_OK) << network_.init_error();
    ASSERT_EQ(volume_.init(), BERTH_OK) << volume_.init_error();
    ASSERT_EQ(logging_.init(), BERTH_OK) << logging_.init_error();
  }
  StubLogging& stub_logging() {
    return berth::sdk::detail::instance<StubLogging>(logging_.instance()).driver;
  }

  FakeHost host_;
  DriverUnderTest storage_{DriverSource::builtin("s", &stub_storage_descriptor), host_};
  DriverUnderTest network_{DriverSource::builtin("n", &stub_network_descriptor), host_};
  DriverUnderTest volume_{DriverSource::builtin("v", &stub_volume_descriptor), host_};
  DriverUnderTest logging_{DriverSource::builtin("l", &stub_logging_descriptor), host_};
};

TEST_F(Adapters, ExceptionsBecomeStatusAndMessage) {
  const berth_storage_v1& t = storage_.storage();
  struct Case {
    const char* id;
    berth_status status;
    const char* message;
  };
  for (const Case& c :
       {Case{"fine", BERTH_OK, ""}, Case{"not_found", BERTH_E_NOT_FOUND, "layer x: not found here"},
        Case{"std", BERTH_E_INTERNAL, "boom"}, Case{"int", BERTH_E_INTERNAL, "unknown exception"},
        Case{"ok", BERTH_E_INTERNAL, "thrown with ok"}}) {
    FakeError err;
    EXPECT_EQ(t.create(storage_.instance(), to_berth_str(c.id), to_berth_str(""),
                       to_berth_str("{}"), err.raw()),
              c.status)
        << c.id;
    EXPECT_EQ(err.message(), c.message) << c.id;
    EXPECT_EQ(err.is_set(), c.status != BERTH_OK) << c.id;
  }
  FakeError err;
  EXPECT_EQ(network_.network().leave(network_.instance(), to_berth_str("n"),
                                     to_berth_str("not_found"), err.raw()),
            BERTH_E_NOT_FOUND);
  EXPECT_EQ(volume_.volume().remove(volume_.instance(), to_berth_str("std"), err.raw()),
            BERTH_E_INTERNAL);
  EXPECT_EQ(err.message(), "boom");
}

TEST_F(Adapters, StorageResultsReachTheHost) {
  const berth_storage_v1& t = storage_.storage();
  void* self = storage_.instance();
  FakeError err;

  FakeOut mounts;
  ASSERT_EQ(t.get(self, to_berth_str("l1"), to_berth_str(""), mounts.raw(), err.raw()), BERTH_OK);
  EXPECT_EQ(mounts.mounts(), (std::vector<berth::sdk::testing::FakeMount>{
                                 {"overlay", "overlay", "lowerdir=/l,upperdir=/u/l1"},
                                 {"bind", "/src", "rbind,ro"}}));

  EXPECT_EQ(t.exists(self, to_berth_str("present")), 1);
  EXPECT_EQ(t.exists(self, to_berth_str("absent")), 0);
  EXPECT_EQ(t.exists(self, to_berth_str("std")), 0);
  EXPECT_TRUE(host_.logged("boom")) << "exists() cannot fail, so it logs";

  FakeReader tar(std::string(1000, 't'), 64);
  std::int64_t size = -1;
  ASSERT_EQ(t.apply_diff(self, to_berth_str("l1"), to_berth_str(""), tar.raw(), &size, err.raw()),
            BERTH_OK);
  EXPECT_EQ(size, 1000);

  FakeReader broken("xyz");
  broken.fail();
  EXPECT_EQ(
      t.apply_diff(self, to_berth_str("l1"), to_berth_str(""), broken.raw(), &size, err.raw()),
      BERTH_E_UNAVAILABLE);
  EXPECT_EQ(err.message(), "read input stream: the stream failed");

  FakeWriter out;
  ASSERT_EQ(t.diff(self, to_berth_str("l1"), to_berth_str(""), out.raw(), err.raw()), BERTH_OK);
  EXPECT_EQ(out.data(), "tar of l1");
  FakeWriter gone;
  gone.disconnect();
  EXPECT_EQ(t.diff(self, to_berth_str("l1"), to_berth_str(""), gone.raw(), err.raw()),
            BERTH_E_UNAVAILABLE);
  EXPECT_EQ(err.message(), "write output stream: the consumer went away");

  berth_usage usage{static_cast<std::uint32_t>(sizeof(berth_usage)), -1, -1};
  ASSERT_EQ(t.usage(self, to_berth_str("l1"), &usage, err.raw()), BERTH_OK);
  EXPECT_EQ(usage.size_bytes, 4096);
  EXPECT_EQ(usage.inodes, 3);

  FakeOut status;
  ASSERT_EQ(t.status(self, status.raw(), err.raw()), BERTH_OK);
  EXPECT_EQ(status.text(), R"([["Backing Filesystem","stub"]])");
}

TEST_F(Adapters, NetworkAndVolumeResultsReachTheHost) {
  FakeError err;
  FakeOut joined;
  ASSERT_EQ(network_.network().join(network_.instance(), to_berth_str("n"), to_berth_str("ep"),
                                    to_berth_str("/run/netns/x"), to_berth_str("{}"), joined.raw(),
                                    err.raw()),
            BERTH_OK);
  EXPECT_EQ(joined.text(), "ep@/run/netns/x");

  FakeOut path;
  ASSERT_EQ(volume_.volume().mount(volume_.instance(), to_berth_str("data"), to_berth_str("c1"),
                                   path.raw(), err.raw()),
            BERTH_OK);
  EXPECT_EQ(path.text(), host_.state_dir() + "/data");
}

TEST_F(Adapters, LoggingMessagesArriveIntact) {
  const berth_logging_v1& t = logging_.logging();
  void* self = logging_.instance();
  FakeError err;
  void* stream = nullptr;
  ASSERT_EQ(t.open(self, to_berth_str("{}"), &stream, err.raw()), BERTH_OK);
  ASSERT_NE(stream, nullptr);
  const std::string line("with\0nul", 8);
  berth_log_message m{static_cast<std::uint32_t>(sizeof(berth_log_message)), BERTH_LOG_STDERR, 7, 1,
                      to_berth_str(line)};
  ASSERT_EQ(t.log(self, stream, &m, err.raw()), BERTH_OK) << err.message();
  m.stream = 7;
  EXPECT_EQ(t.log(self, stream, &m, err.raw()), BERTH_E_INVALID_ARGUMENT);
  EXPECT_EQ(err.message(), "log: stream 7 is neither stdout (1) nor stderr (2)");
  m.stream = BERTH_LOG_STDOUT;
  m.struct_size = 8;
  EXPECT_EQ(t.log(self, stream, &m, err.raw()), BERTH_E_INVALID_ARGUMENT);
  t.close(self, stream);
  EXPECT_EQ(stub_logging().lines, std::vector<std::string>{"stderr:7:p:" + line});

  EXPECT_EQ(t.open(self, to_berth_str("not_found"), &stream, err.raw()), BERTH_E_NOT_FOUND);
}

TEST_F(Adapters, CloseSwallowsAndLogsExceptions) {
  const berth_logging_v1& t = logging_.logging();
  void* self = logging_.instance();
  FakeError err;
  void* stream = nullptr;
  ASSERT_EQ(t.open(self, to_berth_str("{}"), &stream, err.raw()), BERTH_OK);
  berth_log_message m{static_cast<std::uint32_t>(sizeof(berth_log_message)), BERTH_LOG_STDOUT, 1, 0,
                      to_berth_str("throw-on-close")};
  ASSERT_EQ(t.log(self, stream, &m, err.raw()), BERTH_OK);
  t.close(self, stream);
  EXPECT_TRUE(host_.logged("close log: flush failed"));
}

TEST_F(Adapters, ReadDeliversToTheSinkAndHonoursStop) {
  const berth_logging_v1& t = logging_.logging();
  struct Sink {
    std::vector<std::string> got;
    std::size_t stop_after = 100;
    static std::int32_t on(void* ctx, const berth_log_message* m) {
      auto* self = static_cast<Sink*>(ctx);
      self->got.push_back(std::to_string(m->stream) + ":" + std::to_string(m->time_unix_nano) +
                          ":" + std::to_string(m->partial) + ":" +
                          std::string(m->line.data, m->line.len));
      return self->got.size() >= self->stop_after ? 1 : 0;
    }
  } collected;
  const berth_log_sink sink{static_cast<std::uint32_t>(sizeof(berth_log_sink)), &collected,
                            &Sink::on, nullptr};
  berth_log_read_options options{
      static_cast<std::uint32_t>(sizeof(berth_log_read_options)), 100, 0, 3, 0, 0};
  FakeError err;
  ASSERT_EQ(t.read(logging_.instance(), to_berth_str("{}"), &options, &sink, err.raw()), BERTH_OK);
  EXPECT_EQ(collected.got,
            (std::vector<std::string>{"2:100:1:line 0", "2:101:0:line 1", "2:102:1:line 2"}));

  collected.got.clear();
  collected.stop_after = 1;
  ASSERT_EQ(t.read(logging_.instance(), to_berth_str("{}"), &options, &sink, err.raw()), BERTH_OK);
  EXPECT_EQ(collected.got.size(), 1U);

  options.struct_size = 16;
  EXPECT_EQ(t.read(logging_.instance(), to_berth_str("{}"), &options, &sink, err.raw()),
            BERTH_E_INVALID_ARGUMENT);
}

TEST(HostWrapper, ReadsTheHostTable) {
  FakeHost host(R"({"a": 1})");
  const Host h(host.raw());
  EXPECT_EQ(h.config_json(), R"({"a": 1})");
  EXPECT_EQ(h.state_dir(), host.state_dir());
  EXPECT_EQ(h.data_root(), host.data_root());
  EXPECT_EQ(h.exec_root(), host.exec_root());
  h.warn("careful");
  h.log(berth::sdk::LogLevel::debug, "details");
  const auto lines = host.log_lines();
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0].level, BERTH_LOG_WARN);
  EXPECT_EQ(lines[0].message, "careful");
  EXPECT_EQ(lines[1].level, BERTH_LOG_DEBUG);
}

TEST(HostWrapper, AnEmptyConfigReadsAsAnEmptyObject) {
  FakeHost host("");
  EXPECT_EQ(Host(host.raw()).config_json(), "{}");
}

TEST(HostWrapper, NeverReadsPastAShorterHostTable) {
  FakeHost host(R"({"a": 1})");
  // A host whose table ends right after `log`.
  host.mutable_raw().struct_size = BERTH_SDK_MEMBER_END(berth_host, log);
  const Host h(host.raw());
  h.info("still logs");
  EXPECT_TRUE(host.logged("still logs"));
  EXPECT_EQ(h.config_json(), "{}");
  EXPECT_EQ(h.state_dir(), "");
  EXPECT_EQ(h.exec_root(), "");
  FakeError err;
  h.set_error(err.raw(), "nobody hears this");
  EXPECT_FALSE(err.is_set());
  FakeOut out;
  try {
    Out(h, out.raw()).write("x");
    FAIL() << "Out::write on a host without out_write";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::unsupported);
  }
  EXPECT_EQ(out.text(), "");
}

TEST(Status, ErrcMirrorsTheAbi) {
  EXPECT_EQ(berth::sdk::to_status(Errc::conflict), BERTH_E_CONFLICT);
  EXPECT_EQ(berth::sdk::to_errc(BERTH_E_PERMISSION_DENIED), Errc::permission_denied);
  EXPECT_EQ(berth::sdk::to_errc(1000), Errc::internal);
  EXPECT_EQ(berth::sdk::to_errc(-1), Errc::internal);
  EXPECT_EQ(berth::sdk::errc_name(Errc::not_found), "not found");
  EXPECT_EQ(berth::sdk::errc_name(Errc::failed_precondition), "failed precondition");
  EXPECT_EQ(berth::sdk::errc_name(Errc::unsupported), "unsupported");
}

TEST(Status, ErrorFromErrnoKeepsContextAndClass) {
  const Error e = Error::from_errno(ENOENT, "open log of container 3f2a: /x/y");
  EXPECT_EQ(e.code(), Errc::not_found);
  EXPECT_STREQ(e.what(), "open log of container 3f2a: /x/y: No such file or directory");
  EXPECT_EQ(berth::sdk::errc_from_errno(EEXIST), Errc::already_exists);
  EXPECT_EQ(berth::sdk::errc_from_errno(EBUSY), Errc::conflict);
  EXPECT_EQ(berth::sdk::errc_from_errno(EACCES), Errc::permission_denied);
  EXPECT_EQ(berth::sdk::errc_from_errno(ENOTSUP), Errc::unsupported);
  EXPECT_EQ(berth::sdk::errc_from_errno(EIO), Errc::internal);
}

}  // namespace
