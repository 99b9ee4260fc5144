// Docker's reference grammar and normalisation, table-driven from what
// `docker pull` / distribution/reference accept and refuse.
#include "berth/core/image/reference.hpp"

#include <gtest/gtest.h>

#include <string>

namespace berth::core::image {
namespace {

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kDigest = "sha256:" + kHex;

struct Valid {
  std::string input;
  std::string domain, path, tag, digest;
  std::string str, familiar;
};

class ReferenceValid : public ::testing::TestWithParam<Valid> {};

TEST_P(ReferenceValid, ParsesAndNormalises) {
  const Valid& v = GetParam();
  auto ref = Reference::parse(v.input);
  ASSERT_TRUE(ref) << v.input << ": " << ref.error().message;
  EXPECT_EQ(ref.value().domain, v.domain);
  EXPECT_EQ(ref.value().path, v.path);
  EXPECT_EQ(ref.value().tag, v.tag);
  EXPECT_EQ(ref.value().digest, v.digest);
  EXPECT_EQ(ref.value().str(), v.str);
  EXPECT_EQ(ref.value().familiar(), v.familiar);
  EXPECT_EQ(ref.value().repository_path(), v.path);
  // The full string is a fixed point.
  auto again = Reference::parse(ref.value().str());
  ASSERT_TRUE(again) << ref.value().str();
  EXPECT_EQ(again.value(), ref.value());
}

INSTANTIATE_TEST_SUITE_P(
    Docker, ReferenceValid,
    ::testing::Values(
        Valid{"busybox", "docker.io", "library/busybox", "latest", "",
              "docker.io/library/busybox:latest", "busybox:latest"},
        Valid{"busybox:1.36", "docker.io", "library/busybox", "1.36", "",
              "docker.io/library/busybox:1.36", "busybox:1.36"},
        Valid{"library/busybox", "docker.io", "library/busybox", "latest", "",
              "docker.io/library/busybox:latest", "busybox:latest"},
        Valid{"docker.io/busybox", "docker.io", "library/busybox", "latest", "",
              "docker.io/library/busybox:latest", "busybox:latest"},
        Valid{"index.docker.io/busybox:musl", "docker.io", "library/busybox", "musl", "",
              "docker.io/library/busybox:musl", "busybox:musl"},
        Valid{"index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", "",
              "docker.io/library/busybox:latest", "busybox:latest"},
        Valid{"user/app", "docker.io", "user/app", "latest", "", "docker.io/user/app:latest",
              "user/app:latest"},
        Valid{"docker.io/library/a/b", "docker.io", "library/a/b", "latest", "",
              "docker.io/library/a/b:latest", "library/a/b:latest"},
        Valid{"127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", "",
              "127.0.0.1:5000/app:latest", "127.0.0.1:5000/app:latest"},
        Valid{"localhost/app", "localhost", "app", "latest", "", "localhost/app:latest",
              "localhost/app:latest"},
        Valid{"localhost:5000/a/b/c:v1", "localhost:5000", "a/b/c", "v1", "",
              "localhost:5000/a/b/c:v1", "localhost:5000/a/b/c:v1"},
        // Without a slash these are names on Docker Hub, ":5000" a tag.
        Valid{"localhost", "docker.io", "library/localhost", "latest", "",
              "docker.io/library/localhost:latest", "localhost:latest"},
        Valid{"localhost:5000", "docker.io", "library/localhost", "5000", "",
              "docker.io/library/localhost:5000", "localhost:5000"},
        Valid{"example.com:5000", "docker.io", "library/example.com", "5000", "",
              "docker.io/library/example.com:5000", "example.com:5000"},
        Valid{"[::1]:5000/app:tag", "[::1]:5000", "app", "tag", "", "[::1]:5000/app:tag",
              "[::1]:5000/app:tag"},
        Valid{"registry.example.com:443/team/app:1.0-rc.1_X", "registry.example.com:443",
              "team/app", "1.0-rc.1_X", "", "registry.example.com:443/team/app:1.0-rc.1_X",
              "registry.example.com:443/team/app:1.0-rc.1_X"},
        // An upper-case first component is a host, not a namespace.
        Valid{"Example/app", "Example", "app", "latest", "", "Example/app:latest",
              "Example/app:latest"},
        Valid{"a.b-c--d.e/x", "a.b-c--d.e", "x", "latest", "", "a.b-c--d.e/x:latest",
              "a.b-c--d.e/x:latest"},
        Valid{"me/a_b__c-d---e.f", "docker.io", "me/a_b__c-d---e.f", "latest", "",
              "docker.io/me/a_b__c-d---e.f:latest", "me/a_b__c-d---e.f:latest"},
        Valid{"busybox@" + kDigest, "docker.io", "library/busybox", "", kDigest,
              "docker.io/library/busybox@" + kDigest, "busybox@" + kDigest},
        Valid{"busybox:1@" + kDigest, "docker.io", "library/busybox", "1", kDigest,
              "docker.io/library/busybox:1@" + kDigest, "busybox:1@" + kDigest},
        Valid{"127.0.0.1:5000/x/y@" + kDigest, "127.0.0.1:5000", "x/y", "", kDigest,
              "127.0.0.1:5000/x/y@" + kDigest, "127.0.0.1:5000/x/y@" + kDigest},
        Valid{"busybox:" + std::string(128, 't'), "docker.io", "library/busybox",
              std::string(128, 't'), "", "docker.io/library/busybox:" + std::string(128, 't'),
              "busybox:" + std::string(128, 't')},
        Valid{"me/" + std::string(252, 'a'), "docker.io", "me/" + std::string(252, 'a'), "latest",
              "", "docker.io/me/" + std::string(252, 'a') + ":latest",
              "me/" + std::string(252, 'a') + ":latest"}));

struct Invalid {
  std::string input, message;
};

class ReferenceInvalid : public ::testing::TestWithParam<Invalid> {};

TEST_P(ReferenceInvalid, RefusedWithDockersMessage) {
  const Invalid& v = GetParam();
  auto ref = Reference::parse(v.input);
  ASSERT_FALSE(ref) << v.input << " parsed as " << ref.value().str();
  EXPECT_EQ(ref.error().code, Errc::invalid_argument);
  EXPECT_EQ(ref.error().message, v.message) << v.input;
}

INSTANTIATE_TEST_SUITE_P(
    Docker, ReferenceInvalid,
    ::testing::Values(
        Invalid{"", "invalid reference format"},
        Invalid{"Busybox",
                "invalid reference format: repository name (library/Busybox) must be lowercase"},
        Invalid{"user/App:v1",
                "invalid reference format: repository name (user/App) must be lowercase"},
        Invalid{"127.0.0.1:5000/Up",
                "invalid reference format: repository name (Up) must be lowercase"},
        Invalid{"busybox:", "invalid reference format"},
        Invalid{":latest", "invalid reference format"},
        Invalid{"busybox@", "invalid reference format"},
        Invalid{"a//b", "invalid reference format"},
        Invalid{"/busybox", "invalid reference format"},
        Invalid{"busybox/", "invalid reference format"},
        Invalid{"-busybox", "invalid reference format"},
        Invalid{"busybox-", "invalid reference format"},
        Invalid{"a..b", "invalid reference format"}, Invalid{"a___b", "invalid reference format"},
        Invalid{"a b", "invalid reference format"},
        Invalid{"busybox:-x", "invalid reference format"},
        Invalid{"busybox:a/b", "invalid reference format"},
        Invalid{"busybox:tag:more", "invalid reference format"},
        Invalid{"busybox:" + std::string(129, 't'), "invalid reference format"},
        Invalid{"localhost:abc/app", "invalid reference format"},
        Invalid{"localhost:/app", "invalid reference format"},
        Invalid{"-host.com/app", "invalid reference format"},
        Invalid{"my_host.com/app", "invalid reference format"},
        Invalid{"[::1/app", "invalid reference format"},
        Invalid{"busybox@sha256:abc", "invalid reference format"},
        Invalid{"busybox@sha256" + kHex, "invalid reference format"},
        Invalid{"busybox@sha256:" + kHex.substr(1), "invalid checksum digest length"},
        Invalid{"busybox@sha512:" + kHex + kHex, "unsupported digest algorithm"},
        Invalid{"busybox@sha256:" + std::string(64, 'A'), "invalid checksum digest format"},
        Invalid{kHex, "invalid repository name (" + kHex +
                          "), cannot specify 64-byte hexadecimal strings"},
        Invalid{"me/" + std::string(253, 'a'),
                "repository name must not be more than 255 characters"}));

TEST(Reference, DefaultTagOnlyWithoutTagOrDigest) {
  auto bare = Reference::parse("busybox", Reference::DefaultTag::none);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare.value().tag, "");
  EXPECT_EQ(bare.value().str(), "docker.io/library/busybox");
  EXPECT_EQ(bare.value().familiar(), "busybox");
  auto pinned = Reference::parse("busybox@" + kDigest);
  ASSERT_TRUE(pinned);
  EXPECT_EQ(pinned.value().tag, "") << "a digest needs no default tag";
}

TEST(Reference, NamesAndDerivedReferences) {
  auto ref = Reference::parse("127.0.0.1:5000/team/app:v2").value();
  EXPECT_EQ(ref.name(), "127.0.0.1:5000/team/app");
  EXPECT_EQ(ref.familiar_name(), "127.0.0.1:5000/team/app");
  EXPECT_EQ(ref.tag_or_digest(), "v2");
  EXPECT_EQ(ref.with_digest(kDigest).tag_or_digest(), kDigest) << "a digest pins the content";
  EXPECT_EQ(ref.with_digest(kDigest).str(), "127.0.0.1:5000/team/app:v2@" + kDigest);
  EXPECT_EQ(ref.with_tag("v3").str(), "127.0.0.1:5000/team/app:v3");
  EXPECT_EQ(ref.repository().str(), "127.0.0.1:5000/team/app");

  auto hub = Reference::parse("busybox").value();
  EXPECT_EQ(hub.name(), "docker.io/library/busybox");
  EXPECT_EQ(hub.familiar_name(), "busybox");
  EXPECT_EQ(hub.repository_path(), "library/busybox");
}

TEST(Reference, PartValidators) {
  EXPECT_TRUE(is_valid_tag("v1.0_rc-2"));
  EXPECT_TRUE(is_valid_tag("_x"));
  EXPECT_FALSE(is_valid_tag(".x"));
  EXPECT_FALSE(is_valid_tag(""));
  EXPECT_TRUE(is_valid_repository_path("library/busybox"));
  EXPECT_FALSE(is_valid_repository_path("library//busybox"));
  EXPECT_FALSE(is_valid_repository_path("Library/busybox"));
  EXPECT_TRUE(is_valid_domain("127.0.0.1:5000"));
  EXPECT_TRUE(is_valid_domain("[fe80::1]:5000"));
  EXPECT_TRUE(is_valid_domain("my-registry.local"));
  EXPECT_FALSE(is_valid_domain("my_registry.local"));
  EXPECT_FALSE(is_valid_domain("host:"));
  EXPECT_FALSE(is_valid_domain("[]:5000"));
}

}  // namespace
}  // namespace berth::core::image
