// What the build tests share: a daemon with the test busybox image, context
// directories under the work dir, and a check that no build left a
// container behind.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "container_fixture.hpp"

namespace berth::testing {

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

template <typename Base = ::testing::Test>
class BuildFixture : public ContainerFixture<Base> {
 protected:
  void TearDown() override {
    if (this->daemon_ && this->daemon_->started()) {
      remove_all_containers(*this->daemon_);
      EXPECT_EQ(this->daemon_->berth({"ps", "-aq"}).out, "") << "a build left a container";
    }
  }

  // The context directory `name` under the work dir, with `files`.
  std::string context(const std::string& name, const std::map<std::string, std::string>& files) {
    const std::string dir = this->work_ / name;
    std::filesystem::create_directories(dir);
    for (const auto& [path, content] : files) {
      std::filesystem::create_directories(std::filesystem::path(dir + "/" + path).parent_path());
      write_file(dir + "/" + path, content);
    }
    return dir;
  }
};

}  // namespace berth::testing
