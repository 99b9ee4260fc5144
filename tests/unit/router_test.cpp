#include "berth/core/api/router.hpp"

#include "recording_writer.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace berth::core::api {
namespace {

using testing::RecordingWriter;

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("GET", "/containers/{id}/json", [this](Request& req, ResponseWriter& w) {
      seen_ = req;
      w.send_json(200, boost::json::object{{"Id", req.params.at("id")}});
    });
    router_.add("POST", "/containers/create", [](Request& req, ResponseWriter& w) {
      auto body = req.read_json();
      if (!body) return w.send_error(body.error());
      w.send_json(201, body.value());
    });
    router_.add("GET", "/boom", [](Request&, ResponseWriter&) {
      throw std::runtime_error("kaboom");
    });
    router_.add("GET", "/fails", [](Request&, ResponseWriter& w) {
      w.send_error(make_error(Errc::not_found, "no such container: abc"));
    });
  }

  RecordingWriter run(const std::string& method, const std::string& target,
                      const std::string& body = {}) {
    Request req;
    req.method = method;
    std::istringstream in(body);
    req.body_stream = &in;
    RecordingWriter w;
    router_.dispatch(target, req, w);
    return w;
  }

  Router router_;
  Request seen_;
};

TEST_F(RouterTest, MatchesParamsAndDecodesQuery) {
  auto w = run("GET", "/v1.41/containers/abc123/json?size=1&name=a%20b&x=c+d");
  EXPECT_EQ(w.status, 200);
  EXPECT_EQ(w.json().at("Id").as_string(), "abc123");
  EXPECT_EQ(seen_.version, (ApiVersion{1, 41}));
  EXPECT_TRUE(seen_.query_bool("size"));
  EXPECT_EQ(*seen_.query_value("name"), "a b");
  EXPECT_EQ(*seen_.query_value("x"), "c d");
  EXPECT_EQ(w.headers.at("Api-Version"), kMaxApiVersion.str());
  EXPECT_EQ(w.headers.at("Ostype"), "linux");
}

TEST_F(RouterTest, UnversionedPathsUseTheNewestVersion) {
  auto w = run("GET", "/containers/abc/json");
  EXPECT_EQ(w.status, 200);
  EXPECT_EQ(seen_.version, kMaxApiVersion);
}

TEST_F(RouterTest, TooOldAndTooNewVersionsAreRefusedLikeDocker) {
  auto old = run("GET", "/v1.12/containers/abc/json");
  EXPECT_EQ(old.status, 400);
  EXPECT_EQ(old.message(),
            "client version 1.12 is too old. Minimum supported API version is 1.24, please "
            "upgrade your client to a newer version");
  auto future = run("GET", "/v1.99/containers/abc/json");
  EXPECT_EQ(future.status, 400);
  EXPECT_EQ(future.message(),
            "client version 1.99 is too new. Maximum supported API version is 1.43");
  EXPECT_EQ(run("GET", "/v1.24/containers/abc/json").status, 200);
  EXPECT_EQ(run("GET", "/v1.43/containers/abc/json").status, 200);
}

TEST_F(RouterTest, UnknownRoutesAndMethods) {
  auto missing = run("GET", "/v1.41/nothing/here");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.message(), "page not found");
  EXPECT_EQ(missing.content_type, "application/json");
  auto method = run("DELETE", "/containers/abc/json");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(run("GET", "/vX.1/containers/abc/json").status, 404);
  EXPECT_EQ(run("GET", "/v1/containers/abc/json").status, 404);
}

TEST_F(RouterTest, PathTricksDoNotMatch) {
  for (const char* target : {"/v1.41/containers/../containers/abc/json", "/containers/./x/json",
                             "/containers/%2e%2e/json", "relative/path", "",
                             "/containers/a%00b/json", "/containers/%zz/json"}) {
    auto w = run("GET", target);
    EXPECT_TRUE(w.status == 404 || w.status == 400) << target << " -> " << w.status;
    EXPECT_EQ(w.sends, 1) << target;
  }
}

TEST_F(RouterTest, MalformedJsonIs400) {
  auto w = run("POST", "/containers/create", R"({"Image": )");
  EXPECT_EQ(w.status, 400);
  EXPECT_NE(w.message().find("invalid JSON"), std::string::npos);
  auto good = run("POST", "/containers/create", R"({"Image": "x"})");
  EXPECT_EQ(good.status, 201);
}

TEST_F(RouterTest, HandlerExceptionsBecome500) {
  auto w = run("GET", "/boom");
  EXPECT_EQ(w.status, 500);
  EXPECT_EQ(w.message(), "internal error: kaboom");
}

TEST_F(RouterTest, ErrorClassesMapToDockerStatuses) {
  EXPECT_EQ(run("GET", "/fails").status, 404);
  EXPECT_EQ(http_status(Errc::invalid_argument), 400);
  EXPECT_EQ(http_status(Errc::conflict), 409);
  EXPECT_EQ(http_status(Errc::already_exists), 409);
  EXPECT_EQ(http_status(Errc::permission_denied), 403);
  EXPECT_EQ(http_status(Errc::unsupported), 501);
  EXPECT_EQ(http_status(Errc::unavailable), 503);
  EXPECT_EQ(http_status(Errc::internal), 500);
}

TEST(RouterGreedy, NameParamsSpanSlashes) {
  Router router;
  std::string seen;
  router.add("GET", "/images/{name*}/json", [&](Request& req, ResponseWriter& w) {
    seen = req.params.at("name");
    w.send(200, "text/plain", "");
  });
  router.add("DELETE", "/images/{name*}", [&](Request& req, ResponseWriter& w) {
    seen = "delete " + req.params.at("name");
    w.send(200, "text/plain", "");
  });
  auto run = [&](const std::string& method, const std::string& target) {
    Request req;
    req.method = method;
    RecordingWriter w;
    router.dispatch(target, req, w);
    return w.status;
  };
  EXPECT_EQ(run("GET", "/v1.41/images/127.0.0.1:5000/team/app:1.0/json"), 200);
  EXPECT_EQ(seen, "127.0.0.1:5000/team/app:1.0");
  EXPECT_EQ(run("GET", "/images/busybox/json"), 200);
  EXPECT_EQ(seen, "busybox");
  EXPECT_EQ(run("DELETE", "/images/a/b/json"), 200);
  EXPECT_EQ(seen, "delete a/b/json");
  EXPECT_EQ(run("GET", "/images/json"), 405);
}

TEST(ApiVersionTest, Parses) {
  ApiVersion v;
  EXPECT_TRUE(ApiVersion::parse("1.41", v));
  EXPECT_EQ(v, (ApiVersion{1, 41}));
  for (const char* bad : {"", "1", "1.", ".4", "1.x", "a.b", "1.41.2"}) {
    EXPECT_FALSE(ApiVersion::parse(bad, v)) << bad;
  }
  EXPECT_LT((ApiVersion{1, 9}), (ApiVersion{1, 24}));
}

TEST(RequestBody, OverLimitIsRefused) {
  Request req;
  std::string big(100, 'x');
  std::istringstream in(big);
  req.body_stream = &in;
  auto r = req.read_body(10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace berth::core::api
