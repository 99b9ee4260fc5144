// What a real registry will not do on request: redirects to storage,
// schema1, server errors, lying sizes and digests, stalls, revoked tokens.
// Small Poco servers on 127.0.0.1:0 play the registry.
#include "berth/core/image/digest.hpp"
#include "berth/core/registry/client.hpp"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>
#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <mutex>
#include <thread>

namespace berth::core::registry {
namespace {

// The value of a Result, or a recorded failure and a default value: a
// test that aborts would leave its registry and directories behind.
template <class T>
T value_or_fail(Result<T> r, const char* what) {
  if (!r) {
    ADD_FAILURE() << what << ": " << r.error().message;
    return T{};
  }
  return std::move(r).value();
}
#define VALUE(expr) value_or_fail((expr), #expr)

namespace net = Poco::Net;

const bool kIgnoreSigpipe = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

struct Seen {
  std::string method, uri, authorization;
};

class FakeServer {
 public:
  using Handler = std::function<void(net::HTTPServerRequest&, net::HTTPServerResponse&)>;

  explicit FakeServer(Handler handler) : handler_(std::move(handler)) {
    net::ServerSocket socket(net::SocketAddress("127.0.0.1", 0));
    port_ = socket.address().port();
    // The client first tries HTTPS on a loopback registry; a short read
    // timeout drops such a TLS hello at once instead of waiting for more of
    // a "request line".
    auto* params = new net::HTTPServerParams;
    params->setTimeout(Poco::Timespan(0, 300000));
    server_ = std::make_unique<net::HTTPServer>(new Factory(*this), socket, params);
    server_->start();
  }
  ~FakeServer() { server_->stopAll(true); }

  std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<Seen> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  struct Handle : net::HTTPRequestHandler {
    explicit Handle(FakeServer& s) : server(s) {}
    void handleRequest(net::HTTPServerRequest& req, net::HTTPServerResponse& resp) override {
      {
        std::lock_guard lock(server.mutex_);
        server.seen_.push_back({req.getMethod(), req.getURI(), req.get("Authorization", "")});
      }
      server.handler_(req, resp);
    }
    FakeServer& server;
  };
  struct Factory : net::HTTPRequestHandlerFactory {
    explicit Factory(FakeServer& s) : server(s) {}
    net::HTTPRequestHandler* createRequestHandler(const net::HTTPServerRequest&) override {
      return new Handle(server);
    }
    FakeServer& server;
  };

  Handler handler_;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::vector<Seen> seen_;
  std::unique_ptr<net::HTTPServer> server_;
};

void reply(net::HTTPServerResponse& resp, int status, const std::string& body = {},
           const std::string& type = "application/json") {
  resp.setStatusAndReason(static_cast<net::HTTPResponse::HTTPStatus>(status));
  if (!type.empty()) resp.setContentType(type);
  resp.setContentLength64(static_cast<Poco::Int64>(body.size()));
  resp.send() << body;
}

image::Reference ref(const FakeServer& s, const std::string& rest) {
  return VALUE(image::Reference::parse(s.authority() + "/" + rest));
}

Descriptor descriptor_of(const std::string& data) {
  return Descriptor{"application/octet-stream",
                    image::sha256_digest(data),
                    static_cast<std::int64_t>(data.size()),
                    {},
                    {},
                    {}};
}

Result<std::string> fetch(RegistryClient& client, const image::Reference& repo,
                          const Descriptor& d) {
  std::string out;
  BERTH_TRY(client.fetch_blob(repo, d, nullptr, [&](const char* p, std::size_t n) -> Result<void> {
    out.append(p, n);
    return ok();
  }));
  return out;
}

TEST(FakeRegistry, FollowsRedirectsToStorageWithoutCredentials) {
  const std::string data(300000, 'z');
  const Descriptor d = descriptor_of(data);
  FakeServer storage([&](net::HTTPServerRequest&, net::HTTPServerResponse& resp) {
    reply(resp, 200, data, "application/octet-stream");
  });
  std::string realm;
  FakeServer registry([&](net::HTTPServerRequest& req, net::HTTPServerResponse& resp) {
    const std::string uri = req.getURI();
    if (uri.starts_with("/token"))
      return reply(resp, 200, R"({"access_token":"tok-1","expires_in":3600})");
    if (req.get("Authorization", "") != "Bearer tok-1") {
      resp.set("WWW-Authenticate", "Bearer realm=\"" + realm + "\",service=\"fake\"");
      return reply(resp, 401,
                   R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
    }
    if (uri == "/v2/x/blobs/" + d.digest) {
      // Signed storage URLs must reach storage byte for byte.
      resp.set("Location", "http://" + storage.authority() + "/blob?sig=a%2Fb%3D&x=1");
      return reply(resp, 307, "", "");
    }
    reply(resp, 404,
          R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]})");
  });
  realm = "http://" + registry.authority() + "/token";
  RegistryClient client;
  auto got = fetch(client, ref(registry, "x"), d);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got.value(), data);

  auto to_storage = storage.seen();
  ASSERT_EQ(to_storage.size(), 1u);
  EXPECT_EQ(to_storage[0].uri, "/blob?sig=a%2Fb%3D&x=1");
  EXPECT_EQ(to_storage[0].authorization, "") << "credentials stay with the registry";
  bool asked_for_token = false;
  for (const auto& s : registry.seen()) {
    if (!s.uri.starts_with("/token")) continue;
    asked_for_token = true;
    Poco::URI u(s.uri);
    auto params = u.getQueryParameters();
    EXPECT_NE(std::find(params.begin(), params.end(),
                        std::make_pair(std::string("service"), std::string("fake"))),
              params.end());
    EXPECT_NE(std::find(params.begin(), params.end(),
                        std::make_pair(std::string("scope"), std::string("repository:x:pull"))),
              params.end())
        << s.uri;
  }
  EXPECT_TRUE(asked_for_token);
}

TEST(FakeRegistry, RetriesOnceWithAFreshTokenAfterA401) {
  int issued = 0;
  std::string realm;
  FakeServer registry([&](net::HTTPServerRequest& req, net::HTTPServerResponse& resp) {
    const std::string uri = req.getURI();
    if (uri.starts_with("/token")) {
      ++issued;
      return reply(resp, 200,
                   R"({"token":"tok-)" + std::to_string(issued) + R"(","expires_in":3600})");
    }
    // tok-1 is revoked after the ping; only tok-2 works.
    if (req.get("Authorization", "") != "Bearer tok-2") {
      resp.set("WWW-Authenticate", "Bearer realm=\"" + realm + "\",service=\"fake\"");
      return reply(resp, 401, "{}");
    }
    reply(resp, 404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
  });
  realm = "http://" + registry.authority() + "/token";
  RegistryClient client;
  auto m = client.fetch_manifest(ref(registry, "x:v1"), Platform{}, nullptr);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::not_found) << m.error().message;
  EXPECT_EQ(issued, 2);
}

TEST(FakeRegistry, RefusesSchema1AndSniffsJsonMediaTypes) {
  const std::string config = "{}";
  const std::string manifest =
      R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":")" +
      image::sha256_digest(config) + R"("},"layers":[]})";
  const std::string index =
      R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":)" +
      std::to_string(manifest.size()) + R"(,"digest":")" + image::sha256_digest(manifest) +
      R"(","platform":{"os":"linux","architecture":"amd64"}}]})";
  FakeServer registry([&](net::HTTPServerRequest& req, net::HTTPServerResponse& resp) {
    const std::string uri = req.getURI();
    if (uri == "/v2/") return reply(resp, 200, "{}");
    if (uri == "/v2/old/manifests/v1") {
      return reply(resp, 200,
                   R"({"schemaVersion":1,"name":"old","tag":"v1","fsLayers":[],"signatures":[]})",
                   "application/vnd.docker.distribution.manifest.v1+prettyjws");
    }
    if (uri == "/v2/old/manifests/unsigned")
      return reply(resp, 200, R"({"schemaVersion":1,"name":"old"})");
    if (uri == "/v2/plain/manifests/v1")
      return reply(resp, 200, manifest, "application/json; charset=utf-8");
    if (uri == "/v2/plain/manifests/list") return reply(resp, 200, index, "text/plain");
    if (uri == "/v2/plain/manifests/" + image::sha256_digest(manifest))
      return reply(resp, 200, manifest, "application/json");
    reply(resp, 404, "{}");
  });
  RegistryClient client;
  for (const char* tag : {"v1", "unsigned"}) {
    auto old = client.fetch_manifest(ref(registry, std::string("old:") + tag), Platform{}, nullptr);
    ASSERT_FALSE(old);
    EXPECT_EQ(old.error().code, Errc::unsupported);
    EXPECT_NE(old.error().message.find("schema 1"), std::string::npos) << old.error().message;
  }
  auto plain = client.fetch_manifest(ref(registry, "plain:v1"), Platform{}, nullptr);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain.value().media_type, media_type::kOciManifest);
  auto list =
      client.fetch_manifest(ref(registry, "plain:list"), Platform{"linux", "amd64", ""}, nullptr);
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(list.value().index_media_type, media_type::kOciIndex);
  EXPECT_EQ(list.value().digest, image::sha256_digest(manifest));
}

TEST(FakeRegistry, RefusesContentThatDoesNotMatchItsDigest) {
  const std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":")" +
      image::sha256_digest("{}") + R"("},"layers":[]})";
  const std::string claimed = "sha256:" + std::string(64, 'e');
  const std::string index =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":")" +
      claimed + R"(","platform":{"os":"linux","architecture":"amd64"}}]})";
  const std::string blob = "blob bytes";
  FakeServer registry([&](net::HTTPServerRequest& req, net::HTTPServerResponse& resp) {
    const std::string uri = req.getURI();
    if (uri == "/v2/") return reply(resp, 200, "{}");
    if (uri == "/v2/x/manifests/" + claimed)
      return reply(resp, 200, manifest, "application/vnd.oci.image.manifest.v1+json");
    if (uri == "/v2/x/manifests/list")
      return reply(resp, 200, index, "application/vnd.oci.image.index.v1+json");
    if (uri.starts_with("/v2/x/blobs/")) {
      // Longer than any descriptor asks for, without announcing a length.
      resp.setStatus(net::HTTPResponse::HTTP_OK);
      resp.setChunkedTransferEncoding(true);
      resp.send() << blob << blob;
      return;
    }
    reply(resp, 404, "{}");
  });
  RegistryClient client;
  auto by_digest = client.fetch_manifest(ref(registry, "x@" + claimed), Platform{}, nullptr);
  ASSERT_FALSE(by_digest);
  EXPECT_EQ(by_digest.error().code, Errc::invalid_argument);
  EXPECT_EQ(by_digest.error().message, "fetch manifest " + registry.authority() + "/x@" + claimed +
                                           ": manifest verification failed for digest " + claimed);
  auto via_index = client.fetch_manifest(ref(registry, "x:list"), Platform{}, nullptr);
  ASSERT_FALSE(via_index);
  EXPECT_EQ(via_index.error().code, Errc::invalid_argument);
  EXPECT_NE(via_index.error().message.find("manifest verification failed for digest " + claimed),
            std::string::npos);

  auto longer = fetch(client, ref(registry, "x"), descriptor_of(blob));
  ASSERT_FALSE(longer);
  EXPECT_EQ(longer.error().code, Errc::invalid_argument);
  EXPECT_NE(longer.error().message.find("size mismatch"), std::string::npos)
      << longer.error().message;
}

TEST(FakeRegistry, ServerErrorsAreUnavailableWithTheRegistrysWords) {
  FakeServer registry([&](net::HTTPServerRequest& req, net::HTTPServerResponse& resp) {
    const std::string uri = req.getURI();
    if (uri == "/v2/") return reply(resp, 200, "{}");
    if (uri == "/v2/busy/manifests/v1") {
      return reply(resp, 429, R"({"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]})");
    }
    if (uri == "/v2/broken/manifests/v1")
      return reply(resp, 502, "<html>bad gateway</html>", "text/html");
    reply(resp, 500, R"({"errors":[{"code":"UNKNOWN","message":"boom"}]})");
  });
  RegistryClient client;
  auto busy = client.fetch_manifest(ref(registry, "busy:v1"), Platform{}, nullptr);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, Errc::unavailable);
  EXPECT_EQ(busy.error().message,
            "fetch manifest " + registry.authority() + "/busy:v1: toomanyrequests: slow down");
  auto broken = client.fetch_manifest(ref(registry, "broken:v1"), Platform{}, nullptr);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, Errc::unavailable);
  EXPECT_NE(broken.error().message.find("received unexpected HTTP status: 502 Bad Gateway"),
            std::string::npos)
      << broken.error().message;
  auto blob = fetch(client, ref(registry, "x"), descriptor_of("b"));
  ASSERT_FALSE(blob);
  EXPECT_EQ(blob.error().code, Errc::unavailable);
  EXPECT_NE(blob.error().message.find("unknown: boom"), std::string::npos) << blob.error().message;
}

TEST(FakeRegistry, StalledTransferTimesOut) {
  const std::string data(1000, 'q');
  FakeServer registry([&](net::HTTPServerRequest& req, net::HTTPServerResponse& resp) {
    if (req.getURI() == "/v2/") return reply(resp, 200, "{}");
    resp.setContentLength64(static_cast<Poco::Int64>(data.size()));
    std::ostream& out = resp.send();
    out << data.substr(0, 100);
    out.flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  });
  RegistryConfig config;
  config.timeout = std::chrono::seconds(1);
  RegistryClient client(config);
  auto start = std::chrono::steady_clock::now();
  auto r = fetch(client, ref(registry, "x"), descriptor_of(data));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("unexpected end of blob after 100 of 1000 bytes"),
            std::string::npos)
      << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2400));
}

TEST(FakeRegistry, NothingListeningIsUnavailable) {
  std::string authority;
  {
    FakeServer gone(
        [](net::HTTPServerRequest&, net::HTTPServerResponse& resp) { reply(resp, 200); });
    authority = gone.authority();
  }
  RegistryClient client;
  auto m = client.fetch_manifest(VALUE(image::Reference::parse(authority + "/x:v1")), Platform{},
                                 nullptr);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::unavailable);
  EXPECT_NE(m.error().message.find("GET http://" + authority + "/v2/: connection refused"),
            std::string::npos)
      << m.error().message;
  auto login = client.login(authority, Credentials{"u", "p", "", "", ""});
  ASSERT_FALSE(login);
  EXPECT_EQ(login.error().code, Errc::unavailable);
}

}  // namespace
}  // namespace berth::core::registry
