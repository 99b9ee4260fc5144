#include "client.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/AcceptCertificateHandler.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <boost/json.hpp>

#include <cstdlib>
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
      std::string rest = host.substr(host.find("://") + 3);
      if (!rest.empty() && rest.back() == '/') rest.pop_back();
      net::SocketAddress addr(rest);
      if (options_.tls || options_.tls_verify || host.starts_with("https://")) {
        net::Context::Params p;
        p.privateKeyFile = options_.tls_key;
        p.certificateFile = options_.tls_cert;
        p.caLocation = options_.tls_ca;
        p.verificationMode =
            options_.tls_verify ? net::Context::VERIFY_RELAXED : net::Context::VERIFY_NONE;
        p.loadDefaultCAs = options_.tls_ca.empty();
        net::Context::Ptr ctx = new net::Context(net::Context::TLS_CLIENT_USE, p);
        Poco::SharedPtr<net::InvalidCertificateHandler> handler;
        if (options_.tls_verify) {
          handler = new net::RejectCertificateHandler(false);
        } else {
          handler = new net::AcceptCertificateHandler(false);
        }
        net::SSLManager::instance().initializeClient(nullptr, handler, ctx);
        session =
            std::make_unique<net::HTTPSClientSession>(addr.host().toString(), addr.port(), ctx);
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

boost::json::value Client::get_json(const std::string& path) {
  Response r = request("GET", path);
  check_response(r);
  boost::json::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (ec) throw CliError("invalid JSON from daemon for " + path + ": " + ec.message());
  return v;
}

}  // namespace berth::cli
