// Image references as Docker's CLI checks them before asking the daemon
// (distribution/reference: ParseNormalizedNamed, FamiliarName, TagNameOnly),
// for `tag` and `import`.
#pragma once

#include <string>
#include <string_view>

namespace berth::cli {

struct ImageReference {
  std::string domain;  // "docker.io" when the name had none
  std::string path;    // "library/busybox", "org/app"
  std::string tag;     // empty: none
  std::string digest;  // "sha256:..." or empty

  // "busybox", "org/app", "registry:5000/app" (docker.io/library/ dropped).
  std::string familiar_name() const;
};

// Parses `text` as a normalized named reference ("busybox",
// "busybox:1.36", "reg:5000/a/b@sha256:..."). The tag is left empty when
// absent (see with_default_tag()).
// Throws CliError (exit 1) with the reference package's message: "invalid
// reference format", "invalid reference format: repository name (X) must
// be lowercase", "repository name must not be more than 255 characters",
// "invalid repository name (X), cannot specify 64-byte hexadecimal
// strings".
ImageReference parse_normalized_named(std::string_view text);

// `ref` with tag "latest" when it has neither tag nor digest.
ImageReference with_default_tag(ImageReference ref);

// Checks that `text` is a reference of any kind, as ParseAnyReference
// accepts it: a full image ID (with or without "sha256:") or a name (short
// IDs are names). Throws CliError as parse_normalized_named() does.
void check_any_reference(std::string_view text);

}  // namespace berth::cli
