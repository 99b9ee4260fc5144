#include "client.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/AcceptCertificateHandler.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <boost/json.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>
#include <vector>

namespace berth::cli {
namespace net = Poco::Net;

namespace {

struct Version {
  int major = 0, minor = 0;
};

Version parse_version(const std::string& text) {
  Version v;
  if (std::sscanf(text.c_str(), "%d.%d", &v.major, &v.minor) != 2) return {};
  return v;
}

bool older(const Version& a, const Version& b) {
  return a.major != b.major ? a.major < b.major : a.minor < b.minor;
}

[[noreturn]] void cannot_connect(const std::string& host, const std::string& why) {
  throw CliError("Cannot connect to the berth daemon at " + host +
                 ". Is the berth daemon running?" + (why.empty() ? "" : " (" + why + ")"));
}

bool uses_tls(const ClientOptions& o) {
  return o.tls || o.tls_verify || o.host.starts_with("https://");
}

// The TLS context of the TLS flags, registered with Poco's SSLManager (whose
// certificate handler decides on an unverified peer). Several threads may
// open connections at once (`stop a b c`); the manager is global.
net::Context::Ptr tls_context(const ClientOptions& o) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  net::Context::Params p;
  p.privateKeyFile = o.tls_key;
  p.certificateFile = o.tls_cert;
  p.caLocation = o.tls_ca;
  p.verificationMode = o.tls_verify ? net::Context::VERIFY_RELAXED : net::Context::VERIFY_NONE;
  p.loadDefaultCAs = o.tls_ca.empty();
  net::Context::Ptr ctx = new net::Context(net::Context::TLS_CLIENT_USE, p);
  Poco::SharedPtr<net::InvalidCertificateHandler> handler;
  if (o.tls_verify) {
    handler = new net::RejectCertificateHandler(false);
  } else {
    handler = new net::AcceptCertificateHandler(false);
  }
  net::SSLManager::instance().initializeClient(nullptr, handler, ctx);
  return ctx;
}

// The address part of a tcp:// or https:// host ("127.0.0.1:2376").
std::string tcp_address(const std::string& host) {
  std::string rest = host.substr(host.find("://") + 3);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  return rest;
}

}  // namespace

std::string default_host(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  for (const char* var : {"BERTH_HOST", "DOCKER_HOST"}) {
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') return v;
  }
  return "unix:///run/berth/berth.sock";
}

void check_response(const Response& r) {
  if (r.status >= 200 && r.status < 300) return;
  std::string message = r.body;
  boost::json::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    if (auto* m = v.as_object().if_contains("message"); m != nullptr && m->is_string()) {
      message = std::string(m->get_string());
    }
  }
  while (!message.empty() && message.back() == '\n') message.pop_back();
  throw CliError("Error response from daemon: " + message);
}

Client::Client(ClientOptions options) : options_(std::move(options)) {
  if (!options_.api_version.empty()) version_ = options_.api_version;
}

Client::~Client() = default;

std::unique_ptr<net::HTTPClientSession> Client::open_session() {
  const std::string& host = options_.host;
  std::unique_ptr<net::HTTPClientSession> session;
  try {
    if (host.starts_with("unix://")) {
      net::StreamSocket socket;
      socket.connect(net::SocketAddress(net::SocketAddress::UNIX_LOCAL, host.substr(7)));
      session = std::make_unique<net::HTTPClientSession>(socket);
    } else if (host.starts_with("tcp://") || host.starts_with("https://")) {
      net::SocketAddress addr(tcp_address(host));
      if (uses_tls(options_)) {
        session = std::make_unique<net::HTTPSClientSession>(addr.host().toString(), addr.port(),
                                                            tls_context(options_));
      } else {
        session = std::make_unique<net::HTTPClientSession>(addr);
      }
    } else {
      throw CliError("invalid host \"" + host + "\": want unix:///path or tcp://host:port", 125);
    }
  } catch (const Poco::Exception& e) {
    cannot_connect(host, e.displayText());
  }
  session->setTimeout(Poco::Timespan(300, 0));
  return session;
}

void Client::prepare(net::HTTPRequest& req, const net::HTTPClientSession& session,
                     const std::string& content_type) const {
  req.setHost(options_.host.starts_with("unix://") ? "berth" : session.getHost());
  req.set("User-Agent", "berth-cli");
  if (!content_type.empty()) req.setContentType(content_type);
}

Response Client::send(const std::string& method, const std::string& target, const std::string& body,
                      const std::string& content_type) {
  auto session = open_session();
  net::HTTPRequest req(method, target, net::HTTPMessage::HTTP_1_1);
  prepare(req, *session, content_type);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.setContentLength64(static_cast<Poco::Int64>(body.size()));
  }
  Response out;
  try {
    std::ostream& os = session->sendRequest(req);
    os.write(body.data(), static_cast<std::streamsize>(body.size()));
    net::HTTPResponse res;
    std::istream& is = session->receiveResponse(res);
    std::ostringstream text;
    Poco::StreamCopier::copyStream(is, text);
    out.status = static_cast<int>(res.getStatus());
    out.body = text.str();
    out.api_version = res.get("Api-Version", "");
    out.content_type = res.getContentType();
    out.path_stat = res.get("X-Docker-Container-Path-Stat", "");
  } catch (const Poco::Exception& e) {
    cannot_connect(options_.host, e.displayText());
  }
  return out;
}

Response Client::stream(const StreamRequest& request, const BodySink& sink) {
  std::string target = "/v" + api_version() + request.path;
  auto session = open_session();
  net::HTTPRequest req(request.method, target, net::HTTPMessage::HTTP_1_1);
  prepare(req, *session, request.content_type);
  for (const auto& [name, value] : request.headers) req.set(name, value);
  if (request.body == nullptr) {
    if (request.method == "POST" || request.method == "PUT") req.setContentLength64(0);
  } else if (request.content_length) {
    req.setContentLength64(static_cast<Poco::Int64>(*request.content_length));
  } else {
    req.setChunkedTransferEncoding(true);
  }

  std::vector<char> buffer(std::size_t{1} << 16);
  bool upload_broke = false;
  std::string upload_error;
  try {
    std::ostream& os = session->sendRequest(req);
    if (request.body != nullptr) {
      while (*request.body) {
        request.body->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        std::streamsize n = request.body->gcount();
        if (n > 0) os.write(buffer.data(), n);
        if (!os) {
          upload_broke = true;
          break;
        }
      }
      if (request.body->bad()) throw CliError("read request body: input/output error");
    }
    // receiveResponse() then ends a chunked body with its zero-length chunk.
    if (!upload_broke) os.flush();
  } catch (const Poco::Exception& e) {
    // The daemon may have answered early (an error) and closed its side;
    // its answer is worth more than our write error.
    upload_broke = true;
    upload_error = e.displayText();
  }

  Response head;
  try {
    net::HTTPResponse res;
    std::istream& is = session->receiveResponse(res);
    head.status = static_cast<int>(res.getStatus());
    head.api_version = res.get("Api-Version", "");
    head.content_type = res.getContentType();
    head.path_stat = res.get("X-Docker-Container-Path-Stat", "");
    bool ok = head.status >= 200 && head.status < 300;
    std::uint64_t received = 0;
    // peek() waits for at least one byte; readsome() then takes what that
    // read brought in, so progress is shown as soon as it arrives.
    while (is.peek() != std::char_traits<char>::eof()) {
      std::streamsize n = is.readsome(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      if (n <= 0) continue;
      received += static_cast<std::uint64_t>(n);
      std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
      if (ok) {
        sink(head, chunk);
      } else {
        head.body.append(chunk);
      }
    }
    if (is.bad()) throw CliError("read response from daemon: connection broken");
    // Poco reports a fixed-length body cut short as a plain end of stream.
    if (res.hasContentLength() && received < static_cast<std::uint64_t>(res.getContentLength64())) {
      throw CliError("read response from daemon: connection closed after " +
                     std::to_string(received) + " of " + std::to_string(res.getContentLength64()) +
                     " bytes");
    }
  } catch (const Poco::Exception& e) {
    if (upload_broke && head.status == 0) {
      throw CliError("send request body: " +
                     (upload_error.empty() ? e.displayText() : upload_error));
    }
    throw CliError("read response from daemon: " + e.displayText());
  }
  if (upload_broke && head.status >= 200 && head.status < 300) {
    throw CliError("send request body: " + (upload_error.empty()
                                                ? std::string("connection closed by daemon")
                                                : upload_error));
  }
  return head;
}

const std::string& Client::api_version() {
  if (version_.empty()) {
    Response ping = send("GET", "/_ping", {}, {});
    Version server = parse_version(ping.api_version);
    Version mine = parse_version(kMaxApiVersion);
    version_ = server.major == 0 || !older(server, mine) ? kMaxApiVersion : ping.api_version;
  }
  return version_;
}

Response Client::request(const std::string& method, const std::string& path,
                         const std::string& body, const std::string& content_type) {
  return send(method, "/v" + api_version() + path, body, content_type);
}

// An HTTP session over a socket we connected ourselves, with what Poco
// keeps protected opened up: after a 101 the bytes that arrived with the
// header sit in the session's buffer, and must be read before the socket.
class RawSession final : public net::HTTPClientSession {
 public:
  explicit RawSession(const net::StreamSocket& socket) : net::HTTPClientSession(socket) {}
  int pending() const { return buffered(); }
  int read_raw(char* buffer, std::streamsize length) { return read(buffer, length); }
};

namespace {

std::string ssl_error_text() {
  unsigned long code = ERR_get_error();
  if (code == 0) return std::strerror(errno);
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// A TLS connection driven with OpenSSL directly, for the streams the
// daemon takes over: TLS has no half-close but the close_notify alert,
// which Go's tls.Conn.CloseWrite sends while it keeps reading (Docker's
// client), and Poco can only send it together with a TCP shutdown of both
// directions. The TLS context (CA, client certificate, verification) is
// Poco's, shared with every other request.
class TlsTunnel {
 public:
  TlsTunnel(const std::string& address, net::Context::Ptr context, bool verify) : context_(std::move(context)) {
    net::SocketAddress addr(address);
    fd_ = ::socket(addr.family() == net::SocketAddress::IPv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || ::connect(fd_, addr.addr(), addr.length()) != 0) {
      throw std::runtime_error(std::string("connect ") + address + ": " + std::strerror(errno));
    }
    ssl_ = SSL_new(context_->sslContext());
    if (ssl_ == nullptr) throw std::runtime_error("TLS: " + ssl_error_text());
    SSL_set_fd(ssl_, fd_);
    std::string host = addr.host().toString();
    // The peer must be the address we connected to, as the other requests
    // (Poco's sessions, named by the resolved address) check it.
    if (verify) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
    if (SSL_connect(ssl_) != 1) throw std::runtime_error("TLS handshake: " + ssl_error_text());
  }
  ~TlsTunnel() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }
  TlsTunnel(const TlsTunnel&) = delete;
  TlsTunnel& operator=(const TlsTunnel&) = delete;

  int fd() const { return fd_; }
  bool pending() const { return SSL_pending(ssl_) > 0; }

  // Bytes read; 0 at the end (close_notify, or a peer that just closed).
  std::size_t read(char* buffer, std::size_t capacity) {
    int n = SSL_read(ssl_, buffer, static_cast<int>(std::min<std::size_t>(capacity, INT_MAX)));
    if (n > 0) return static_cast<std::size_t>(n);
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL || err == SSL_ERROR_SSL) {
      // An unexpected EOF (no close_notify) still ends the stream.
      bool eof = err != SSL_ERROR_SSL || ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
      std::string why = ssl_error_text();
      if (eof) return 0;
      throw CliError("read response from daemon: " + why);
    }
    throw CliError("read response from daemon: " + ssl_error_text());
  }

  void write_all(std::string_view data) {
    while (!data.empty()) {
      int n = SSL_write(ssl_, data.data(), static_cast<int>(std::min<std::size_t>(data.size(), INT_MAX)));
      if (n <= 0) throw CliError("write to daemon: " + ssl_error_text());
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void close_write() {
    if ((SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) == 0) SSL_shutdown(ssl_);
    ERR_clear_error();
  }

 private:
  net::Context::Ptr context_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
};

}  // namespace

struct Connection::Impl {
  std::unique_ptr<RawSession> session;  // plain sockets, and TLS without upgrade
  std::unique_ptr<TlsTunnel> tls;       // TLS connections the daemon takes over
  std::string leftover;                 // tls: body bytes that came with the header
  net::HTTPResponse response;
  std::istream* body = nullptr;  // Poco's body stream (not hijacked)
  Response head;
  bool hijacked = false;
  bool secure = false;  // a TLS session (Poco's)
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

const Response& Connection::head() const { return impl_->head; }
bool Connection::hijacked() const { return impl_->hijacked; }

int Connection::fd() const {
  if (impl_->tls) return impl_->tls->fd();
  return static_cast<int>(impl_->session->socket().impl()->sockfd());
}

bool Connection::has_pending() const {
  if (impl_->tls) return !impl_->leftover.empty() || impl_->tls->pending();
  if (impl_->session->pending() > 0) return true;
  if (!impl_->hijacked && impl_->body != nullptr && impl_->body->rdbuf()->in_avail() > 0) return true;
  // Records TLS already decrypted do not show on the socket.
  try {
    return impl_->secure && impl_->session->socket().available() > 0;
  } catch (const Poco::Exception&) {
    return false;
  }
}

std::size_t Connection::read_some(char* buffer, std::size_t capacity) {
  if (capacity == 0) return 0;
  capacity = std::min<std::size_t>(capacity, 1 << 20);
  if (impl_->tls) {
    if (!impl_->leftover.empty()) {
      std::size_t n = std::min(capacity, impl_->leftover.size());
      std::memcpy(buffer, impl_->leftover.data(), n);
      impl_->leftover.erase(0, n);
      return n;
    }
    return impl_->tls->read(buffer, capacity);
  }
  auto cap = static_cast<std::streamsize>(capacity);
  try {
    if (impl_->hijacked) {
      int n = impl_->session->read_raw(buffer, cap);
      return n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    std::istream& is = *impl_->body;
    // peek() waits for at least one byte; readsome() takes what came.
    if (is.peek() == std::char_traits<char>::eof()) {
      if (is.bad()) throw CliError("read response from daemon: connection broken");
      return 0;
    }
    return static_cast<std::size_t>(is.readsome(buffer, cap));
  } catch (const net::SSLConnectionUnexpectedlyClosedException&) {
    // A peer that closes without close_notify ends the stream all the same.
    return 0;
  } catch (const Poco::Exception& e) {
    throw CliError("read response from daemon: " + e.displayText());
  }
}

std::string Connection::read_all() {
  std::string out;
  std::vector<char> buffer(1 << 16);
  // A TLS tunnel's answer to a refused upgrade is a small error with a length.
  std::optional<std::uint64_t> length;
  if (impl_->tls && !impl_->hijacked && impl_->response.hasContentLength()) {
    length = static_cast<std::uint64_t>(impl_->response.getContentLength64());
  }
  while (!length || out.size() < *length) {
    std::size_t n = read_some(buffer.data(), buffer.size());
    if (n == 0) break;
    out.append(buffer.data(), n);
  }
  return out;
}

std::size_t Connection::write_some(std::string_view data) {
  if (data.empty()) return 0;
  if (impl_->tls) {
    impl_->tls->write_all(data);
    return data.size();
  }
  if (!impl_->secure) {
    ssize_t n = ::send(fd(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    throw CliError(std::string("write to daemon: ") + std::strerror(errno));
  }
  try {
    std::size_t sent = 0;
    while (sent < data.size()) {
      int n = impl_->session->socket().sendBytes(data.data() + sent, static_cast<int>(data.size() - sent));
      if (n <= 0) throw CliError("write to daemon: connection closed");
      sent += static_cast<std::size_t>(n);
    }
    return sent;
  } catch (const Poco::Exception& e) {
    throw CliError("write to daemon: " + e.displayText());
  }
}

void Connection::close_write() {
  if (impl_->tls) {
    impl_->tls->close_write();
    return;
  }
  try {
    impl_->session->socket().shutdownSend();
  } catch (const Poco::Exception&) {
    // The daemon went away; its output side reports that.
  }
}

namespace {

// The request line and headers Poco would send, for the TLS tunnel.
std::string request_text(const net::HTTPRequest& req, const std::string& body) {
  std::ostringstream text;
  req.write(text);
  return text.str() + body;
}

}  // namespace

std::unique_ptr<Connection> Client::open(const OpenRequest& request) {
  std::string target = "/v" + api_version() + request.path;
  const std::string& host = options_.host;
  auto impl = std::make_unique<Connection::Impl>();
  net::HTTPRequest req(request.method, target, net::HTTPMessage::HTTP_1_1);
  bool tunnel = request.upgrade && !host.starts_with("unix://") && uses_tls(options_);
  try {
    net::StreamSocket socket;
    if (host.starts_with("unix://")) {
      socket.connect(net::SocketAddress(net::SocketAddress::UNIX_LOCAL, host.substr(7)));
    } else if (host.starts_with("tcp://") || host.starts_with("https://")) {
      net::SocketAddress addr(tcp_address(host));
      if (tunnel) {
        impl->tls = std::make_unique<TlsTunnel>(tcp_address(host), tls_context(options_), options_.tls_verify);
      } else if (uses_tls(options_)) {
        socket = net::SecureStreamSocket(addr, addr.host().toString(), tls_context(options_));
        impl->secure = true;
      } else {
        socket.connect(addr);
      }
    } else {
      throw CliError("invalid host \"" + host + "\": want unix:///path or tcp://host:port", 125);
    }
    if (!tunnel) impl->session = std::make_unique<RawSession>(socket);
  } catch (const Poco::Exception& e) {
    cannot_connect(host, e.displayText());
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const CliError*>(&e) != nullptr) throw;
    cannot_connect(host, e.what());
  }

  req.setHost(host.starts_with("unix://") ? "berth" : tcp_address(host));
  req.set("User-Agent", "berth-cli");
  if (!request.content_type.empty()) req.setContentType(request.content_type);
  if (request.upgrade) {
    req.set("Connection", "Upgrade");
    req.set("Upgrade", "tcp");
  }
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    req.setContentLength64(static_cast<Poco::Int64>(request.body.size()));
  }
  try {
    if (impl->tls) {
      impl->tls->write_all(request_text(req, request.body));
      // The header, and whatever body bytes came with it.
      std::string data;
      std::vector<char> buffer(1 << 14);
      std::size_t end;
      while ((end = data.find("\r\n\r\n")) == std::string::npos) {
        std::size_t n = impl->tls->read(buffer.data(), buffer.size());
        if (n == 0) throw CliError("read response from daemon: connection closed");
        data.append(buffer.data(), n);
      }
      std::istringstream header(data.substr(0, end + 4));
      impl->response.read(header);
      impl->leftover = data.substr(end + 4);
    } else {
      RawSession& session = *impl->session;
      // Poco writes "Connection: close" on a session that is not keep-alive,
      // which would replace "Connection: Upgrade".
      session.setKeepAlive(true);
      std::ostream& os = session.sendRequest(req);
      os.write(request.body.data(), static_cast<std::streamsize>(request.body.size()));
      os.flush();
      impl->body = &session.receiveResponse(impl->response);
    }
  } catch (const Poco::Exception& e) {
    cannot_connect(host, e.displayText());
  }
  int status = static_cast<int>(impl->response.getStatus());
  impl->head.status = status;
  impl->head.api_version = impl->response.get("Api-Version", "");
  impl->head.content_type = impl->response.getContentType();
  impl->head.path_stat = impl->response.get("X-Docker-Container-Path-Stat", "");
  impl->hijacked = request.upgrade && (status == 101 || status == 200);
  return std::make_unique<Connection>(std::move(impl));
}

std::unique_ptr<Connection> Client::hijack(const std::string& path, const std::string& body,
                                           const std::string& content_type) {
  auto conn = open({"POST", path, body, content_type, true});
  if (!conn->hijacked()) {
    Response r = conn->head();
    r.body = conn->read_all();
    check_response(r);
    throw CliError("unexpected answer from daemon for " + path + ": HTTP " +
                   std::to_string(r.status));
  }
  return conn;
}

boost::json::value Client::get_json(const std::string& path) {
  Response r = request("GET", path);
  check_response(r);
  boost::json::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (ec) throw CliError("invalid JSON from daemon for " + path + ": " + ec.message());
  return v;
}

}  // namespace berth::cli
