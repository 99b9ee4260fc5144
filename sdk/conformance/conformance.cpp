#include "berth/sdk/testing/conformance.hpp"

#include <cstring>

#include "berth/sdk/types.hpp"

namespace berth::sdk::testing {

std::string driver_source_name(const ::testing::TestParamInfo<DriverSource>& info) {
  return info.param.name;
}

void ConformanceTest::SetUp() {
  ASSERT_NO_THROW(host_ = std::make_unique<FakeHost>(GetParam().config_json));
  try {
    driver_ = std::make_unique<DriverUnderTest>(GetParam(), *host_);
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
}

void ConformanceTest::TearDown() {
  driver_.reset();  // shuts the driver down while its host still exists
  host_.reset();
}

void ConformanceTest::check_descriptor(const char* kind, int own_first_bit, int own_last_bit) {
  const berth_plugin& d = driver().descriptor();
  EXPECT_STREQ(d.kind, kind);
  EXPECT_EQ(d.abi_major, BERTH_ABI_MAJOR);
  EXPECT_LE(d.abi_minor, BERTH_ABI_MINOR);
  EXPECT_GE(d.struct_size, abi_v1_0::plugin_size);
  EXPECT_EQ(descriptor_problem(&d), "");
  EXPECT_GT(std::strlen(d.version), 0U) << "the descriptor's version is empty";
  for (int bit = 16; bit < 64; ++bit) {
    if ((d.capabilities & (std::uint64_t{1} << bit)) != 0) {
      EXPECT_TRUE(bit >= own_first_bit && bit <= own_last_bit)
          << "capability bit " << bit << " belongs to another kind than " << kind;
    }
  }
}

bool ConformanceTest::init_driver() {
  const berth_status status = driver().init();
  if (status == BERTH_E_UNSUPPORTED) {
    EXPECT_FALSE(driver().init_error().empty())
        << "a driver that answers unsupported should say why";
    return false;
  }
  EXPECT_EQ(status, BERTH_OK) << "init failed: " << driver().init_error();
  return status == BERTH_OK;
}

}  // namespace berth::sdk::testing
