// Image references as Docker spells them: `[domain/]path[:tag][@digest]`,
// parsed and normalised the way Docker's distribution/reference package does
// (ParseNormalizedNamed), so "busybox", "docker.io/busybox" and
// "index.docker.io/library/busybox:latest" name the same image.
//
// Grammar (distribution/reference):
//   reference      := name [ ":" tag ] [ "@" digest ]
//   name           := [domain "/"] path-component ["/" path-component]*
//   domain         := host [":" port]        host: DNS-like name, IPv4, or [IPv6]
//   path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag            := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//   digest         := "sha256:" 64 lower-case hex digits (the only algorithm berth accepts)
//
// Normalisation: no domain (the first component has no "." or ":", is not
// "localhost" and is lower-case) means "docker.io"; "index.docker.io" becomes
// "docker.io"; a one-component path on docker.io gets "library/". The path is
// at most 255 characters.
//
// Value type; no shared state, safe to copy across threads.
#pragma once

#include "berth/core/error.hpp"

#include <string>
#include <string_view>

namespace berth::core::image {

inline constexpr std::string_view kDefaultDomain = "docker.io";
inline constexpr std::string_view kDefaultTag = "latest";

struct Reference {
  std::string domain;  // "docker.io", "127.0.0.1:5000", "[::1]:5000"
  std::string path;    // "library/busybox"
  std::string tag;     // may be empty when a digest is given
  std::string digest;  // "sha256:<hex>" or empty

  // Whether parse() fills in "latest" when the text has neither tag nor
  // digest. `none` is for places where a bare name means "the repository"
  // (e.g. push every tag of a repository).
  enum class DefaultTag { add, none };

  // Parses and normalises `text`. Invalid text is Errc::invalid_argument with
  // Docker's message, e.g. "invalid reference format",
  // "invalid reference format: repository name (library/Busybox) must be
  // lowercase", "repository name must not be more than 255 characters",
  // "invalid repository name (<64 hex>), cannot specify 64-byte hexadecimal
  // strings", "unsupported digest algorithm", "invalid checksum digest length".
  static Result<Reference> parse(std::string_view text, DefaultTag default_tag = DefaultTag::add);

  // "docker.io/library/busybox"
  std::string name() const;
  // The name as Docker shows it: "busybox", "user/app", "127.0.0.1:5000/x".
  std::string familiar_name() const;
  // The path on the registry, as in /v2/<path>/manifests/...: "library/busybox".
  const std::string& repository_path() const { return path; }
  // name() with ":tag" and/or "@digest": "docker.io/library/busybox:latest".
  std::string str() const;
  // familiar_name() with ":tag" and/or "@digest": "busybox:latest".
  std::string familiar() const;
  // What /v2/<path>/manifests/<x> takes: the digest when there is one (it
  // pins the content), otherwise the tag.
  const std::string& tag_or_digest() const { return digest.empty() ? tag : digest; }

  // Copies with the tag / digest replaced (the other part is kept).
  Reference with_tag(std::string new_tag) const;
  Reference with_digest(std::string new_digest) const;
  // The repository only: no tag, no digest.
  Reference repository() const;

  bool operator==(const Reference&) const = default;
};

// Validators for the parts, shared with places that take a tag or digest on
// its own (e.g. the `tag` query parameter of POST /images/{name}/tag).
bool is_valid_tag(std::string_view tag);
// A path such as "library/busybox" (one or more path components).
bool is_valid_repository_path(std::string_view path);
// A registry host: name, IPv4 or [IPv6], with an optional ":port".
bool is_valid_domain(std::string_view domain);

}  // namespace berth::core::image
