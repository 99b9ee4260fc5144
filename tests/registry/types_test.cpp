// Manifest and index parsing, platform matching, and the client's insecure-
// registry rules (no network: IP literals and names the config lists).
#include "berth/core/registry/types.hpp"
#include "berth/core/registry/client.hpp"

#include <gtest/gtest.h>

#include <sys/utsname.h>

namespace berth::core::registry {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');

TEST(RegistryTypes, ParsesDockerSchema2) {
  std::string body = R"({
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469, "digest": ")" +
                     kA + R"("},
    "layers": [
      {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2479, "digest": ")" +
                     kB + R"("},
      {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "size": 5, "digest": ")" +
                     kC + R"(",
       "urls": ["https://example.com/layer"]}
    ]})";
  auto m = parse_manifest(body);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m.value().media_type, media_type::kDockerManifest);
  EXPECT_EQ(m.value().config.digest, kA);
  EXPECT_EQ(m.value().config.size, 1469);
  EXPECT_EQ(m.value().config.media_type, media_type::kDockerConfig);
  ASSERT_EQ(m.value().layers.size(), 2u);
  EXPECT_EQ(m.value().layers[0].digest, kB);
  EXPECT_EQ(m.value().layers[0].size, 2479);
  EXPECT_EQ(m.value().layers[1].urls, std::vector<std::string>{"https://example.com/layer"});
}

TEST(RegistryTypes, ParsesOciManifestWithoutMediaType) {
  std::string body =
      R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":")" +
      kA + R"("},"layers":[],"annotations":{"a":"b"}})";
  auto m = parse_manifest(body, media_type::kOciManifest);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m.value().media_type, media_type::kOciManifest);
  EXPECT_TRUE(m.value().layers.empty());
}

TEST(RegistryTypes, RefusesBadManifests) {
  struct Case {
    std::string body;
    Errc code;
  };
  const Case cases[] = {
      {"not json", Errc::invalid_argument},
      {"[]", Errc::invalid_argument},
      {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]})",
       Errc::invalid_argument},
      {R"({"schemaVersion":2,"config":{"digest":"sha256:abc","size":1}})", Errc::invalid_argument},
      {R"({"schemaVersion":2,"config":{"digest":")" + kA + R"(","size":-1}})",
       Errc::invalid_argument},
      {R"({"schemaVersion":2,"config":{"digest":")" + kA + R"("}})", Errc::invalid_argument},
      {R"({"schemaVersion":2,"config":{"digest":"sha512:)" + std::string(128, 'a') +
           R"(","size":1}})",
       Errc::unsupported},
      {R"({"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]})", Errc::unsupported},
      {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})",
       Errc::unsupported},
  };
  for (const auto& c : cases) {
    auto m = parse_manifest(c.body);
    ASSERT_FALSE(m) << c.body;
    EXPECT_EQ(m.error().code, c.code) << c.body << ": " << m.error().message;
  }
  auto schema1 = parse_manifest(R"({"schemaVersion":1})");
  EXPECT_NE(schema1.error().message.find("schema 1"), std::string::npos) << schema1.error().message;
}

std::vector<Descriptor> sample_index() {
  std::string body =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      std::string("sha256:") + std::string(64, '1') + R"(","size":1,
     "platform":{"os":"linux","architecture":"amd64"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      std::string("sha256:") + std::string(64, '2') + R"(","size":1,
     "platform":{"os":"linux","architecture":"arm","variant":"v6"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      std::string("sha256:") + std::string(64, '3') + R"(","size":1,
     "platform":{"os":"linux","architecture":"arm","variant":"v7"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      std::string("sha256:") + std::string(64, '4') + R"(","size":1,
     "platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      std::string("sha256:") + std::string(64, '5') + R"(","size":1,
     "platform":{"os":"unknown","architecture":"unknown"},
     "annotations":{"vnd.docker.reference.type":"attestation-manifest"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      std::string("sha256:") + std::string(64, '6') + R"(","size":1,
     "platform":{"os":"windows","architecture":"amd64","os.version":"10.0"}}
  ]})";
  auto entries = parse_index(body);
  EXPECT_TRUE(entries) << entries.error().message;
  return entries.value();
}

TEST(RegistryTypes, SelectsPlatformFromIndex) {
  auto entries = sample_index();
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[4].annotations.at("vnd.docker.reference.type"), "attestation-manifest");
  auto pick = [&](Platform p) -> std::string {
    const Descriptor* d = select_platform(entries, p);
    return d == nullptr ? "none" : d->digest.substr(7, 1);
  };
  EXPECT_EQ(pick({"linux", "amd64", ""}), "1");
  EXPECT_EQ(pick({"linux", "x86_64", ""}), "1");
  EXPECT_EQ(pick({"linux", "arm64", ""}), "4") << "arm64 without a variant is v8";
  EXPECT_EQ(pick({"linux", "aarch64", "v8"}), "4");
  EXPECT_EQ(pick({"linux", "arm", "v7"}), "3") << "the exact variant wins";
  EXPECT_EQ(pick({"linux", "arm", ""}), "3") << "arm without a variant is v7";
  EXPECT_EQ(pick({"linux", "arm", "v6"}), "2");
  EXPECT_EQ(pick({"linux", "arm", "v5"}), "none");
  EXPECT_EQ(pick({"windows", "amd64", ""}), "6");
  EXPECT_EQ(pick({"linux", "s390x", ""}), "none");
  EXPECT_EQ(pick({"unknown", "unknown", ""}), "none") << "attestations are not images";

  std::vector<Descriptor> only_v6{entries[1]};
  EXPECT_NE(select_platform(only_v6, {"linux", "arm", "v7"}), nullptr) << "v7 runs v6";
  EXPECT_EQ(select_platform(only_v6, {"linux", "arm", "v5"}), nullptr);
}

TEST(RegistryTypes, ParsesPlatformText) {
  auto p = parse_platform("linux/arm64");
  ASSERT_TRUE(p);
  EXPECT_EQ(p.value().str(), "linux/arm64/v8");
  EXPECT_EQ(parse_platform("linux/x86_64").value().str(), "linux/amd64");
  EXPECT_EQ(parse_platform("linux/arm/7").value().str(), "linux/arm/v7");
  EXPECT_EQ(parse_platform("Linux/AMD64").value().str(), "linux/amd64");
  EXPECT_EQ(parse_platform("").value(), host_platform());
  EXPECT_EQ(parse_platform("linux").value().architecture, host_platform().architecture);
  for (const char* bad : {"linux/", "/amd64", "linux/amd64/v1/x", "linux/am d64"}) {
    auto r = parse_platform(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_TRUE(r.error().message.starts_with("invalid platform \"")) << r.error().message;
  }
}

TEST(RegistryTypes, HostPlatformFollowsUname) {
  struct utsname u {};
  ASSERT_EQ(::uname(&u), 0);
  std::string machine = u.machine;
  Platform p = host_platform();
  EXPECT_EQ(p.os, "linux");
  if (machine == "x86_64") {
    EXPECT_EQ(p.architecture, "amd64");
  } else if (machine == "aarch64") {
    EXPECT_EQ(p.str(), "linux/arm64/v8");
  } else {
    EXPECT_FALSE(p.architecture.empty());
  }
}

TEST(RegistryTypes, InsecureRegistries) {
  RegistryClient docker_like{RegistryConfig{}};
  EXPECT_TRUE(docker_like.is_insecure("127.0.0.1:5000"));
  EXPECT_TRUE(docker_like.is_insecure("127.1.2.3"));
  EXPECT_TRUE(docker_like.is_insecure("localhost:5000"));
  EXPECT_TRUE(docker_like.is_insecure("[::1]:5000"));
  EXPECT_FALSE(docker_like.is_insecure("192.0.2.10:5000"));
  EXPECT_FALSE(docker_like.is_insecure("[2001:db8::1]:443"));

  RegistryConfig c;
  c.insecure_registries = {"myregistry:5000", "10.0.0.0/8", "2001:db8::/32", "plain.example"};
  c.loopback_is_insecure = false;
  RegistryClient client{c};
  EXPECT_TRUE(client.is_insecure("myregistry:5000"));
  EXPECT_TRUE(client.is_insecure("10.20.30.40:5000"));
  EXPECT_TRUE(client.is_insecure("[2001:db8::7]:5000"));
  EXPECT_TRUE(client.is_insecure("plain.example:8443")) << "a bare host covers every port";
  EXPECT_FALSE(client.is_insecure("11.0.0.1"));
  EXPECT_FALSE(client.is_insecure("127.0.0.1:5000")) << "loopback rule switched off";
}

}  // namespace
}  // namespace berth::core::registry
