// The plugin built out of tree against the installed SDK (CTest fixture
// sdk_consumer_plugin) loads into a real berthd and serves as its log driver.
#include "harness.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace berth::testing {
namespace {

TEST(OutOfTreePlugin, LoadsIntoBerthd) {
  const std::filesystem::path plugin = BERTH_TEST_SDK_CONSUMER_PLUGIN;
  ASSERT_TRUE(std::filesystem::exists(plugin))
      << plugin << " is missing: run the sdk.out_of_tree_plugin test first";
  Daemon d({.args = {"--plugin-dir", plugin.parent_path().string(), "--log-driver", "example"}});
  ASSERT_TRUE(d.started()) << d.log();
  auto ls = d.berth({"plugin", "ls", "--format", "{{.Type}}/{{.Name}} {{.Status}} {{.Source}}"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("log/example loaded " + plugin.string()), std::string::npos) << ls.out;
  auto info = d.berth({"info", "--format", "{{.LoggingDriver}} {{json .Plugins.Log}}"});
  EXPECT_EQ(info.out, "example [\"json-file\",\"local\",\"none\",\"example\"]\n") << info.err;
}

}  // namespace
}  // namespace berth::testing
