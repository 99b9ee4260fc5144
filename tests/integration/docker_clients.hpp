// The real docker CLIs the tests drive berthd with: Debian's docker 20.10
// (API 1.41) and a 28.x CLI that negotiates the API version down. Only
// their client side is used.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace berth::testing {

// The clients' paths, as test parameters; a suite skips a missing one.
// INSTANTIATE_TEST_SUITE_P(Clients, Suite, kDockerClients, docker_client_name);
inline const auto kDockerClients = ::testing::Values("/usr/bin/docker", "/usr/local/bin/docker");

// "debian20" / "local28": the parameter's name in test names.
inline std::string docker_client_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param == "/usr/bin/docker" ? "debian20" : "local28";
}

}  // namespace berth::testing
