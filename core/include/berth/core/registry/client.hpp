// A client of the OCI distribution API (shared/reference/oci-distribution-spec)
// as Docker speaks it: pull and push of manifests and blobs, cross-repository
// mounts, and login, with anonymous, basic and bearer-token auth.
//
// Transport. A registry host is "secure" unless it is listed in
// RegistryConfig::insecure_registries (by "host:port", by host, or by a CIDR
// its address falls in) or is a loopback address (127.0.0.0/8, ::1,
// localhost), as with Docker. Secure: HTTPS, the system CA bundle plus any
// <certs_dir>/<host:port>/*.crt, and a client certificate from *.cert/*.key
// there. Insecure: HTTPS without verification, falling back to plain HTTP
// when that fails; the scheme that worked is remembered per host.
// "docker.io" is served by registry-1.docker.io.
//
// Auth. The first request to a host pings /v2/ and remembers its challenge.
// Basic: the credentials on every request. Bearer: a token from the realm
// (GET with service/scope, basic auth if credentials are given; POST with a
// refresh-token grant when only an identity token is), cached per host,
// credentials and scope until shortly before it expires; a 401 drops the
// cached token and retries once.
//
// Errors (Errc): connection refused, timeouts, TLS failures, 5xx and 429 are
// `unavailable`; 401/403 `permission_denied`; 404 `not_found`; malformed
// answers and digest/size mismatches `invalid_argument`; schema1 manifests
// `unsupported`. Messages follow Docker's where it has one, e.g.
// "manifest for busybox:nope not found: manifest unknown: manifest unknown".
//
// Threading: one RegistryClient per daemon, shared by all requests; every
// member is safe to call concurrently. Callbacks run on the calling thread.
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/image/reference.hpp"
#include "berth/core/registry/auth.hpp"
#include "berth/core/registry/types.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace berth::core::registry {

struct RegistryConfig {
  // "host:port", "host", or a CIDR ("10.0.0.0/8", "fd00::/8").
  std::vector<std::string> insecure_registries;
  std::string user_agent = "berth/0.1.0";
  // Connect, send and receive timeout of each socket operation (a stalled
  // transfer fails after this long without progress).
  std::chrono::seconds timeout{60};
  // Per-registry TLS material: <certs_dir>/<host[:port]>/{*.crt,*.cert,*.key}.
  std::string certs_dir = "/etc/berth/certs.d";
  // push_blob sends a blob up to this size in one PUT, larger ones in PATCH
  // chunks of this size.
  std::size_t chunk_size = 16u << 20;
  // Docker always treats loopback registries as insecure; tests turn this
  // off to exercise certificate verification against 127.0.0.1.
  bool loopback_is_insecure = true;
};

// Receives blob bytes in order; an error aborts the transfer and is returned
// (with context) by the call that streamed.
using BlobSink = std::function<Result<void>(const char* data, std::size_t len)>;
// Fills `buf` with up to `cap` bytes and returns how many; 0 is the end.
using BlobSource = std::function<Result<std::size_t>(char* buf, std::size_t cap)>;
// Bytes done so far and the total (the descriptor's size); may be empty.
// Called after every piece, so a caller that reports to a client throttles.
using Progress = std::function<void(std::int64_t done, std::int64_t total)>;

class RegistryClient {
 public:
  explicit RegistryClient(RegistryConfig config = {});
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  const RegistryConfig& config() const;

  // Whether `host` ("host[:port]" as in a reference's domain) is talked to
  // without certificate verification (see the transport rules above).
  bool is_insecure(const std::string& host) const;

  // Fetches the manifest `ref` names (by digest when it has one, else by
  // tag). An index / manifest list is resolved to the entry for `platform`,
  // which is fetched in turn; the returned Manifest then carries the index's
  // digest, media type and bytes too. When `ref` has a digest the bytes must
  // hash to it. `credentials` may be null (anonymous); it is only read during
  // the call. Errors: not_found ("manifest for <ref> not found: ..."), or "no
  // matching manifest for linux/arm64 in the manifest list entries"),
  // permission_denied ("pull access denied for <name>, repository does not
  // exist or may require 'docker login': ..."), unsupported (schema1),
  // invalid_argument (digest mismatch, malformed manifest).
  Result<Manifest> fetch_manifest(const image::Reference& ref, const Platform& platform,
                                  const Credentials* credentials);

  // Streams blob `blob` of repository `repo` (tag and digest of `repo` are
  // ignored) to `sink`, following redirects to storage (without forwarding
  // credentials to another host). Size and sha256 are verified while
  // streaming: the sink sees unverified bytes, so the caller must commit
  // what it wrote only when this returns success. A body shorter than the
  // descriptor's size is `unavailable` ("unexpected end of blob"), a longer
  // one or a wrong digest `invalid_argument` ("blob sha256:...: digest
  // mismatch").
  Result<void> fetch_blob(const image::Reference& repo, const Descriptor& blob,
                          const Credentials* credentials, const BlobSink& sink,
                          const Progress& progress = {});

  // HEAD of a blob: true if the registry has it in `repo`. Used before a
  // push to skip blobs that are already there.
  Result<bool> blob_exists(const image::Reference& repo, const std::string& digest,
                           const Credentials* credentials);

  // Asks the registry to mount blob `digest` from repository path
  // `from_repository` (same registry) into `to`. True when mounted; false when
  // the registry answered with an upload session instead (the session is
  // cancelled; the caller then pushes the blob).
  Result<bool> mount_blob(const image::Reference& to, const std::string& from_repository,
                          const std::string& digest, const Credentials* credentials);

  // Uploads `blob` to `repo`, reading exactly blob.size bytes from `source`:
  // one PUT when blob.size <= config().chunk_size, else PATCH chunks and a
  // final PUT ?digest=. The bytes must hash to blob.digest (checked while
  // sending; the registry checks too).
  Result<void> push_blob(const image::Reference& repo, const Descriptor& blob,
                         const Credentials* credentials, const BlobSource& source,
                         const Progress& progress = {});

  // PUTs a manifest (or index) under `ref`'s tag, or its digest when it has
  // no tag; returns the digest of `bytes`. A digest in `ref` must match.
  Result<std::string> push_manifest(const image::Reference& ref, const std::string& media_type,
                                    const std::string& bytes, const Credentials* credentials);

  // Checks `credentials` against the registry at `registry_host` ("host:port",
  // "docker.io", or a server address such as "https://index.docker.io/v1/").
  // Returns an identity token when the registry's token server handed out a
  // refresh token (empty otherwise). Wrong credentials: permission_denied
  // ("unauthorized: incorrect username or password").
  Result<std::string> login(const std::string& registry_host, const Credentials& credentials);

  // The /v2/ URL through which `registry_host` (any form login() takes) was
  // last reached, e.g. "http://127.0.0.1:5000/v2/" for an insecure registry
  // that fell back to plain HTTP, "https://registry-1.docker.io/v2/" for
  // docker.io; "https://<host>/v2/" before any call reached it. Docker
  // names this URL in its login errors.
  std::string endpoint_url(const std::string& registry_host) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::core::registry
