#include "berth/sdk/testing/conformance.hpp"
#include "berth/sdk/types.hpp"

namespace berth::sdk::testing {

namespace detail {
int storage_conformance_anchor() { return 0; }
}  // namespace detail

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StorageConformance);

TEST_P(StorageConformance, DescriptorIsStorage) { check_descriptor(BERTH_KIND_STORAGE_V1, 16, 31); }

TEST_P(StorageConformance, TableIsComplete) {
  const berth_storage_v1& t = driver().storage();
  EXPECT_GE(t.struct_size, abi_v1_0::storage_size);
  EXPECT_NE(t.create, nullptr);
  EXPECT_NE(t.create_rw, nullptr);
  EXPECT_NE(t.get, nullptr);
  EXPECT_NE(t.put, nullptr);
  EXPECT_NE(t.remove, nullptr);
  EXPECT_NE(t.exists, nullptr);
  EXPECT_NE(t.apply_diff, nullptr);
  EXPECT_NE(t.diff, nullptr);
  EXPECT_NE(t.changes, nullptr);
  EXPECT_NE(t.usage, nullptr);
  EXPECT_NE(t.status, nullptr);
}

TEST_P(StorageConformance, InitThenShutdown) {
  if (!init_driver()) GTEST_SKIP() << driver().init_error();
  driver().shutdown();
  EXPECT_FALSE(driver().initialised());
}

}  // namespace berth::sdk::testing
