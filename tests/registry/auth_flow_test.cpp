// Auth and transport against real registries: htpasswd basic auth, bearer
// tokens from a token server whose JWTs docker-registry verifies, and TLS
// with and without certificate verification.
#include "berth/core/image/digest.hpp"
#include "berth/core/registry/client.hpp"
#include "registry.hpp"

#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <sstream>
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

using berth::testing::ImageFormat;
using berth::testing::LocalRegistry;
namespace fs = std::filesystem;

const bool kIgnoreSigpipe = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

image::Reference ref(const LocalRegistry& r, const std::string& rest) {
  return VALUE(image::Reference::parse(r.host() + "/" + rest));
}

Descriptor descriptor_of(const std::string& data) {
  return Descriptor{"application/octet-stream",
                    image::sha256_digest(data),
                    static_cast<std::int64_t>(data.size()),
                    {},
                    {},
                    {}};
}

BlobSource source_of(const std::string& data) {
  auto done = std::make_shared<bool>(false);
  return [&data, done](char* buf, std::size_t cap) -> Result<std::size_t> {
    if (*done) return std::size_t{0};
    EXPECT_GE(cap, data.size());
    std::memcpy(buf, data.data(), data.size());
    *done = true;
    return data.size();
  };
}

BlobSink discard() {
  return [](const char*, std::size_t) -> Result<void> { return ok(); };
}

TEST(RegistryAuthFlow, BasicAuth) {
  LocalRegistry registry({.auth = LocalRegistry::Auth::basic, .users = {{"alice", "s3cret"}}});
  push_test_image(registry, "private/app:v1", ImageFormat::oci);
  RegistryClient client;
  const Credentials good{"alice", "s3cret", "", "", ""};
  const Credentials bad{"alice", "wrong", "", "", ""};

  auto in = client.login(registry.host(), good);
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ(in.value(), "") << "basic auth has no identity token";
  EXPECT_TRUE(client.login("http://" + registry.host() + "/v2/", good))
      << "a server address works too";
  auto out = client.login(registry.host(), bad);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Errc::permission_denied);
  EXPECT_EQ(out.error().message, "unauthorized: incorrect username or password");

  auto app = ref(registry, "private/app:v1");
  auto anonymous = client.fetch_manifest(app, Platform{}, nullptr);
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(anonymous.error().code, Errc::permission_denied);
  EXPECT_EQ(anonymous.error().message, "pull access denied for " + registry.host() +
                                           "/private/app, repository does not exist or may require "
                                           "'docker login': unauthorized: authentication required");
  auto wrong = client.fetch_manifest(app, Platform{}, &bad);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::permission_denied);

  auto m = client.fetch_manifest(app, Platform{}, &good);
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(client.fetch_blob(app, m.value().config, &good, discard()));

  std::string data = "pushed with basic auth";
  ASSERT_TRUE(client.push_blob(app, descriptor_of(data), &good, source_of(data)));
  auto refused = client.push_blob(app, descriptor_of("anonymous"), nullptr, source_of("anonymous"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::permission_denied);
}

// Asks the token server for a token like any client would (for
// Credentials::registry_token).
std::string token_for(const testing::TokenServer& ts, const std::string& scope,
                      const std::string& user, const std::string& password) {
  Poco::Net::HTTPClientSession s("127.0.0.1",
                                 static_cast<Poco::UInt16>(std::stoi(ts.realm().substr(17))));
  Poco::Net::HTTPRequest req("GET", "/token?service=" + ts.options().service + "&scope=" + scope,
                             Poco::Net::HTTPMessage::HTTP_1_1);
  Poco::Net::HTTPBasicCredentials(user, password).authenticate(req);
  s.sendRequest(req);
  Poco::Net::HTTPResponse resp;
  std::stringstream body;
  body << s.receiveResponse(resp).rdbuf();
  return std::string(boost::json::parse(body.str()).at("token").as_string());
}

TEST(RegistryAuthFlow, BearerTokensAgainstARealRegistry) {
  LocalRegistry registry({.auth = LocalRegistry::Auth::token, .users = {{"bob", "hunter2"}}});
  testing::TokenServer& ts = *registry.token_server();
  push_test_image(registry, "team/app:v1",
                  ImageFormat::docker_v2s2);  // skopeo agrees with our token server
  RegistryClient client;
  auto app = ref(registry, "team/app:v1");
  const Credentials bob{"bob", "hunter2", "", "", ""};

  // Anonymous pull: a pull-only token, fetched once and reused.
  int before = ts.token_requests();
  auto m = client.fetch_manifest(app, Platform{}, nullptr);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(ts.last_scopes(), "repository:team/app:pull");
  ASSERT_TRUE(client.fetch_blob(app, m.value().config, nullptr, discard()));
  ASSERT_TRUE(client.fetch_manifest(app, Platform{}, nullptr));
  EXPECT_EQ(ts.token_requests(), before + 1) << "the pull token is cached";

  // Anonymous push: the token carries no push right, the registry refuses.
  std::string data = "layer bytes";
  auto anonymous = client.push_blob(app, descriptor_of(data), nullptr, source_of(data));
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(anonymous.error().code, Errc::permission_denied);

  // With credentials: a pull,push token for bob, not shared with anyone else.
  auto pushed = client.push_blob(app, descriptor_of(data), &bob, source_of(data));
  ASSERT_TRUE(pushed) << pushed.error().message;
  EXPECT_EQ(ts.last_scopes(), "repository:team/app:pull,push");
  int after_push = ts.token_requests();
  ASSERT_TRUE(VALUE(client.blob_exists(app, descriptor_of(data).digest, &bob)));
  EXPECT_EQ(ts.token_requests(), after_push) << "a pull,push token also serves pulls";
  std::string other = "other bytes";
  auto still_refused = client.push_blob(app, descriptor_of(other), nullptr, source_of(other));
  ASSERT_FALSE(still_refused) << "bob's token must not serve anonymous requests";

  const Credentials wrong{"bob", "nope", "", "", ""};
  auto bad = client.push_blob(app, descriptor_of(other), &wrong, source_of(other));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::permission_denied);
  EXPECT_NE(bad.error().message.find("unauthorized: incorrect username or password"),
            std::string::npos)
      << bad.error().message;

  // A cross-repository mount asks for pull on the source too.
  auto mounted =
      client.mount_blob(ref(registry, "team/copy"), "team/app", descriptor_of(data).digest, &bob);
  ASSERT_TRUE(mounted) << mounted.error().message;
  EXPECT_TRUE(mounted.value());
  EXPECT_EQ(ts.last_scopes(), "repository:team/copy:pull,push repository:team/app:pull");

  // Manifests by token, read back anonymously.
  auto digest = client.push_manifest(ref(registry, "team/app:v2"), m.value().media_type,
                                     m.value().bytes, &bob);
  ASSERT_TRUE(digest) << digest.error().message;
  EXPECT_EQ(digest.value(), m.value().digest);
  ASSERT_TRUE(client.fetch_manifest(ref(registry, "team/app:v2"), Platform{}, nullptr));
}

TEST(RegistryAuthFlow, OneClientServesConcurrentPulls) {
  LocalRegistry registry({.auth = LocalRegistry::Auth::token, .users = {{"bob", "hunter2"}}});
  testing::ImageSpec spec;
  spec.layers.push_back(testing::busybox_layer());
  push_test_image(registry, "team/app:v1", ImageFormat::oci, spec);
  testing::TokenServer& ts = *registry.token_server();
  RegistryClient client;
  const Credentials bob{"bob", "hunter2", "", "", ""};
  int before = ts.token_requests();
  constexpr int kThreads = 8, kRounds = 4;
  std::atomic<int> failures{0};
  std::mutex errors_mutex;
  std::string errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const Credentials* creds = t % 2 == 0 ? &bob : nullptr;
      for (int round = 0; round < kRounds; ++round) {
        auto app = image::Reference::parse(registry.host() + "/team/app:v1");
        auto m = client.fetch_manifest(app.value(), Platform{}, creds);
        Result<void> r =
            m ? client.fetch_blob(app.value(), m.value().layers.back(), creds, discard())
              : Result<void>(m.error());
        if (!r) {
          ++failures;
          std::lock_guard lock(errors_mutex);
          errors += r.error().message + "\n";
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0) << errors;
  // Two identities, one pull token each; a few threads may race to the first.
  EXPECT_GE(ts.token_requests() - before, 2);
  EXPECT_LE(ts.token_requests() - before, kThreads);
}

TEST(RegistryAuthFlow, LoginReturnsAnIdentityTokenThatWorks) {
  LocalRegistry registry({.auth = LocalRegistry::Auth::token, .users = {{"bob", "hunter2"}}});
  RegistryClient client;
  auto identity = client.login(registry.host(), Credentials{"bob", "hunter2", "", "", ""});
  ASSERT_TRUE(identity) << identity.error().message;
  EXPECT_EQ(identity.value(), "berth-test-refresh:bob");
  auto refused = client.login(registry.host(), Credentials{"bob", "nope", "", "", ""});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::permission_denied);
  EXPECT_EQ(refused.error().message, "unauthorized: incorrect username or password");

  // The identity token alone (what `docker login` stores) buys push tokens
  // through the refresh-token grant.
  Credentials by_token;
  by_token.identity_token = identity.value();
  std::string data = "pushed with an identity token";
  auto pushed =
      client.push_blob(ref(registry, "team/app"), descriptor_of(data), &by_token, source_of(data));
  ASSERT_TRUE(pushed) << pushed.error().message;
  Credentials forged;
  forged.identity_token = "berth-test-refresh:mallory";
  auto bad =
      client.push_blob(ref(registry, "team/app"), descriptor_of("x"), &forged, source_of("x"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::permission_denied);
}

TEST(RegistryAuthFlow, RegistryTokenIsSentAsIs) {
  LocalRegistry registry({.auth = LocalRegistry::Auth::token, .users = {{"bob", "hunter2"}}});
  push_test_image(registry, "team/app:v1", ImageFormat::oci);
  testing::TokenServer& ts = *registry.token_server();
  Credentials creds;
  creds.registry_token = token_for(ts, "repository:team/app:pull", "bob", "hunter2");
  RegistryClient client;
  int before = ts.token_requests();
  auto m = client.fetch_manifest(ref(registry, "team/app:v1"), Platform{}, &creds);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(ts.token_requests(), before) << "a registry token needs no token server";
  // It grants pull only.
  auto push =
      client.push_blob(ref(registry, "team/app"), descriptor_of("x"), &creds, source_of("x"));
  ASSERT_FALSE(push);
  EXPECT_EQ(push.error().code, Errc::permission_denied);
}

TEST(RegistryAuthFlow, PrivateRegistryRefusesAnonymousPulls) {
  LocalRegistry registry({.auth = LocalRegistry::Auth::token,
                          .users = {{"bob", "hunter2"}},
                          .token_anonymous_pull = false});
  push_test_image(registry, "team/app:v1", ImageFormat::oci);
  RegistryClient client;
  auto m = client.fetch_manifest(ref(registry, "team/app:v1"), Platform{}, nullptr);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::permission_denied);
  EXPECT_TRUE(
      m.error().message.starts_with("pull access denied for " + registry.host() + "/team/app, "))
      << m.error().message;
  const Credentials bob{"bob", "hunter2", "", "", ""};
  EXPECT_TRUE(client.fetch_manifest(ref(registry, "team/app:v1"), Platform{}, &bob));
}

TEST(RegistryAuthFlow, TlsVerifiedOnlyWhenSecure) {
  LocalRegistry registry({.tls = true});
  std::string digest = push_test_image(registry, "tls/app:v1", ImageFormat::oci);
  auto app = ref(registry, "tls/app:v1");

  // Loopback is insecure by default: HTTPS without verification.
  RegistryClient relaxed;
  auto m = relaxed.fetch_manifest(app, Platform{}, nullptr);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m.value().digest, digest);

  // Secure: an unknown CA is refused...
  testing::TempDir certs("certs");
  RegistryConfig config;
  config.loopback_is_insecure = false;
  config.certs_dir = certs.path();
  RegistryClient strict(config);
  auto refused = strict.fetch_manifest(app, Platform{}, nullptr);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_NE(refused.error().message.find("certificate verify failed"), std::string::npos)
      << refused.error().message;

  // ...and trusted once certs.d/<host:port>/ca.crt names it.
  fs::create_directories(certs / registry.host());
  fs::copy_file(registry.tls_certificate(), certs / (registry.host() + "/ca.crt"));
  RegistryClient trusting(config);
  auto verified = trusting.fetch_manifest(app, Platform{}, nullptr);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified.value().digest, digest);
}

TEST(RegistryAuthFlow, SecureModeDoesNotFallBackToHttp) {
  LocalRegistry registry;  // plain HTTP
  RegistryConfig config;
  config.loopback_is_insecure = false;
  RegistryClient strict(config);
  auto m = strict.fetch_manifest(ref(registry, "any/thing:v1"), Platform{}, nullptr);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::unavailable);
  EXPECT_NE(m.error().message.find("GET https://" + registry.host() + "/v2/"), std::string::npos)
      << m.error().message;

  config.insecure_registries = {registry.host()};
  RegistryClient listed(config);
  auto again = listed.fetch_manifest(ref(registry, "any/thing:v1"), Platform{}, nullptr);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::not_found) << "listed as insecure: plain HTTP works";
}

}  // namespace
}  // namespace berth::core::registry
