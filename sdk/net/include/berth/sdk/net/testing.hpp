// Test support: a network namespace of the test's own, so tests that create
// links, addresses, routes, sysctls or nftables tables never touch the
// host's. Kept alive by a bind mount under a fresh /tmp/berth-test-XXXXXX
// directory; the destructor removes both, even when the test failed.
#ifndef BERTH_SDK_NET_TESTING_HPP
#define BERTH_SDK_NET_TESTING_HPP

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "berth/sdk/net/addr.hpp"
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

// A TCP socket opened inside `ns`, with 5 s send and receive timeouts.
template <class Ns>
UniqueFd tcp_socket_in(const Ns& ns) {
  UniqueFd fd;
  ns.run([&] { fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)); });
  if (!fd) throw std::system_error(errno, std::generic_category(), "socket");
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

inline sockaddr_in sockaddr_of(Ipv4 a, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = a.be();
  sa.sin_port = htons(port);
  return sa;
}

}  // namespace berth::sdk::net::testing

#endif  // BERTH_SDK_NET_TESTING_HPP
