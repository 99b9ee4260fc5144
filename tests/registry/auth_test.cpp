// X-Registry-Auth / AuthConfig decoding and WWW-Authenticate parsing.
#include "berth/core/registry/auth.hpp"

#include <gtest/gtest.h>

namespace berth::core::registry {
namespace {

// base64 of `{"username":"alice","password":"s3cr3t?>","serveraddress":"127.0.0.1:5000"}`;
// the password makes the standard alphabet use '+' or '/' somewhere.
const std::string kJson =
    R"({"username":"alice","password":"s3cr3t?>","serveraddress":"127.0.0.1:5000"})";

std::string to_std(std::string s) {
  for (auto& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (s.size() % 4 != 0) s += '=';
  return s;
}

TEST(RegistryAuth, EmptyHeaderIsAnonymous) {
  auto c = decode_registry_auth("");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c.value().empty());
  auto braces = decode_registry_auth("e30=");  // "{}"
  ASSERT_TRUE(braces);
  EXPECT_TRUE(braces.value().empty());
}

TEST(RegistryAuth, RoundTripsBase64UrlWithAndWithoutPadding) {
  Credentials in{"alice", "s3cr3t?>", "", "", "127.0.0.1:5000"};
  std::string encoded = encode_registry_auth(in);
  EXPECT_EQ(encoded.find('='), std::string::npos) << "encoded without padding";
  EXPECT_EQ(encoded.find_first_of("+/"), std::string::npos) << "URL-safe alphabet";
  for (const std::string& header :
       {encoded, encoded + std::string((4 - encoded.size() % 4) % 4, '='), to_std(encoded)}) {
    auto out = decode_registry_auth(header);
    ASSERT_TRUE(out) << header << ": " << out.error().message;
    EXPECT_EQ(out.value().username, "alice");
    EXPECT_EQ(out.value().password, "s3cr3t?>");
    EXPECT_EQ(out.value().server_address, "127.0.0.1:5000");
  }
}

TEST(RegistryAuth, TokensAndAuthField) {
  auto c = parse_auth_config(
      R"({"identitytoken":"refresh-1","registrytoken":"bearer-1","email":"x@y"})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c.value().identity_token, "refresh-1");
  EXPECT_EQ(c.value().registry_token, "bearer-1");
  EXPECT_FALSE(c.value().empty());

  // "auth" is base64("user:password"), as in ~/.docker/config.json.
  auto a = parse_auth_config(R"({"auth":"Ym9iOnB3OmQ="})");  // bob:pw:d
  ASSERT_TRUE(a);
  EXPECT_EQ(a.value().username, "bob");
  EXPECT_EQ(a.value().password, "pw:d");

  // Go's JSON decoding matches keys case-insensitively; so do we.
  auto upper = parse_auth_config(R"({"Username":"carol","Password":"p"})");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper.value().username, "carol");
}

TEST(RegistryAuth, RefusesGarbage) {
  for (const std::string& header : {std::string("%%%"), std::string("bm90IGpzb24"),
                                    std::string("WzFd"), std::string("eyJ1c2VybmFtZSI6NX0")}) {
    // "%%%": not base64; "not json"; "[1]": not an object; {"username":5}: wrong type
    auto c = decode_registry_auth(header);
    ASSERT_FALSE(c) << header;
    EXPECT_EQ(c.error().code, Errc::invalid_argument);
    EXPECT_TRUE(c.error().message.starts_with("invalid X-Registry-Auth header: "))
        << c.error().message;
  }
  auto bad_auth = parse_auth_config(R"({"auth":"bm9jb2xvbg=="})");  // "nocolon"
  ASSERT_FALSE(bad_auth);
  EXPECT_EQ(bad_auth.error().code, Errc::invalid_argument);
}

TEST(RegistryAuth, ParsesChallenges) {
  auto cs = parse_challenges(
      {R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")"});
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(cs[0].param("service"), "registry.docker.io");
  EXPECT_EQ(cs[0].param("scope"), "repository:library/busybox:pull");
  EXPECT_EQ(cs[0].param("missing"), "");

  auto two =
      parse_challenges({R"(Basic realm="x, y", BEARER Realm=http://t/token , error="a\"b")"});
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].scheme, "basic");
  EXPECT_EQ(two[0].param("realm"), "x, y");
  EXPECT_EQ(two[1].scheme, "bearer");
  EXPECT_EQ(two[1].param("realm"), "http://t/token");
  EXPECT_EQ(two[1].param("error"), "a\"b");

  auto headers = parse_challenges({"Negotiate abc==", "Basic realm=\"r\""});
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0].scheme, "negotiate");
  EXPECT_TRUE(headers[0].params.empty());
  EXPECT_EQ(headers[1].scheme, "basic");

  EXPECT_TRUE(parse_challenges({""}).empty());
  EXPECT_TRUE(parse_challenges({"=garbage"}).empty());
}

}  // namespace
}  // namespace berth::core::registry
