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

namespace {

// The length of the valid UTF-8 sequence at the start of `s` (2 to 4), or 0
// when it is not one: the ranges of Go's utf8.DecodeRuneInString, which
// refuses overlong forms, surrogates and code points above U+10FFFF.
std::size_t utf8_length(std::string_view s) {
  auto byte = [&](std::size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
  auto in = [](unsigned b, unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
  unsigned b0 = byte(0), b1 = byte(1);
  std::size_t n = 0;
  if (in(b0, 0xC2, 0xDF)) {
    n = 2;
  } else if (in(b0, 0xE0, 0xEF)) {
    if (b0 == 0xE0 ? !in(b1, 0xA0, 0xBF) : b0 == 0xED ? !in(b1, 0x80, 0x9F) : !in(b1, 0x80, 0xBF)) {
      return 0;
    }
    n = 3;
  } else if (in(b0, 0xF0, 0xF4)) {
    if (b0 == 0xF0 ? !in(b1, 0x90, 0xBF) : b0 == 0xF4 ? !in(b1, 0x80, 0x8F) : !in(b1, 0x80, 0xBF)) {
      return 0;
    }
    n = 4;
  } else {
    return 0;
  }
  for (std::size_t i = 1; i < n; ++i) {
    if (!in(byte(i), 0x80, 0xBF)) return 0;
  }
  return n;
}

}  // namespace

std::string to_json_text(const boost::json::value& value) {
  // Outside strings the serializer writes only ASCII and none of "<>&",
  // so a pass over the whole text touches string contents alone.
  std::string text = boost::json::serialize(value);
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  std::string_view rest = text;
  while (!rest.empty()) {
    auto c = static_cast<unsigned char>(rest.front());
    if (c < 0x80) {
      switch (c) {
        case '<': out += "\\u003c"; break;
        case '>': out += "\\u003e"; break;
        case '&': out += "\\u0026"; break;
        default: out += static_cast<char>(c); break;
      }
      rest.remove_prefix(1);
      continue;
    }
    std::size_t n = utf8_length(rest);
    if (n == 0) {
      out += "\\ufffd";
      rest.remove_prefix(1);
    } else if (rest.starts_with("\xE2\x80\xA8") || rest.starts_with("\xE2\x80\xA9")) {
      out += rest[2] == '\xA8' ? "\\u2028" : "\\u2029";
      rest.remove_prefix(3);
    } else {
      out.append(rest.substr(0, n));
      rest.remove_prefix(n);
    }
  }
  return out;
}

void ResponseWriter::send_json(int status, const boost::json::value& body) {
  send(status, "application/json", to_json_text(body) + "\n");
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
