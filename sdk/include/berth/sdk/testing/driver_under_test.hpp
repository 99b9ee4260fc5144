// Loads one driver for a test, as berthd would: from a built-in descriptor
// function or from a plugin library, checking its descriptor before anything
// else. Part of berth::sdk-conformance.
//
//   FakeHost host;
//   DriverUnderTest driver(DriverSource::shared_library("so", path), host);
//   ASSERT_EQ(driver.init(), BERTH_OK) << driver.init_error();
//   const berth_logging_v1& t = driver.logging();
//   t.open(driver.instance(), ...);
//
// Ownership and lifetime: the FakeHost must outlive the DriverUnderTest. The
// destructor shuts an initialised driver down. A loaded library stays loaded
// until the process exits (berthd never unloads one either: a driver may
// leave threads or atexit handlers behind).
//
// Threading: init and shutdown run alone; table functions as the ABI allows.
#ifndef BERTH_SDK_TESTING_DRIVER_UNDER_TEST_HPP
#define BERTH_SDK_TESTING_DRIVER_UNDER_TEST_HPP

#include <cstdint>
#include <ostream>
#include <string>

#include "berth/sdk/abi.h"
#include "berth/sdk/testing/fake_host.hpp"

namespace berth::sdk::testing {

// How to load the driver under test; the parameter of every conformance
// suite.
struct DriverSource {
  // Names the instantiation in test names: letters, digits and '_' only.
  std::string name;
  // A built-in driver's descriptor function (BERTH_DEFINE_PLUGIN) ...
  berth_plugin_entry_fn descriptor = nullptr;
  // ... or, when that is null, the path of a plugin library that exports
  // berth_plugin_entry.
  std::string library;
  // The plugin's configuration section (host->config_json).
  std::string config_json = "{}";
  // Logging drivers: the "Config" object (--log-opt) sent with every open
  // and read.
  std::string log_opts_json = "{}";

  static DriverSource builtin(std::string name, berth_plugin_entry_fn descriptor);
  static DriverSource shared_library(std::string name, std::string path);
};

void PrintTo(const DriverSource& source, std::ostream* os);

// Returns the source's descriptor: calls the descriptor function, or
// dlopen()s the library (RTLD_NOW | RTLD_LOCAL) and calls its
// berth_plugin_entry. Throws berth::sdk::Error when that fails.
const berth_plugin* load_descriptor(const DriverSource& source);

// Why berthd would refuse `plugin` before init ("" when it would not):
// missing fields, a struct_size below ABI 1.0's, another major, a newer minor,
// an id that is not [a-z0-9][a-z0-9-]*.
std::string descriptor_problem(const berth_plugin* plugin);

class DriverUnderTest {
 public:
  // Loads the driver and checks its descriptor (descriptor_problem). Throws
  // berth::sdk::Error when either fails.
  DriverUnderTest(const DriverSource& source, FakeHost& host);
  ~DriverUnderTest();
  DriverUnderTest(const DriverUnderTest&) = delete;
  DriverUnderTest& operator=(const DriverUnderTest&) = delete;

  const berth_plugin& descriptor() const noexcept { return *plugin_; }
  FakeHost& host() const noexcept { return *host_; }

  // Runs the descriptor's init with the FakeHost. Returns its status; the
  // message it set, if any, is init_error(). Call at most once.
  berth_status init();
  const std::string& init_error() const noexcept { return init_error_; }
  bool initialised() const noexcept { return initialised_; }

  // Runs shutdown (when the descriptor has one) on an initialised driver.
  void shutdown() noexcept;

  // The instance init created (may be null for a stateless driver).
  void* instance() const noexcept { return instance_; }

  // The kind's function table. Throws berth::sdk::Error when the driver is
  // of another kind.
  const berth_storage_v1& storage() const;
  const berth_network_v1& network() const;
  const berth_volume_v1& volume() const;
  const berth_logging_v1& logging() const;

 private:
  const void* table_of(const char* kind) const;

  FakeHost* host_;
  const berth_plugin* plugin_;
  void* instance_ = nullptr;
  bool initialised_ = false;
  std::string init_error_;
};

}  // namespace berth::sdk::testing

#endif  // BERTH_SDK_TESTING_DRIVER_UNDER_TEST_HPP
