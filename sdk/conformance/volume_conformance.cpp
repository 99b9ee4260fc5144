#include "berth/sdk/testing/conformance.hpp"
#include "berth/sdk/types.hpp"

namespace berth::sdk::testing {

namespace detail {
int volume_conformance_anchor() { return 0; }
}  // namespace detail

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

}  // namespace berth::sdk::testing
