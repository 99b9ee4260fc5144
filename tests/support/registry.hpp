// A real, private image registry for tests: Debian's docker-registry
// (distribution 2.8) on 127.0.0.1 with a free port, its storage in a
// berth-test- directory, with optional htpasswd basic auth, bearer-token auth
// (a token server in this process signs the JWTs the registry verifies) and
// TLS. Plus helpers that build small test images as OCI layouts and copy
// them into a registry with skopeo, in OCI or Docker schema2 form, single- or
// multi-platform.
//
// Everything is torn down by destructors (registry process stopped by PID,
// SIGTERM then SIGKILL; directories removed) even when a test fails.
// Failures to set up throw std::runtime_error with the registry's log.
#pragma once

#include "harness.hpp"
#include "image_builder.hpp"

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace berth::testing {

// A token server as a registry's `auth: token:` expects: GET /token with
// service, scope(s), optional basic auth, offline_token; POST /token with a
// refresh_token or password grant. Answers {"token", "access_token",
// "expires_in", "issued_at"[, "refresh_token"]} with an RS256 JWT carrying
// the x5c certificate the registry trusts.
class TokenServer {
 public:
  struct Options {
    std::map<std::string, std::string> users;  // username -> password
    bool anonymous_pull = true;                // no credentials: pull-only tokens
    int expires_in = 300;                      // seconds, as announced
    std::string service = "berth-test-registry";
    std::string issuer = "berth-test-issuer";
  };

  // Generates the signing key and certificate in `dir` and listens on
  // 127.0.0.1:0.
  TokenServer(const std::string& dir, Options options);
  ~TokenServer();
  TokenServer(const TokenServer&) = delete;
  TokenServer& operator=(const TokenServer&) = delete;

  std::string realm() const;  // "http://127.0.0.1:<port>/token"
  const std::string& certificate_path() const { return cert_path_; }
  const Options& options() const { return options_; }

  // Counters, for tests of token caching.
  int token_requests() const { return requests_.load(); }
  int refused_requests() const { return refused_.load(); }
  // The last scope list asked for (space-joined).
  std::string last_scopes() const;

  struct Impl;

 private:
  Options options_;
  std::string cert_path_, key_path_;
  std::atomic<int> requests_{0}, refused_{0};
  std::unique_ptr<Impl> impl_;
};

class LocalRegistry {
 public:
  enum class Auth { none, basic, token };
  struct Options {
    Auth auth = Auth::none;
    std::map<std::string, std::string> users;  // basic or token users
    bool token_anonymous_pull = true;
    bool tls = false;  // HTTPS with a self-signed certificate for 127.0.0.1
  };

  explicit LocalRegistry(Options options);
  LocalRegistry() : LocalRegistry(Options{}) {}
  ~LocalRegistry();
  LocalRegistry(const LocalRegistry&) = delete;
  LocalRegistry& operator=(const LocalRegistry&) = delete;

  const Options& options() const { return options_; }
  std::uint16_t port() const { return port_; }
  std::string host() const;  // "127.0.0.1:<port>"
  const std::string& dir() const { return dir_.path(); }
  std::string storage() const { return dir_ / "storage"; }
  // The registry's file for blob `digest` ("sha256:<hex>").
  std::string blob_data_path(const std::string& digest) const;
  // The certificate the registry serves (Options::tls).
  std::string tls_certificate() const { return dir_ / "tls.crt"; }
  TokenServer* token_server() { return token_.get(); }
  std::string log() const;

  pid_t pid() const { return pid_; }
  bool running() const;
  // SIGKILL now and reap (simulates a crashed registry).
  void kill();
  // SIGTERM, SIGKILL after 5 s, reap. Idempotent. The storage stays.
  void stop();
  // Stops it if running and starts it again on the same port, storage,
  // credentials and certificate (a registry back after an outage).
  void restart();

 private:
  void configure();  // storage, auth and TLS files; config_tail_
  void launch(std::uint16_t port);  // 0: a free port

  Options options_;
  TempDir dir_;
  std::unique_ptr<TokenServer> token_;
  std::string config_tail_;  // the auth and TLS part of config.yml
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// --- test images ----------------------------------------------------------

// Layer entries for /bin/busybox (from busybox-static) and bin/sh -> busybox.
Layer busybox_layer();

struct PlatformSpec {
  std::string os = "linux", architecture = "amd64", variant;
};

struct ImageSpec {
  std::vector<Layer> layers{Layer{Entry::dir("etc"), Entry::file("etc/berth-test", "hello\n")}};
  // One entry: a plain image manifest. Several: an image index of one image
  // per platform (each gets its own config, and a marker file
  // etc/berth-platform in its last layer so the layers differ too).
  std::vector<PlatformSpec> platforms{PlatformSpec{}};
};

struct LayoutImage {
  std::string dir, tag;
  std::string index_digest;  // the image index blob (multi-platform), else empty
  struct Entry {
    PlatformSpec platform;
    std::string manifest_digest, config_digest;
    std::vector<std::string> layer_digests;  // gzip blobs
    std::vector<std::int64_t> layer_sizes;
    std::vector<std::string> diff_ids;  // uncompressed tar digests
  };
  std::vector<Entry> entries;
};

// Writes an OCI image layout in `dir` (created if needed) holding `spec`
// under `tag`.
LayoutImage write_oci_layout(const std::string& dir, const std::string& tag, const ImageSpec& spec);

enum class ImageFormat { oci, docker_v2s2 };

// Runs skopeo hermetically: as the unprivileged "nobody" when root (so its
// blob-info cache cannot land in /var/lib/containers), with HOME and
// XDG_DATA_HOME unset, --insecure-policy, and --tmpdir under `scratch`.
CommandResult skopeo(const std::vector<std::string>& args, const std::string& scratch);

// Copies the layout image to <registry>/<repo_tag> with skopeo (every
// platform of an index). Returns the digest of what the registry now holds
// under that tag. Throws on failure with skopeo's output.
std::string copy_to_registry(const LayoutImage& image, LocalRegistry& registry,
                             const std::string& repo_tag, ImageFormat format);

// Writes a small image and copies it: a one-call helper for tests that only
// need "an image in the registry".
std::string push_test_image(LocalRegistry& registry, const std::string& repo_tag,
                            ImageFormat format, const ImageSpec& spec = {},
                            LayoutImage* layout = nullptr);

}  // namespace berth::testing
