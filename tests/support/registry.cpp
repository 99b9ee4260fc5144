#include "registry.hpp"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <boost/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace berth::testing {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr uid_t kNobody = 65534;

std::string base64url(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  for (auto& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string base64std(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

void check_run(const std::vector<std::string>& argv, const std::string& what) {
  auto r = run(argv);
  if (r.exit_code != 0) throw std::runtime_error(what + " failed: " + r.out + r.err);
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

pid_t spawn_logged(std::vector<std::string> argv, const std::string& log_path) {
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, null_fd, 0);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  std::vector<char*> c_argv;
  for (auto& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, c_argv[0], &actions, &attr, c_argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(log_fd);
  ::close(null_fd);
  if (rc != 0) throw std::runtime_error("spawn " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

bool reap(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || r < 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

// Any HTTP answer on /v2/ means the registry is serving.
bool answers(const std::string& scheme, std::uint16_t port) {
  try {
    std::unique_ptr<Poco::Net::HTTPClientSession> s;
    if (scheme == "https") {
      Poco::Net::Context::Params p;
      p.verificationMode = Poco::Net::Context::VERIFY_NONE;
      s = std::make_unique<Poco::Net::HTTPSClientSession>(
          "127.0.0.1", port, new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, p));
    } else {
      s = std::make_unique<Poco::Net::HTTPClientSession>("127.0.0.1", port);
    }
    s->setTimeout(Poco::Timespan(2, 0));
    Poco::Net::HTTPRequest req("GET", "/v2/", Poco::Net::HTTPMessage::HTTP_1_1);
    s->sendRequest(req);
    Poco::Net::HTTPResponse resp;
    s->receiveResponse(resp);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// skopeo runs as nobody: it must reach and read what the test made.
void share_with_nobody(const fs::path& path) {
  std::error_code ec;
  for (fs::path p = path; p.has_parent_path() && p != p.parent_path(); p = p.parent_path()) {
    if (p.filename().string().starts_with("berth-test-")) {
      fs::permissions(p, fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add, ec);
    }
  }
  if (!fs::is_directory(path, ec)) {
    fs::permissions(path, fs::perms::others_read, fs::perm_options::add, ec);
    return;
  }
  fs::permissions(path, fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add, ec);
  for (const auto& e : fs::recursive_directory_iterator(path, ec)) {
    fs::perms add =
        e.is_directory() ? fs::perms::others_read | fs::perms::others_exec : fs::perms::others_read;
    fs::permissions(e.path(), add, fs::perm_options::add, ec);
  }
}

}  // namespace

// --- TokenServer ------------------------------------------------------------

struct TokenServer::Impl {
  TokenServer* owner = nullptr;
  EVP_PKEY* key = nullptr;
  std::string x5c;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  std::uint16_t port = 0;
  mutable std::mutex mutex;
  std::string last_scopes;

  ~Impl() {
    if (server) server->stopAll(true);
    EVP_PKEY_free(key);
  }

  std::string sign(const std::string& subject, const json::array& access) const {
    json::object header{{"typ", "JWT"}, {"alg", "RS256"}, {"x5c", json::array{json::value(x5c)}}};
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    std::random_device rd;
    json::object claims{{"iss", owner->options_.issuer},
                        {"sub", subject},
                        {"aud", owner->options_.service},
                        {"exp", now + owner->options_.expires_in},
                        {"nbf", now - 10},
                        {"iat", now},
                        {"jti", std::to_string(rd()) + std::to_string(rd())},
                        {"access", access}};
    std::string input =
        base64url(json::serialize(header)) + "." + base64url(json::serialize(claims));
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    std::string sig;
    if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1) {
      sig.resize(len);
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size());
      sig.resize(len);
    }
    EVP_MD_CTX_free(ctx);
    return input + "." + base64url(sig);
  }
};

namespace {

class TokenHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit TokenHandler(TokenServer::Impl& impl, TokenServer& server, std::atomic<int>& requests,
                        std::atomic<int>& refused)
      : impl_(impl), server_(server), requests_(requests), refused_(refused) {}

  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    ++requests_;
    const auto& opts = server_.options();
    std::multimap<std::string, std::string> params;
    for (const auto& [k, v] : Poco::URI(req.getURI()).getQueryParameters()) params.emplace(k, v);
    std::string user, password;
    bool has_credentials = false;
    if (req.getMethod() == "POST") {
      Poco::Net::HTMLForm form(req, req.stream());
      for (const auto& [k, v] : form) params.emplace(k, v);
      auto grant = form.get("grant_type", "");
      if (grant == "refresh_token") {
        has_credentials = true;
        std::string rt = form.get("refresh_token", "");
        if (rt.starts_with("berth-test-refresh:") && opts.users.count(rt.substr(19)) != 0) {
          user = rt.substr(19);
          password = opts.users.at(user);
        } else {
          user = "?";
          password = "\n";
        }
      } else if (grant == "password") {
        has_credentials = true;
        user = form.get("username", "");
        password = form.get("password", "");
      }
    } else if (req.hasCredentials()) {
      Poco::Net::HTTPBasicCredentials creds(req);
      has_credentials = true;
      user = creds.getUsername();
      password = creds.getPassword();
    }
    auto deny = [&](const std::string& why) {
      ++refused_;
      resp.setStatus(Poco::Net::HTTPResponse::HTTP_UNAUTHORIZED);
      resp.setContentType("application/json");
      resp.send() << json::serialize(json::object{{"details", why}});
    };
    if (has_credentials) {
      auto it = opts.users.find(user);
      if (it == opts.users.end() || it->second != password)
        return deny("incorrect username or password");
    } else if (!opts.anonymous_pull) {
      return deny("authentication required");
    }
    std::vector<std::string> scopes;
    for (auto [b, e] = params.equal_range("scope"); b != e; ++b) {
      std::istringstream words(b->second);
      for (std::string w; words >> w;) scopes.push_back(w);
    }
    json::array access;
    std::string joined;
    for (const auto& s : scopes) {
      joined += (joined.empty() ? "" : " ") + s;
      auto first = s.find(':'), last = s.rfind(':');
      if (first == std::string::npos || first == last) continue;
      json::array actions;
      std::istringstream list(s.substr(last + 1));
      for (std::string a; std::getline(list, a, ',');) {
        if (has_credentials || a == "pull") actions.emplace_back(a);
      }
      access.emplace_back(json::object{{"type", s.substr(0, first)},
                                       {"name", s.substr(first + 1, last - first - 1)},
                                       {"actions", actions}});
    }
    {
      std::lock_guard lock(impl_.mutex);
      impl_.last_scopes = joined;
    }
    std::string token = impl_.sign(user, access);
    json::object answer{{"token", token},
                        {"access_token", token},
                        {"expires_in", opts.expires_in},
                        {"issued_at", "2026-01-01T00:00:00Z"}};
    auto offline = params.find("offline_token");
    bool wants_refresh = (offline != params.end() && offline->second == "true") ||
                         params.find("access_type") != params.end();
    if (has_credentials && wants_refresh) answer["refresh_token"] = "berth-test-refresh:" + user;
    resp.setContentType("application/json");
    resp.send() << json::serialize(answer);
  }

 private:
  TokenServer::Impl& impl_;
  TokenServer& server_;
  std::atomic<int>& requests_;
  std::atomic<int>& refused_;
};

class TokenFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  TokenFactory(TokenServer::Impl& impl, TokenServer& server, std::atomic<int>& requests,
               std::atomic<int>& refused)
      : impl_(impl), server_(server), requests_(requests), refused_(refused) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new TokenHandler(impl_, server_, requests_, refused_);
  }

 private:
  TokenServer::Impl& impl_;
  TokenServer& server_;
  std::atomic<int>& requests_;
  std::atomic<int>& refused_;
};

}  // namespace

TokenServer::TokenServer(const std::string& dir, Options options)
    : options_(std::move(options)),
      cert_path_(dir + "/token.crt"),
      key_path_(dir + "/token.key"),
      impl_(std::make_unique<Impl>()) {
  impl_->owner = this;
  check_run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key_path_,
             "-out", cert_path_, "-days", "2", "-subj", "/CN=berth-test-token"},
            "openssl req (token key)");
  FILE* f = std::fopen(key_path_.c_str(), "r");
  if (f == nullptr) throw std::runtime_error("open " + key_path_);
  impl_->key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  f = std::fopen(cert_path_.c_str(), "r");
  if (f == nullptr) throw std::runtime_error("open " + cert_path_);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (impl_->key == nullptr || cert == nullptr)
    throw std::runtime_error("read token key/certificate");
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  impl_->x5c =
      base64std(std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(len)));
  OPENSSL_free(der);
  X509_free(cert);

  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  impl_->port = socket.address().port();
  impl_->server =
      std::make_unique<Poco::Net::HTTPServer>(new TokenFactory(*impl_, *this, requests_, refused_),
                                              socket, new Poco::Net::HTTPServerParams);
  impl_->server->start();
}

TokenServer::~TokenServer() = default;

std::string TokenServer::realm() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + "/token";
}

std::string TokenServer::last_scopes() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->last_scopes;
}

// --- LocalRegistry ------------------------------------------------------------

LocalRegistry::LocalRegistry(Options options) : options_(std::move(options)), dir_("registry") {
  try {
    configure();
    launch(0);
  } catch (...) {
    stop();
    throw;
  }
}

LocalRegistry::~LocalRegistry() { stop(); }

std::string LocalRegistry::host() const { return "127.0.0.1:" + std::to_string(port_); }

std::string LocalRegistry::blob_data_path(const std::string& digest) const {
  std::string hex = digest.substr(digest.find(':') + 1);
  return storage() + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
}

std::string LocalRegistry::log() const { return read_file(dir_ / "registry.log"); }

bool LocalRegistry::running() const {
  if (pid_ <= 0) return false;
  int status = 0;
  return ::waitpid(pid_, &status, WNOHANG) == 0;
}

void LocalRegistry::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(pid_, 10s);
  pid_ = -1;
}

void LocalRegistry::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!reap(pid_, 5s)) {
    ::kill(-pid_, SIGKILL);
    reap(pid_, 10s);
  }
  pid_ = -1;
}

void LocalRegistry::restart() {
  stop();
  launch(port_);
}

void LocalRegistry::configure() {
  fs::create_directories(storage());
  std::string auth;
  if (options_.auth == Auth::basic) {
    std::string htpasswd;
    for (const auto& [user, password] : options_.users) {
      auto r = run({"htpasswd", "-Bbn", user, password});
      if (r.exit_code != 0) throw std::runtime_error("htpasswd: " + r.err);
      htpasswd += r.out.substr(0, r.out.find('\n')) + "\n";
    }
    write_file(dir_ / "htpasswd", htpasswd);
    auth = "auth:\n  htpasswd:\n    realm: berth-test\n    path: " + (dir_ / "htpasswd") + "\n";
  } else if (options_.auth == Auth::token) {
    TokenServer::Options t;
    t.users = options_.users;
    t.anonymous_pull = options_.token_anonymous_pull;
    token_ = std::make_unique<TokenServer>(dir_.path(), t);
    auth = "auth:\n  token:\n    realm: " + token_->realm() + "\n    service: " + t.service +
           "\n    issuer: " + t.issuer + "\n    rootcertbundle: " + token_->certificate_path() +
           "\n";
  }
  std::string tls;
  if (options_.tls) {
    check_run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
               dir_ / "tls.key", "-out", dir_ / "tls.crt", "-days", "2", "-subj", "/CN=127.0.0.1",
               "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"},
              "openssl req (registry certificate)");
    tls = "  tls:\n    certificate: " + (dir_ / "tls.crt") + "\n    key: " + (dir_ / "tls.key") +
          "\n";
  }
  config_tail_ = tls + auth;
}

void LocalRegistry::launch(std::uint16_t port) {
  // Another process may grab the port between our probe and the registry's
  // bind; try a few. A fixed port (restart) is retried as it is: a client
  // may still hold it for a moment.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = port != 0 ? port : free_port();
    std::string config =
        "version: 0.1\n"
        "log:\n  level: info\n"
        "storage:\n"
        "  filesystem:\n    rootdirectory: " +
        storage() +
        "\n"
        "  delete:\n    enabled: true\n"
        "  maintenance:\n    uploadpurging:\n      enabled: false\n"
        "http:\n  addr: 127.0.0.1:" +
        std::to_string(port_) +
        "\n"
        "  secret: berth-test-secret\n" +
        config_tail_;
    write_file(dir_ / "config.yml", config);
    // --pdeathsig: a test process that dies without unwinding (abort, a
    // crash) takes its registry along.
    pid_ = spawn_logged(
        {"setpriv", "--pdeathsig", "KILL", "docker-registry", "serve", dir_ / "config.yml"},
        dir_ / "registry.log");
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!running()) break;
      if (answers(options_.tls ? "https" : "http", port_)) return;
      std::this_thread::sleep_for(50ms);
    }
    bool port_taken = log().find("address already in use") != std::string::npos;
    stop();
    if (!port_taken) break;
    if (port != 0) std::this_thread::sleep_for(200ms);
  }
  throw std::runtime_error("docker-registry did not start: " + log());
}

// --- images ------------------------------------------------------------------

Layer busybox_layer() {
  return {Entry::dir("bin"), Entry::file("bin/busybox", read_file("/bin/busybox"), 0755),
          Entry::symlink("bin/sh", "busybox")};
}

LayoutImage write_oci_layout(const std::string& dir, const std::string& tag,
                             const ImageSpec& spec) {
  fs::create_directories(dir + "/blobs/sha256");
  auto put = [&](const std::string& bytes) {
    std::string d = sha256(bytes);
    write_file(dir + "/blobs/sha256/" + d.substr(7), bytes);
    return d;
  };
  auto descriptor = [](std::string_view media_type, const std::string& digest, std::size_t size) {
    return json::object{{"mediaType", media_type}, {"digest", digest}, {"size", size}};
  };
  LayoutImage out;
  out.dir = dir;
  out.tag = tag;
  bool multi = spec.platforms.size() > 1;
  json::array entries;
  for (const auto& p : spec.platforms) {
    LayoutImage::Entry entry;
    entry.platform = p;
    std::string pstr = p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
    json::array layers, diff_ids, history;
    for (std::size_t i = 0; i < spec.layers.size(); ++i) {
      Layer l = spec.layers[i];
      if (multi && i + 1 == spec.layers.size())
        l.push_back(Entry::file("etc/berth-platform", pstr + "\n"));
      std::string tar = layer_tar(l);
      std::string gz = gzip(tar);
      std::string d = put(gz);
      entry.layer_digests.push_back(d);
      entry.layer_sizes.push_back(static_cast<std::int64_t>(gz.size()));
      entry.diff_ids.push_back(sha256(tar));
      layers.push_back(descriptor("application/vnd.oci.image.layer.v1.tar+gzip", d, gz.size()));
      diff_ids.emplace_back(entry.diff_ids.back());
      history.push_back(
          json::object{{"created", "2026-01-01T00:00:00Z"}, {"created_by", "berth test layer"}});
    }
    json::object config{{"created", "2026-01-01T00:00:00Z"},
                        {"architecture", p.architecture},
                        {"os", p.os},
                        {"config", json::object{{"Cmd", json::array{"/bin/sh"}}}},
                        {"rootfs", json::object{{"type", "layers"}, {"diff_ids", diff_ids}}},
                        {"history", history}};
    if (!p.variant.empty()) config["variant"] = p.variant;
    std::string config_bytes = json::serialize(config);
    entry.config_digest = put(config_bytes);
    json::object manifest{{"schemaVersion", 2},
                          {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                          {"config", descriptor("application/vnd.oci.image.config.v1+json",
                                                entry.config_digest, config_bytes.size())},
                          {"layers", layers}};
    std::string manifest_bytes = json::serialize(manifest);
    entry.manifest_digest = put(manifest_bytes);
    json::object desc = descriptor("application/vnd.oci.image.manifest.v1+json",
                                   entry.manifest_digest, manifest_bytes.size());
    json::object platform{{"architecture", p.architecture}, {"os", p.os}};
    if (!p.variant.empty()) platform["variant"] = p.variant;
    desc["platform"] = platform;
    entries.push_back(desc);
    out.entries.push_back(std::move(entry));
  }
  json::object ref_annotation{{"org.opencontainers.image.ref.name", tag}};
  json::object top;
  if (multi) {
    std::string index_bytes =
        json::serialize(json::object{{"schemaVersion", 2},
                                     {"mediaType", "application/vnd.oci.image.index.v1+json"},
                                     {"manifests", entries}});
    out.index_digest = put(index_bytes);
    top =
        descriptor("application/vnd.oci.image.index.v1+json", out.index_digest, index_bytes.size());
  } else {
    top = entries.at(0).as_object();
    top.erase("platform");
  }
  top["annotations"] = ref_annotation;
  write_file(dir + "/index.json",
             json::serialize(json::object{{"schemaVersion", 2}, {"manifests", json::array{top}}}));
  write_file(dir + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  return out;
}

CommandResult skopeo(const std::vector<std::string>& args, const std::string& scratch) {
  std::vector<std::string> argv;
  if (::geteuid() == 0) {
    std::error_code ec;
    fs::permissions(scratch, fs::perms::all, fs::perm_options::add, ec);
    share_with_nobody(scratch);
    argv = {"setpriv", "--reuid=" + std::to_string(kNobody), "--regid=" + std::to_string(kNobody),
            "--clear-groups"};
  }
  argv.insert(argv.end(), {"skopeo", "--insecure-policy", "--tmpdir", scratch});
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv,
             {{"HOME", ""},
              {"XDG_DATA_HOME", ""},
              {"XDG_CONFIG_HOME", ""},
              {"XDG_RUNTIME_DIR", ""},
              {"REGISTRY_AUTH_FILE", ""}},
             {}, std::chrono::seconds(180));
}

std::string copy_to_registry(const LayoutImage& image, LocalRegistry& registry,
                             const std::string& repo_tag, ImageFormat format) {
  TempDir scratch("skopeo");
  share_with_nobody(image.dir);
  std::string digest_file = scratch / "digest";
  std::vector<std::string> args{"copy",         "--dest-tls-verify=false",
                                "--digestfile", digest_file,
                                "--format",     format == ImageFormat::oci ? "oci" : "v2s2"};
  if (!image.index_digest.empty()) args.insert(args.end(), {"--multi-arch", "all"});
  if (!registry.options().users.empty()) {
    const auto& [user, password] = *registry.options().users.begin();
    args.insert(args.end(), {"--dest-creds", user + ":" + password});
  }
  args.push_back("oci:" + image.dir + ":" + image.tag);
  args.push_back("docker://" + registry.host() + "/" + repo_tag);
  auto r = skopeo(args, scratch.path());
  if (r.exit_code != 0) {
    throw std::runtime_error("skopeo copy to " + registry.host() + "/" + repo_tag + " failed (" +
                             std::to_string(r.exit_code) + "): " + r.out + r.err);
  }
  std::string digest = read_file(digest_file);
  while (!digest.empty() && std::isspace(static_cast<unsigned char>(digest.back())))
    digest.pop_back();
  return digest;
}

std::string push_test_image(LocalRegistry& registry, const std::string& repo_tag,
                            ImageFormat format, const ImageSpec& spec, LayoutImage* layout) {
  static std::atomic<int> counter{0};
  std::string dir = registry.dir() + "/layouts/" + std::to_string(counter++);
  LayoutImage image = write_oci_layout(dir, "test", spec);
  std::string digest = copy_to_registry(image, registry, repo_tag, format);
  if (layout != nullptr) *layout = std::move(image);
  return digest;
}

}  // namespace berth::testing
