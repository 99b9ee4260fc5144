// Test support: a network namespace of the test's own, so tests that create
// links, addresses, routes, sysctls or nftables tables never touch the
// host's. Kept alive by a bind mount under a fresh /tmp/berth-test-XXXXXX
// directory; the destructor removes both, even when the test failed.
#ifndef BERTH_SDK_NET_TESTS_PRIVATE_NETNS_HPP
#define BERTH_SDK_NET_TESTS_PRIVATE_NETNS_HPP

#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "berth/sdk/net/netns.hpp"
#include "berth/sdk/unique_fd.hpp"

namespace berth::sdk::net::testing {

inline bool is_root() { return ::geteuid() == 0; }

class PrivateNetns {
 public:
  PrivateNetns() {
    char tmpl[] = "/tmp/berth-test-netns-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    }
    dir_ = tmpl;
    path_ = dir_ + "/ns";
    try {
      create_named_netns(path_);
      fd_ = open_netns(path_);
    } catch (...) {
      remove_named_netns(path_);
      ::rmdir(dir_.c_str());
      throw;
    }
  }
  ~PrivateNetns() {
    fd_.reset();
    try {
      remove_named_netns(path_);
    } catch (...) {
    }
    ::rmdir(dir_.c_str());
  }
  PrivateNetns(const PrivateNetns&) = delete;
  PrivateNetns& operator=(const PrivateNetns&) = delete;

  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }
  int fd() const { return fd_.get(); }
  // Runs `fn` on a thread inside the namespace (exceptions rethrown here).
  void run(const std::function<void()>& fn) const { run_in_netns(fd_.get(), fn); }

 private:
  std::string dir_;
  std::string path_;
  UniqueFd fd_;
};

}  // namespace berth::sdk::net::testing

#endif  // BERTH_SDK_NET_TESTS_PRIVATE_NETNS_HPP
