#include "berth/core/registry/client.hpp"

#include "base64.hpp"
#include "berth/core/image/digest.hpp"
#include "berth/core/log.hpp"
#include "http.hpp"

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>

namespace berth::core::registry {

using detail::HttpRequest;
using detail::HttpResponse;
using detail::Url;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxManifestBytes = 4u << 20;  // Docker's limit too
constexpr std::size_t kMaxTokenBytes = 1u << 20;
constexpr int kMaxRedirects = 10;
constexpr std::size_t kBufferSize = 128u << 10;
constexpr int kInsecureProbeSeconds = 10;
constexpr std::size_t kMaxTokenKeys = 256;

const std::string& manifest_accept() {
  static const std::string accept = std::string(media_type::kOciIndex) + ", " +
                                    std::string(media_type::kDockerManifestList) + ", " +
                                    std::string(media_type::kOciManifest) + ", " +
                                    std::string(media_type::kDockerManifest);
  return accept;
}

// Docker Hub's API lives on registry-1.docker.io, not on the name images use.
std::string api_host(std::string_view domain) {
  if (domain == image::kDefaultDomain || domain == "index.docker.io") return "registry-1.docker.io";
  return std::string(domain);
}

std::string pull_scope(const image::Reference& ref) { return "repository:" + ref.path + ":pull"; }
std::string push_scope(const image::Reference& ref) {
  return "repository:" + ref.path + ":pull,push";
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

Errc errc_for_status(int status) {
  if (status == 401 || status == 403) return Errc::permission_denied;
  if (status == 404) return Errc::not_found;
  if (status == 405) return Errc::unsupported;
  if (status == 409) return Errc::conflict;
  if (status == 429 || status >= 500) return Errc::unavailable;
  if (status >= 400) return Errc::invalid_argument;
  return Errc::unavailable;  // an unexpected 1xx-3xx
}

Error status_error(HttpResponse& resp) {
  return make_error(errc_for_status(resp.status), resp.error_text());
}

// A blob or manifest digest the client can verify.
Result<void> check_digest(std::string_view digest) {
  if (image::is_sha256_digest(digest)) return ok();
  if (digest.find(':') != std::string_view::npos && !digest.starts_with("sha256:")) {
    return make_error(Errc::unsupported,
                      "unsupported digest algorithm in \"" + std::string(digest) + "\"");
  }
  return make_error(Errc::invalid_argument, "invalid digest \"" + std::string(digest) + "\"");
}

// --- addresses ---------------------------------------------------------

struct IpAddr {
  int family = AF_INET;
  std::array<unsigned char, 16> bytes{};
  std::size_t len() const { return family == AF_INET ? 4 : 16; }
};

std::optional<IpAddr> parse_ip(const std::string& text) {
  IpAddr a;
  if (::inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) return a;
  a.family = AF_INET6;
  if (::inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

bool in_prefix(const IpAddr& net, unsigned prefix, const IpAddr& ip) {
  if (net.family != ip.family || prefix > net.len() * 8) return false;
  for (std::size_t i = 0; i < net.len() && prefix > 0; ++i) {
    unsigned bits = std::min(prefix, 8u);
    auto mask = static_cast<unsigned char>(0xff << (8 - bits));
    if ((net.bytes[i] & mask) != (ip.bytes[i] & mask)) return false;
    prefix -= bits;
  }
  return true;
}

bool is_loopback(const IpAddr& ip) {
  if (ip.family == AF_INET) return ip.bytes[0] == 127;
  static const std::array<unsigned char, 16> v6_loopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                         0, 0, 0, 0, 0, 0, 0, 1};
  if (ip.bytes == v6_loopback) return true;
  // ::ffff:127.x.x.x
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(ip.bytes.data(), mapped, 12) == 0 && ip.bytes[12] == 127;
}

std::vector<IpAddr> resolve(const std::string& host) {
  std::vector<IpAddr> out;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
    IpAddr a;
    a.family = p->ai_family;
    if (p->ai_family == AF_INET) {
      std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr, 4);
    } else if (p->ai_family == AF_INET6) {
      std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    out.push_back(a);
  }
  ::freeaddrinfo(res);
  return out;
}

// "host:port" / "[v6]:port" / "host" -> host without brackets and port.
std::string strip_port(std::string_view authority) {
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    return std::string(
        authority.substr(1, close == std::string_view::npos ? authority.npos : close - 1));
  }
  auto colon = authority.find(':');
  if (colon != std::string_view::npos && authority.find(':', colon + 1) == std::string_view::npos) {
    return std::string(authority.substr(0, colon));
  }
  return std::string(authority);
}

// --- scopes ------------------------------------------------------------

// "repository:library/busybox:pull,push" -> {"repository:library/busybox": {pull, push}}
using ScopeSet = std::map<std::string, std::set<std::string>>;

ScopeSet scope_set(const std::vector<std::string>& scopes) {
  ScopeSet out;
  for (const auto& s : scopes) {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) {
      out[s];
      continue;
    }
    auto& actions = out[s.substr(0, colon)];
    std::string_view list = std::string_view(s).substr(colon + 1);
    for (;;) {
      auto comma = list.find(',');
      if (!list.substr(0, comma).empty()) actions.emplace(list.substr(0, comma));
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return out;
}

bool covers(const ScopeSet& have, const ScopeSet& want) {
  for (const auto& [resource, actions] : want) {
    auto it = have.find(resource);
    if (it == have.end()) return false;
    if (!std::includes(it->second.begin(), it->second.end(), actions.begin(), actions.end()))
      return false;
  }
  return true;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string basic_auth(const Credentials& c) {
  return "Basic " + base64_encode(c.username + ":" + c.password);
}

bool has_login(const Credentials* c) {
  return c != nullptr && (!c->username.empty() || !c->identity_token.empty());
}

// Tokens must not leak between users: the cache key carries the
// credentials' identity (never the secret itself).
std::string credential_id(const Credentials* c) {
  if (c == nullptr) return "-";
  return c->username + "\n" + image::sha256_digest(c->password + '\0' + c->identity_token);
}

void add_query(Url& url, const std::string& query) {
  url.target += (url.target.find('?') == std::string::npos ? "?" : "&") + query;
}

std::string normalize_login_host(std::string_view s) {
  if (auto p = s.find("://"); p != std::string_view::npos) s.remove_prefix(p + 3);
  s = s.substr(0, s.find('/'));
  if (s.empty() || s == "index.docker.io" || s == "registry-1.docker.io" || s == "docker.io") {
    return std::string(image::kDefaultDomain);
  }
  return std::string(s);
}

}  // namespace

struct RegistryClient::Impl {
  explicit Impl(RegistryConfig c) : config(std::move(c)), transport(config) {}

  struct HostState {
    Url base;  // scheme://authority/
    bool verify_tls = true;
    std::vector<Challenge> challenges;
  };
  struct Token {
    ScopeSet scopes;
    std::string value;
    Clock::time_point expires;
  };
  struct TokenAnswer {
    std::string token, refresh_token;
    std::chrono::seconds expires_in{60};
  };
  // What an operation talks to and as whom.
  struct Call {
    std::string host;  // API host (registry-1.docker.io for docker.io)
    std::vector<std::string> scopes;
    const Credentials* creds = nullptr;
  };

  RegistryConfig config;
  detail::Transport transport;
  std::mutex mutex;
  std::map<std::string, HostState> hosts;
  std::map<std::string, bool> insecure_cache;
  std::map<std::string, std::vector<Token>> tokens;  // by host/service/credentials

  bool is_insecure(const std::string& authority) {
    {
      std::lock_guard lock(mutex);
      if (auto it = insecure_cache.find(authority); it != insecure_cache.end()) return it->second;
    }
    bool insecure = compute_insecure(authority);
    std::lock_guard lock(mutex);
    insecure_cache[authority] = insecure;
    return insecure;
  }

  bool compute_insecure(const std::string& authority) const {
    std::string host = strip_port(authority);
    std::vector<std::pair<IpAddr, unsigned>> cidrs;
    for (const auto& entry : config.insecure_registries) {
      if (entry == authority || entry == host) return true;
      auto slash = entry.find('/');
      if (slash == std::string::npos) continue;
      auto net = parse_ip(entry.substr(0, slash));
      if (!net) continue;
      unsigned prefix = 0;
      try {
        prefix = static_cast<unsigned>(std::stoul(entry.substr(slash + 1)));
      } catch (const std::exception&) {
        continue;
      }
      cidrs.emplace_back(*net, prefix);
    }
    if (config.loopback_is_insecure && host == "localhost") return true;
    if (cidrs.empty() && !config.loopback_is_insecure) return false;
    std::vector<IpAddr> addrs;
    if (auto ip = parse_ip(host)) {
      addrs.push_back(*ip);
    } else {
      addrs = resolve(host);
    }
    for (const auto& a : addrs) {
      if (config.loopback_is_insecure && is_loopback(a)) return true;
      for (const auto& [net, prefix] : cidrs) {
        if (in_prefix(net, prefix, a)) return true;
      }
    }
    return false;
  }

  // The scheme that works for `host` and its auth challenge, from a ping of
  // /v2/ the first time.
  Result<HostState> host_state(const std::string& host) {
    {
      std::lock_guard lock(mutex);
      if (auto it = hosts.find(host); it != hosts.end()) return it->second;
    }
    std::vector<std::pair<std::string, bool>> attempts;
    if (is_insecure(host)) {
      attempts = {{"https", false}, {"http", false}};
    } else {
      attempts = {{"https", true}};
    }
    Error last = make_error(Errc::unavailable, "no endpoint");
    for (const auto& [scheme, verify] : attempts) {
      BERTH_TRY(auto url, Url::parse(scheme + "://" + host + "/v2/"));
      HttpRequest req;
      req.url = url;
      req.verify_tls = verify;
      // A plain-HTTP server may sit on a TLS hello waiting for a request
      // line; cap the probe like Docker's TLS handshake timeout.
      if (attempts.size() > 1 && scheme == "https") {
        req.timeout = std::min(config.timeout, std::chrono::seconds(kInsecureProbeSeconds));
      }
      auto resp = transport.send(req);
      if (!resp) {
        last = std::move(resp).error();
        continue;
      }
      HostState st;
      st.base = url;
      st.base.target = "/";
      st.verify_tls = verify;
      if (resp.value()->status == 401) {
        st.challenges =
            host_challenges(parse_challenges(resp.value()->headers("WWW-Authenticate")));
      }
      std::lock_guard lock(mutex);
      return hosts.insert_or_assign(host, st).first->second;
    }
    return last;
  }

  // A host's challenges without what belongs to one request (the scope it
  // lacked, the error).
  static std::vector<Challenge> host_challenges(std::vector<Challenge> challenges) {
    for (auto& c : challenges) {
      c.params.erase("scope");
      c.params.erase("error");
      c.params.erase("error_description");
    }
    return challenges;
  }

  void set_challenges(const std::string& host, std::vector<Challenge> challenges, HostState& st) {
    std::lock_guard lock(mutex);
    st.challenges = host_challenges(std::move(challenges));
    if (auto it = hosts.find(host); it != hosts.end()) it->second.challenges = st.challenges;
  }

  // The scopes a 401 names (a space-separated list) added to ours: a
  // registry may want more than we thought (e.g. pull on a mount's source).
  static Call with_challenge_scopes(Call call, const std::vector<Challenge>& challenges) {
    for (const auto& c : challenges) {
      std::string_view list = c.param("scope");
      while (!list.empty()) {
        auto sp = list.find(' ');
        std::string one(list.substr(0, sp));
        if (!one.empty() &&
            std::find(call.scopes.begin(), call.scopes.end(), one) == call.scopes.end()) {
          call.scopes.push_back(std::move(one));
        }
        list = sp == std::string_view::npos ? std::string_view() : list.substr(sp + 1);
      }
    }
    return call;
  }

  Result<TokenAnswer> fetch_token(const Challenge& ch, const std::vector<std::string>& scopes,
                                  const Credentials* creds, bool login) {
    const std::string& realm = ch.param("realm");
    if (realm.empty())
      return make_error(Errc::invalid_argument, "bearer challenge without a realm");
    BERTH_TRY(auto url, Url::parse(realm));
    HttpRequest req;
    req.verify_tls = !is_insecure(url.authority);
    std::string auth;
    const std::string& service = ch.param("service");
    if (creds != nullptr && !creds->identity_token.empty()) {
      // OAuth2 refresh-token grant, as Docker does with an identity token.
      req.method = "POST";
      req.content_type = "application/x-www-form-urlencoded";
      std::string form =
          "grant_type=refresh_token&refresh_token=" + detail::url_encode(creds->identity_token) +
          "&client_id=berth&service=" + detail::url_encode(service);
      if (!scopes.empty()) form += "&scope=" + detail::url_encode(join(scopes, " "));
      if (login) form += "&access_type=offline";
      req.body = std::move(form);
    } else {
      std::string query = "service=" + detail::url_encode(service);
      for (const auto& s : scopes) query += "&scope=" + detail::url_encode(s);
      if (login && creds != nullptr) {
        query += "&account=" + detail::url_encode(creds->username) +
                 "&offline_token=true&client_id=berth";
      }
      add_query(url, query);
      if (creds != nullptr && !creds->username.empty()) auth = basic_auth(*creds);
    }
    req.url = url;
    auto fail = [&](Error e) { return std::move(e).wrap("fetch token from " + realm); };
    auto resp = transport.send(req, auth);
    if (!resp) return fail(std::move(resp).error());
    HttpResponse& r = *resp.value();
    if (r.status == 401 || r.status == 403) {
      if (has_login(creds)) {
        return make_error(Errc::permission_denied, "unauthorized: incorrect username or password");
      }
      return make_error(Errc::permission_denied, "unauthorized: " + r.error_text());
    }
    if (r.status != 200) return fail(status_error(r));
    auto body = r.read_body(kMaxTokenBytes);
    if (!body) return fail(std::move(body).error());
    std::error_code ec;
    json::value v = json::parse(body.value(), ec);
    if (ec || !v.is_object())
      return fail(make_error(Errc::invalid_argument, "malformed token response"));
    const auto& o = v.get_object();
    TokenAnswer t;
    for (const char* key : {"token", "access_token"}) {
      if (const auto* tv = o.if_contains(key);
          tv != nullptr && tv->is_string() && !tv->get_string().empty()) {
        t.token = tv->get_string();
        break;
      }
    }
    if (t.token.empty())
      return fail(make_error(Errc::invalid_argument, "token response without a token"));
    if (const auto* e = o.if_contains("expires_in"); e != nullptr && e->is_number()) {
      std::error_code conv;
      auto secs = e->to_number<std::int64_t>(conv);
      // The token spec's floor: a token lives at least 60 seconds.
      if (!conv && secs > 60) t.expires_in = std::chrono::seconds(secs);
    }
    if (const auto* rt = o.if_contains("refresh_token"); rt != nullptr && rt->is_string()) {
      t.refresh_token = rt->get_string();
    }
    return t;
  }

  Result<std::string> bearer_token(const std::string& host, const Challenge& ch,
                                   const std::vector<std::string>& scopes, const Credentials* creds,
                                   bool refresh) {
    std::string key =
        host + "\n" + ch.param("realm") + "\n" + ch.param("service") + "\n" + credential_id(creds);
    ScopeSet want = scope_set(scopes);
    if (!refresh) {
      std::lock_guard lock(mutex);
      auto now = Clock::now();
      for (const auto& t : tokens[key]) {
        if (t.expires > now && covers(t.scopes, want)) return t.value;
      }
    }
    BERTH_TRY(auto answer, fetch_token(ch, scopes, creds, false));
    auto lifetime = answer.expires_in - std::max(std::chrono::seconds(5), answer.expires_in / 10);
    std::lock_guard lock(mutex);
    auto now = Clock::now();
    if (tokens.size() > kMaxTokenKeys) {
      // Credentials seen once (a CI job's login) must not pile up forever.
      std::erase_if(tokens, [&](const auto& kv) {
        return std::all_of(kv.second.begin(), kv.second.end(),
                           [&](const Token& t) { return t.expires <= now; });
      });
    }
    auto& list = tokens[key];
    std::erase_if(list, [&](const Token& t) { return t.expires <= now || t.scopes == want; });
    list.push_back(Token{want, answer.token, now + lifetime});
    return answer.token;
  }

  Result<std::string> authorization(const Call& call, const HostState& st, bool refresh) {
    if (call.creds != nullptr && !call.creds->registry_token.empty()) {
      return "Bearer " + call.creds->registry_token;
    }
    const Challenge* bearer = nullptr;
    const Challenge* basic = nullptr;
    for (const auto& c : st.challenges) {
      if (c.scheme == "bearer" && bearer == nullptr) bearer = &c;
      if (c.scheme == "basic" && basic == nullptr) basic = &c;
    }
    if (bearer != nullptr) {
      BERTH_TRY(auto token, bearer_token(call.host, *bearer, call.scopes, call.creds, refresh));
      return "Bearer " + token;
    }
    if (basic != nullptr && call.creds != nullptr && !call.creds->username.empty()) {
      return basic_auth(*call.creds);
    }
    return std::string();
  }

  // Sends `req` to the registry of `call`: a request whose URL has no
  // authority goes to the registry's base URL. Authorizes, retries once
  // after a 401 (new challenge or expired token), and follows redirects of
  // GET and HEAD, keeping credentials to the registry's own host.
  Result<std::unique_ptr<HttpResponse>> request(const Call& call, HttpRequest req) {
    BERTH_TRY(auto st, host_state(call.host));
    if (req.url.authority.empty()) {
      std::string target = std::move(req.url.target);
      req.url = st.base;
      req.url.target = std::move(target);
    }
    BERTH_TRY(auto auth, authorization(call, st, false));
    bool retried = false;
    int redirects = 0;
    for (;;) {
      bool to_registry = req.url.authority == st.base.authority;
      req.verify_tls = to_registry ? st.verify_tls : !is_insecure(req.url.authority);
      BERTH_TRY(auto resp, transport.send(req, to_registry ? auth : std::string()));
      if (resp->status == 401 && to_registry && !retried && req.replayable()) {
        retried = true;
        auto challenges = parse_challenges(resp->headers("WWW-Authenticate"));
        Call retry = with_challenge_scopes(call, challenges);
        if (!challenges.empty()) set_challenges(call.host, std::move(challenges), st);
        BERTH_TRY(auto next, authorization(retry, st, true));
        if (next.empty()) return resp;
        auth = std::move(next);
        continue;
      }
      if (is_redirect(resp->status) && (req.method == "GET" || req.method == "HEAD")) {
        std::string location = resp->header("Location");
        if (location.empty() || ++redirects > kMaxRedirects) return resp;
        BERTH_TRY(req.url, req.url.resolve(location));
        continue;
      }
      return resp;
    }
  }

  // One GET of /v2/<path>/manifests/<what>: media type, bytes, digest.
  struct RawManifest {
    std::string media_type, bytes, digest;
  };

  Result<RawManifest> get_manifest(const Call& call, const image::Reference& ref,
                                   const std::string& what) {
    HttpRequest req;
    req.url.target = "/v2/" + ref.path + "/manifests/" + what;
    req.headers.emplace_back("Accept", manifest_accept());
    auto denied = [&](const std::string& why) {
      return make_error(Errc::permission_denied,
                        "pull access denied for " + ref.familiar_name() +
                            ", repository does not exist or may require 'docker login': " + why);
    };
    auto sent = request(call, std::move(req));
    if (!sent) {
      // The token server said no: the same answer as a 401 from the registry.
      if (sent.error().code == Errc::permission_denied) return denied(sent.error().message);
      return std::move(sent).error();
    }
    auto resp = std::move(sent).value();
    if (resp->status == 404) {
      return make_error(Errc::not_found,
                        "manifest for " + ref.familiar() + " not found: " + resp->error_text());
    }
    if (resp->status == 401 || resp->status == 403) return denied(resp->error_text());
    if (resp->status != 200) return status_error(*resp);
    RawManifest m;
    BERTH_TRY(m.bytes, resp->read_body(kMaxManifestBytes));
    m.digest = image::sha256_digest(m.bytes);
    m.media_type = resp->content_type();
    if (!media_type::is_image_manifest(m.media_type) && !media_type::is_index(m.media_type) &&
        !media_type::is_schema1(m.media_type)) {
      // Registries that serve application/json: the body says what it is.
      std::error_code ec;
      json::value v = json::parse(m.bytes, ec);
      if (!ec && v.is_object()) {
        const auto& o = v.get_object();
        if (const auto* mt = o.if_contains("mediaType");
            mt != nullptr && mt->is_string() && !mt->get_string().empty()) {
          m.media_type = mt->get_string();
        } else if (const auto* sv = o.if_contains("schemaVersion");
                   sv != nullptr && sv->is_number() && sv->to_number<double>() == 1.0) {
          m.media_type = media_type::kDockerSchema1;
        } else if (o.contains("manifests")) {
          m.media_type = media_type::kOciIndex;
        } else if (o.contains("config")) {
          m.media_type = media_type::kOciManifest;
        }
      }
    }
    return m;
  }

  Result<Manifest> fetch_manifest(const image::Reference& ref, const Platform& platform,
                                  const Credentials* creds) {
    if (!ref.digest.empty()) {
      BERTH_TRY(check_digest(ref.digest));
    }
    const std::string& what = ref.tag_or_digest();
    if (what.empty())
      return make_error(Errc::invalid_argument,
                        "reference " + ref.familiar() + " has neither tag nor digest");
    Call call{api_host(ref.domain), {pull_scope(ref)}, creds};
    BERTH_TRY(auto first, get_manifest(call, ref, what));
    if (!ref.digest.empty() && first.digest != ref.digest) {
      return make_error(Errc::invalid_argument,
                        "manifest verification failed for digest " + ref.digest);
    }
    if (!media_type::is_index(first.media_type)) {
      BERTH_TRY(auto m, parse_manifest(first.bytes, first.media_type));
      m.bytes = std::move(first.bytes);
      m.digest = std::move(first.digest);
      return m;
    }
    BERTH_TRY(auto entries, parse_index(first.bytes));
    const Descriptor* pick = select_platform(entries, platform);
    if (pick == nullptr) {
      return make_error(Errc::not_found, "no matching manifest for " +
                                             normalize_platform(platform).str() +
                                             " in the manifest list entries");
    }
    BERTH_TRY(auto second, get_manifest(call, ref, pick->digest));
    if (second.digest != pick->digest) {
      return make_error(Errc::invalid_argument,
                        "manifest verification failed for digest " + pick->digest);
    }
    if (media_type::is_index(second.media_type)) {
      return make_error(Errc::unsupported,
                        "manifest list entry " + pick->digest + " is itself a manifest list");
    }
    BERTH_TRY(auto m, parse_manifest(second.bytes, second.media_type));
    m.bytes = std::move(second.bytes);
    m.digest = std::move(second.digest);
    m.index_digest = std::move(first.digest);
    m.index_media_type = std::move(first.media_type);
    m.index_bytes = std::move(first.bytes);
    return m;
  }

  Result<void> fetch_blob(const image::Reference& repo, const Descriptor& blob,
                          const Credentials* creds, const BlobSink& sink,
                          const Progress& progress) {
    BERTH_TRY(check_digest(blob.digest));
    Call call{api_host(repo.domain), {pull_scope(repo)}, creds};
    HttpRequest req;
    req.url.target = "/v2/" + repo.path + "/blobs/" + blob.digest;
    BERTH_TRY(auto resp, request(call, std::move(req)));
    if (resp->status != 200) {
      Error e = status_error(*resp);
      if (resp->status == 401 || resp->status == 403) {
        e.message = "pull access denied for " + repo.familiar_name() + ": " + e.message;
      }
      return e;
    }
    if (resp->head.hasContentLength() && resp->head.getContentLength64() != blob.size) {
      return make_error(Errc::invalid_argument,
                        "size mismatch: registry sends " +
                            std::to_string(resp->head.getContentLength64()) +
                            " bytes, descriptor says " + std::to_string(blob.size));
    }
    image::Sha256 hash;
    std::int64_t done = 0;
    std::vector<char> buf(kBufferSize);
    std::streambuf* in = resp->body->rdbuf();
    try {
      // Straight from the stream buffer, one network read at a time: an
      // istream::read would block for a full buffer and drop what it had
      // when the connection breaks.
      for (;;) {
        if (in->sgetc() == std::char_traits<char>::eof()) break;
        std::size_t n = 0;
        for (std::streamsize avail = in->in_avail(); avail > 0 && n < buf.size();
             avail = in->in_avail()) {
          auto want = std::min(static_cast<std::size_t>(avail), buf.size() - n);
          n += static_cast<std::size_t>(
              in->sgetn(buf.data() + n, static_cast<std::streamsize>(want)));
        }
        if (n == 0) break;
        if (done + static_cast<std::int64_t>(n) > blob.size) {
          return make_error(Errc::invalid_argument, "size mismatch: more than the descriptor's " +
                                                        std::to_string(blob.size) + " bytes");
        }
        hash.update(buf.data(), n);
        if (auto r = sink(buf.data(), n); !r) return std::move(r).error();
        done += static_cast<std::int64_t>(n);
        if (progress) progress(done, blob.size);
      }
    } catch (const std::exception& e) {
      return make_error(Errc::unavailable, "unexpected end of blob after " + std::to_string(done) +
                                               " of " + std::to_string(blob.size) +
                                               " bytes: " + detail::describe_exception(e));
    }
    if (done < blob.size) {
      return make_error(Errc::unavailable, "unexpected end of blob after " + std::to_string(done) +
                                               " of " + std::to_string(blob.size) + " bytes");
    }
    std::string got = hash.finish();
    if (got != blob.digest)
      return make_error(Errc::invalid_argument, "digest mismatch: content hashes to " + got);
    return ok();
  }

  Result<bool> blob_exists(const image::Reference& repo, const std::string& digest,
                           const Credentials* creds) {
    BERTH_TRY(check_digest(digest));
    Call call{api_host(repo.domain), {pull_scope(repo)}, creds};
    HttpRequest req;
    req.method = "HEAD";
    req.url.target = "/v2/" + repo.path + "/blobs/" + digest;
    BERTH_TRY(auto resp, request(call, std::move(req)));
    if (resp->status == 200) return true;
    if (resp->status == 404) return false;
    return status_error(*resp);
  }

  void cancel_upload(const Call& call, const Url& location) {
    HttpRequest req;
    req.method = "DELETE";
    req.url = location;
    if (auto r = request(call, std::move(req)); !r) {
      logger("registry")->debug("cancel upload {}: {}", location.str(), r.error().message);
    }
  }

  Result<Url> upload_location(HttpResponse& resp) {
    std::string location = resp.header("Location");
    if (location.empty())
      return make_error(Errc::invalid_argument, "registry answered without a Location");
    return resp.url.resolve(location);
  }

  Result<bool> mount_blob(const image::Reference& to, const std::string& from,
                          const std::string& digest, const Credentials* creds) {
    BERTH_TRY(check_digest(digest));
    if (!image::is_valid_repository_path(from)) {
      return make_error(Errc::invalid_argument, "invalid repository \"" + from + "\"");
    }
    Call call{api_host(to.domain), {push_scope(to), "repository:" + from + ":pull"}, creds};
    HttpRequest req;
    req.method = "POST";
    req.url.target = "/v2/" + to.path + "/blobs/uploads/?mount=" + detail::url_encode(digest) +
                     "&from=" + detail::url_encode(from);
    BERTH_TRY(auto resp, request(call, std::move(req)));
    if (resp->status == 201) return true;
    if (resp->status == 202) {
      auto loc = upload_location(*resp);
      if (loc) cancel_upload(call, loc.value());
      return false;
    }
    return status_error(*resp);
  }

  Result<void> push_blob(const image::Reference& repo, const Descriptor& blob,
                         const Credentials* creds, const BlobSource& source,
                         const Progress& progress) {
    BERTH_TRY(check_digest(blob.digest));
    if (blob.size < 0) return make_error(Errc::invalid_argument, "negative size");
    Call call{api_host(repo.domain), {push_scope(repo)}, creds};
    HttpRequest start;
    start.method = "POST";
    start.url.target = "/v2/" + repo.path + "/blobs/uploads/";
    BERTH_TRY(auto started, request(call, std::move(start)));
    if (started->status != 202) return status_error(*started);
    BERTH_TRY(auto location, upload_location(*started));

    image::Sha256 hash;
    std::int64_t done = 0;
    // Reads exactly `n` bytes from the source into `out`.
    auto read_exact =
        [&](std::int64_t n,
            const std::function<Result<void>(const char*, std::size_t)>& out) -> Result<void> {
      std::vector<char> buf(kBufferSize);
      while (n > 0) {
        std::size_t want = static_cast<std::size_t>(
            std::min<std::int64_t>(n, static_cast<std::int64_t>(buf.size())));
        auto got = source(buf.data(), want);
        if (!got) return std::move(got).error().wrap("read source");
        if (got.value() == 0) {
          return make_error(Errc::invalid_argument, "source ended after " + std::to_string(done) +
                                                        " of " + std::to_string(blob.size) +
                                                        " bytes");
        }
        std::size_t k = std::min(got.value(), want);
        hash.update(buf.data(), k);
        BERTH_TRY(out(buf.data(), k));
        n -= static_cast<std::int64_t>(k);
        done += static_cast<std::int64_t>(k);
      }
      return ok();
    };
    auto check_end = [&]() -> Result<void> {
      char extra = 0;
      auto got = source(&extra, 1);
      if (!got) return std::move(got).error().wrap("read source");
      if (got.value() != 0) {
        return make_error(Errc::invalid_argument,
                          "source has more than " + std::to_string(blob.size) + " bytes");
      }
      std::string digest = hash.finish();
      if (digest != blob.digest) {
        return make_error(Errc::invalid_argument, "digest mismatch: content hashes to " + digest);
      }
      return ok();
    };
    auto abandon = [&](Error e) {
      cancel_upload(call, location);
      return e;
    };

    if (static_cast<std::uint64_t>(blob.size) <= config.chunk_size) {
      // Small enough to hold: read and verify it before sending, so a bad
      // source never reaches the registry.
      std::string data;
      data.reserve(static_cast<std::size_t>(blob.size));
      if (auto r = read_exact(blob.size,
                              [&](const char* p, std::size_t n) -> Result<void> {
                                data.append(p, n);
                                return ok();
                              });
          !r) {
        return abandon(std::move(r).error());
      }
      if (auto r = check_end(); !r) return abandon(std::move(r).error());
      Url put = location;
      add_query(put, "digest=" + detail::url_encode(blob.digest));
      HttpRequest req;
      req.method = "PUT";
      req.url = put;
      req.content_type = "application/octet-stream";
      req.content_length = blob.size;
      req.writer = [&](std::ostream& os) -> Result<void> {
        std::int64_t sent = 0;
        for (std::size_t off = 0; off < data.size(); off += kBufferSize) {
          std::size_t n = std::min(kBufferSize, data.size() - off);
          os.write(data.data() + off, static_cast<std::streamsize>(n));
          sent += static_cast<std::int64_t>(n);
          if (progress) progress(sent, blob.size);
        }
        return ok();
      };
      BERTH_TRY(auto resp, request(call, std::move(req)));
      if (resp->status < 200 || resp->status > 299) return status_error(*resp);
      if (blob.size == 0 && progress) progress(0, 0);
      return ok();
    }

    while (done < blob.size) {
      std::int64_t n =
          std::min<std::int64_t>(static_cast<std::int64_t>(config.chunk_size), blob.size - done);
      HttpRequest req;
      req.method = "PATCH";
      req.url = location;
      req.content_type = "application/octet-stream";
      req.headers.emplace_back("Content-Range",
                               std::to_string(done) + "-" + std::to_string(done + n - 1));
      req.content_length = n;
      req.writer = [&](std::ostream& os) -> Result<void> {
        return read_exact(n, [&](const char* p, std::size_t k) -> Result<void> {
          os.write(p, static_cast<std::streamsize>(k));
          if (progress) progress(done + static_cast<std::int64_t>(k), blob.size);
          return ok();
        });
      };
      auto resp = request(call, std::move(req));
      if (!resp) return abandon(std::move(resp).error());
      if (resp.value()->status != 202 && resp.value()->status != 204) {
        return abandon(status_error(*resp.value()));
      }
      auto next = upload_location(*resp.value());
      if (!next) return abandon(std::move(next).error());
      location = std::move(next).value();
    }
    if (auto r = check_end(); !r) return abandon(std::move(r).error());
    Url put = location;
    add_query(put, "digest=" + detail::url_encode(blob.digest));
    HttpRequest req;
    req.method = "PUT";
    req.url = put;
    BERTH_TRY(auto resp, request(call, std::move(req)));
    if (resp->status < 200 || resp->status > 299) return status_error(*resp);
    return ok();
  }

  Result<std::string> push_manifest(const image::Reference& ref, const std::string& type,
                                    const std::string& bytes, const Credentials* creds) {
    std::string digest = image::sha256_digest(bytes);
    if (!ref.digest.empty()) {
      BERTH_TRY(check_digest(ref.digest));
      if (ref.digest != digest) {
        return make_error(Errc::invalid_argument,
                          "manifest hashes to " + digest + ", not " + ref.digest);
      }
    }
    const std::string& where = ref.tag.empty() ? ref.digest : ref.tag;
    if (where.empty())
      return make_error(Errc::invalid_argument, "reference has neither tag nor digest");
    Call call{api_host(ref.domain), {push_scope(ref)}, creds};
    HttpRequest req;
    req.method = "PUT";
    req.url.target = "/v2/" + ref.path + "/manifests/" + where;
    req.content_type = type;
    req.body = bytes;
    BERTH_TRY(auto resp, request(call, std::move(req)));
    if (resp->status < 200 || resp->status > 299) return status_error(*resp);
    std::string stored = resp->header("Docker-Content-Digest");
    if (!stored.empty() && stored.starts_with("sha256:") && stored != digest) {
      return make_error(Errc::invalid_argument,
                        "registry stored the manifest as " + stored + ", not " + digest);
    }
    return digest;
  }

  Result<std::string> login(const std::string& server, const Credentials& creds) {
    std::string domain = normalize_login_host(server);
    Call call{api_host(domain), {}, &creds};
    BERTH_TRY(auto st, host_state(call.host));
    // A fresh look at /v2/: the cached challenge may be stale, and login is
    // where the user learns about a registry that changed.
    HttpRequest ping;
    ping.url = st.base;
    ping.url.target = "/v2/";
    ping.verify_tls = st.verify_tls;
    BERTH_TRY(auto first, transport.send(ping));
    if (first->status == 200) return std::string();
    if (first->status != 401) return status_error(*first);
    auto challenges = parse_challenges(first->headers("WWW-Authenticate"));
    set_challenges(call.host, challenges, st);
    std::string auth, identity_token;
    auto bearer = std::find_if(challenges.begin(), challenges.end(),
                               [](const Challenge& c) { return c.scheme == "bearer"; });
    if (!creds.registry_token.empty()) {
      auth = "Bearer " + creds.registry_token;
    } else if (bearer != challenges.end()) {
      BERTH_TRY(auto answer, fetch_token(*bearer, {}, &creds, true));
      auth = "Bearer " + answer.token;
      identity_token = answer.refresh_token;
    } else if (!creds.username.empty()) {
      auth = basic_auth(creds);
    } else {
      return make_error(Errc::permission_denied, "unauthorized: " + first->error_text());
    }
    BERTH_TRY(auto second, transport.send(ping, auth));
    if (second->status == 401 || second->status == 403) {
      return make_error(Errc::permission_denied, "unauthorized: incorrect username or password");
    }
    if (second->status != 200) return status_error(*second);
    return identity_token;
  }
};

RegistryClient::RegistryClient(RegistryConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {}
RegistryClient::~RegistryClient() = default;

const RegistryConfig& RegistryClient::config() const { return impl_->config; }

bool RegistryClient::is_insecure(const std::string& host) const {
  return impl_->is_insecure(api_host(host));
}

Result<Manifest> RegistryClient::fetch_manifest(const image::Reference& ref,
                                                const Platform& platform,
                                                const Credentials* credentials) {
  auto m = impl_->fetch_manifest(ref, platform, credentials);
  // not_found and permission_denied already read like Docker's messages.
  if (!m && m.error().code != Errc::not_found && m.error().code != Errc::permission_denied) {
    return std::move(m).error().wrap("fetch manifest " + ref.familiar());
  }
  return m;
}

Result<void> RegistryClient::fetch_blob(const image::Reference& repo, const Descriptor& blob,
                                        const Credentials* credentials, const BlobSink& sink,
                                        const Progress& progress) {
  auto r = impl_->fetch_blob(repo, blob, credentials, sink, progress);
  if (!r) return std::move(r).error().wrap("blob " + blob.digest);
  return r;
}

Result<bool> RegistryClient::blob_exists(const image::Reference& repo, const std::string& digest,
                                         const Credentials* credentials) {
  auto r = impl_->blob_exists(repo, digest, credentials);
  if (!r) return std::move(r).error().wrap("check blob " + digest + " in " + repo.familiar_name());
  return r;
}

Result<bool> RegistryClient::mount_blob(const image::Reference& to,
                                        const std::string& from_repository,
                                        const std::string& digest, const Credentials* credentials) {
  auto r = impl_->mount_blob(to, from_repository, digest, credentials);
  if (!r) {
    return std::move(r).error().wrap("mount blob " + digest + " from " + from_repository +
                                     " into " + to.familiar_name());
  }
  return r;
}

Result<void> RegistryClient::push_blob(const image::Reference& repo, const Descriptor& blob,
                                       const Credentials* credentials, const BlobSource& source,
                                       const Progress& progress) {
  auto r = impl_->push_blob(repo, blob, credentials, source, progress);
  if (!r)
    return std::move(r).error().wrap("push blob " + blob.digest + " to " + repo.familiar_name());
  return r;
}

Result<std::string> RegistryClient::push_manifest(const image::Reference& ref,
                                                  const std::string& media_type,
                                                  const std::string& bytes,
                                                  const Credentials* credentials) {
  auto r = impl_->push_manifest(ref, media_type, bytes, credentials);
  if (!r) return std::move(r).error().wrap("push manifest " + ref.familiar());
  return r;
}

Result<std::string> RegistryClient::login(const std::string& registry_host,
                                          const Credentials& credentials) {
  auto r = impl_->login(registry_host, credentials);
  if (!r && r.error().code != Errc::permission_denied)
    return std::move(r).error().wrap("login to " + registry_host);
  return r;
}

std::string RegistryClient::endpoint_url(const std::string& registry_host) const {
  std::string host = api_host(normalize_login_host(registry_host));
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->hosts.find(host);
  if (it == impl_->hosts.end()) return "https://" + host + "/v2/";
  Url v2 = it->second.base;
  v2.target = "/v2/";
  return v2.str();
}

}  // namespace berth::core::registry
