#include "http.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>

namespace berth::core::registry::detail {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

}  // namespace

std::string describe_exception(const std::exception& e) {
  std::string text;
  if (const auto* p = dynamic_cast<const Poco::Exception*>(&e)) {
    text = p->displayText();
  } else {
    text = e.what();
  }
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

Result<Url> Url::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return make_error(Errc::invalid_argument,
                      "invalid URL \"" + std::string(text) + "\": " + std::string(why));
  };
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return bad("no scheme");
  Url u;
  u.scheme = lower(std::string(text.substr(0, sep)));
  if (u.scheme != "http" && u.scheme != "https") return bad("scheme is not http or https");
  std::string_view rest = text.substr(sep + 3);
  auto end = rest.find_first_of("/?#");
  u.authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  if (u.authority.empty() || u.authority.find('@') != std::string::npos) return bad("bad host");
  std::string_view port;
  if (u.authority.front() == '[') {
    auto close = u.authority.find(']');
    if (close == std::string::npos) return bad("bad IPv6 address");
    u.host = u.authority.substr(1, close - 1);
    std::string_view after = std::string_view(u.authority).substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("bad host");
      port = after.substr(1);
    }
  } else {
    auto colon = u.authority.rfind(':');
    u.host = u.authority.substr(0, colon);
    if (colon != std::string::npos) port = std::string_view(u.authority).substr(colon + 1);
  }
  if (u.host.empty()) return bad("bad host");
  u.port = u.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535) {
      return bad("bad port");
    }
    u.port = static_cast<std::uint16_t>(value);
  }
  u.target =
      target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  return u;
}

Result<Url> Url::resolve(std::string_view location) const {
  if (location.find("://") != std::string_view::npos) return parse(location);
  if (location.starts_with("//")) return parse(scheme + ":" + std::string(location));
  Url u = *this;
  if (location.starts_with("/")) {
    u.target = location;
  } else {
    std::string path = target.substr(0, target.find('?'));
    u.target = path.substr(0, path.rfind('/') + 1) + std::string(location);
  }
  return u;
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

std::string HttpResponse::header(const std::string& name) const { return head.get(name, ""); }

std::vector<std::string> HttpResponse::headers(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : head) {
    if (iequals(k, name)) out.push_back(v);
  }
  return out;
}

std::string HttpResponse::content_type() const {
  std::string ct = header("Content-Type");
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && std::isspace(static_cast<unsigned char>(ct.back()))) ct.pop_back();
  return lower(ct);
}

Result<std::string> HttpResponse::read_body(std::size_t limit) {
  std::string out;
  if (body == nullptr) return out;
  try {
    char buf[16384];
    while (true) {
      body->read(buf, sizeof buf);
      auto n = static_cast<std::size_t>(body->gcount());
      if (n == 0) break;
      if (out.size() + n > limit) {
        return make_error(
            Errc::invalid_argument,
            "response from " + url.str() + " is larger than " + std::to_string(limit) + " bytes");
      }
      out.append(buf, n);
    }
  } catch (const std::exception& e) {
    return make_error(Errc::unavailable,
                      "read response from " + url.str() + ": " + describe_exception(e));
  }
  return out;
}

std::string HttpResponse::error_text() {
  std::string fallback =
      "received unexpected HTTP status: " + std::to_string(status) + " " + reason;
  auto text = read_body(64 << 10);
  if (!text || text.value().empty()) return fallback;
  std::error_code ec;
  json::value v = json::parse(text.value(), ec);
  if (!ec && v.is_object()) {
    const auto& o = v.get_object();
    std::string out;
    if (const auto* errors = o.if_contains("errors"); errors != nullptr && errors->is_array()) {
      for (const auto& e : errors->get_array()) {
        if (!e.is_object()) continue;
        std::string code, message;
        if (const auto* c = e.get_object().if_contains("code"); c != nullptr && c->is_string()) {
          code = lower(std::string(c->get_string()));
          std::replace(code.begin(), code.end(), '_', ' ');
        }
        if (const auto* m = e.get_object().if_contains("message"); m != nullptr && m->is_string()) {
          message = m->get_string();
        }
        if (!out.empty()) out += "; ";
        out += code.empty() ? message : message.empty() ? code : code + ": " + message;
      }
    }
    for (const char* key : {"details", "detail", "message", "error"}) {
      if (!out.empty()) break;
      if (const auto* d = o.if_contains(key); d != nullptr && d->is_string()) out = d->get_string();
    }
    if (!out.empty()) return out;
  }
  std::string t = text.value().substr(0, 200);
  bool printable = std::all_of(t.begin(), t.end(), [](unsigned char c) {
    return c == '\n' || c == '\t' || (c >= 32 && c < 127);
  });
  if (!printable) return fallback;
  std::replace(t.begin(), t.end(), '\n', ' ');
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  return t.empty() ? fallback : fallback + ": " + t;
}

Result<Poco::Net::Context::Ptr> Transport::context(const Url& url, bool verify) {
  std::string key = (verify ? "v|" : "n|") + url.authority;
  std::lock_guard lock(mutex_);
  if (auto it = contexts_.find(key); it != contexts_.end()) return it->second;
  Poco::Net::Context::Ptr ctx;
  try {
    Poco::Net::Context::Params p;
    p.verificationMode =
        verify ? Poco::Net::Context::VERIFY_STRICT : Poco::Net::Context::VERIFY_NONE;
    p.loadDefaultCAs = verify;
    ctx = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, p);
    ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  } catch (const std::exception& e) {
    return make_error(Errc::internal,
                      "create TLS context for " + url.authority + ": " + describe_exception(e));
  }
  // Docker's certs.d convention: *.crt are CAs, X.cert with X.key a client
  // certificate.
  std::error_code ec;
  fs::path dir = fs::path(config_.certs_dir) / url.authority;
  if (!config_.certs_dir.empty() && fs::is_directory(dir, ec)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    SSL_CTX* ssl = ctx->sslContext();
    for (const auto& f : files) {
      if (f.extension() == ".crt" && verify) {
        if (SSL_CTX_load_verify_locations(ssl, f.c_str(), nullptr) != 1) {
          return make_error(Errc::invalid_argument,
                            "load CA certificate " + f.string() + ": " + openssl_error());
        }
      } else if (f.extension() == ".cert") {
        fs::path key_file = fs::path(f).replace_extension(".key");
        if (!fs::exists(key_file, ec)) {
          return make_error(Errc::invalid_argument, "client certificate " + f.string() +
                                                        " has no key " + key_file.string());
        }
        if (SSL_CTX_use_certificate_chain_file(ssl, f.c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(ssl, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
          return make_error(Errc::invalid_argument,
                            "load client certificate " + f.string() + ": " + openssl_error());
        }
      }
    }
  }
  contexts_.emplace(key, ctx);
  return ctx;
}

namespace {
// Drops the connection; a session that never connected has nothing to drop
// (and Poco throws for it).
void abort_session(Poco::Net::HTTPClientSession* s) {
  if (s == nullptr) return;
  try {
    s->abort();
  } catch (const std::exception&) {
  }
}
}  // namespace

Result<std::unique_ptr<HttpResponse>> Transport::send(const HttpRequest& r,
                                                      const std::string& authorization) {
  auto resp = std::make_unique<HttpResponse>();
  resp->url = r.url;
  std::string what = r.method + " " + r.url.str();
  try {
    if (r.url.scheme == "https") {
      BERTH_TRY(auto ctx, context(r.url, r.verify_tls));
      resp->session = std::make_unique<Poco::Net::HTTPSClientSession>(r.url.host, r.url.port, ctx);
    } else {
      resp->session = std::make_unique<Poco::Net::HTTPClientSession>(r.url.host, r.url.port);
    }
    Poco::Timespan timeout(static_cast<long>(r.timeout.value_or(config_.timeout).count()), 0);
    resp->session->setTimeout(timeout, timeout, timeout);
    resp->session->setKeepAlive(false);

    Poco::Net::HTTPRequest req(r.method, r.url.target, Poco::Net::HTTPMessage::HTTP_1_1);
    req.set("Host", r.url.authority);
    req.set("User-Agent", config_.user_agent);
    for (const auto& [k, v] : r.headers) req.add(k, v);
    if (!authorization.empty()) req.set("Authorization", authorization);
    if (!r.content_type.empty()) req.setContentType(r.content_type);
    if (r.body) {
      req.setContentLength64(static_cast<Poco::Int64>(r.body->size()));
    } else if (r.writer) {
      req.setContentLength64(r.content_length);
    } else if (r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
      req.setContentLength64(0);
    }
    std::ostream& os = resp->session->sendRequest(req);
    os.exceptions(std::ios::badbit);
    if (r.body) {
      os.write(r.body->data(), static_cast<std::streamsize>(r.body->size()));
    } else if (r.writer) {
      if (auto w = r.writer(os); !w) {
        abort_session(resp->session.get());
        return std::move(w).error();
      }
    }
    os.flush();
    std::istream& is = resp->session->receiveResponse(resp->head);
    is.exceptions(std::ios::badbit);
    resp->body = &is;
    resp->status = static_cast<int>(resp->head.getStatus());
    resp->reason = resp->head.getReason();
  } catch (const std::exception& e) {
    abort_session(resp->session.get());
    return make_error(Errc::unavailable, what + ": " + describe_exception(e));
  }
  return resp;
}

}  // namespace berth::core::registry::detail
