// The registry client against a real docker-registry on 127.0.0.1 holding
// images that skopeo put there.
#include "berth/core/registry/client.hpp"
#include "berth/core/image/digest.hpp"
#include "registry.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>

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
using berth::testing::ImageSpec;
using berth::testing::LayoutImage;
using berth::testing::LocalRegistry;

// A peer closing mid-write must not kill the test (berthd ignores SIGPIPE too).
const bool kIgnoreSigpipe = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

image::Reference ref(const LocalRegistry& r, const std::string& rest) {
  return VALUE(image::Reference::parse(r.host() + "/" + rest));
}

std::string layout_blob(const LayoutImage& image, const std::string& digest) {
  return testing::read_file(image.dir + "/blobs/sha256/" + digest.substr(7));
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

Descriptor descriptor_of(const std::string& data) {
  Descriptor d;
  d.media_type = "application/octet-stream";
  d.digest = image::sha256_digest(data);
  d.size = static_cast<std::int64_t>(data.size());
  return d;
}

// A BlobSource over a string, `piece` bytes at a time.
BlobSource source_of(const std::string& data, std::size_t piece = 1 << 20) {
  auto offset = std::make_shared<std::size_t>(0);
  return [&data, offset, piece](char* buf, std::size_t cap) -> Result<std::size_t> {
    std::size_t n = std::min({cap, piece, data.size() - *offset});
    std::memcpy(buf, data.data() + *offset, n);
    *offset += n;
    return n;
  };
}

Result<std::string> fetch(RegistryClient& client, const image::Reference& repo, const Descriptor& d,
                          const Credentials* creds = nullptr) {
  std::string out;
  BERTH_TRY(client.fetch_blob(repo, d, creds, [&](const char* p, std::size_t n) -> Result<void> {
    out.append(p, n);
    return ok();
  }));
  return out;
}

// One registry with the read-only images most tests look at.
class RegistryClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      registry_ = new LocalRegistry();
      ImageSpec spec;
      spec.layers.push_back(testing::busybox_layer());
      schema2_digest_ = push_test_image(*registry_, "berth/schema2:v1", ImageFormat::docker_v2s2,
                                        spec, &schema2_);
      oci_digest_ = push_test_image(*registry_, "berth/oci:v1", ImageFormat::oci, spec, &oci_);
      ImageSpec multi;
      multi.platforms = {{"linux", "amd64", ""}, {"linux", "arm64", "v8"}, {"linux", "arm", "v7"}};
      index_digest_ =
          push_test_image(*registry_, "berth/multi:v1", ImageFormat::oci, multi, &multi_);
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static inline std::string setup_error_;
  static LocalRegistry* registry_;
  static LayoutImage schema2_, oci_, multi_;
  static std::string schema2_digest_, oci_digest_, index_digest_;
  RegistryClient client_;
};

LocalRegistry* RegistryClientTest::registry_ = nullptr;
LayoutImage RegistryClientTest::schema2_, RegistryClientTest::oci_, RegistryClientTest::multi_;
std::string RegistryClientTest::schema2_digest_, RegistryClientTest::oci_digest_,
    RegistryClientTest::index_digest_;

TEST_F(RegistryClientTest, FetchesSchema2Manifest) {
  auto m = client_.fetch_manifest(ref(*registry_, "berth/schema2:v1"), Platform{}, nullptr);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m.value().media_type, media_type::kDockerManifest);
  EXPECT_EQ(m.value().digest, schema2_digest_);
  EXPECT_EQ(m.value().digest, image::sha256_digest(m.value().bytes));
  EXPECT_TRUE(m.value().index_digest.empty());
  // skopeo converted media types; the blobs themselves are the layout's.
  EXPECT_EQ(m.value().config.media_type, media_type::kDockerConfig);
  EXPECT_EQ(m.value().config.digest, schema2_.entries[0].config_digest);
  ASSERT_EQ(m.value().layers.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(m.value().layers[i].media_type, media_type::kDockerLayer);
    EXPECT_EQ(m.value().layers[i].digest, schema2_.entries[0].layer_digests[i]);
    EXPECT_EQ(m.value().layers[i].size, schema2_.entries[0].layer_sizes[i]);
  }
}

TEST_F(RegistryClientTest, FetchesOciManifest) {
  auto m = client_.fetch_manifest(ref(*registry_, "berth/oci:v1"), Platform{}, nullptr);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m.value().media_type, media_type::kOciManifest);
  EXPECT_EQ(m.value().digest, oci_digest_);
  EXPECT_EQ(m.value().digest, oci_.entries[0].manifest_digest)
      << "OCI to OCI keeps the manifest bytes";
  EXPECT_EQ(m.value().config.media_type, media_type::kOciConfig);
  ASSERT_EQ(m.value().layers.size(), 2u);
  EXPECT_EQ(m.value().layers[1].media_type, media_type::kOciLayerGzip);
  EXPECT_EQ(m.value().layers[1].digest, oci_.entries[0].layer_digests[1]);
}

TEST_F(RegistryClientTest, ResolvesIndexToThePlatform) {
  ASSERT_EQ(index_digest_, multi_.index_digest);
  for (std::size_t i = 0; i < multi_.entries.size(); ++i) {
    const auto& e = multi_.entries[i];
    Platform want{e.platform.os, e.platform.architecture, e.platform.variant};
    auto m = client_.fetch_manifest(ref(*registry_, "berth/multi:v1"), want, nullptr);
    ASSERT_TRUE(m) << want.str() << ": " << m.error().message;
    EXPECT_EQ(m.value().digest, e.manifest_digest) << want.str();
    EXPECT_EQ(m.value().config.digest, e.config_digest) << want.str();
    EXPECT_EQ(m.value().layers.back().digest, e.layer_digests.back()) << want.str();
    EXPECT_EQ(m.value().index_digest, multi_.index_digest);
    EXPECT_EQ(m.value().index_media_type, media_type::kOciIndex);
    EXPECT_EQ(image::sha256_digest(m.value().index_bytes), multi_.index_digest);
  }
  // "linux/arm64" without a variant finds the v8 entry.
  auto arm64 = client_.fetch_manifest(ref(*registry_, "berth/multi:v1"),
                                      Platform{"linux", "arm64", ""}, nullptr);
  ASSERT_TRUE(arm64) << arm64.error().message;
  EXPECT_EQ(arm64.value().digest, multi_.entries[1].manifest_digest);

  auto none = client_.fetch_manifest(ref(*registry_, "berth/multi:v1"),
                                     Platform{"linux", "s390x", ""}, nullptr);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_EQ(none.error().message,
            "no matching manifest for linux/s390x in the manifest list entries");
}

TEST(RegistryClient, ResolvesDockerManifestList) {
  LocalRegistry registry;
  ImageSpec multi;
  multi.platforms = {{"linux", "amd64", ""}, {"linux", "arm64", "v8"}};
  LayoutImage layout;
  std::string list_digest =
      push_test_image(registry, "berth/list:v1", ImageFormat::docker_v2s2, multi, &layout);
  RegistryClient client;
  auto m = client.fetch_manifest(ref(registry, "berth/list:v1"), Platform{"linux", "arm64", ""},
                                 nullptr);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m.value().index_media_type, media_type::kDockerManifestList);
  EXPECT_EQ(m.value().index_digest, list_digest);
  EXPECT_EQ(m.value().media_type, media_type::kDockerManifest);
  EXPECT_EQ(m.value().config.digest, layout.entries[1].config_digest);
  EXPECT_EQ(m.value().layers.back().digest, layout.entries[1].layer_digests.back());
}

TEST_F(RegistryClientTest, FetchesByDigest) {
  auto by_digest = ref(*registry_, "berth/oci@" + oci_digest_);
  auto m = client_.fetch_manifest(by_digest, Platform{}, nullptr);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m.value().digest, oci_digest_);

  // A tag and a digest: the digest decides what is fetched.
  auto both = ref(*registry_, "berth/oci:no-such-tag@" + oci_digest_);
  ASSERT_TRUE(client_.fetch_manifest(both, Platform{}, nullptr));

  // An index entry by its own digest is an ordinary manifest.
  auto child = client_.fetch_manifest(
      ref(*registry_, "berth/multi@" + multi_.entries[2].manifest_digest), Platform{}, nullptr);
  ASSERT_TRUE(child) << child.error().message;
  EXPECT_EQ(child.value().config.digest, multi_.entries[2].config_digest);
  EXPECT_TRUE(child.value().index_digest.empty());

  auto missing = client_.fetch_manifest(ref(*registry_, "berth/oci@sha256:" + std::string(64, '0')),
                                        Platform{}, nullptr);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_F(RegistryClientTest, UnknownTagIsNotFound) {
  auto r = ref(*registry_, "berth/oci:nope");
  auto m = client_.fetch_manifest(r, Platform{}, nullptr);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::not_found);
  EXPECT_EQ(m.error().message, "manifest for " + registry_->host() +
                                   "/berth/oci:nope not found: manifest unknown: manifest unknown");

  auto repo = client_.fetch_manifest(ref(*registry_, "berth/never-pushed:v1"), Platform{}, nullptr);
  ASSERT_FALSE(repo);
  EXPECT_EQ(repo.error().code, Errc::not_found);
  EXPECT_TRUE(repo.error().message.starts_with("manifest for " + registry_->host() +
                                               "/berth/never-pushed:v1 not found: "))
      << repo.error().message;
}

TEST_F(RegistryClientTest, FetchesAndVerifiesBlobs) {
  auto repo = ref(*registry_, "berth/oci:v1");
  auto fetched = client_.fetch_manifest(repo, Platform{}, nullptr);
  ASSERT_TRUE(fetched) << fetched.error().message;
  const Manifest& m = fetched.value();
  for (const Descriptor& d : {m.config, m.layers[0], m.layers[1]}) {
    std::vector<std::pair<std::int64_t, std::int64_t>> calls;
    std::string got;
    auto r = client_.fetch_blob(
        repo, d, nullptr,
        [&](const char* p, std::size_t n) -> Result<void> {
          got.append(p, n);
          return ok();
        },
        [&](std::int64_t done, std::int64_t total) { calls.emplace_back(done, total); });
    ASSERT_TRUE(r) << d.digest << ": " << r.error().message;
    EXPECT_EQ(got, layout_blob(oci_, d.digest));
    ASSERT_FALSE(calls.empty());
    EXPECT_EQ(calls.back(), std::make_pair(d.size, d.size));
  }
  // The busybox layer is big enough to arrive in several pieces.
  EXPECT_GT(m.layers[1].size, 512 << 10);
}

TEST_F(RegistryClientTest, SinkErrorsAbortTheTransfer) {
  auto repo = ref(*registry_, "berth/oci:v1");
  auto fetched = client_.fetch_manifest(repo, Platform{}, nullptr);
  ASSERT_TRUE(fetched) << fetched.error().message;
  const Manifest& m = fetched.value();
  int calls = 0;
  auto r =
      client_.fetch_blob(repo, m.layers[1], nullptr, [&](const char*, std::size_t) -> Result<void> {
        ++calls;
        return make_error(Errc::unavailable, "disk full");
      });
  ASSERT_FALSE(r);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r.error().message, "blob " + m.layers[1].digest + ": disk full");
}

TEST_F(RegistryClientTest, UnknownBlobIsNotFound) {
  Descriptor d = descriptor_of("never pushed");
  auto r = fetch(client_, ref(*registry_, "berth/oci"), d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_TRUE(r.error().message.starts_with("blob " + d.digest + ": blob unknown"))
      << r.error().message;
}

TEST_F(RegistryClientTest, HeadSaysWhetherABlobIsThere) {
  auto repo = ref(*registry_, "berth/oci");
  auto there = client_.blob_exists(repo, oci_.entries[0].layer_digests[0], nullptr);
  ASSERT_TRUE(there) << there.error().message;
  EXPECT_TRUE(there.value());
  auto absent = client_.blob_exists(repo, descriptor_of("absent").digest, nullptr);
  ASSERT_TRUE(absent) << absent.error().message;
  EXPECT_FALSE(absent.value());
  auto bad = client_.blob_exists(repo, "sha256:xyz", nullptr);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
}

TEST(RegistryClient, CorruptedBlobIsADigestMismatch) {
  LocalRegistry registry;
  LayoutImage layout;
  push_test_image(registry, "berth/corrupt:v1", ImageFormat::oci, {}, &layout);
  RegistryClient client;
  auto repo = ref(registry, "berth/corrupt:v1");
  auto m = client.fetch_manifest(repo, Platform{}, nullptr);
  ASSERT_TRUE(m) << m.error().message;
  const Descriptor layer = m.value().layers[0];

  // Same size, different bytes: only the digest can tell.
  std::string path = registry.blob_data_path(layer.digest);
  std::string data = testing::read_file(path);
  ASSERT_EQ(static_cast<std::int64_t>(data.size()), layer.size);
  data[data.size() / 2] = static_cast<char>(data[data.size() / 2] ^ 0x5a);
  testing::write_file(path, data);
  auto r = fetch(client, repo, layer);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().message, "blob " + layer.digest + ": digest mismatch: content hashes to " +
                                   image::sha256_digest(data));

  // Shorter on disk: the registry announces the wrong size.
  testing::write_file(path, data.substr(0, data.size() - 10));
  auto truncated = fetch(client, repo, layer);
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, Errc::invalid_argument);
  EXPECT_NE(truncated.error().message.find("size mismatch"), std::string::npos)
      << truncated.error().message;
}

TEST(RegistryClient, RegistryDownIsUnavailable) {
  LocalRegistry registry;
  Descriptor d = descriptor_of("x");
  auto repo = ref(registry, "berth/down");
  registry.kill();
  RegistryClient fresh;
  auto r = fetch(fresh, repo, d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("connection refused"), std::string::npos) << r.error().message;
  auto m = fresh.fetch_manifest(ref(registry, "berth/down:v1"), Platform{}, nullptr);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::unavailable);
  EXPECT_TRUE(
      m.error().message.starts_with("fetch manifest " + registry.host() + "/berth/down:v1: "))
      << m.error().message;
}

TEST(RegistryClient, RegistryKilledMidTransferIsUnavailable) {
  LocalRegistry registry;
  RegistryClient client;
  auto repo = ref(registry, "berth/big");
  // Bigger than loopback socket buffers, so most of it is still on the
  // registry's side when it dies.
  std::string big = random_bytes(48u << 20, 7);
  Descriptor d = descriptor_of(big);
  ASSERT_TRUE(client.push_blob(repo, d, nullptr, source_of(big)));
  std::int64_t received = 0;
  auto r = client.fetch_blob(repo, d, nullptr, [&](const char*, std::size_t n) -> Result<void> {
    if (received == 0) registry.kill();
    received += static_cast<std::int64_t>(n);
    return ok();
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_LT(received, d.size);
  EXPECT_NE(r.error().message.find("unexpected end of blob"), std::string::npos)
      << r.error().message;
}

TEST(RegistryClient, PushesBlobsMonolithicAndChunked) {
  LocalRegistry registry;
  RegistryConfig config;
  config.chunk_size = 64u << 10;
  RegistryClient client(config);
  auto repo = ref(registry, "berth/pushed");

  std::string small = random_bytes(40u << 10, 1);
  Descriptor ds = descriptor_of(small);
  ASSERT_FALSE(VALUE(client.blob_exists(repo, ds.digest, nullptr)));
  std::int64_t last = -1;
  auto r = client.push_blob(repo, ds, nullptr, source_of(small, 1000),
                            [&](std::int64_t done, std::int64_t total) {
                              EXPECT_EQ(total, ds.size);
                              EXPECT_GT(done, last);
                              last = done;
                            });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(last, ds.size);
  EXPECT_TRUE(VALUE(client.blob_exists(repo, ds.digest, nullptr)));
  EXPECT_EQ(VALUE(fetch(client, repo, ds)), small);

  std::string big = random_bytes((300u << 10) + 123, 2);  // five chunks, the last one short
  Descriptor db = descriptor_of(big);
  last = -1;
  r = client.push_blob(repo, db, nullptr, source_of(big, 7000),
                       [&](std::int64_t done, std::int64_t) {
                         EXPECT_GT(done, last);
                         last = done;
                       });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(last, db.size);
  EXPECT_EQ(VALUE(fetch(client, repo, db)), big);
  std::string log = registry.log();
  std::size_t patches = 0;
  for (auto p = log.find("\"PATCH /v2/berth/pushed/blobs/uploads/"); p != std::string::npos;
       p = log.find("\"PATCH /v2/berth/pushed/blobs/uploads/", p + 1)) {
    ++patches;
  }
  EXPECT_EQ(patches, 5u) << log;

  // An empty blob is a blob too.
  Descriptor empty = descriptor_of("");
  ASSERT_TRUE(client.push_blob(repo, empty, nullptr, source_of(std::string())));
  EXPECT_TRUE(VALUE(client.blob_exists(repo, empty.digest, nullptr)));
}

TEST(RegistryClient, PushRefusesASourceThatDoesNotMatch) {
  LocalRegistry registry;
  RegistryConfig config;
  config.chunk_size = 64u << 10;
  RegistryClient client(config);
  auto repo = ref(registry, "berth/bad");
  for (std::size_t size : {std::size_t{1000}, std::size_t{200u << 10}}) {
    std::string data = random_bytes(size, 3);
    Descriptor d = descriptor_of(data);
    std::string other = random_bytes(size, 4);
    auto r = client.push_blob(repo, d, nullptr, source_of(other));
    ASSERT_FALSE(r) << size;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_EQ(r.error().message, "push blob " + d.digest + " to " + registry.host() +
                                     "/berth/bad: digest mismatch: content hashes to " +
                                     image::sha256_digest(other));
    EXPECT_FALSE(VALUE(client.blob_exists(repo, d.digest, nullptr)));

    std::string shorter = data.substr(0, size - 1);
    auto s = client.push_blob(repo, d, nullptr, source_of(shorter));
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("source ended after " + std::to_string(size - 1) + " of " +
                                     std::to_string(size)),
              std::string::npos)
        << s.error().message;
    auto longer = data + "x";
    auto l = client.push_blob(repo, d, nullptr, source_of(longer));
    ASSERT_FALSE(l);
    EXPECT_NE(l.error().message.find("source has more than"), std::string::npos)
        << l.error().message;
    EXPECT_FALSE(VALUE(client.blob_exists(repo, d.digest, nullptr)));
  }
  // A failing source is reported as such.
  Descriptor d = descriptor_of("abc");
  auto f = client.push_blob(repo, d, nullptr, [](char*, std::size_t) -> Result<std::size_t> {
    return make_error(Errc::not_found, "open layer: gone");
  });
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, Errc::not_found);
  EXPECT_NE(f.error().message.find("read source: open layer: gone"), std::string::npos)
      << f.error().message;
}

TEST(RegistryClient, MountsBlobsAcrossRepositories) {
  LocalRegistry registry;
  RegistryClient client;
  auto from = ref(registry, "berth/from");
  auto to = ref(registry, "berth/to");
  std::string data = random_bytes(5000, 5);
  Descriptor d = descriptor_of(data);
  ASSERT_TRUE(client.push_blob(from, d, nullptr, source_of(data)));
  ASSERT_FALSE(VALUE(client.blob_exists(to, d.digest, nullptr)));
  auto mounted = client.mount_blob(to, "berth/from", d.digest, nullptr);
  ASSERT_TRUE(mounted) << mounted.error().message;
  EXPECT_TRUE(mounted.value());
  EXPECT_TRUE(VALUE(client.blob_exists(to, d.digest, nullptr)));
  EXPECT_EQ(VALUE(fetch(client, to, d)), data);

  // Nothing to mount: the registry opens an upload instead, which is
  // cancelled.
  Descriptor absent = descriptor_of("not anywhere");
  auto fallback = client.mount_blob(to, "berth/from", absent.digest, nullptr);
  ASSERT_TRUE(fallback) << fallback.error().message;
  EXPECT_FALSE(fallback.value());
  EXPECT_NE(registry.log().find("\"DELETE /v2/berth/to/blobs/uploads/"), std::string::npos);
}

TEST(RegistryClient, PushedManifestReadsBackWithSkopeo) {
  LocalRegistry registry;
  RegistryClient client;
  auto repo = ref(registry, "berth/built:v1");
  // A complete image made only with the client: layer, config, manifest.
  auto [gz, tar] = [] {
    std::string t = testing::layer_tar({testing::Entry::file("hello.txt", "hi\n")});
    return std::make_pair(testing::gzip(t), t);
  }();
  std::string config =
      R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[")" +
      image::sha256_digest(tar) + R"("]}})";
  Descriptor layer = descriptor_of(gz);
  layer.media_type = media_type::kDockerLayer;
  Descriptor cfg = descriptor_of(config);
  cfg.media_type = media_type::kDockerConfig;
  ASSERT_TRUE(client.push_blob(repo, layer, nullptr, source_of(gz)));
  ASSERT_TRUE(client.push_blob(repo, cfg, nullptr, source_of(config)));
  std::string manifest =
      R"({"schemaVersion":2,"mediaType":")" + std::string(media_type::kDockerManifest) +
      R"(","config":{"mediaType":")" + cfg.media_type + R"(","size":)" + std::to_string(cfg.size) +
      R"(,"digest":")" + cfg.digest + R"("},"layers":[{"mediaType":")" + layer.media_type +
      R"(","size":)" + std::to_string(layer.size) + R"(,"digest":")" + layer.digest + R"("}]})";
  auto digest =
      client.push_manifest(repo, std::string(media_type::kDockerManifest), manifest, nullptr);
  ASSERT_TRUE(digest) << digest.error().message;
  EXPECT_EQ(digest.value(), image::sha256_digest(manifest));

  testing::TempDir scratch("skopeo");
  auto raw = testing::skopeo(
      {"inspect", "--raw", "--tls-verify=false", "docker://" + registry.host() + "/berth/built:v1"},
      scratch.path());
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(raw.out, manifest);
  auto info = testing::skopeo(
      {"inspect", "--tls-verify=false", "docker://" + registry.host() + "/berth/built:v1"},
      scratch.path());
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("\"Digest\": \"" + digest.value() + "\""), std::string::npos) << info.out;
  EXPECT_NE(info.out.find(layer.digest), std::string::npos) << info.out;

  // By digest only, and refusing a digest that does not match.
  auto pinned = ref(registry, "berth/built@" + digest.value());
  auto again =
      client.push_manifest(pinned, std::string(media_type::kDockerManifest), manifest, nullptr);
  ASSERT_TRUE(again) << again.error().message;
  auto wrong = client.push_manifest(ref(registry, "berth/built@" + cfg.digest),
                                    std::string(media_type::kDockerManifest), manifest, nullptr);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::invalid_argument);

  // A manifest naming a blob the registry does not have is refused by it.
  std::string dangling = manifest;
  dangling.replace(dangling.find(layer.digest), layer.digest.size(), descriptor_of("nope").digest);
  auto refused = client.push_manifest(ref(registry, "berth/built:dangling"),
                                      std::string(media_type::kDockerManifest), dangling, nullptr);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_argument);
  EXPECT_NE(refused.error().message.find("blob unknown"), std::string::npos)
      << refused.error().message;
}

}  // namespace
}  // namespace berth::core::registry
