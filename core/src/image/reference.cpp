#include "berth/core/image/reference.hpp"

#include <algorithm>

namespace berth::core::image {

namespace {

constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kOfficialPrefix = "library/";
constexpr std::size_t kMaxPathLength = 255;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

// alphanumeric (separator alphanumeric)*, separator = "." | "_" | "__" | "-"+
bool is_path_component(std::string_view s) {
  std::size_t i = 0;
  auto alnum_run = [&] {
    std::size_t start = i;
    while (i < s.size() && is_lower_alnum(s[i])) ++i;
    return i > start;
  };
  if (!alnum_run()) return false;
  while (i < s.size()) {
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnum_run()) return false;
  }
  return true;
}

// [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool is_domain_component(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

bool is_domain_name(std::string_view s) {
  for (;;) {
    auto dot = s.find('.');
    if (!is_domain_component(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[[:xdigit:]]{32,}
bool matches_digest_grammar(std::string_view s) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view alg = s.substr(0, colon), hex = s.substr(colon + 1);
  if (hex.size() < 32 || !std::all_of(hex.begin(), hex.end(), is_hex)) return false;
  bool want_letter = true;
  for (char c : alg) {
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (want_letter) {
      if (!letter) return false;
      want_letter = false;
    } else if (c == '-' || c == '_' || c == '+' || c == '.') {
      want_letter = true;
    } else if (!is_alnum(c)) {
      return false;
    }
  }
  return !want_letter;
}

Error invalid(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

// go-digest's Validate, restricted to sha256.
Result<void> check_digest(std::string_view digest) {
  auto colon = digest.find(':');
  std::string_view alg = digest.substr(0, colon), hex = digest.substr(colon + 1);
  if (alg != "sha256") return invalid("unsupported digest algorithm");
  if (hex.size() != 64) return invalid("invalid checksum digest length");
  if (!std::all_of(hex.begin(), hex.end(), [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); })) {
    return invalid("invalid checksum digest format");
  }
  return ok();
}

bool is_identifier(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); });
}

}  // namespace

bool is_valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128 || !is_word(tag.front())) return false;
  return std::all_of(tag.begin(), tag.end(), [](char c) { return is_word(c) || c == '.' || c == '-'; });
}

bool is_valid_repository_path(std::string_view path) {
  for (;;) {
    auto slash = path.find('/');
    if (!is_path_component(path.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

bool is_valid_domain(std::string_view domain) {
  std::string_view port;
  if (!domain.empty() && domain.front() == '[') {
    auto close = domain.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    std::string_view inner = domain.substr(1, close - 1);
    if (!std::all_of(inner.begin(), inner.end(), [](char c) { return is_hex(c) || c == ':'; })) {
      return false;
    }
    std::string_view rest = domain.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
  } else {
    auto colon = domain.find(':');
    if (!is_domain_name(domain.substr(0, colon))) return false;
    if (colon != std::string_view::npos) {
      port = domain.substr(colon + 1);
      if (port.empty()) return false;
    }
  }
  return std::all_of(port.begin(), port.end(), is_digit);
}

Result<Reference> Reference::parse(std::string_view text, DefaultTag default_tag) {
  if (is_identifier(text)) {
    return invalid("invalid repository name (" + std::string(text) +
                   "), cannot specify 64-byte hexadecimal strings");
  }

  // Docker's splitDockerDomain: decide whether the first component is a
  // registry host or already part of the path.
  Reference ref;
  std::string remainder;
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    ref.domain = kDefaultDomain;
    remainder = std::string(kOfficialPrefix) + std::string(text);
  } else {
    std::string_view first = text.substr(0, slash), rest = text.substr(slash + 1);
    if (first == "localhost" || first.find_first_of(".:") != std::string_view::npos ||
        to_lower(first) != first) {
      ref.domain = first == kLegacyDefaultDomain ? std::string(kDefaultDomain) : std::string(first);
      remainder = rest;
    } else {
      ref.domain = kDefaultDomain;
      remainder = text;
    }
    if (ref.domain == kDefaultDomain && remainder.find('/') == std::string::npos) {
      remainder.insert(0, kOfficialPrefix);
    }
  }

  std::string_view remote = std::string_view(remainder).substr(0, remainder.find_first_of(":@"));
  if (to_lower(remote) != remote) {
    return invalid("invalid reference format: repository name (" + std::string(remote) +
                   ") must be lowercase");
  }

  std::string_view rest = remainder;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (!matches_digest_grammar(ref.digest)) return invalid("invalid reference format");
  }
  auto colon = rest.rfind(':'), last_slash = rest.rfind('/');
  bool has_tag = colon != std::string_view::npos &&
                 (last_slash == std::string_view::npos || colon > last_slash);
  if (has_tag) {
    ref.tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (!is_valid_tag(ref.tag)) return invalid("invalid reference format");
  }
  ref.path = rest;
  if (!is_valid_domain(ref.domain) || !is_valid_repository_path(ref.path)) {
    return invalid("invalid reference format");
  }
  if (ref.path.size() > kMaxPathLength) {
    return invalid("repository name must not be more than " + std::to_string(kMaxPathLength) +
                   " characters");
  }
  if (!ref.digest.empty()) {
    BERTH_TRY(check_digest(ref.digest));
  }
  if (ref.tag.empty() && ref.digest.empty() && default_tag == DefaultTag::add) {
    ref.tag = kDefaultTag;
  }
  return ref;
}

std::string Reference::name() const { return domain.empty() ? path : domain + "/" + path; }

std::string Reference::familiar_name() const {
  if (domain != kDefaultDomain) return name();
  std::string_view p = path;
  if (p.starts_with(kOfficialPrefix) &&
      p.substr(kOfficialPrefix.size()).find('/') == std::string_view::npos) {
    p.remove_prefix(kOfficialPrefix.size());
  }
  return std::string(p);
}

namespace {
std::string with_suffixes(std::string base, const std::string& tag, const std::string& digest) {
  if (!tag.empty()) base += ":" + tag;
  if (!digest.empty()) base += "@" + digest;
  return base;
}
}  // namespace

std::string Reference::str() const { return with_suffixes(name(), tag, digest); }

std::string Reference::familiar() const { return with_suffixes(familiar_name(), tag, digest); }

Reference Reference::with_tag(std::string new_tag) const {
  Reference r = *this;
  r.tag = std::move(new_tag);
  return r;
}

Reference Reference::with_digest(std::string new_digest) const {
  Reference r = *this;
  r.digest = std::move(new_digest);
  return r;
}

Reference Reference::repository() const { return Reference{domain, path, {}, {}}; }

}  // namespace berth::core::image
