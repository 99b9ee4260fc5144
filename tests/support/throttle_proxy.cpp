#include "throttle_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace berth::testing {

using namespace std::chrono_literals;

namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

bool send_all(int fd, const char* data, std::size_t len) {
  while (len > 0) {
    ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

ThrottleProxy::ThrottleProxy(std::uint16_t target_port, std::int64_t bytes_per_second)
    : target_port_(target_port), rate_(bytes_per_second) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr = loopback(0);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(listen_fd_);
    throw std::runtime_error("listen on 127.0.0.1:0: " + std::string(std::strerror(err)));
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ThrottleProxy::~ThrottleProxy() {
  stopping_ = true;
  acceptor_.join();
  std::vector<std::thread> relays;
  {
    std::lock_guard lock(mutex_);
    relays.swap(relays_);
  }
  for (auto& t : relays) t.join();
  ::close(listen_fd_);
}

std::string ThrottleProxy::host() const { return "127.0.0.1:" + std::to_string(port_); }

void ThrottleProxy::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard lock(mutex_);
    relays_.emplace_back([this, client] { relay(client); });
  }
}

// One connection, both directions on this thread. Stopping is noticed
// within ~50 ms: every wait is a poll with a timeout or a short sleep.
void ThrottleProxy::relay(int client) {
  int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  // A fixed, small receive buffer: autotuning would let the kernel take up
  // to tcp_rmem's maximum (tens of MB) of the server's data ahead of the
  // pace, and the server could finish sending long before the client got it.
  int rcvbuf = 256 << 10;
  if (upstream >= 0) ::setsockopt(upstream, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in addr = loopback(target_port_);
  if (upstream < 0 || ::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (upstream >= 0) ::close(upstream);
    ::close(client);
    return;
  }
  std::vector<char> buf(64 << 10);
  while (!stopping_) {
    pollfd p[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
    if (::poll(p, 2, 50) <= 0) continue;
    if (p[0].revents != 0) {
      ssize_t n = ::recv(client, buf.data(), buf.size(), 0);
      if (n <= 0 || !send_all(upstream, buf.data(), static_cast<std::size_t>(n))) break;
    }
    if (p[1].revents != 0) {
      std::int64_t rate = rate_;
      // Small reads at a low rate, so the pace is even rather than bursty.
      std::size_t want =
          rate > 0 ? static_cast<std::size_t>(std::clamp<std::int64_t>(rate / 50, 1024, 64 << 10))
                   : buf.size();
      ssize_t n = ::recv(upstream, buf.data(), want, 0);
      if (n <= 0 || !send_all(client, buf.data(), static_cast<std::size_t>(n))) break;
      if (rate > 0) {
        auto pause = std::chrono::microseconds(n * 1'000'000 / rate);
        auto until = std::chrono::steady_clock::now() + pause;
        while (!stopping_ && std::chrono::steady_clock::now() < until) {
          std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
              until - std::chrono::steady_clock::now(), 50ms));
        }
      }
    }
  }
  ::close(upstream);
  ::close(client);
}

}  // namespace berth::testing
