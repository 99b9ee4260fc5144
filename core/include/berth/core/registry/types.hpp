// Value types of the distribution protocol: media types, platforms,
// descriptors and image manifests (OCI image spec and Docker schema2), with
// their JSON parsers.
//
// Everything here is a plain value: no shared state, safe to copy across
// threads.
#pragma once

#include "berth/core/error.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::core::registry {

// Media types (OCI image spec media-types.md; Docker's manifest-v2-2.md).
namespace media_type {
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

// Docker schema2 manifest or OCI image manifest.
bool is_image_manifest(std::string_view type);
// Docker manifest list or OCI image index.
bool is_index(std::string_view type);
// Docker schema1 (signed or not): recognised only to be refused.
bool is_schema1(std::string_view type);
}  // namespace media_type

// The platform an image runs on, as in an index entry or `--platform`.
struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;  // "v7", "v8", ... or empty

  // "linux/amd64", "linux/arm64/v8"
  std::string str() const;
  bool operator==(const Platform&) const = default;
};

// The platform berthd runs on (uname's machine mapped to GOARCH names:
// x86_64 -> amd64, aarch64 -> arm64/v8, armv7l -> arm/v7, ...).
Platform host_platform();

// Parses "os[/arch[/variant]]" as `--platform` and the API's `platform`
// parameter spell it, normalising architecture aliases ("x86_64", "aarch64",
// "armhf", ...). An empty text gives host_platform(). Malformed text is
// invalid_argument ("invalid platform \"x\": ...").
Result<Platform> parse_platform(std::string_view text);

// Normalises architecture and variant names the way containerd's platforms
// package does, so that "aarch64" == "arm64", arm64's empty variant == "v8",
// arm's empty variant == "v7".
Platform normalize_platform(Platform p);

// Whether an index entry for `have` runs on `want`. Both are normalised.
// os and architecture must be equal; the variant must be equal too, except
// that a `want` without a variant takes any variant and 32-bit arm takes
// older variants (v7 runs v6 and v5).
bool platform_matches(const Platform& want, const Platform& have);

// A content descriptor (OCI descriptor.md).
struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"
  std::int64_t size = 0;
  std::vector<std::string> urls;
  std::optional<Platform> platform;  // index entries only
  std::map<std::string, std::string> annotations;
};

// An image manifest (not an index) as fetched from a registry.
struct Manifest {
  std::string media_type;  // kDockerManifest or kOciManifest
  std::string bytes;       // exactly as served: `digest` covers these bytes
  std::string digest;      // "sha256:<hex>" of `bytes`
  Descriptor config;
  std::vector<Descriptor> layers;  // base layer first

  // Set when the reference named an index / manifest list and the manifest
  // above was picked from it for a platform; empty otherwise.
  std::string index_digest;
  std::string index_media_type;
  std::string index_bytes;
};

// Parses an image manifest body. Fills media_type (from the body's
// `mediaType`, else `fallback_media_type`), config and layers; leaves bytes,
// digest and the index fields to the caller. Malformed JSON, a missing
// config, or a descriptor without a valid sha256 digest or with a negative
// size is invalid_argument; schema1 is unsupported.
Result<Manifest> parse_manifest(std::string_view bytes, std::string_view fallback_media_type = {});

// Parses an image index / manifest list body into its entries.
Result<std::vector<Descriptor>> parse_index(std::string_view bytes);

// The entry of `entries` that best matches `want`: an exact variant match
// before any other matching entry, in index order otherwise. Entries that are
// not image manifests (attestations, nested indexes) never match. nullptr if
// none matches.
const Descriptor* select_platform(const std::vector<Descriptor>& entries, const Platform& want);

}  // namespace berth::core::registry
