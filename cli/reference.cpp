#include "reference.hpp"

#include "client.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

namespace berth::cli {

namespace {

// distribution/reference/regexp.go, spelled out for std::regex.
const std::string kPathComponent = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const std::string kDomainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const std::string kHost =
    "(?:" + kDomainComponent + "(?:\\." + kDomainComponent + ")*|\\[[a-fA-F0-9:]+\\])";
const std::string kDomain = kHost + "(?::[0-9]+)?";
const std::string kName = "(?:" + kDomain + "/)?" + kPathComponent + "(?:/" + kPathComponent + ")*";
const std::string kTag = "[\\w][\\w.-]{0,127}";
const std::string kDigest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";

const std::regex& reference_regex() {
  static const std::regex r("^(" + kName + ")(?::(" + kTag + "))?(?:@(" + kDigest + "))?$");
  return r;
}

bool is_full_id(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string ImageReference::familiar_name() const {
  if (domain != "docker.io") return domain + "/" + path;
  if (path.starts_with("library/") && path.find('/', 8) == std::string::npos) return path.substr(8);
  return path;
}

ImageReference parse_normalized_named(std::string_view text) {
  std::string s(text);
  if (is_full_id(s)) {
    throw CliError("invalid repository name (" + s +
                   "), cannot specify 64-byte hexadecimal strings");
  }
  // splitDockerDomain: the first component is a domain only if it looks
  // like one.
  std::string domain = "docker.io", remainder = s;
  if (auto slash = s.find('/'); slash != std::string::npos) {
    std::string first = s.substr(0, slash);
    if (first.find_first_of(".:") != std::string::npos || first == "localhost" ||
        lower(first) != first) {
      domain = first;
      remainder = s.substr(slash + 1);
    }
  }
  if (domain == "index.docker.io") domain = "docker.io";
  if (domain == "docker.io" && remainder.find('/') == std::string::npos)
    remainder = "library/" + remainder;
  std::string remote = remainder.substr(0, remainder.find(':'));
  if (lower(remote) != remote) {
    throw CliError("invalid reference format: repository name (" + remote + ") must be lowercase");
  }
  std::string full = domain + "/" + remainder;
  std::smatch m;
  if (!std::regex_match(full, m, reference_regex())) {
    if (s.empty()) throw CliError("repository name must have at least one component");
    throw CliError("invalid reference format");
  }
  if (m[1].length() > 255) throw CliError("repository name must not be more than 255 characters");
  ImageReference ref;
  std::string name = m[1].str();
  ref.domain = name.substr(0, name.find('/'));
  ref.path = name.substr(name.find('/') + 1);
  ref.tag = m[2].str();
  ref.digest = m[3].str();
  return ref;
}

ImageReference with_default_tag(ImageReference ref) {
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

void check_any_reference(std::string_view text) {
  std::string s(text);
  if (is_full_id(s) || (s.starts_with("sha256:") && is_full_id(s.substr(7)))) return;
  parse_normalized_named(s);
}

}  // namespace berth::cli
