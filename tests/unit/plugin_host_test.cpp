#include "berth/core/plugin_host.hpp"

#include "berth/core/driver_call.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace berth::core {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = BERTH_FIXTURE_PLUGIN_DIR;

class PluginHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-test-plugins-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<PluginHost> make(DriverConfig drivers = {}) {
    return std::make_unique<PluginHost>(PluginHostOptions{root_, root_ + "/exec", drivers});
  }
  static std::string lib(const std::string& id, const std::string& dir = "all") {
    return kFixtures + "/" + dir + "/libberth-log-" + id + ".so";
  }
  static DriverRecord only(const PluginHost& host) {
    auto records = host.records();
    EXPECT_EQ(records.size(), 1u);
    return records.empty() ? DriverRecord{} : records.front();
  }

  std::string root_;
};

TEST_F(PluginHostTest, LoadsAGoodPluginAndItWorksThroughTheAbi) {
  auto host = make();
  host->load_library(lib("fixture-good"));
  auto r = only(*host);
  EXPECT_EQ(r.state, DriverState::loaded) << r.error;
  EXPECT_EQ(r.kind, BERTH_KIND_LOGGING_V1);
  EXPECT_EQ(r.name(), "log/fixture-good");
  EXPECT_EQ(r.version, "0.0.1");
  EXPECT_TRUE(fs::is_directory(root_ + "/plugins/log-fixture-good"));

  const Driver* d = host->find("log", "fixture-good");
  ASSERT_NE(d, nullptr);
  ASSERT_NE(d->logging(), nullptr);
  EXPECT_EQ(d->storage(), nullptr);
  std::string log_path = root_ + "/c1.log";
  std::string info = R"({"ContainerID":"c1","LogPath":")" + log_path + R"("})";
  berth_error err;
  void* stream = nullptr;
  ASSERT_EQ(d->logging()->open(d->instance(), to_berth_str(info), &stream, &err), BERTH_OK)
      << err.message;
  std::string line = "hello from the container";
  berth_log_message msg{sizeof(berth_log_message), BERTH_LOG_STDOUT, 1, 0, to_berth_str(line)};
  ASSERT_EQ(d->logging()->log(d->instance(), stream, &msg, &err), BERTH_OK);
  d->logging()->close(d->instance(), stream);
  std::ifstream in(log_path);
  std::string got;
  std::getline(in, got);
  EXPECT_EQ(got, line);

  EXPECT_EQ(d->logging()->open(d->instance(), to_berth_str("{}"), &stream, &err),
            BERTH_E_INVALID_ARGUMENT);
  EXPECT_EQ(err.message, "info has no LogPath");
}

struct Refusal {
  const char* id;
  const char* reason;
};

class PluginHostRefuses : public PluginHostTest, public ::testing::WithParamInterface<Refusal> {};

TEST_P(PluginHostRefuses, WithAClearReason) {
  auto host = make();
  host->load_library(lib(GetParam().id));
  auto r = only(*host);
  EXPECT_EQ(r.state, DriverState::failed);
  EXPECT_NE(r.error.find(GetParam().reason), std::string::npos)
      << "error was: " << r.error;
  EXPECT_EQ(host->find("log", GetParam().id), nullptr);
  EXPECT_TRUE(host->loaded("log").empty());
}

INSTANTIATE_TEST_SUITE_P(
    FailureModes, PluginHostRefuses,
    ::testing::Values(
        Refusal{"fixture-noentry", "missing entry symbol berth_plugin_entry"},
        Refusal{"fixture-nulldesc", "entry returned no descriptor"},
        Refusal{"fixture-major", "built for ABI 2.0, this berthd has ABI 1.0 (majors must match)"},
        Refusal{"fixture-minor", "built for ABI 1.1, newer than this berthd's ABI 1.0"},
        Refusal{"fixture-mismatch",
                "descriptor says berth.storage.v1 \"somebody-else\" but the file name says log "
                "\"fixture-mismatch\""},
        Refusal{"fixture-nullfn", "function table has a null required function"},
        Refusal{"fixture-initfail",
                "init failed (internal): fixture refuses to start: /nonexistent/frobnicator"},
        Refusal{"fixture-undefined", "undefined symbol: berth_fixture_symbol_nobody_defines"}),
    [](const auto& param_info) {
      std::string name = param_info.param.id;
      std::erase(name, '-');
      return name;
    });

TEST_F(PluginHostTest, UnsupportedIsASkipNotAFailure) {
  auto host = make();
  host->load_library(lib("fixture-unsupported"));
  auto r = only(*host);
  EXPECT_EQ(r.state, DriverState::skipped);
  EXPECT_EQ(r.error, "no frobnicator on this host");
  EXPECT_TRUE(host->check_required());
}

TEST_F(PluginHostTest, DuplicateKindAndIdIsRefused) {
  auto host = make();
  host->load_directory(kFixtures + "/all");
  host->load_directory(kFixtures + "/dup");
  auto records = host->records();
  ASSERT_FALSE(records.empty());
  const auto& last = records.back();
  EXPECT_EQ(last.source, lib("fixture-good", "dup"));
  EXPECT_EQ(last.state, DriverState::failed);
  EXPECT_EQ(last.error, "duplicate driver: log/fixture-good is already registered");
  ASSERT_NE(host->find("log", "fixture-good"), nullptr);
  EXPECT_EQ(host->find("log", "fixture-good")->record().source, lib("fixture-good"));
}

TEST_F(PluginHostTest, DirectoryScanRecordsEveryFileAndSurvivesAllOfThem) {
  auto host = make();
  host->load_directory(kFixtures + "/all");
  auto records = host->records();
  // Ten fixture libraries plus one file whose name is not a plugin name.
  EXPECT_EQ(records.size(), 11u);
  int loaded = 0, skipped = 0, failed = 0;
  for (const auto& r : records) {
    loaded += r.state == DriverState::loaded;
    skipped += r.state == DriverState::skipped;
    failed += r.state == DriverState::failed;
  }
  EXPECT_EQ(loaded, 1);
  EXPECT_EQ(skipped, 1);
  EXPECT_EQ(failed, 9);
  auto bad_name = std::find_if(records.begin(), records.end(), [](const DriverRecord& r) {
    return r.source.ends_with("libberth-frobnicator-x.so");
  });
  ASSERT_NE(bad_name, records.end());
  EXPECT_EQ(bad_name->error, "file name is not libberth-<storage|net|volume|log>-<id>.so");
}

TEST_F(PluginHostTest, MissingDirectoryIsNotFatal) {
  auto host = make();
  host->load_directory(root_ + "/no-such-dir");
  EXPECT_TRUE(host->records().empty());
}

TEST_F(PluginHostTest, RequiredDriverThatFailsIsAnError) {
  DriverConfig cfg;
  cfg.required = {"log/fixture-initfail"};
  auto host = make(cfg);
  host->load_library(lib("fixture-initfail"));
  auto r = host->check_required();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::failed_precondition);
  EXPECT_NE(r.error().message.find("required driver log/fixture-initfail is failed: init failed"),
            std::string::npos)
      << r.error().message;
}

TEST_F(PluginHostTest, RequiredDriverThatIsSkippedOrMissingIsAnError) {
  DriverConfig cfg;
  cfg.required = {"log/fixture-unsupported", "storage/nowhere"};
  auto host = make(cfg);
  host->load_library(lib("fixture-unsupported"));
  auto r = host->check_required();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "required driver log/fixture-unsupported is skipped: no frobnicator on this host");
  cfg.required = {"storage/nowhere"};
  auto other = make(cfg);
  auto missing = other->check_required();
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "required driver storage/nowhere was not found in any plugin directory");
}

TEST_F(PluginHostTest, DisabledDriversAreListedButNeverLoaded) {
  DriverConfig cfg;
  cfg.disabled = {"log/fixture-good"};
  auto host = make(cfg);
  host->load_library(lib("fixture-good"));
  auto r = only(*host);
  EXPECT_EQ(r.state, DriverState::disabled);
  EXPECT_EQ(host->find("log", "fixture-good"), nullptr);
}

TEST_F(PluginHostTest, PluginReceivesItsConfigSection) {
  DriverConfig cfg;
  cfg.options_json["log/fixture-good"] = R"({"max-size":"1m"})";
  auto host = make(cfg);
  host->load_library(lib("fixture-good"));
  const Driver* d = host->find("log", "fixture-good");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(to_view(d->host()->config_json), R"({"max-size":"1m"})");
  EXPECT_EQ(to_view(d->host()->state_dir), root_ + "/plugins/log-fixture-good");
  EXPECT_EQ(d->host()->abi_major, BERTH_ABI_MAJOR);
}

// Built-in drivers go through the same checks as libraries.
const berth_plugin* builtin_with_newer_abi() {
  static berth_logging_v1 table{};
  static berth_plugin d{sizeof(berth_plugin), BERTH_ABI_MAJOR, BERTH_ABI_MINOR + 3,
                        BERTH_KIND_LOGGING_V1, "builtin-newer", "1", 0, nullptr, nullptr, &table};
  return &d;
}

TEST_F(PluginHostTest, BuiltinsAreCheckedLikeLibraries) {
  auto host = make();
  host->add_builtin(builtin_with_newer_abi);
  auto r = only(*host);
  EXPECT_EQ(r.source, "builtin");
  EXPECT_EQ(r.state, DriverState::failed);
  EXPECT_NE(r.error.find("newer than this berthd's ABI"), std::string::npos);
}

}  // namespace
}  // namespace berth::core
