// The name rules Docker writes as regular expressions, checked against the
// cases those expressions decide.
#include <gtest/gtest.h>

#include "berth/core/name_rules.hpp"

namespace berth::core {
namespace {

TEST(NameRules, ObjectNamesAreDockersRestrictedPattern) {
  for (const char* ok : {"ab", "a1", "web.1", "my_app-2", "A.b_C-d", "00"}) {
    EXPECT_TRUE(is_object_name(ok, 2)) << ok;
  }
  for (const char* bad : {"", "a", "-ab", ".ab", "_ab", "a b", "a/b", "ab!", "é1", "a\n"}) {
    EXPECT_FALSE(is_object_name(bad, 2)) << bad;
  }
  // Networks take one character.
  EXPECT_TRUE(is_object_name("n", 1));
  EXPECT_FALSE(is_object_name("", 1));
  EXPECT_FALSE(is_object_name("-", 1));
}

TEST(NameRules, DriverIdsAndNames) {
  for (const char* ok : {"overlay", "json-file", "x", "v2", "9-a"}) EXPECT_TRUE(is_driver_id(ok)) << ok;
  for (const char* bad : {"", "-x", "Overlay", "a_b", "a.b", "a/b"}) EXPECT_FALSE(is_driver_id(bad)) << bad;
  for (const char* ok : {"storage/overlay", "net/bridge", "volume/local", "log/json-file"}) {
    EXPECT_TRUE(is_driver_name(ok)) << ok;
  }
  for (const char* bad : {"overlay", "storage/", "/overlay", "graph/overlay", "log/Json", "log/a/b"}) {
    EXPECT_FALSE(is_driver_name(bad)) << bad;
  }
}

}  // namespace
}  // namespace berth::core
