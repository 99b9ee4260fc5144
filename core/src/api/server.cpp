#include "berth/core/api/server.hpp"

#include "berth/core/log.hpp"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerConnection.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/String.h>

#include <sys/stat.h>
#include <unistd.h>

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

namespace berth::core::api {
namespace net = Poco::Net;

namespace {

class PocoRawConnection final : public RawConnection {
 public:
  explicit PocoRawConnection(net::StreamSocket socket) : socket_(std::move(socket)) {
    // Attach streams idle for as long as the container does.
    socket_.setReceiveTimeout(Poco::Timespan(0));
    socket_.setSendTimeout(Poco::Timespan(0));
  }
  ~PocoRawConnection() override {
    try {
      socket_.shutdown();
    } catch (const Poco::Exception&) {
    }
  }
  std::int64_t read(void* buf, std::size_t cap) override {
    try {
      return socket_.receiveBytes(buf, static_cast<int>(cap));
    } catch (const Poco::Exception&) {
      return -1;
    }
  }
  bool write(const void* data, std::size_t len) override {
    try {
      const char* p = static_cast<const char*>(data);
      while (len > 0) {
        int n = socket_.sendBytes(p, static_cast<int>(len));
        if (n <= 0) return false;
        p += n;
        len -= static_cast<std::size_t>(n);
      }
      return true;
    } catch (const Poco::Exception&) {
      return false;
    }
  }
  void close_write() override {
    try {
      socket_.shutdownSend();
    } catch (const Poco::Exception&) {
    }
  }
  bool peer_closed() override {
    char byte = 0;
    ssize_t n = ::recv(socket_.impl()->sockfd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }

 private:
  net::StreamSocket socket_;
};

class PocoResponseWriter final : public ResponseWriter {
 public:
  PocoResponseWriter(net::HTTPServerRequest& req, net::HTTPServerResponse& res)
      : req_(req), res_(res) {}

  void set_header(const std::string& name, const std::string& value) override {
    res_.set(name, value);
  }

  void send(int status, std::string_view content_type, std::string_view body) override {
    res_.setStatusAndReason(static_cast<net::HTTPResponse::HTTPStatus>(status));
    res_.setContentType(std::string(content_type));
    res_.setContentLength64(static_cast<Poco::Int64>(body.size()));
    res_.sendBuffer(body.data(), body.size());
  }

  std::ostream& stream(int status, std::string_view content_type) override {
    res_.setStatusAndReason(static_cast<net::HTTPResponse::HTTPStatus>(status));
    res_.setContentType(std::string(content_type));
    res_.setChunkedTransferEncoding(true);
    return res_.send();
  }

  std::unique_ptr<RawConnection> hijack(std::string_view content_type) override {
    auto* impl = dynamic_cast<net::HTTPServerRequestImpl*>(&req_);
    if (impl == nullptr) return nullptr;
    bool upgrade = Poco::icompare(req_.get("Upgrade", ""), "tcp") == 0;
    std::string head = upgrade ? "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                               : "HTTP/1.1 200 OK\r\n";
    head += "Content-Type: " + std::string(content_type) + "\r\n";
    for (const auto& [name, value] : res_) {
      if (Poco::icompare(name, "Content-Type") != 0) head += name + ": " + value + "\r\n";
    }
    head += "\r\n";
    // The HTTP session must not answer or read again on this socket.
    res_.setKeepAlive(false);
    hijacked_ = true;
    auto raw = std::make_unique<PocoRawConnection>(impl->socket());
    if (!raw->write(head.data(), head.size())) return nullptr;
    return raw;
  }

  bool client_gone() override {
    auto* impl = dynamic_cast<net::HTTPServerRequestImpl*>(&req_);
    if (impl == nullptr) return false;
    try {
      auto& socket = impl->socket();
      // Readable with nothing to read means the peer closed its side.
      if (socket.poll(Poco::Timespan(0), net::Socket::SELECT_READ | net::Socket::SELECT_ERROR)) {
        char byte = 0;
        return socket.receiveBytes(&byte, 1, MSG_PEEK) <= 0;
      }
      return false;
    } catch (const Poco::Exception&) {
      return true;
    }
  }

  bool hijacked() const { return hijacked_; }

 private:
  net::HTTPServerRequest& req_;
  net::HTTPServerResponse& res_;
  bool hijacked_ = false;
};

// What a handler left unread of an upload (it answered early, with an
// error), read and dropped up to a limit: a client still sending would
// otherwise hit a closed socket and never see the answer (Go's server does
// the same with a smaller limit; image uploads are large).
void drain_body(std::istream& body) {
  constexpr std::uint64_t kLimit = 1ull << 30;
  char buf[65536];
  std::uint64_t total = 0;
  while (total < kLimit && body.read(buf, sizeof buf)) total += sizeof buf;
}

class RouterHandler final : public net::HTTPRequestHandler {
 public:
  explicit RouterHandler(const Router& router) : router_(router) {}

  void handleRequest(net::HTTPServerRequest& request, net::HTTPServerResponse& response) override {
    Request req;
    req.method = request.getMethod();
    for (const auto& [name, value] : request) req.headers.emplace(name, value);
    req.body_stream = &request.stream();
    PocoResponseWriter writer(request, response);
    try {
      router_.dispatch(request.getURI(), req, writer);
      if (!writer.hijacked() && (request.getChunkedTransferEncoding() || request.getContentLength64() > 0)) {
        drain_body(request.stream());
      }
    } catch (const Poco::Exception& e) {
      // Usually the client went away mid-response; nothing left to tell it.
      logger("api")->debug("{} {}: {}", req.method, request.getURI(), e.displayText());
    }
  }

 private:
  const Router& router_;
};

class RouterFactory final : public net::HTTPRequestHandlerFactory {
 public:
  explicit RouterFactory(const Router& router) : router_(router) {}
  net::HTTPRequestHandler* createRequestHandler(const net::HTTPServerRequest&) override {
    return new RouterHandler(router_);
  }

 private:
  const Router& router_;
};

}  // namespace

// Accepts connections on one socket and serves each on its own thread.
//
// Poco's TCPServer hands connections to a pool through a FIFO queue and only
// adds a thread when no thread is idle at enqueue time; a burst of slow or
// idle clients (or long-lived streams: logs -f, events, attach) then starves
// the requests queued behind them. One thread per connection, capped, keeps
// `ps` answering while hundreds of streams are open.
class Listener {
 public:
  Listener(net::ServerSocket socket, net::HTTPServerParams::Ptr params,
           net::HTTPRequestHandlerFactory::Ptr factory)
      : socket_(std::move(socket)),
        params_(std::move(params)),
        factory_(std::move(factory)),
        open_(std::make_shared<Open>()) {
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~Listener() {
    stopping_ = true;
    acceptor_.join();
    socket_.close();
    std::unique_lock lock(open_->mutex);
    // Wake every connection thread blocked in a read; each then unwinds.
    for (auto& [id, fd] : open_->fds) ::shutdown(fd, SHUT_RDWR);
    open_->idle.wait_for(lock, std::chrono::seconds(10), [this] { return open_->fds.empty(); });
  }

 private:
  static constexpr std::size_t kMaxConnections = 4096;

  // The open connections, shared with their threads so a thread that
  // outlives the listener (stuck past the shutdown wait) stays memory-safe.
  struct Open {
    std::mutex mutex;
    std::condition_variable idle;
    std::map<std::uint64_t, int> fds;  // connection id -> socket fd
    std::uint64_t next_id = 0;
  };

  void accept_loop() {
    while (!stopping_) {
      try {
        if (!socket_.poll(Poco::Timespan(0, 200000), net::Socket::SELECT_READ)) continue;
        net::StreamSocket conn = socket_.acceptConnection();
        std::unique_lock lock(open_->mutex);
        if (open_->fds.size() >= kMaxConnections) {
          logger("api")->warn("{} connections open, refusing another", open_->fds.size());
          continue;
        }
        std::uint64_t id = open_->next_id++;
        open_->fds.emplace(id, conn.impl()->sockfd());
        lock.unlock();
        std::thread(serve, open_, id, std::move(conn), params_, factory_).detach();
      } catch (const Poco::Exception& e) {
        if (!stopping_) logger("api")->warn("accept: {}", e.displayText());
      }
    }
  }

  static void serve(std::shared_ptr<Open> open, std::uint64_t id, net::StreamSocket conn,
                    net::HTTPServerParams::Ptr params,
                    net::HTTPRequestHandlerFactory::Ptr factory) {
    try {
      net::HTTPServerConnection http(conn, params, factory);
      http.run();
    } catch (const std::exception& e) {
      logger("api")->debug("connection: {}", e.what());
    } catch (...) {
      logger("api")->debug("connection: unknown exception");
    }
    std::lock_guard lock(open->mutex);
    open->fds.erase(id);
    if (open->fds.empty()) open->idle.notify_all();
  }

  net::ServerSocket socket_;
  net::HTTPServerParams::Ptr params_;
  net::HTTPRequestHandlerFactory::Ptr factory_;
  std::shared_ptr<Open> open_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
};

struct ApiServer::Impl {
  const Router& router;
  std::vector<ListenAddress> hosts;
  TlsConfig tls;
  bool insecure_tcp;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::vector<std::string> endpoints;
  std::vector<std::string> socket_files;
  Poco::Net::Context::Ptr tls_context;
};

ApiServer::ApiServer(const Router& router, std::vector<ListenAddress> hosts, TlsConfig tls,
                     bool insecure_tcp)
    : impl_(new Impl{router, std::move(hosts), std::move(tls), insecure_tcp, {}, {}, {}, {}}) {}

ApiServer::~ApiServer() { stop(); }

namespace {

Result<net::ServerSocket> bind_unix(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return make_error(Errc::failed_precondition, "create directory of " + path + ": " + ec.message());
  net::SocketAddress addr(net::SocketAddress::UNIX_LOCAL, path);
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return make_error(Errc::failed_precondition, path + " exists and is not a socket");
    }
    try {
      net::StreamSocket probe;
      probe.connect(addr, Poco::Timespan(1, 0));
      return make_error(Errc::already_exists,
                        "another daemon is serving " + path + "; refusing to take it over");
    } catch (const Poco::Exception&) {
      // Nobody answers: left over from a daemon that died.
      ::unlink(path.c_str());
    }
  }
  try {
    net::ServerSocket socket;
    socket.bind(addr);
    socket.listen(128);
    if (::chmod(path.c_str(), 0660) != 0) return errno_error(Errc::internal, "chmod " + path, errno);
    return socket;
  } catch (const Poco::Exception& e) {
    return make_error(Errc::failed_precondition, "listen on unix://" + path + ": " + e.displayText());
  }
}

}  // namespace

Result<void> ApiServer::start() {
  auto& d = *impl_;
  auto log = logger("api");
  auto fail = [&](Error e) {
    stop();
    return e;
  };
  for (const auto& host : d.hosts) {
    auto params = Poco::makeAuto<net::HTTPServerParams>();
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(60, 0));
    // How long a read may block: a client that stalls mid-request is dropped.
    params->setTimeout(Poco::Timespan(60, 0));
    std::string endpoint;
    std::unique_ptr<net::ServerSocket> socket;
    if (host.kind == ListenAddress::Kind::unix_socket) {
      auto bound = bind_unix(host.path);
      if (!bound) return fail(std::move(bound).error());
      socket = std::make_unique<net::ServerSocket>(std::move(bound).value());
      d.socket_files.push_back(host.path);
      endpoint = "unix://" + host.path;
    } else {
      if (!d.tls.tls && !d.insecure_tcp) {
        return fail(make_error(Errc::invalid_argument,
                               "refusing to serve " + host.text +
                                   " without TLS: pass --tlsverify with certificates, or "
                                   "--insecure-tcp to accept anyone on the network as root"));
      }
      try {
        net::SocketAddress addr(host.host, host.port);
        if (d.tls.tls) {
          if (!d.tls_context) {
            net::Context::Params p;
            p.privateKeyFile = d.tls.key;
            p.certificateFile = d.tls.cert;
            p.caLocation = d.tls.ca;
            p.verificationMode =
                d.tls.verify ? net::Context::VERIFY_STRICT : net::Context::VERIFY_NONE;
            p.loadDefaultCAs = false;
            d.tls_context = new net::Context(net::Context::TLS_SERVER_USE, p);
            // Poco's extended check matches the *client's* certificate names
            // against its IP address; like Docker, a client is trusted by the
            // CA's signature alone.
            d.tls_context->enableExtendedCertificateVerification(false);
            d.tls_context->disableProtocols(net::Context::PROTO_SSLV2 | net::Context::PROTO_SSLV3 |
                                            net::Context::PROTO_TLSV1 | net::Context::PROTO_TLSV1_1);
          }
          socket = std::make_unique<net::SecureServerSocket>(addr, 128, d.tls_context);
        } else {
          socket = std::make_unique<net::ServerSocket>(addr, 128);
          log->warn("serving {} WITHOUT TLS: anyone who can reach it controls this host as root",
                    host.text);
        }
        endpoint = "tcp://" + socket->address().toString();
      } catch (const Poco::Exception& e) {
        return fail(make_error(Errc::failed_precondition,
                               "listen on " + host.text + ": " + e.displayText()));
      }
    }
    d.listeners.push_back(
        std::make_unique<Listener>(*socket, params, new RouterFactory(d.router)));
    log->info("API listening on {}{}", endpoint, d.tls.tls && host.kind == ListenAddress::Kind::tcp
                                                      ? (d.tls.verify ? " (TLS, client certificates required)" : " (TLS)")
                                                      : "");
    d.endpoints.push_back(endpoint);
  }
  return ok();
}

void ApiServer::stop() {
  auto& d = *impl_;
  d.listeners.clear();
  for (const auto& f : d.socket_files) ::unlink(f.c_str());
  d.socket_files.clear();
  d.endpoints.clear();
}

std::vector<std::string> ApiServer::endpoints() const { return impl_->endpoints; }

}  // namespace berth::core::api
