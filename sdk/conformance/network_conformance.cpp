#include "berth/sdk/testing/conformance.hpp"
#include "berth/sdk/types.hpp"

namespace berth::sdk::testing {

namespace detail {
int network_conformance_anchor() { return 0; }
}  // namespace detail

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(NetworkConformance);

TEST_P(NetworkConformance, DescriptorIsNetwork) { check_descriptor(BERTH_KIND_NETWORK_V1, 32, 39); }

TEST_P(NetworkConformance, TableIsComplete) {
  const berth_network_v1& t = driver().network();
  EXPECT_GE(t.struct_size, abi_v1_0::network_size);
  EXPECT_NE(t.create_network, nullptr);
  EXPECT_NE(t.delete_network, nullptr);
  EXPECT_NE(t.create_endpoint, nullptr);
  EXPECT_NE(t.delete_endpoint, nullptr);
  EXPECT_NE(t.join, nullptr);
  EXPECT_NE(t.leave, nullptr);
  EXPECT_NE(t.program_external_connectivity, nullptr);
  EXPECT_NE(t.revoke_external_connectivity, nullptr);
}

TEST_P(NetworkConformance, InitThenShutdown) {
  if (!init_driver()) GTEST_SKIP() << driver().init_error();
  driver().shutdown();
  EXPECT_FALSE(driver().initialised());
}

}  // namespace berth::sdk::testing
