#include "berth/core/registry/auth.hpp"

#include "base64.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

namespace berth::core::registry {

namespace json = boost::json;

namespace {

Error bad(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

}  // namespace

Result<Credentials> parse_auth_config(std::string_view text) {
  std::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return bad("malformed auth config: " + ec.message());
  const json::object* o = v.if_object();
  if (o == nullptr) return bad("malformed auth config: not a JSON object");
  Credentials c;
  struct Field {
    std::string_view key;
    std::string* out;
  };
  std::string auth;
  const Field fields[] = {{"username", &c.username},
                          {"password", &c.password},
                          {"auth", &auth},
                          {"identitytoken", &c.identity_token},
                          {"registrytoken", &c.registry_token},
                          {"serveraddress", &c.server_address}};
  for (const auto& [key, value] : *o) {
    std::string lower(key);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    for (const auto& f : fields) {
      if (lower != f.key) continue;
      if (value.is_null()) break;
      if (!value.is_string())
        return bad("malformed auth config: \"" + std::string(key) + "\" is not a string");
      *f.out = value.get_string();
    }
  }
  if (!auth.empty() && c.username.empty() && c.password.empty()) {
    auto decoded = base64_decode(auth);
    if (!decoded) return bad("malformed auth config: \"auth\" is not base64");
    auto colon = decoded.value().find(':');
    if (colon == std::string::npos)
      return bad("malformed auth config: \"auth\" is not user:password");
    c.username = decoded.value().substr(0, colon);
    c.password = decoded.value().substr(colon + 1);
  }
  return c;
}

Result<Credentials> decode_registry_auth(std::string_view header) {
  while (!header.empty() && std::isspace(static_cast<unsigned char>(header.back())))
    header.remove_suffix(1);
  while (!header.empty() && std::isspace(static_cast<unsigned char>(header.front())))
    header.remove_prefix(1);
  if (header.empty()) return Credentials{};
  auto decoded = base64_decode(header);
  if (!decoded) return bad("invalid X-Registry-Auth header: not base64");
  // Some clients send "{}" encoded, or an empty JSON string after decoding.
  if (decoded.value().empty()) return Credentials{};
  auto c = parse_auth_config(decoded.value());
  if (!c) return std::move(c).error().wrap("invalid X-Registry-Auth header");
  return c;
}

std::string encode_registry_auth(const Credentials& c) {
  json::object o;
  if (!c.username.empty()) o["username"] = c.username;
  if (!c.password.empty()) o["password"] = c.password;
  if (!c.identity_token.empty()) o["identitytoken"] = c.identity_token;
  if (!c.registry_token.empty()) o["registrytoken"] = c.registry_token;
  if (!c.server_address.empty()) o["serveraddress"] = c.server_address;
  std::string b64 = base64_encode(json::serialize(o));
  std::replace(b64.begin(), b64.end(), '+', '-');
  std::replace(b64.begin(), b64.end(), '/', '_');
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return b64;
}

const std::string& Challenge::param(const std::string& name) const {
  static const std::string empty;
  auto it = params.find(name);
  return it == params.end() ? empty : it->second;
}

namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A tiny cursor over one header value, following RFC 7235's grammar:
//   challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//   auth-param = token BWS "=" BWS ( token / quoted-string )
struct Cursor {
  std::string_view s;
  std::size_t i = 0;

  void skip_ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  void skip_ws_commas() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) ++i;
  }
  bool done() const { return i >= s.size(); }
  std::string token() {
    std::size_t start = i;
    while (i < s.size() && is_token_char(s[i])) ++i;
    return std::string(s.substr(start, i - start));
  }
  std::string quoted() {
    std::string out;
    ++i;  // opening quote
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      out += s[i++];
    }
    if (i < s.size()) ++i;  // closing quote
    return out;
  }
  // An unquoted value: lenient, up to the next comma or blank (realms are
  // URLs, which are not RFC 7235 tokens).
  std::string bare_value() {
    std::size_t start = i;
    while (i < s.size() && s[i] != ',' && s[i] != ' ' && s[i] != '\t') ++i;
    return std::string(s.substr(start, i - start));
  }
  // Looks ahead: is the next item `name=value` (a parameter) rather than a
  // new scheme or a token68 ("abc==")?
  bool at_param() const {
    std::size_t j = i;
    while (j < s.size() && is_token_char(s[j])) ++j;
    if (j == i) return false;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
    if (j >= s.size() || s[j] != '=') return false;
    ++j;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
    return j < s.size() && s[j] != '=' && s[j] != ',';
  }
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

}  // namespace

std::vector<Challenge> parse_challenges(const std::vector<std::string>& header_values) {
  std::vector<Challenge> out;
  for (const auto& value : header_values) {
    Cursor c{value};
    for (;;) {
      c.skip_ws_commas();
      if (c.done()) break;
      std::string scheme = c.token();
      if (scheme.empty()) break;  // garbage: give up on this value
      Challenge ch{lower(std::move(scheme)), {}};
      // A token68 credential (e.g. "Negotiate abc=="): skipped, berth
      // speaks only basic and bearer.
      c.skip_ws();
      if (!c.done() && c.s[c.i] != ',' && !c.at_param()) {
        std::size_t save = c.i;
        c.token();
        while (!c.done() && c.s[c.i] == '=') ++c.i;
        c.skip_ws();
        if (!c.done() && c.s[c.i] != ',') c.i = save;
      }
      for (;;) {
        c.skip_ws_commas();
        if (c.done() || !c.at_param()) break;
        std::string name = lower(c.token());
        c.skip_ws();
        ++c.i;  // '='
        c.skip_ws();
        std::string val = (!c.done() && c.s[c.i] == '"') ? c.quoted() : c.bare_value();
        ch.params[name] = std::move(val);
      }
      out.push_back(std::move(ch));
    }
  }
  return out;
}

}  // namespace berth::core::registry
