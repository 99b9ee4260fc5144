// The CLI's connection to berthd: Engine API over a UNIX socket or TCP (with
// TLS), with Docker's version negotiation. Links nothing of the core.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace Poco::Net {
class HTTPClientSession;
class HTTPRequest;
}  // namespace Poco::Net

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
  std::string api_version;   // the Api-Version header
  std::string content_type;  // the Content-Type header
  std::string path_stat;     // the X-Docker-Container-Path-Stat header (cp)
};

// A request whose body is read from a stream as it is sent, so an upload of
// any size (a tar for `load` or `import`) never sits in memory whole.
struct StreamRequest {
  std::string method;
  std::string path;          // below /v<version>, query included
  std::string content_type;  // empty: no Content-Type header
  // The body, read to its end during the call; nullptr: no body. Not owned;
  // must outlive the call.
  std::istream* body = nullptr;
  // The body's size when known in advance (a regular file): sent as
  // Content-Length. Unknown (a pipe): the body goes chunked.
  std::optional<std::uint64_t> content_length;
  // Extra request headers, e.g. X-Registry-Auth.
  std::vector<std::pair<std::string, std::string>> headers;
};

// An HTTP exchange whose answer header has arrived and whose body is still
// to come: the daemon's long-lived answers (`logs -f`, `wait`) and the
// connections it takes over from HTTP for attach and exec start ("hijacked":
// raw bytes both ways after "101 UPGRADED", or after a 200 that simply
// streams, as older daemons answer). Blocking; one thread at a time (a TLS
// session is not safe for concurrent reads and writes). Reads never time
// out: a container may be silent for hours.
class Connection {
 public:
  struct Impl;
  explicit Connection(std::unique_ptr<Impl> impl);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The answer's status and headers (body empty).
  const Response& head() const;
  // True when the daemon took the connection over (101, or 200 to an
  // upgrade request): the body is raw bytes, not HTTP framing.
  bool hijacked() const;

  // The socket, for poll(). Data may already wait in buffers: check
  // has_pending() before polling.
  int fd() const;
  // Bytes that read_some() returns without waiting for the socket (they
  // came with the header, or TLS decrypted them already).
  bool has_pending() const;
  // The next body bytes (de-chunked unless hijacked), waiting for at least
  // one; 0 at the end of the body. Throws CliError when the connection
  // breaks.
  std::size_t read_some(char* buffer, std::size_t capacity);
  // The rest of the body.
  std::string read_all();

  // Hijacked only. Sends what the socket takes of `data` without waiting
  // (plain sockets; poll POLLOUT for the rest), or all of it (TLS);
  // returns the bytes sent. Throws CliError when the daemon went away.
  std::size_t write_some(std::string_view data);
  // Hijacked only. Ends our direction (SHUT_WR; a TLS close_notify) so the
  // daemon sees the end of stdin, while its output keeps coming.
  void close_write();

 private:
  std::unique_ptr<Impl> impl_;
};

// Receives a 2xx answer's body piece by piece, as the daemon sends it.
// `head` carries the status and headers (its body stays empty); `chunk` is
// the next piece, valid only during the call. May throw: the exception
// leaves Client::stream after the connection is dropped.
using BodySink = std::function<void(const Response& head, std::string_view chunk)>;

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
  Response request(const std::string& method, const std::string& path, const std::string& body = {},
                   const std::string& content_type = {});

  // Sends `request`, streaming its body, and hands a 2xx answer's body to
  // `sink` as it arrives instead of collecting it (the returned Response
  // then has an empty body). A non-2xx answer's body is small (an error
  // message): it is collected into Response::body for check_response, and
  // `sink` is not called. If the daemon answers before it has read the
  // whole upload (an early error), that answer is still returned.
  // Throws CliError when the daemon cannot be reached, the connection
  // breaks, or the body stream fails to read.
  Response stream(const StreamRequest& request, const BodySink& sink);

  // Sends a request and returns once the answer's header arrived, whatever
  // its status; the body is read through the Connection. `upgrade` asks
  // the daemon to take the connection over ("Connection: Upgrade",
  // "Upgrade: tcp"). Throws CliError when the daemon cannot be reached.
  struct OpenRequest {
    std::string method = "POST";
    std::string path;  // below /v<version>, query included
    std::string body;
    std::string content_type;
    bool upgrade = false;
  };
  std::unique_ptr<Connection> open(const OpenRequest& request);

  // open() with `upgrade`, for attach and exec start: the hijacked
  // connection. Any answer but 101 or 200 throws CliError with Docker's
  // "Error response from daemon: <message>".
  std::unique_ptr<Connection> hijack(const std::string& path, const std::string& body = {},
                                     const std::string& content_type = "text/plain");

  // GET `path` and parse the JSON answer; a non-2xx status throws CliError
  // with Docker's "Error response from daemon: <message>".
  boost::json::value get_json(const std::string& path);

  const ClientOptions& options() const { return options_; }

 private:
  Response send(const std::string& method, const std::string& target, const std::string& body,
                const std::string& content_type);
  std::unique_ptr<Poco::Net::HTTPClientSession> open_session();
  void prepare(Poco::Net::HTTPRequest& request, const Poco::Net::HTTPClientSession& session,
               const std::string& content_type) const;

  ClientOptions options_;
  std::string version_;
};

// Resolves the daemon address: --host, then BERTH_HOST, then DOCKER_HOST,
// then unix:///run/berth/berth.sock.
std::string default_host(const std::string& flag_value);

// Throws CliError("Error response from daemon: ...") for a non-2xx response.
void check_response(const Response& response);

}  // namespace berth::cli
