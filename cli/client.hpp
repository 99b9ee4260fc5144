// The CLI's connection to berthd: Engine API over a UNIX socket or TCP (with
// TLS), with Docker's version negotiation. Links nothing of the core.
#pragma once

#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace berth::cli {

// Where and how to connect, from the global flags and the environment.
struct ClientOptions {
  std::string host;  // unix:///path or tcp://host:port
  bool tls = false;
  bool tls_verify = false;
  std::string tls_ca, tls_cert, tls_key;
  std::string api_version;  // fixed version (BERTH_API_VERSION); empty: negotiate
};

// A failure the CLI reports and exits on. `message` is printed as is.
class CliError : public std::runtime_error {
 public:
  CliError(std::string message, int exit_code = 1)
      : std::runtime_error(std::move(message)), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

struct Response {
  int status = 0;
  std::string body;
  std::string api_version;  // the Api-Version header
};

class Client {
 public:
  // The newest API version this CLI speaks.
  static constexpr const char* kMaxApiVersion = "1.43";

  explicit Client(ClientOptions options);
  ~Client();

  // The API version in use after negotiation (negotiates on first call).
  const std::string& api_version();

  // Sends a request to /v<version><path> and returns the answer; HTTP error
  // statuses are returned, not thrown. Throws CliError when the daemon cannot
  // be reached ("Cannot connect to the berth daemon at ...").
  Response request(const std::string& method, const std::string& path,
                   const std::string& body = {}, const std::string& content_type = {});

  // GET `path` and parse the JSON answer; a non-2xx status throws CliError
  // with Docker's "Error response from daemon: <message>".
  boost::json::value get_json(const std::string& path);

  const ClientOptions& options() const { return options_; }

 private:
  Response send(const std::string& method, const std::string& target, const std::string& body,
                const std::string& content_type);

  ClientOptions options_;
  std::string version_;
};

// Resolves the daemon address: --host, then BERTH_HOST, then DOCKER_HOST,
// then unix:///run/berth/berth.sock.
std::string default_host(const std::string& flag_value);

// Throws CliError("Error response from daemon: ...") for a non-2xx response.
void check_response(const Response& response);

}  // namespace berth::cli
