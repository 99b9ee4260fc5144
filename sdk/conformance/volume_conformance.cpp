// VolumeConformance: the berth.volume.v1 contract (berth/sdk/volume.hpp)
// every volume driver keeps, wherever it keeps the data: volumes round-trip
// through create/get/list/remove, unknown names are not_found, mount() gives
// a writable directory whose contents outlive the mount, references are held
// per caller id (a caller mounting twice holds one) and remove() is refused
// while any caller holds the volume, volumes outlive a restart of the driver,
// malformed options are invalid_argument and capabilities name the scope.
//
// The suite assumes nothing about where a driver keeps its volumes, and needs
// no root: volumes are created without options, under names every driver
// must take (Docker's [a-zA-Z0-9][a-zA-Z0-9_.-]+). Every test unmounts and
// removes what it made, even when it fails.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "berth/sdk/testing/conformance.hpp"
#include "berth/sdk/types.hpp"

namespace berth::sdk::testing {

namespace detail {
int volume_conformance_anchor() { return 0; }
}  // namespace detail

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Calls the table the way berthd does; each call returns the status and
// keeps the last message and result. Remembers the volumes it created and
// the references it took, and gives back both when destroyed (if the driver
// still runs), so that a failing test leaves nothing behind.
class VolumeClient {
 public:
  explicit VolumeClient(DriverUnderTest& driver) : driver_(driver) {}
  ~VolumeClient() {
    if (!driver_.initialised()) return;
    for (const auto& [name, caller] : held_) unmount(name, caller);
    for (const auto& name : created_) remove(name);
  }
  VolumeClient(const VolumeClient&) = delete;
  VolumeClient& operator=(const VolumeClient&) = delete;

  berth_status create(std::string_view name, std::string_view opts_json = "{}") {
    const berth_status status = call([&](berth_error* err, berth_out*) {
      return t().create(driver_.instance(), to_berth_str(name), to_berth_str(opts_json), err);
    });
    if (status == BERTH_OK) created_.emplace(name);
    return status;
  }
  berth_status remove(std::string_view name) {
    const berth_status status = call([&](berth_error* err, berth_out*) {
      return t().remove(driver_.instance(), to_berth_str(name), err);
    });
    if (status == BERTH_OK) created_.erase(std::string(name));
    return status;
  }
  // On success, result() is the volume's path.
  berth_status mount(std::string_view name, std::string_view caller) {
    const berth_status status = call([&](berth_error* err, berth_out* out) {
      return t().mount(driver_.instance(), to_berth_str(name), to_berth_str(caller), out, err);
    });
    if (status == BERTH_OK) held_.emplace(name, caller);
    return status;
  }
  berth_status unmount(std::string_view name, std::string_view caller) {
    const berth_status status = call([&](berth_error* err, berth_out*) {
      return t().unmount(driver_.instance(), to_berth_str(name), to_berth_str(caller), err);
    });
    if (status == BERTH_OK) held_.erase({std::string(name), std::string(caller)});
    return status;
  }
  berth_status path(std::string_view name) {
    return call([&](berth_error* err, berth_out* out) {
      return t().path(driver_.instance(), to_berth_str(name), out, err);
    });
  }
  berth_status get(std::string_view name) {
    return call([&](berth_error* err, berth_out* out) {
      return t().get(driver_.instance(), to_berth_str(name), out, err);
    });
  }
  berth_status list() {
    return call(
        [&](berth_error* err, berth_out* out) { return t().list(driver_.instance(), out, err); });
  }
  berth_status capabilities() {
    return call([&](berth_error* err, berth_out* out) {
      return t().capabilities(driver_.instance(), out, err);
    });
  }

  const std::string& error() const { return error_; }
  const std::string& result() const { return result_; }

 private:
  const berth_volume_v1& t() const { return driver_.volume(); }

  template <class F>
  berth_status call(F&& f) {
    FakeError err;
    FakeOut out;
    const berth_status status = f(err.raw(), out.raw());
    error_ = err.message();
    result_ = out.text();
    if (status != BERTH_OK) {
      EXPECT_TRUE(err.is_set() && !err.message().empty()) << "a failing call should say why";
    }
    return status;
  }

  DriverUnderTest& driver_;
  std::string error_;
  std::string result_;
  std::set<std::string> created_;
  std::set<std::pair<std::string, std::string>> held_;
};

std::string caller_of(char c) { return std::string(64, c); }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

::testing::AssertionResult write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out.flush()) return ::testing::AssertionFailure() << "cannot write " << path;
  return ::testing::AssertionSuccess();
}

// The volume `name` as get() and list() describe it.
::testing::AssertionResult describes(const json::value& v, const std::string& name) {
  if (!v.is_object()) return ::testing::AssertionFailure() << "not an object: " << v;
  const json::object& o = v.get_object();
  const json::value* n = o.if_contains("Name");
  if (n == nullptr || !n->is_string() || n->get_string() != name) {
    return ::testing::AssertionFailure() << "\"Name\" is not \"" << name << "\": " << v;
  }
  const json::value* mountpoint = o.if_contains("Mountpoint");
  if (mountpoint == nullptr || !mountpoint->is_string()) {
    return ::testing::AssertionFailure() << "no string \"Mountpoint\": " << v;
  }
  const json::value* created = o.if_contains("CreatedAt");
  if (created == nullptr || !created->is_string()) {
    return ::testing::AssertionFailure() << "no string \"CreatedAt\": " << v;
  }
  static const std::regex rfc3339(
      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))");
  if (!created->get_string().empty() &&
      !std::regex_match(std::string(created->get_string()), rfc3339)) {
    return ::testing::AssertionFailure() << "\"CreatedAt\" is not RFC 3339: " << v;
  }
  if (const json::value* status = o.if_contains("Status");
      status != nullptr && !status->is_object() && !status->is_null()) {
    return ::testing::AssertionFailure() << "\"Status\" is not an object: " << v;
  }
  return ::testing::AssertionSuccess();
}

// How many entries of list()'s answer describe `name`; -1 when the answer
// is not an array.
int listed(const std::string& list_json, const std::string& name) {
  boost::system::error_code ec;
  const json::value v = json::parse(list_json, ec);
  if (ec || !v.is_array()) return -1;
  int count = 0;
  for (const json::value& item : v.get_array()) {
    if (!item.is_object()) continue;
    const json::value* n = item.get_object().if_contains("Name");
    if (n != nullptr && n->is_string() && n->get_string() == name) ++count;
  }
  return count;
}

bool is_writable_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && ::access(path.c_str(), W_OK) == 0;
}

}  // namespace

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(VolumeConformance);

TEST_P(VolumeConformance, DescriptorIsVolume) { check_descriptor(BERTH_KIND_VOLUME_V1, 40, 47); }

TEST_P(VolumeConformance, TableIsComplete) {
  const berth_volume_v1& t = driver().volume();
  EXPECT_GE(t.struct_size, abi_v1_0::volume_size);
  EXPECT_NE(t.create, nullptr);
  EXPECT_NE(t.remove, nullptr);
  EXPECT_NE(t.mount, nullptr);
  EXPECT_NE(t.unmount, nullptr);
  EXPECT_NE(t.path, nullptr);
  EXPECT_NE(t.get, nullptr);
  EXPECT_NE(t.list, nullptr);
  EXPECT_NE(t.capabilities, nullptr);
}

TEST_P(VolumeConformance, InitThenShutdown) {
  if (!init_driver()) GTEST_SKIP() << driver().init_error();
  driver().shutdown();
  EXPECT_FALSE(driver().initialised());
}

#define BERTH_SKIP_UNLESS_USABLE()                             \
  do {                                                         \
    if (!init_driver()) GTEST_SKIP() << driver().init_error(); \
  } while (false)

TEST_P(VolumeConformance, CreateGetListRoundTrip) {
  BERTH_SKIP_UNLESS_USABLE();
  VolumeClient c(driver());
  ASSERT_EQ(c.list(), BERTH_OK) << c.error();
  EXPECT_EQ(listed(c.result(), "conformance-a"), 0) << c.result();

  ASSERT_EQ(c.create("conformance-a"), BERTH_OK) << c.error();
  ASSERT_EQ(c.create("conformance-b", ""), BERTH_OK) << "empty options: " << c.error();
  ASSERT_EQ(c.get("conformance-a"), BERTH_OK) << c.error();
  boost::system::error_code ec;
  const json::value got = json::parse(c.result(), ec);
  ASSERT_FALSE(ec) << "get() is not JSON: " << c.result();
  EXPECT_TRUE(describes(got, "conformance-a"));
  ASSERT_EQ(c.path("conformance-a"), BERTH_OK) << c.error();
  EXPECT_FALSE(c.result().empty()) << "path() wrote no path";

  ASSERT_EQ(c.list(), BERTH_OK) << c.error();
  EXPECT_EQ(listed(c.result(), "conformance-a"), 1) << c.result();
  EXPECT_EQ(listed(c.result(), "conformance-b"), 1) << c.result();
  const json::value all = json::parse(c.result(), ec);
  ASSERT_FALSE(ec) << "list() is not JSON: " << c.result();
  for (const json::value& item : all.as_array()) {
    const json::value* name = item.is_object() ? item.as_object().if_contains("Name") : nullptr;
    ASSERT_TRUE(name != nullptr && name->is_string()) << item;
    EXPECT_TRUE(describes(item, std::string(name->get_string())));
  }

  EXPECT_EQ(c.remove("conformance-a"), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("conformance-b"), BERTH_OK) << c.error();
}

TEST_P(VolumeConformance, CreateTwiceIsAlreadyExists) {
  BERTH_SKIP_UNLESS_USABLE();
  VolumeClient c(driver());
  ASSERT_EQ(c.create("conformance-a"), BERTH_OK) << c.error();
  EXPECT_EQ(c.create("conformance-a"), BERTH_E_ALREADY_EXISTS) << c.error();
  ASSERT_EQ(c.list(), BERTH_OK) << c.error();
  EXPECT_EQ(listed(c.result(), "conformance-a"), 1) << c.result();
  EXPECT_EQ(c.remove("conformance-a"), BERTH_OK) << c.error();
}

TEST_P(VolumeConformance, UnknownVolumesAreNotFound) {
  BERTH_SKIP_UNLESS_USABLE();
  VolumeClient c(driver());
  EXPECT_EQ(c.get("conformance-nope"), BERTH_E_NOT_FOUND);
  EXPECT_EQ(c.path("conformance-nope"), BERTH_E_NOT_FOUND);
  EXPECT_EQ(c.remove("conformance-nope"), BERTH_E_NOT_FOUND);
  EXPECT_EQ(c.mount("conformance-nope", caller_of('a')), BERTH_E_NOT_FOUND);
  EXPECT_EQ(c.unmount("conformance-nope", caller_of('a')), BERTH_E_NOT_FOUND);
  // A volume beside them changes nothing.
  ASSERT_EQ(c.create("conformance-a"), BERTH_OK) << c.error();
  EXPECT_EQ(c.get("conformance-nope"), BERTH_E_NOT_FOUND);
  EXPECT_EQ(c.remove("conformance-a"), BERTH_OK) << c.error();
}

TEST_P(VolumeConformance, MountGivesAWritableDirectory) {
  BERTH_SKIP_UNLESS_USABLE();
  VolumeClient c(driver());
  ASSERT_EQ(c.create("conformance-a"), BERTH_OK) << c.error();
  ASSERT_EQ(c.mount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
  const std::string path = c.result();
  ASSERT_FALSE(path.empty()) << "mount() wrote no path";
  ASSERT_TRUE(is_writable_directory(path)) << path << " is not a writable directory";
  ASSERT_TRUE(write_file(fs::path(path) / "file", "content"));
  std::error_code ec;
  EXPECT_TRUE(fs::create_directory(fs::path(path) / "dir", ec)) << ec.message();
  EXPECT_EQ(read_file(fs::path(path) / "file"), "content");
  // path() answers while mounted too.
  EXPECT_EQ(c.path("conformance-a"), BERTH_OK) << c.error();
  EXPECT_EQ(c.unmount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("conformance-a"), BERTH_OK) << c.error();
}

TEST_P(VolumeConformance, DataOutlivesTheMount) {
  BERTH_SKIP_UNLESS_USABLE();
  VolumeClient c(driver());
  ASSERT_EQ(c.create("conformance-a"), BERTH_OK) << c.error();
  ASSERT_EQ(c.mount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
  ASSERT_TRUE(write_file(fs::path(c.result()) / "kept", "kept content"));
  ASSERT_EQ(c.unmount("conformance-a", caller_of('a')), BERTH_OK) << c.error();

  ASSERT_EQ(c.mount("conformance-a", caller_of('b')), BERTH_OK) << c.error();
  EXPECT_EQ(read_file(fs::path(c.result()) / "kept"), "kept content");
  EXPECT_EQ(c.unmount("conformance-a", caller_of('b')), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("conformance-a"), BERTH_OK) << c.error();
}

TEST_P(VolumeConformance, RemoveIsRefusedWhileAnyCallerHoldsTheVolume) {
  BERTH_SKIP_UNLESS_USABLE();
  VolumeClient c(driver());
  ASSERT_EQ(c.create("conformance-a"), BERTH_OK) << c.error();
  ASSERT_EQ(c.mount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
  ASSERT_EQ(c.mount("conformance-a", caller_of('b')), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("conformance-a"), BERTH_E_CONFLICT) << "held by two callers";
  ASSERT_EQ(c.unmount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("conformance-a"), BERTH_E_CONFLICT) << "still held by one caller";
  EXPECT_EQ(c.get("conformance-a"), BERTH_OK) << "a refused remove removed it: " << c.error();
  ASSERT_EQ(c.unmount("conformance-a", caller_of('b')), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("conformance-a"), BERTH_OK) << c.error();
}

TEST_P(VolumeConformance, ACallerMountingTwiceHoldsOneReference) {
  BERTH_SKIP_UNLESS_USABLE();
  VolumeClient c(driver());
  ASSERT_EQ(c.create("conformance-a"), BERTH_OK) << c.error();
  ASSERT_EQ(c.mount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
  const std::string first = c.result();
  ASSERT_EQ(c.mount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
  EXPECT_EQ(c.result(), first) << "the same caller got another path";
  EXPECT_EQ(c.remove("conformance-a"), BERTH_E_CONFLICT);
  ASSERT_EQ(c.unmount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("conformance-a"), BERTH_OK)
      << "one unmount should release a caller however often it mounted: " << c.error();
}

TEST_P(VolumeConformance, RemovedVolumeIsGone) {
  BERTH_SKIP_UNLESS_USABLE();
  VolumeClient c(driver());
  ASSERT_EQ(c.create("conformance-a"), BERTH_OK) << c.error();
  ASSERT_EQ(c.create("conformance-b"), BERTH_OK) << c.error();
  ASSERT_EQ(c.mount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
  ASSERT_TRUE(write_file(fs::path(c.result()) / "old", "old"));
  ASSERT_EQ(c.unmount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
  ASSERT_EQ(c.remove("conformance-a"), BERTH_OK) << c.error();

  EXPECT_EQ(c.get("conformance-a"), BERTH_E_NOT_FOUND);
  EXPECT_EQ(c.path("conformance-a"), BERTH_E_NOT_FOUND);
  EXPECT_EQ(c.remove("conformance-a"), BERTH_E_NOT_FOUND) << "removed twice";
  ASSERT_EQ(c.list(), BERTH_OK) << c.error();
  EXPECT_EQ(listed(c.result(), "conformance-a"), 0) << c.result();
  EXPECT_EQ(listed(c.result(), "conformance-b"), 1) << c.result();

  // The name is free again, for a volume that starts empty.
  ASSERT_EQ(c.create("conformance-a"), BERTH_OK) << c.error();
  ASSERT_EQ(c.mount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
  std::error_code ec;
  EXPECT_FALSE(fs::exists(fs::path(c.result()) / "old", ec)) << "the old volume's data came back";
  EXPECT_EQ(c.unmount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("conformance-a"), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("conformance-b"), BERTH_OK) << c.error();
}

TEST_P(VolumeConformance, MalformedOptionsAreInvalidArgument) {
  BERTH_SKIP_UNLESS_USABLE();
  VolumeClient c(driver());
  for (const std::string_view opts : {"{not json", "[]", R"("type")", "42"}) {
    EXPECT_EQ(c.create("conformance-a", opts), BERTH_E_INVALID_ARGUMENT) << opts;
    EXPECT_EQ(c.get("conformance-a"), BERTH_E_NOT_FOUND) << "a refused create left " << opts;
  }
  ASSERT_EQ(c.list(), BERTH_OK) << c.error();
  EXPECT_EQ(listed(c.result(), "conformance-a"), 0) << c.result();
}

TEST_P(VolumeConformance, CapabilitiesNameTheScope) {
  BERTH_SKIP_UNLESS_USABLE();
  VolumeClient c(driver());
  ASSERT_EQ(c.capabilities(), BERTH_OK) << c.error();
  boost::system::error_code ec;
  const json::value v = json::parse(c.result(), ec);
  ASSERT_FALSE(ec) << "not JSON: " << c.result();
  ASSERT_TRUE(v.is_object()) << c.result();
  const json::value* scope = v.get_object().if_contains("Scope");
  ASSERT_TRUE(scope != nullptr && scope->is_string()) << c.result();
  EXPECT_TRUE(scope->get_string() == "local" || scope->get_string() == "global") << c.result();
  const bool global_bit = (driver().descriptor().capabilities & BERTH_CAP_VOLUME_GLOBAL_SCOPE) != 0;
  EXPECT_EQ(scope->get_string() == "global", global_bit)
      << "the Scope and the descriptor's BERTH_CAP_VOLUME_GLOBAL_SCOPE disagree";
}

TEST_P(VolumeConformance, VolumesSurviveARestartOfTheDriver) {
  BERTH_SKIP_UNLESS_USABLE();
  {
    VolumeClient c(driver());
    ASSERT_EQ(c.create("conformance-a"), BERTH_OK) << c.error();
    ASSERT_EQ(c.mount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
    ASSERT_TRUE(write_file(fs::path(c.result()) / "kept", "kept content"));
    ASSERT_EQ(c.unmount("conformance-a", caller_of('a')), BERTH_OK) << c.error();
    driver().shutdown();
  }
  DriverUnderTest again(GetParam(), host());
  ASSERT_EQ(again.init(), BERTH_OK) << again.init_error();
  VolumeClient c(again);
  ASSERT_EQ(c.get("conformance-a"), BERTH_OK) << "forgotten across a restart: " << c.error();
  ASSERT_EQ(c.list(), BERTH_OK) << c.error();
  EXPECT_EQ(listed(c.result(), "conformance-a"), 1) << c.result();
  EXPECT_EQ(c.create("conformance-a"), BERTH_E_ALREADY_EXISTS);
  ASSERT_EQ(c.mount("conformance-a", caller_of('b')), BERTH_OK) << c.error();
  EXPECT_EQ(read_file(fs::path(c.result()) / "kept"), "kept content");
  EXPECT_EQ(c.unmount("conformance-a", caller_of('b')), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("conformance-a"), BERTH_OK) << c.error();
}

TEST_P(VolumeConformance, ConcurrentCallersOfOneVolume) {
  BERTH_SKIP_UNLESS_USABLE();
  VolumeClient c(driver());
  ASSERT_EQ(c.create("conformance-shared"), BERTH_OK) << c.error();
  constexpr int kThreads = 4;
  constexpr int kRounds = 25;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([this, i] {
      VolumeClient mine(driver());
      const std::string caller = caller_of(static_cast<char>('a' + i));
      const std::string own = "conformance-own" + std::to_string(i);
      for (int round = 0; round < kRounds; ++round) {
        EXPECT_EQ(mine.mount("conformance-shared", caller), BERTH_OK) << mine.error();
        EXPECT_EQ(mine.create(own), BERTH_OK) << mine.error();
        EXPECT_EQ(mine.list(), BERTH_OK) << mine.error();
        EXPECT_EQ(mine.remove(own), BERTH_OK) << mine.error();
        EXPECT_EQ(mine.unmount("conformance-shared", caller), BERTH_OK) << mine.error();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(c.remove("conformance-shared"), BERTH_OK) << "a reference leaked: " << c.error();
  ASSERT_EQ(c.list(), BERTH_OK) << c.error();
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(listed(c.result(), "conformance-own" + std::to_string(i)), 0) << c.result();
  }
}

}  // namespace berth::sdk::testing
