// What the local driver does beyond the conformance suite: Docker's layout
// and option checks, names that stay inside the data root, references that
// outlive a crash of the daemon, and the filesystems it mounts (label
// "root": the LocalVolumeAsRoot tests).
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "berth/plugins/volume_local.h"
#include "berth/sdk/testing/driver_under_test.hpp"
#include "berth/sdk/testing/fake_host.hpp"
#include "berth/sdk/types.hpp"
#include "mounts.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using berth::plugins::volume_local::parse_mount_points;
using berth::sdk::to_berth_str;
using berth::sdk::testing::DriverSource;
using berth::sdk::testing::DriverUnderTest;
using berth::sdk::testing::FakeError;
using berth::sdk::testing::FakeHost;
using berth::sdk::testing::FakeOut;

const std::string kCallerA(64, 'a');
const std::string kCallerB(64, 'b');

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

std::vector<std::string> mount_points() {
  return parse_mount_points(read_file("/proc/self/mountinfo"));
}

// How many filesystems are mounted at `path`.
long mounts_at(const std::string& path) {
  const std::vector<std::string> all = mount_points();
  return std::count(all.begin(), all.end(), path);
}

// Unmounts everything at or below `dir`, deepest first.
void unmount_all_below(const std::string& dir) {
  std::vector<std::string> below;
  for (const std::string& m : mount_points()) {
    if (m == dir || m.starts_with(dir + "/")) below.push_back(m);
  }
  for (auto it = below.rbegin(); it != below.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

std::set<std::string> entries_of(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) out.insert(entry.path().filename());
  return out;
}

// A directory outside the data root, /tmp/berth-test-outside-XXXXXX, removed
// (after unmounting whatever a failed test left on it) by the destructor.
class OutsideDir {
 public:
  OutsideDir() {
    std::string pattern = "/tmp/berth-test-outside-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp outside dir");
    path_ = pattern;
  }
  ~OutsideDir() {
    unmount_all_below(path_);
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  OutsideDir(const OutsideDir&) = delete;
  OutsideDir& operator=(const OutsideDir&) = delete;

  const std::string& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return fs::path(path_) / name; }

 private:
  std::string path_;
};

// Calls the driver's table like berthd; follows the fixture's driver across
// restarts. Each call keeps its message and result.
class Client {
 public:
  explicit Client(const std::unique_ptr<DriverUnderTest>& driver) : driver_(driver) {}

  berth_status create(std::string_view name, std::string_view opts = "{}") {
    return call([&](berth_error* err, berth_out*) {
      return t().create(self(), to_berth_str(name), to_berth_str(opts), err);
    });
  }
  berth_status remove(std::string_view name) {
    return call(
        [&](berth_error* err, berth_out*) { return t().remove(self(), to_berth_str(name), err); });
  }
  berth_status mount(std::string_view name, std::string_view caller) {
    return call([&](berth_error* err, berth_out* out) {
      return t().mount(self(), to_berth_str(name), to_berth_str(caller), out, err);
    });
  }
  berth_status unmount(std::string_view name, std::string_view caller) {
    return call([&](berth_error* err, berth_out*) {
      return t().unmount(self(), to_berth_str(name), to_berth_str(caller), err);
    });
  }
  berth_status path(std::string_view name) {
    return call([&](berth_error* err, berth_out* out) {
      return t().path(self(), to_berth_str(name), out, err);
    });
  }
  berth_status get(std::string_view name) {
    return call([&](berth_error* err, berth_out* out) {
      return t().get(self(), to_berth_str(name), out, err);
    });
  }
  berth_status list() {
    return call([&](berth_error* err, berth_out* out) { return t().list(self(), out, err); });
  }
  berth_status capabilities() {
    return call(
        [&](berth_error* err, berth_out* out) { return t().capabilities(self(), out, err); });
  }

  const std::string& error() const { return error_; }
  const std::string& result() const { return result_; }

 private:
  const berth_volume_v1& t() const { return driver_->volume(); }
  void* self() const { return driver_->instance(); }

  template <class F>
  berth_status call(F&& f) {
    FakeError err;
    FakeOut out;
    const berth_status status = f(err.raw(), out.raw());
    error_ = err.message();
    result_ = out.text();
    return status;
  }

  const std::unique_ptr<DriverUnderTest>& driver_;
  std::string error_;
  std::string result_;
};

class LocalVolume : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void TearDown() override {
    driver_.reset();
    unmount_all_below(fs::canonical(host_.root()).string());
  }

  void start() {
    driver_ = std::make_unique<DriverUnderTest>(
        DriverSource::builtin("builtin", &berth_builtin_volume_local), host_);
    ASSERT_EQ(driver_->init(), BERTH_OK) << driver_->init_error();
  }

  // What a daemon killed and started again does to the driver: no unmount,
  // no cleanup, a fresh instance over the same data root.
  void restart() {
    driver_.reset();
    start();
  }

  std::string volumes() const { return fs::canonical(host_.data_root()).string() + "/volumes"; }
  std::string dir_of(const std::string& name) const { return volumes() + "/" + name; }
  std::string data_of(const std::string& name) const { return dir_of(name) + "/_data"; }

  FakeHost host_;
  std::unique_ptr<DriverUnderTest> driver_;
  Client c{driver_};
};

class LocalVolumeAsRoot : public LocalVolume {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount(2))";
    LocalVolume::SetUp();
  }
};

constexpr const char* kTmpfs = R"({"type":"tmpfs","device":"tmpfs","o":"size=1m"})";

TEST_F(LocalVolume, DescriptorIsTheLocalVolumeDriver) {
  const berth_plugin& d = driver_->descriptor();
  EXPECT_STREQ(d.kind, BERTH_KIND_VOLUME_V1);
  EXPECT_STREQ(d.id, "local");
  EXPECT_EQ(d.capabilities & BERTH_CAP_VOLUME_GLOBAL_SCOPE, 0U);
  ASSERT_EQ(c.capabilities(), BERTH_OK) << c.error();
  EXPECT_EQ(c.result(), R"({"Scope":"local"})");
}

TEST_F(LocalVolume, KeepsDockersLayoutUnderTheDataRoot) {
  ASSERT_EQ(c.create("data1"), BERTH_OK) << c.error();
  EXPECT_EQ(mode_of(volumes()), 0701U);
  EXPECT_EQ(mode_of(dir_of("data1")), 0755U);
  EXPECT_EQ(mode_of(data_of("data1")), 0755U);
  EXPECT_EQ(entries_of(volumes()), std::set<std::string>{"data1"});
  EXPECT_EQ(entries_of(dir_of("data1")), (std::set<std::string>{"_data", "opts.json"}));

  const json::object opts = json::parse(read_file(dir_of("data1") + "/opts.json")).as_object();
  static const std::regex rfc3339(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
  ASSERT_TRUE(opts.contains("CreatedAt")) << opts;
  EXPECT_TRUE(std::regex_match(std::string(opts.at("CreatedAt").as_string()), rfc3339)) << opts;
  EXPECT_FALSE(opts.contains("MountType")) << opts;

  ASSERT_EQ(c.get("data1"), BERTH_OK) << c.error();
  const json::value expected = json::object{{"Name", "data1"},
                                            {"Mountpoint", data_of("data1")},
                                            {"CreatedAt", opts.at("CreatedAt")},
                                            {"Status", json::object{}}};
  EXPECT_EQ(json::parse(c.result()), expected) << c.result();
  ASSERT_EQ(c.list(), BERTH_OK) << c.error();
  EXPECT_EQ(json::parse(c.result()), json::value(json::array{expected})) << c.result();
  ASSERT_EQ(c.path("data1"), BERTH_OK) << c.error();
  EXPECT_EQ(c.result(), data_of("data1"));

  ASSERT_EQ(c.mount("data1", kCallerA), BERTH_OK) << c.error();
  EXPECT_EQ(c.result(), data_of("data1"));
  ASSERT_TRUE(write_file(fs::path(c.result()) / "f", "x"));
  EXPECT_EQ(read_file(fs::path(data_of("data1")) / "f"), "x");
  EXPECT_EQ(json::parse(read_file(dir_of("data1") + "/refs.json")),
            json::value(json::array{kCallerA.c_str()}));
  ASSERT_EQ(c.unmount("data1", kCallerA), BERTH_OK) << c.error();
  EXPECT_FALSE(fs::exists(dir_of("data1") + "/refs.json")) << "nobody holds it any more";

  // Options are Docker's opts.json fields; nothing is mounted before a mount().
  ASSERT_EQ(c.create("mem", kTmpfs), BERTH_OK) << c.error();
  const json::object mem = json::parse(read_file(dir_of("mem") + "/opts.json")).as_object();
  EXPECT_EQ(mem.at("MountType").as_string(), "tmpfs");
  EXPECT_EQ(mem.at("MountDevice").as_string(), "tmpfs");
  EXPECT_EQ(mem.at("MountOpts").as_string(), "size=1m");
  EXPECT_EQ(mounts_at(data_of("mem")), 0);

  EXPECT_EQ(c.remove("data1"), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("mem"), BERTH_OK) << c.error();
  EXPECT_TRUE(entries_of(volumes()).empty()) << "remove left something behind";
}

TEST_F(LocalVolume, RefusesUnknownOptionsAndIncompleteMountOptionsAsDocker) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"foo":"bar"})", R"(invalid option key: "foo")"},
      {R"({"type":"tmpfs","device":"tmpfs","mode":"1777"})", R"(invalid option key: "mode")"},
      {R"({"type":"tmpfs"})", R"(missing required option: "device")"},
      {R"({"device":"/dev/sdb1"})", R"(missing required option: "type")"},
      {R"({"o":"size=1m"})", R"(missing required option: "device")"},
      {R"({"o":"size=1m","device":"tmpfs"})", R"(missing required option: "type")"},
      {R"({"o":"size=1m","type":"tmpfs"})", R"(missing required option: "device")"},
      {R"({"size":"10G"})", "quota size requested but no quota support"},
      {R"({"type":1,"device":"tmpfs"})", R"(option "type" is not a string)"},
      {"[]", "options are not a JSON object"},
      {"{", "options are not a JSON object"},
  };
  for (const auto& [opts, message] : cases) {
    EXPECT_EQ(c.create("vol", opts), BERTH_E_INVALID_ARGUMENT) << opts;
    EXPECT_EQ(c.error(), message) << opts;
    EXPECT_EQ(c.get("vol"), BERTH_E_NOT_FOUND) << opts;
  }
  EXPECT_TRUE(entries_of(volumes()).empty()) << "a refused create left something behind";

  EXPECT_EQ(c.create("typed", R"({"type":"tmpfs","device":"tmpfs"})"), BERTH_OK) << c.error();
  EXPECT_EQ(c.create("full", kTmpfs), BERTH_OK) << c.error();
  EXPECT_EQ(c.create("plain", "{}"), BERTH_OK) << c.error();
  EXPECT_EQ(c.create("plain", "{}"), BERTH_E_ALREADY_EXISTS);
  EXPECT_EQ(c.error(), "volume already exists");
}

TEST_F(LocalVolume, RefusesNamesThatAreNotOneSafePathComponent) {
  const std::string names[] = {
      "",
      ".",
      "..",
      "../x",
      "a/b",
      "/abs",
      "a/../../x",
      "x",
      ".hidden",
      "-x",
      "_x",
      "a b",
      std::string("ab\0cd", 5),
      "ab\n",
      ".create-abcdef",
  };
  for (const std::string& name : names) {
    EXPECT_EQ(c.create(name), BERTH_E_INVALID_ARGUMENT) << name;
    EXPECT_NE(c.error().find("includes invalid characters for a local volume name"),
              std::string::npos)
        << c.error();
  }
  EXPECT_EQ(c.create("../x"), BERTH_E_INVALID_ARGUMENT);
  EXPECT_EQ(c.error(), R"("../x" includes invalid characters for a local volume name, only )"
                       R"("[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host )"
                       "directory, use absolute path");
  EXPECT_EQ(c.create(std::string("ab\0cd", 5)), BERTH_E_INVALID_ARGUMENT);
  EXPECT_EQ(c.error().substr(0, 11), R"("ab\x00cd" )");
  EXPECT_EQ(c.get("../x"), BERTH_E_NOT_FOUND);
  EXPECT_EQ(c.mount("a/b", kCallerA), BERTH_E_NOT_FOUND);

  EXPECT_TRUE(entries_of(volumes()).empty());
  EXPECT_FALSE(fs::exists(fs::path(host_.data_root()) / "x"));
  EXPECT_FALSE(fs::exists(host_.root() / "x"));
  EXPECT_FALSE(fs::exists("/abs"));

  for (const std::string name : {"ab", "a.b_c-d", "0x", "A..b"}) {
    EXPECT_EQ(c.create(name), BERTH_OK) << name << ": " << c.error();
    EXPECT_EQ(c.remove(name), BERTH_OK) << name << ": " << c.error();
  }
}

TEST_F(LocalVolume, RemoveDoesNotFollowSymlinksOutOfTheVolume) {
  const OutsideDir outside;
  ASSERT_TRUE(write_file(outside / "precious", "precious"));
  ASSERT_TRUE(fs::create_directory(outside / "dir"));
  ASSERT_TRUE(write_file(outside / "dir/also", "also"));

  ASSERT_EQ(c.create("vol"), BERTH_OK) << c.error();
  ASSERT_EQ(c.mount("vol", kCallerA), BERTH_OK) << c.error();
  const fs::path data = c.result();
  fs::create_directory_symlink(outside.path(), data / "escape");
  fs::create_directory(data / "sub");
  fs::create_symlink(outside / "precious", data / "sub/file-link");
  fs::create_directory_symlink(outside / "dir", data / "sub/dir-link");
  fs::create_symlink("../../../../../../../../..", data / "sub/up");
  ASSERT_EQ(c.unmount("vol", kCallerA), BERTH_OK) << c.error();

  ASSERT_EQ(c.remove("vol"), BERTH_OK) << c.error();
  EXPECT_EQ(read_file(outside / "precious"), "precious");
  EXPECT_EQ(read_file(outside / "dir/also"), "also");
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir_of("vol"))));
  EXPECT_TRUE(entries_of(volumes()).empty());
}

TEST_F(LocalVolume, UnmountOfACallerThatHoldsNothingIsANoOp) {
  ASSERT_EQ(c.create("vol"), BERTH_OK) << c.error();
  EXPECT_EQ(c.unmount("vol", kCallerA), BERTH_OK) << c.error();
  ASSERT_EQ(c.mount("vol", kCallerB), BERTH_OK) << c.error();
  EXPECT_EQ(c.unmount("vol", kCallerA), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("vol"), BERTH_E_CONFLICT) << "B still holds it";
  EXPECT_EQ(c.error(), "volume is in use");
  ASSERT_EQ(c.unmount("vol", kCallerB), BERTH_OK) << c.error();
  EXPECT_EQ(c.mount("vol", ""), BERTH_E_INVALID_ARGUMENT) << "a caller has an id";
  EXPECT_EQ(c.remove("vol"), BERTH_OK) << c.error();
  EXPECT_EQ(c.unmount("vol", kCallerA), BERTH_E_NOT_FOUND);
  EXPECT_EQ(c.error(), "no such volume");
}

TEST_F(LocalVolume, CallersAreRememberedAcrossARestart) {
  ASSERT_EQ(c.create("vol"), BERTH_OK) << c.error();
  ASSERT_EQ(c.mount("vol", kCallerA), BERTH_OK) << c.error();
  ASSERT_EQ(c.mount("vol", kCallerB), BERTH_OK) << c.error();
  ASSERT_NO_FATAL_FAILURE(restart());
  EXPECT_EQ(c.remove("vol"), BERTH_E_CONFLICT) << "the restarted driver forgot its callers";
  // The core releases the callers that died while it was down ...
  ASSERT_EQ(c.unmount("vol", kCallerA), BERTH_OK) << c.error();
  ASSERT_NO_FATAL_FAILURE(restart());
  EXPECT_EQ(c.remove("vol"), BERTH_E_CONFLICT) << "B still holds it";
  // ... and takes again the references of those still running.
  ASSERT_EQ(c.mount("vol", kCallerB), BERTH_OK) << c.error();
  ASSERT_EQ(c.unmount("vol", kCallerB), BERTH_OK) << c.error();
  ASSERT_NO_FATAL_FAILURE(restart());
  EXPECT_EQ(c.remove("vol"), BERTH_OK) << c.error();
}

TEST_F(LocalVolume, StartDeletesLeftoversAndAdoptsDockersVolumes) {
  ASSERT_EQ(c.create("kept"), BERTH_OK) << c.error();
  driver_.reset();
  // A create and a remove the daemon died in the middle of.
  for (const std::string leftover : {".create-Ab12Cd", ".remove-Ef34Gh"}) {
    ASSERT_TRUE(fs::create_directories(volumes() + "/" + leftover + "/_data"));
    ASSERT_TRUE(write_file(volumes() + "/" + leftover + "/_data/file", "x"));
  }
  // Docker writes no opts.json for a volume without options.
  ASSERT_TRUE(fs::create_directories(data_of("docker-made")));
  ASSERT_TRUE(write_file(data_of("docker-made") + "/file", "docker's"));
  ASSERT_TRUE(fs::create_directories(data_of("broken")));
  ASSERT_TRUE(write_file(dir_of("broken") + "/opts.json", "not json"));
  ASSERT_TRUE(fs::create_directories(dir_of("no-data")));
  ASSERT_TRUE(write_file(volumes() + "/metadata.db", "docker's own"));
  ASSERT_NO_FATAL_FAILURE(start());

  EXPECT_EQ(entries_of(volumes()),
            (std::set<std::string>{"kept", "docker-made", "broken", "no-data", "metadata.db"}));
  ASSERT_EQ(c.list(), BERTH_OK) << c.error();
  std::set<std::string> listed;
  const json::value all = json::parse(c.result());
  for (const auto& v : all.as_array()) {
    listed.emplace(v.as_object().at("Name").as_string());
  }
  EXPECT_EQ(listed, (std::set<std::string>{"kept", "docker-made"}));
  EXPECT_TRUE(host_.logged("broken")) << "an ignored volume directory should be logged";
  EXPECT_EQ(read_file(dir_of("broken") + "/opts.json"), "not json") << "left for an operator";
  EXPECT_EQ(c.create("broken"), BERTH_E_ALREADY_EXISTS);
  EXPECT_NE(c.error().find(dir_of("broken")), std::string::npos) << c.error();

  ASSERT_EQ(c.mount("docker-made", kCallerA), BERTH_OK) << c.error();
  EXPECT_EQ(read_file(fs::path(c.result()) / "file"), "docker's");
  ASSERT_EQ(c.unmount("docker-made", kCallerA), BERTH_OK) << c.error();
  EXPECT_TRUE(fs::exists(dir_of("docker-made") + "/opts.json"));
  EXPECT_EQ(c.remove("docker-made"), BERTH_OK) << c.error();
  EXPECT_EQ(read_file(volumes() + "/metadata.db"), "docker's own");
}

TEST_F(LocalVolume, AFailedMountTakesNoReferenceAndHidesPasswords) {
  ASSERT_EQ(c.create("share", R"({"type":"berth-no-such-fs","device":"//server/share",)"
                              R"("o":"username=u,password=secret,nosuid"})"),
            BERTH_OK)
      << c.error();
  EXPECT_NE(c.mount("share", kCallerA), BERTH_OK);
  EXPECT_TRUE(c.error().starts_with(
      "failed to mount local volume: mount //server/share:" + data_of("share") +
      ", flags: 0x2, data: username=u,"
      "password=********: "))
      << c.error();
  EXPECT_EQ(c.error().find("secret"), std::string::npos) << c.error();
  EXPECT_FALSE(fs::exists(dir_of("share") + "/refs.json"));
  EXPECT_EQ(c.remove("share"), BERTH_OK) << "a failed mount holds nothing: " << c.error();
}

TEST_F(LocalVolumeAsRoot, TmpfsIsMountedByTheFirstCallerAndUnmountedByTheLast) {
  ASSERT_EQ(c.create("mem", kTmpfs), BERTH_OK) << c.error();
  const std::string data = data_of("mem");
  EXPECT_EQ(mounts_at(data), 0);
  ASSERT_EQ(c.mount("mem", kCallerA), BERTH_OK) << c.error();
  EXPECT_EQ(c.result(), data);
  ASSERT_EQ(mounts_at(data), 1);
  struct statfs fs_info {};
  ASSERT_EQ(::statfs(data.c_str(), &fs_info), 0) << std::strerror(errno);
  EXPECT_EQ(fs_info.f_type, TMPFS_MAGIC);
  EXPECT_EQ(static_cast<long long>(fs_info.f_blocks) * fs_info.f_bsize, 1 << 20) << "size=1m";
  ASSERT_TRUE(write_file(fs::path(data) / "in-memory", "x"));

  ASSERT_EQ(c.mount("mem", kCallerB), BERTH_OK) << c.error();
  ASSERT_EQ(c.mount("mem", kCallerA), BERTH_OK) << c.error();
  EXPECT_EQ(mounts_at(data), 1) << "mounted again over itself";
  ASSERT_EQ(c.unmount("mem", kCallerA), BERTH_OK) << c.error();
  EXPECT_EQ(mounts_at(data), 1) << "B still holds it";
  EXPECT_EQ(read_file(fs::path(data) / "in-memory"), "x");
  ASSERT_EQ(c.unmount("mem", kCallerB), BERTH_OK) << c.error();
  EXPECT_EQ(mounts_at(data), 0) << "the last caller is gone";
  EXPECT_FALSE(fs::exists(fs::path(data) / "in-memory")) << "written to the disk, not the tmpfs";
  EXPECT_EQ(c.remove("mem"), BERTH_OK) << c.error();
}

TEST_F(LocalVolumeAsRoot, AMountedVolumeStaysMountedAcrossARestart) {
  ASSERT_EQ(c.create("mem", kTmpfs), BERTH_OK) << c.error();
  const std::string data = data_of("mem");
  ASSERT_EQ(c.mount("mem", kCallerA), BERTH_OK) << c.error();
  ASSERT_TRUE(write_file(fs::path(data) / "in-memory", "x"));
  ASSERT_NO_FATAL_FAILURE(restart());

  EXPECT_EQ(mounts_at(data), 1) << "a running container's volume was unmounted";
  EXPECT_EQ(read_file(fs::path(data) / "in-memory"), "x");
  EXPECT_EQ(c.remove("mem"), BERTH_E_CONFLICT);
  ASSERT_EQ(c.mount("mem", kCallerA), BERTH_OK) << c.error();
  EXPECT_EQ(mounts_at(data), 1) << "mounted again over itself";
  ASSERT_EQ(c.unmount("mem", kCallerA), BERTH_OK) << c.error();
  EXPECT_EQ(mounts_at(data), 0);
  EXPECT_EQ(c.remove("mem"), BERTH_OK) << c.error();
}

TEST_F(LocalVolumeAsRoot, AMountNobodyHoldsIsUnmountedAtStart) {
  ASSERT_EQ(c.create("mem", kTmpfs), BERTH_OK) << c.error();
  const std::string data = data_of("mem");
  // The daemon died after recording the last unmount, before unmounting.
  ASSERT_EQ(c.mount("mem", kCallerA), BERTH_OK) << c.error();
  driver_.reset();
  ASSERT_TRUE(fs::remove(dir_of("mem") + "/refs.json"));
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(mounts_at(data), 0) << "a stale mount survived the start";
  EXPECT_TRUE(host_.logged(data)) << "the unmount should be logged";

  // A filesystem someone mounted there while the driver ran.
  ASSERT_EQ(::mount("tmpfs", data.c_str(), "tmpfs", 0, "size=1m"), 0) << std::strerror(errno);
  ASSERT_NO_FATAL_FAILURE(restart());
  EXPECT_EQ(mounts_at(data), 0);
  EXPECT_EQ(c.remove("mem"), BERTH_OK) << c.error();
}

TEST_F(LocalVolumeAsRoot, RecordedCallersMountAgainAVolumeWhoseMountIsGone) {
  ASSERT_EQ(c.create("mem", kTmpfs), BERTH_OK) << c.error();
  const std::string data = data_of("mem");
  ASSERT_EQ(c.mount("mem", kCallerA), BERTH_OK) << c.error();
  ASSERT_EQ(c.mount("mem", kCallerB), BERTH_OK) << c.error();
  driver_.reset();
  ASSERT_EQ(::umount2(data.c_str(), 0), 0) << std::strerror(errno);  // a reboot
  ASSERT_NO_FATAL_FAILURE(start());

  EXPECT_EQ(mounts_at(data), 0) << "mounted with nobody asking";
  EXPECT_EQ(c.remove("mem"), BERTH_E_CONFLICT) << "the callers were forgotten";
  // B died while the daemon was down; A still runs and mounts again.
  ASSERT_EQ(c.unmount("mem", kCallerB), BERTH_OK) << c.error();
  EXPECT_EQ(mounts_at(data), 0);
  ASSERT_EQ(c.mount("mem", kCallerA), BERTH_OK) << c.error();
  EXPECT_EQ(mounts_at(data), 1) << "a recorded caller's mount should mount the filesystem";
  ASSERT_EQ(c.unmount("mem", kCallerA), BERTH_OK) << c.error();
  EXPECT_EQ(mounts_at(data), 0);
  EXPECT_EQ(c.remove("mem"), BERTH_OK) << c.error();
}

TEST_F(LocalVolumeAsRoot, BindVolumesMountTheirDeviceReadOnlyWhenAsked) {
  const OutsideDir outside;
  ASSERT_TRUE(write_file(outside / "file", "outside"));
  const std::string bind = R"({"type":"none","device":")" + outside.path() + R"(","o":"bind"})";
  const std::string bind_ro =
      R"({"type":"none","device":")" + outside.path() + R"(","o":"bind,ro"})";
  ASSERT_EQ(c.create("rw-bind", bind), BERTH_OK) << c.error();
  ASSERT_EQ(c.create("ro-bind", bind_ro), BERTH_OK) << c.error();

  ASSERT_EQ(c.mount("rw-bind", kCallerA), BERTH_OK) << c.error();
  EXPECT_EQ(read_file(fs::path(c.result()) / "file"), "outside");
  ASSERT_TRUE(write_file(fs::path(c.result()) / "written", "through the volume"));
  EXPECT_EQ(read_file(outside / "written"), "through the volume");

  ASSERT_EQ(c.mount("ro-bind", kCallerA), BERTH_OK) << c.error();
  EXPECT_EQ(read_file(fs::path(c.result()) / "file"), "outside");
  const std::string ro_file = c.result() + "/refused";
  EXPECT_EQ(::creat(ro_file.c_str(), 0644), -1);
  EXPECT_EQ(errno, EROFS);

  ASSERT_EQ(c.unmount("rw-bind", kCallerA), BERTH_OK) << c.error();
  ASSERT_EQ(c.unmount("ro-bind", kCallerA), BERTH_OK) << c.error();
  EXPECT_EQ(mounts_at(data_of("rw-bind")), 0);
  EXPECT_EQ(mounts_at(data_of("ro-bind")), 0);
  EXPECT_EQ(c.remove("rw-bind"), BERTH_OK) << c.error();
  EXPECT_EQ(c.remove("ro-bind"), BERTH_OK) << c.error();
  EXPECT_EQ(read_file(outside / "file"), "outside") << "remove deleted the bound directory";
  EXPECT_EQ(read_file(outside / "written"), "through the volume");
}

TEST_F(LocalVolumeAsRoot, RemoveUnmountsADeviceVolumeNobodyHolds) {
  ASSERT_EQ(c.create("mem", kTmpfs), BERTH_OK) << c.error();
  const std::string data = data_of("mem");
  ASSERT_EQ(::mount("tmpfs", data.c_str(), "tmpfs", 0, "size=1m"), 0) << std::strerror(errno);
  EXPECT_EQ(c.remove("mem"), BERTH_OK) << c.error();
  EXPECT_EQ(mounts_at(data), 0);
  EXPECT_TRUE(entries_of(volumes()).empty());
}

TEST_F(LocalVolumeAsRoot, RemoveRefusesAVolumeWithAForeignMountInside) {
  const OutsideDir outside;
  ASSERT_TRUE(write_file(outside / "precious", "precious"));
  ASSERT_EQ(c.create("vol"), BERTH_OK) << c.error();
  const std::string sub = data_of("vol") + "/sub";
  ASSERT_TRUE(fs::create_directory(sub));
  ASSERT_EQ(::mount(outside.path().c_str(), sub.c_str(), nullptr, MS_BIND, nullptr), 0)
      << std::strerror(errno);

  EXPECT_EQ(c.remove("vol"), BERTH_E_CONFLICT);
  EXPECT_EQ(c.error(), "a filesystem is mounted at " + sub);
  EXPECT_EQ(read_file(outside / "precious"), "precious");
  EXPECT_EQ(c.get("vol"), BERTH_OK) << "a refused remove removed it: " << c.error();

  ASSERT_EQ(::umount2(sub.c_str(), 0), 0) << std::strerror(errno);
  EXPECT_EQ(c.remove("vol"), BERTH_OK) << c.error();
  EXPECT_EQ(read_file(outside / "precious"), "precious");
}

}  // namespace
