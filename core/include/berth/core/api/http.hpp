// The API's view of one HTTP exchange, independent of the server library so
// routes are unit-tested without sockets.
#pragma once

#include "berth/core/error.hpp"

#include <boost/json/value.hpp>

#include <istream>
#include <cstdint>
#include <map>
#include <memory>
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

// A connection taken over from HTTP (attach, exec start): raw bytes both
// ways, as Docker's hijacked streams. Blocking; one reader thread and one
// writer thread may use it at the same time.
class RawConnection {
 public:
  virtual ~RawConnection() = default;
  // Bytes read into `buf`; 0 when the client closed its side, -1 on error.
  virtual std::int64_t read(void* buf, std::size_t cap) = 0;
  // Writes all of `data`; false when the client went away.
  virtual bool write(const void* data, std::size_t len) = 0;
  // Tells the client no more output comes (shutdown of the write side).
  virtual void close_write() = 0;
  // True once the client has closed its side with nothing left unread
  // (looked at without reading).
  virtual bool peer_closed() { return false; }
};

// Where a handler writes its answer. One of send*/stream/hijack per exchange.
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
  // Takes the connection over: answers "101 UPGRADED" with Upgrade: tcp
  // when the request asked for an upgrade, else "200 OK", with
  // `content_type` and no length; the connection closes when the returned
  // object goes. nullptr when this writer cannot (unit-test writers).
  virtual std::unique_ptr<RawConnection> hijack(std::string_view content_type) {
    (void)content_type;
    return nullptr;
  }

  void send_json(int status, const boost::json::value& body);
  // {"message": ...} with the status mapped from the error class.
  void send_error(const Error& error);
  void send_error(int status, std::string_view message);
};

// The HTTP status for an error class (the one table; DESIGN §2).
int http_status(Errc code);

// `value` as compact JSON text the way Go's encoding/json writes it, so
// that clients comparing answers byte for byte with Docker's see no
// difference: "<", ">" and "&" as \u003c, \u003e, \u0026, U+2028 and
// U+2029 as \u2028, \u2029, and each byte of a string that is not valid
// UTF-8 as \ufffd (so the answer is always valid JSON). Every JSON answer
// of the API goes through this (send_json and the progress streams).
std::string to_json_text(const boost::json::value& value);

}  // namespace berth::core::api
