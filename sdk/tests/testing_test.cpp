// The test scaffolding itself: FakeHost's directory and callbacks, and the
// loader's refusals.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "berth/sdk/status.hpp"
#include "berth/sdk/testing/driver_under_test.hpp"
#include "berth/sdk/testing/fake_host.hpp"

namespace {

using berth::sdk::Errc;
using berth::sdk::Error;
using berth::sdk::testing::descriptor_problem;
using berth::sdk::testing::DriverSource;
using berth::sdk::testing::DriverUnderTest;
using berth::sdk::testing::FakeHost;

TEST(FakeHost, OwnsATemporaryDirectoryTree) {
  std::filesystem::path root;
  {
    FakeHost host;
    root = host.root();
    EXPECT_EQ(root.parent_path(), "/tmp");
    EXPECT_TRUE(root.filename().string().starts_with("berth-test-"));
    EXPECT_TRUE(std::filesystem::is_directory(host.state_dir()));
    EXPECT_TRUE(std::filesystem::is_directory(host.data_root()));
    EXPECT_TRUE(std::filesystem::is_directory(host.exec_root()));
    EXPECT_EQ(std::filesystem::status(host.state_dir()).permissions(),
              std::filesystem::perms::owner_all);
    std::filesystem::create_directories(root / "data" / "deep" / "tree");
  }
  EXPECT_FALSE(std::filesystem::exists(root)) << "the destructor removes everything";
}

TEST(FakeHost, TableDescribesItself) {
  FakeHost host(R"({"x": "y"})");
  const berth_host* h = host.raw();
  EXPECT_EQ(h->struct_size, sizeof(berth_host));
  EXPECT_EQ(h->abi_major, BERTH_ABI_MAJOR);
  EXPECT_EQ(h->abi_minor, BERTH_ABI_MINOR);
  EXPECT_EQ(std::string(h->config_json.data, h->config_json.len), R"({"x": "y"})");
  EXPECT_EQ(std::string(h->state_dir.data, h->state_dir.len), host.state_dir());
}

const berth_plugin* newer_minor() {
  static const berth_plugin d{sizeof(berth_plugin),
                              BERTH_ABI_MAJOR,
                              BERTH_ABI_MINOR + 1,
                              BERTH_KIND_LOGGING_V1,
                              "x",
                              "1",
                              0,
                              nullptr,
                              nullptr,
                              nullptr};
  return &d;
}

TEST(Loader, DescriptorProblemsAreNamed) {
  EXPECT_EQ(descriptor_problem(nullptr), "the entry point returned no descriptor");
  berth_plugin d{};
  d.struct_size = sizeof(berth_plugin);
  d.abi_major = BERTH_ABI_MAJOR;
  d.abi_minor = BERTH_ABI_MINOR;
  d.kind = BERTH_KIND_LOGGING_V1;
  d.id = "ok-id";
  d.version = "1";
  d.init = [](const berth_host*, void**, berth_error*) -> berth_status { return BERTH_OK; };
  static const int table = 0;
  d.table = &table;
  EXPECT_EQ(descriptor_problem(&d), "");

  berth_plugin bad = d;
  bad.abi_major = BERTH_ABI_MAJOR + 1;
  EXPECT_NE(descriptor_problem(&bad).find("cannot run on host ABI"), std::string::npos);
  bad = d;
  bad.struct_size = 8;
  EXPECT_NE(descriptor_problem(&bad).find("struct_size 8"), std::string::npos);
  bad = d;
  bad.id = "Bad_Id";
  EXPECT_NE(descriptor_problem(&bad).find("\"Bad_Id\""), std::string::npos);
  bad = d;
  bad.table = nullptr;
  EXPECT_EQ(descriptor_problem(&bad), "descriptor has no function table");
  bad = d;
  bad.init = nullptr;
  EXPECT_EQ(descriptor_problem(&bad), "descriptor has no init");
}

TEST(Loader, RefusesANewerMinorBeforeInit) {
  FakeHost host;
  try {
    DriverUnderTest driver(DriverSource::builtin("newer", &newer_minor), host);
    FAIL() << "a plugin of a newer minor was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::failed_precondition);
    EXPECT_NE(std::string(e.what()).find("cannot run on host ABI"), std::string::npos) << e.what();
  }
}

TEST(Loader, AMissingLibraryIsNotFound) {
  FakeHost host;
  const std::string path = (host.root() / "libberth-log-missing.so").string();
  try {
    DriverUnderTest driver(DriverSource::shared_library("missing", path), host);
    FAIL() << "loaded a library that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
