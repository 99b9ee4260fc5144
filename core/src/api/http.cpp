#include "berth/core/api/http.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <strings.h>

namespace berth::core::api {

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  int c = ::strncasecmp(a.data(), b.data(), std::min(a.size(), b.size()));
  return c != 0 ? c < 0 : a.size() < b.size();
}

bool ApiVersion::parse(std::string_view text, ApiVersion& out) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == text.size()) return false;
  auto number = [](std::string_view s, int& v) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size() && v >= 0 && v < 10000;
  };
  return number(text.substr(0, dot), out.major) && number(text.substr(dot + 1), out.minor);
}

const std::string* Request::query_value(std::string_view name) const {
  auto it = query.find(std::string(name));
  return it == query.end() ? nullptr : &it->second;
}

bool Request::query_bool(std::string_view name, bool fallback) const {
  const std::string* v = query_value(name);
  if (v == nullptr) return fallback;
  return *v == "1" || *v == "true" || *v == "True" || *v == "TRUE";
}

Result<std::string> Request::read_body(std::size_t limit) const {
  std::string out;
  if (body_stream == nullptr) return out;
  char buf[16384];
  while (*body_stream) {
    body_stream->read(buf, sizeof buf);
    auto n = static_cast<std::size_t>(body_stream->gcount());
    if (out.size() + n > limit) {
      return make_error(Errc::invalid_argument,
                        "request body too large (more than " + std::to_string(limit) + " bytes)");
    }
    out.append(buf, n);
  }
  return out;
}

Result<boost::json::value> Request::read_json(std::size_t limit) const {
  BERTH_TRY(auto text, read_body(limit));
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return boost::json::value();
  boost::json::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec) return make_error(Errc::invalid_argument, "invalid JSON: " + ec.message());
  return v;
}

void ResponseWriter::send_json(int status, const boost::json::value& body) {
  send(status, "application/json", boost::json::serialize(body) + "\n");
}

void ResponseWriter::send_error(int status, std::string_view message) {
  send_json(status, boost::json::object{{"message", message}});
}

void ResponseWriter::send_error(const Error& error) {
  send_error(http_status(error.code), error.message);
}

int http_status(Errc code) {
  switch (code) {
    case Errc::ok: return 200;
    case Errc::not_found: return 404;
    case Errc::already_exists: return 409;
    case Errc::invalid_argument: return 400;
    case Errc::conflict: return 409;
    case Errc::failed_precondition: return 409;
    case Errc::unavailable: return 503;
    case Errc::unsupported: return 501;
    case Errc::permission_denied: return 403;
    case Errc::internal: return 500;
  }
  return 500;
}

}  // namespace berth::core::api
