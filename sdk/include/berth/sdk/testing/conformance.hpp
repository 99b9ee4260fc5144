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
// read-back semantics in berth/sdk/logging.hpp.
#ifndef BERTH_SDK_TESTING_CONFORMANCE_HPP
#define BERTH_SDK_TESTING_CONFORMANCE_HPP

#include <gtest/gtest.h>

#include <memory>
#include <string>

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
