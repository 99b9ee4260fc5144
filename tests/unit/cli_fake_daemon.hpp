// A fake berthd for the CLI's tests: a UNIX socket that serves one
// connection at a time with a handler of the test's, answering /_ping for
// version negotiation itself (API 1.43). Header-only; each test makes its
// own in a fresh temporary directory, removed with it.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace berth::cli::test_support {

// Reads until the end of the HTTP request (header and Content-Length body).
inline std::string read_request(int fd) {
  std::string data;
  char buf[4096];
  while (true) {
    auto end = data.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t length = 0;
      auto cl = data.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) length = std::stoul(data.substr(cl + 16));
      if (data.size() >= end + 4 + length) return data;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return data;
    data.append(buf, static_cast<std::size_t>(n));
  }
}

inline void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// A one-connection-at-a-time fake daemon. `handler` gets the accepted
// socket and the request text; /_ping is answered for version negotiation.
class FakeDaemon {
 public:
  using Handler = std::function<void(int fd, const std::string& request)>;

  explicit FakeDaemon(Handler handler) : handler_(std::move(handler)) {
    std::string tmpl = "/tmp/berth-test-cli-XXXXXX";
    dir_ = ::mkdtemp(tmpl.data());
    path_ = dir_ + "/d.sock";
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 8) != 0) {
      throw std::runtime_error("fake daemon: bind/listen failed");
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDaemon() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
    std::filesystem::remove_all(dir_);
  }
  std::string host() const { return "unix://" + path_; }
  std::string last_request() {
    std::lock_guard lock(mutex_);
    return requests_.empty() ? std::string() : requests_.back();
  }
  // Every request but the pings, in order.
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::string request = read_request(fd);
      if (request.starts_with("GET /_ping")) {
        write_all(fd, "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Length: 2\r\n\r\nOK");
      } else {
        {
          std::lock_guard lock(mutex_);
          requests_.push_back(request);
        }
        handler_(fd, request);
      }
      ::close(fd);
    }
  }

  Handler handler_;
  std::string dir_, path_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

// Answers a request with `status` and a JSON `body` (none when empty), and
// closes the connection after it.
inline void respond(int fd, int status, std::string_view body = {}) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " X\r\nConnection: close\r\n";
  if (!body.empty()) head += "Content-Type: application/json\r\n";
  write_all(
      fd, head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body));
}

// The request line of a request ("DELETE /v1.43/volumes/a?force=1").
inline std::string request_line(const std::string& request) {
  auto end = request.find(" HTTP/1.1");
  return request.substr(0, end);
}

// The body of a request.
inline std::string request_body(const std::string& request) {
  auto end = request.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : request.substr(end + 4);
}

}  // namespace berth::cli::test_support
