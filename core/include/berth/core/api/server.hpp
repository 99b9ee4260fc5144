// The API server: serves a Router on every configured listen address (UNIX
// sockets, TCP, TCP with TLS) on Poco's HTTP server.
#pragma once

#include "berth/core/api/router.hpp"
#include "berth/core/config.hpp"
#include "berth/core/error.hpp"

#include <memory>
#include <string>
#include <vector>

namespace berth::core::api {

class ApiServer {
 public:
  // `router` must outlive the server.
  ApiServer(const Router& router, std::vector<ListenAddress> hosts, TlsConfig tls,
            bool insecure_tcp);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds every address and starts serving. Refuses TCP without TLS unless
  // `insecure_tcp`; refuses a UNIX socket another process still serves;
  // removes a stale one. Nothing is left bound on failure.
  Result<void> start();

  // Stops accepting, finishes in-flight requests (bounded), removes the
  // UNIX socket files it created.
  void stop();

  // The addresses actually served, e.g. "tcp://127.0.0.1:41234" for port 0.
  std::vector<std::string> endpoints() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::core::api
