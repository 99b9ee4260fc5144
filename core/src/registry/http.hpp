// The registry client's HTTP layer (internal): one Poco session per request,
// TLS contexts per host, URLs kept byte-exact (signed storage redirects must
// not be re-encoded).
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/registry/client.hpp"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPResponse.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace berth::core::registry::detail {

// "scheme://authority/target?query", split without decoding anything.
struct Url {
  std::string scheme;     // "http" or "https"
  std::string authority;  // "host:port" as written ("[::1]:5000")
  std::string host;       // without brackets or port
  std::uint16_t port = 0;
  std::string target;  // "/path?query", at least "/"

  static Result<Url> parse(std::string_view text);
  std::string str() const { return scheme + "://" + authority + target; }
  // Resolves a Location header against this URL.
  Result<Url> resolve(std::string_view location) const;
};

std::string url_encode(std::string_view s);

struct HttpRequest {
  std::string method = "GET";
  Url url;
  std::vector<std::pair<std::string, std::string>> headers;
  // The body: either `body` (replayable), or `writer` streaming exactly
  // `content_length` bytes (sent once; a 401 after it cannot be retried).
  std::optional<std::string> body;
  std::function<Result<void>(std::ostream&)> writer;
  std::int64_t content_length = 0;
  std::string content_type;
  bool verify_tls = true;
  // Overrides RegistryConfig::timeout for this request.
  std::optional<std::chrono::seconds> timeout;

  bool replayable() const { return !writer; }
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  Poco::Net::HTTPResponse head;
  std::istream* body = nullptr;  // valid while this object lives
  Url url;                       // where the answer came from (after redirects)
  std::unique_ptr<Poco::Net::HTTPClientSession> session;

  std::string header(const std::string& name) const;
  std::vector<std::string> headers(const std::string& name) const;
  // The media type of Content-Type, without parameters.
  std::string content_type() const;
  // Reads the whole body; more than `limit` bytes is invalid_argument.
  Result<std::string> read_body(std::size_t limit);
  // A short description of an error body: the distribution spec's
  // {"errors":[{"code","message"}]} as "code: message" (Docker's format),
  // else the start of the body, else "received unexpected HTTP status: 500
  // Internal Server Error".
  std::string error_text();
};

class Transport {
 public:
  explicit Transport(const RegistryConfig& config) : config_(config) {}

  // Sends one request, with `authorization` as its Authorization header
  // unless empty; no redirects. Connection-level failures (refused, reset,
  // timeout, TLS) are `unavailable`: "GET https://host/v2/: connection refused".
  Result<std::unique_ptr<HttpResponse>> send(const HttpRequest& request,
                                             const std::string& authorization = {});

 private:
  Result<Poco::Net::Context::Ptr> context(const Url& url, bool verify);

  const RegistryConfig& config_;
  std::mutex mutex_;
  std::map<std::string, Poco::Net::Context::Ptr> contexts_;  // by "verify|authority"
};

// Poco's exception text, lower-cased at the start.
std::string describe_exception(const std::exception& e);

}  // namespace berth::core::registry::detail
