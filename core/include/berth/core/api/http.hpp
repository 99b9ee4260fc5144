// The API's view of one HTTP exchange, independent of the server library so
// routes are unit-tested without sockets.
#pragma once

#include "berth/core/error.hpp"

#include <boost/json/value.hpp>

#include <istream>
#include <map>
#include <ostream>
#include <string>
#include <string_view>

namespace berth::core::api {

// Header names compare case-insensitively.
struct CaseInsensitiveLess {
  bool operator()(std::string_view a, std::string_view b) const;
  using is_transparent = void;
};

struct ApiVersion {
  int major = 1;
  int minor = 0;
  auto operator<=>(const ApiVersion&) const = default;
  std::string str() const { return std::to_string(major) + "." + std::to_string(minor); }
  // "1.41" -> {1, 41}; false if malformed.
  static bool parse(std::string_view text, ApiVersion& out);
};

struct Request {
  std::string method;  // "GET", ...
  std::string path;    // decoded, without the query and the /v1.xx prefix
  std::string raw_target;
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string, CaseInsensitiveLess> headers;
  std::istream* body_stream = nullptr;  // the request body; may be null (no body)
  ApiVersion version;                          // from the path, or the newest
  std::map<std::string, std::string> params;   // {name} segments of the route

  // The first value of query parameter `name`, if present.
  const std::string* query_value(std::string_view name) const;
  // Docker's boolean query values: "1", "true", "True" are true; absent is `fallback`.
  bool query_bool(std::string_view name, bool fallback = false) const;

  // Reads the whole body; more than `limit` bytes is an invalid_argument
  // ("request body too large").
  Result<std::string> read_body(std::size_t limit = kMaxJsonBody) const;
  // Reads and parses a JSON body; malformed JSON is invalid_argument with
  // the parser's message. An empty body is `null`.
  Result<boost::json::value> read_json(std::size_t limit = kMaxJsonBody) const;

  static constexpr std::size_t kMaxJsonBody = 16u << 20;
};

// Where a handler writes its answer. One of send*/stream per exchange.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  virtual void set_header(const std::string& name, const std::string& value) = 0;
  // Sends a complete response.
  virtual void send(int status, std::string_view content_type, std::string_view body) = 0;
  // Starts a chunked response and returns its body stream (progress, logs).
  virtual std::ostream& stream(int status, std::string_view content_type) = 0;
  // True once the client has gone away (streams stop early).
  virtual bool client_gone() = 0;

  void send_json(int status, const boost::json::value& body);
  // {"message": ...} with the status mapped from the error class.
  void send_error(const Error& error);
  void send_error(int status, std::string_view message);
};

// The HTTP status for an error class (the one table; DESIGN §2).
int http_status(Errc code);

}  // namespace berth::core::api
