// A TCP relay on 127.0.0.1 that slows down what a server sends, for tests
// that must act *during* a transfer: on loopback a registry hands over tens
// of megabytes in a fraction of a second, too fast to stop it (or the
// daemon) reliably in the middle. Through the relay the same download takes
// seconds, and a stopped server still ends the client's connection: the
// relay forwards what it already read, then closes.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::testing {

class ThrottleProxy {
 public:
  // Listens on 127.0.0.1:<free port>; each connection is relayed to
  // 127.0.0.1:`target_port`, the server-to-client direction capped at
  // `bytes_per_second` per connection (0: no cap). A connection the target
  // refuses is closed at once.
  ThrottleProxy(std::uint16_t target_port, std::int64_t bytes_per_second);
  // Closes the listener and every relayed connection; joins the threads.
  ~ThrottleProxy();
  ThrottleProxy(const ThrottleProxy&) = delete;
  ThrottleProxy& operator=(const ThrottleProxy&) = delete;

  std::uint16_t port() const { return port_; }
  std::string host() const;  // "127.0.0.1:<port>"
  // Applies to connections already open too.
  void set_rate(std::int64_t bytes_per_second) { rate_ = bytes_per_second; }

 private:
  void accept_loop();
  void relay(int client);

  std::uint16_t target_port_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<std::int64_t> rate_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<std::thread> relays_;
  std::thread acceptor_;
};

}  // namespace berth::testing
