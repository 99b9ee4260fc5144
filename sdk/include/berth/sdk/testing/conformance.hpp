// The driver conformance suites: one value-parameterized GoogleTest suite per
// driver kind, run by every in-tree driver and available to third parties.
// Link berth::sdk-conformance (and GTest::gtest_main or your own main), then
// instantiate the suite of your driver's kind:
//
//   #include "berth/sdk/testing/conformance.hpp"
//   using berth::sdk::testing::DriverSource;
//   using berth::sdk::testing::LoggingConformance;
//   INSTANTIATE_TEST_SUITE_P(MyDriver, LoggingConformance,
//       ::testing::Values(DriverSource::builtin("builtin", &my_descriptor),
//                         DriverSource::shared_library("so", "/path/libberth-log-my.so")),
//       berth::sdk::testing::driver_source_name);
//
// Each test gets a fresh FakeHost (its own /tmp/berth-test-* directory) and
// loads the driver anew. A driver whose init answers BERTH_E_UNSUPPORTED on
// this machine has its behaviour tests skipped, with the driver's reason.
//
// Every suite checks the descriptor and table (kind, ABI version, struct
// sizes, no null function, capability bits of its own kind only) and that
// init/shutdown works. LoggingConformance also checks behaviour: the
// read-back semantics in berth/sdk/logging.hpp. StorageConformance checks
// the storage contract of berth/sdk/storage.hpp: layer chains, errors,
// reference counts, apply_diff/diff/changes round trips, whiteouts and
// opaque directories seen through the mounted view; the tests that mount
// need root and are skipped without it. VolumeConformance checks the volume
// contract of berth/sdk/volume.hpp without root: round trips, errors,
// references held per caller id, data kept across mounts and restarts. The
// helpers below (tars, mounting a
// driver's mount description, calling the table) serve drivers' own tests.
#ifndef BERTH_SDK_TESTING_CONFORMANCE_HPP
#define BERTH_SDK_TESTING_CONFORMANCE_HPP

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "berth/sdk/testing/driver_under_test.hpp"
#include "berth/sdk/testing/fake_host.hpp"

namespace berth::sdk::testing {

// The test-name suffix for a DriverSource: its name.
std::string driver_source_name(const ::testing::TestParamInfo<DriverSource>& info);

class ConformanceTest : public ::testing::TestWithParam<DriverSource> {
 protected:
  // A FakeHost with the source's config_json, and the driver loaded (not yet
  // initialised).
  void SetUp() override;
  void TearDown() override;

  FakeHost& host() { return *host_; }
  DriverUnderTest& driver() { return *driver_; }

  // Checks what every kind shares: descriptor fields, ABI version, the
  // table's presence, capability bits inside [own_first_bit, own_last_bit]
  // or the general range.
  void check_descriptor(const char* kind, int own_first_bit, int own_last_bit);

  // Inits the driver; fails the test unless it returns BERTH_OK or
  // BERTH_E_UNSUPPORTED (which must come with a reason). Returns whether the
  // driver is usable; callers GTEST_SKIP() when it is not.
  bool init_driver();

 private:
  std::unique_ptr<FakeHost> host_;
  std::unique_ptr<DriverUnderTest> driver_;
};

class StorageConformance : public ConformanceTest {};
class NetworkConformance : public ConformanceTest {};
class VolumeConformance : public ConformanceTest {};
class LoggingConformance : public ConformanceTest {};

// ---------------------------------------------------------------------------
// Storage test helpers (part of berth::sdk-conformance).

// One entry of a layer tar. Paths are relative ("etc/hosts"), without a
// leading "./" or a trailing '/'.
struct TarEntry {
  enum class Type { file, dir, symlink, hardlink, char_device, block_device, fifo };
  std::string path;
  Type type = Type::file;
  std::string content;        // file
  std::string link;           // symlink: its target; hardlink: the path it links to
  std::uint32_t mode = 0644;  // permission bits, 07777
  std::int64_t uid = 0;
  std::int64_t gid = 0;
  std::int64_t mtime = 1'700'000'000;  // seconds since the epoch
  std::uint32_t dev_major = 0;         // devices
  std::uint32_t dev_minor = 0;
  std::map<std::string, std::string> xattrs;  // "user.name" -> value
  bool operator==(const TarEntry&) const = default;
};
void PrintTo(const TarEntry& entry, std::ostream* os);

TarEntry tar_file(std::string path, std::string content, std::uint32_t mode = 0644);
TarEntry tar_dir(std::string path, std::uint32_t mode = 0755);
TarEntry tar_symlink(std::string path, std::string target);
TarEntry tar_hardlink(std::string path, std::string target);
// The OCI whiteout of `path`: an empty file ".wh.<name>" next to it.
TarEntry tar_whiteout(const std::string& path);
// The OCI opaque marker of directory `dir`: "<dir>/.wh..wh..opq".
TarEntry tar_opaque(const std::string& dir);

// An uncompressed PAX tar of `entries`, in order (written with libarchive).
// Throws std::runtime_error.
std::string make_tar(const std::vector<TarEntry>& entries);

// The entries of an uncompressed tar, in order, with paths normalised as in
// TarEntry. Throws std::runtime_error on a malformed tar.
std::vector<TarEntry> read_tar(std::string_view tar);

// Mounts a storage driver's mount description (get()) the way berthd does,
// at a fresh directory /tmp/berth-test-XXXXXX; the destructor unmounts it
// (lazily if it is busy) and removes the directory, even when a test failed.
//
// The mounts are applied in order at the same target. Options that mount(8)
// treats as flags (bind, rbind, ro, nosuid, ...) become mount flags, the rest
// the data string. An overlay whose options exceed the page mount(2) copies
// is mounted like containerd does: from the longest common directory of its
// lowerdirs, with those made relative, on a thread that has its own working
// directory (unshare(CLONE_FS)), so deep layer chains mount however long
// the driver's root path is. Needs root. Throws std::runtime_error.
class MountedView {
 public:
  explicit MountedView(const std::vector<FakeMount>& mounts);
  ~MountedView();
  MountedView(const MountedView&) = delete;
  MountedView& operator=(const MountedView&) = delete;

  const std::string& path() const noexcept { return path_; }

 private:
  void release() noexcept;

  std::string path_;
  int mounted_ = 0;
};

// Calls a storage driver's function table the way berthd does: borrowed
// strings in, host-owned out/reader/writer handles. Each call returns the
// driver's status; the message of the last failing call is error().
// One StorageClient per thread.
class StorageClient {
 public:
  explicit StorageClient(DriverUnderTest& driver) : driver_(driver) {}

  berth_status create(std::string_view id, std::string_view parent = {},
                      std::string_view opts_json = "{}");
  berth_status create_rw(std::string_view id, std::string_view parent = {},
                         std::string_view opts_json = "{}");
  berth_status get(std::string_view id, std::vector<FakeMount>* mounts = nullptr,
                   std::string_view mount_label = {});
  berth_status put(std::string_view id);
  berth_status remove(std::string_view id);
  bool exists(std::string_view id);
  // Applies `tar` (fed in 4 KiB reads) to `id`.
  berth_status apply_diff(std::string_view id, std::string_view parent, std::string tar,
                          std::int64_t* size = nullptr);
  berth_status diff(std::string_view id, std::string_view parent, std::string* tar);
  berth_status changes(std::string_view id, std::string_view parent, std::string* json);
  berth_status usage(std::string_view id, berth_usage* usage);
  berth_status status(std::string* json);

  const std::string& error() const noexcept { return error_; }

 private:
  berth_status done(berth_status status, const FakeError& err);

  DriverUnderTest& driver_;
  std::string error_;
};

namespace detail {
// Defined next to each suite's tests; referencing them from every program
// that includes this header makes the linker keep the suites' object files
// from the static library (their tests register through static
// initialisers, which nothing else would pull in).
int storage_conformance_anchor();
int network_conformance_anchor();
int volume_conformance_anchor();
int logging_conformance_anchor();
inline const int conformance_anchors = storage_conformance_anchor() + network_conformance_anchor() +
                                       volume_conformance_anchor() + logging_conformance_anchor();
}  // namespace detail

}  // namespace berth::sdk::testing

#endif  // BERTH_SDK_TESTING_CONFORMANCE_HPP
