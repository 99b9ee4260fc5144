#include "berth/core/registry/types.hpp"

#include "berth/core/image/digest.hpp"

#include <boost/json.hpp>

#include <sys/utsname.h>

namespace berth::core::registry {

namespace json = boost::json;

namespace media_type {
bool is_image_manifest(std::string_view type) {
  return type == kDockerManifest || type == kOciManifest;
}
bool is_index(std::string_view type) { return type == kDockerManifestList || type == kOciIndex; }
bool is_schema1(std::string_view type) {
  return type == kDockerSchema1 || type == kDockerSchema1Signed;
}
}  // namespace media_type

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Platform normalize_platform(Platform p) {
  for (auto& c : p.os) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto& c : p.architecture) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // containerd's platforms.normalizeArch
  const std::string& a = p.architecture;
  if (a == "i386") {
    p.architecture = "386";
    p.variant.clear();
  } else if (a == "x86_64" || a == "x86-64" || a == "amd64") {
    p.architecture = "amd64";
    if (p.variant == "v1") p.variant.clear();
  } else if (a == "aarch64" || a == "arm64") {
    p.architecture = "arm64";
    if (p.variant.empty() || p.variant == "8" || p.variant == "v8") p.variant = "v8";
  } else if (a == "armhf") {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (a == "armel") {
    p.architecture = "arm";
    p.variant = "v6";
  } else if (a == "arm") {
    if (p.variant.empty() || p.variant == "7") p.variant = "v7";
    if (p.variant == "5" || p.variant == "6" || p.variant == "8") p.variant = "v" + p.variant;
  }
  return p;
}

Platform host_platform() {
  Platform p;
  struct utsname u {};
  if (::uname(&u) != 0) return p;
  std::string m = u.machine;
  if (m == "x86_64") {
    p.architecture = "amd64";
  } else if (m == "aarch64" || m == "arm64") {
    p.architecture = "arm64";
    p.variant = "v8";
  } else if (m.starts_with("armv")) {
    p.architecture = "arm";
    p.variant = "v" + m.substr(4, 1);
  } else if (m == "i386" || m == "i686") {
    p.architecture = "386";
  } else {
    p.architecture = m;  // ppc64le, s390x, riscv64, mips64 spell the same
  }
  return p;
}

Result<Platform> parse_platform(std::string_view text) {
  if (text.empty()) return host_platform();
  auto fail = [&](std::string_view why) {
    return make_error(Errc::invalid_argument,
                      "invalid platform \"" + std::string(text) + "\": " + std::string(why));
  };
  std::vector<std::string> parts;
  std::string_view rest = text;
  for (;;) {
    auto slash = rest.find('/');
    parts.emplace_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (parts.size() > 3) return fail("want os[/arch[/variant]]");
  for (const auto& p : parts) {
    if (p.empty()) return fail("empty component");
    for (char c : p) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
        return fail("unexpected character");
      }
    }
  }
  Platform p;
  p.os = parts[0];
  if (parts.size() == 1) {
    Platform host = host_platform();
    p.architecture = host.architecture;
    p.variant = host.variant;
  } else {
    p.architecture = parts[1];
    p.variant = parts.size() == 3 ? parts[2] : "";
  }
  return normalize_platform(std::move(p));
}

bool platform_matches(const Platform& want, const Platform& have) {
  Platform w = normalize_platform(want), h = normalize_platform(have);
  if (w.os != h.os || w.architecture != h.architecture) return false;
  if (w.variant.empty() || w.variant == h.variant) return true;
  // 32-bit arm runs older variants (containerd's platforms.Only: v7 takes v6
  // and v5).
  if (w.architecture == "arm") {
    return w.variant.size() == 2 && h.variant.size() == 2 && h.variant < w.variant;
  }
  // Normalisation gave arm64 a "v8" the caller did not ask for.
  return want.variant.empty();
}

namespace {

Error bad(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

const json::object* as_object(const json::value* v) {
  return v != nullptr ? v->if_object() : nullptr;
}

Result<std::string> get_string(const json::object& o, std::string_view key, bool required) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    if (required) return bad("missing \"" + std::string(key) + "\"");
    return std::string();
  }
  if (!v->is_string()) return bad("\"" + std::string(key) + "\" is not a string");
  return std::string(v->get_string());
}

Result<Platform> parse_platform_object(const json::object& o) {
  Platform p;
  BERTH_TRY(p.os, get_string(o, "os", true));
  BERTH_TRY(p.architecture, get_string(o, "architecture", true));
  BERTH_TRY(p.variant, get_string(o, "variant", false));
  return p;
}

Result<Descriptor> parse_descriptor(const json::value& v, std::string_view what) {
  auto wrap = [&](Error e) { return std::move(e).wrap(what); };
  const json::object* o = v.if_object();
  if (o == nullptr) return wrap(bad("not an object"));
  Descriptor d;
  auto mt = get_string(*o, "mediaType", false);
  if (!mt) return wrap(mt.error());
  d.media_type = std::move(mt).value();
  auto dg = get_string(*o, "digest", true);
  if (!dg) return wrap(dg.error());
  d.digest = std::move(dg).value();
  if (!image::is_sha256_digest(d.digest)) {
    if (d.digest.find(':') != std::string::npos && !d.digest.starts_with("sha256:")) {
      return wrap(
          make_error(Errc::unsupported, "unsupported digest algorithm in \"" + d.digest + "\""));
    }
    return wrap(bad("invalid digest \"" + d.digest + "\""));
  }
  const json::value* size = o->if_contains("size");
  if (size == nullptr || !size->is_number()) return wrap(bad("missing \"size\""));
  std::error_code ec;
  d.size = size->to_number<std::int64_t>(ec);
  if (ec || d.size < 0) return wrap(bad("invalid size"));
  if (const json::value* urls = o->if_contains("urls"); urls != nullptr && !urls->is_null()) {
    if (!urls->is_array()) return wrap(bad("\"urls\" is not an array"));
    for (const auto& u : urls->get_array()) {
      if (!u.is_string()) return wrap(bad("\"urls\" holds a non-string"));
      d.urls.emplace_back(u.get_string());
    }
  }
  if (const json::object* p = as_object(o->if_contains("platform"))) {
    auto platform = parse_platform_object(*p);
    if (!platform) return wrap(std::move(platform).error().wrap("platform"));
    d.platform = std::move(platform).value();
  }
  if (const json::object* a = as_object(o->if_contains("annotations"))) {
    for (const auto& [k, val] : *a) {
      if (val.is_string()) d.annotations.emplace(std::string(k), std::string(val.get_string()));
    }
  }
  return d;
}

Result<json::object> parse_object(std::string_view bytes, std::string_view what) {
  std::error_code ec;
  json::value v = json::parse(bytes, ec);
  if (ec) return bad("malformed " + std::string(what) + ": " + ec.message());
  if (!v.is_object()) return bad("malformed " + std::string(what) + ": not a JSON object");
  return std::move(v.get_object());
}

}  // namespace

Result<Manifest> parse_manifest(std::string_view bytes, std::string_view fallback_media_type) {
  BERTH_TRY(auto o, parse_object(bytes, "manifest"));
  auto wrap = [](Error e) { return std::move(e).wrap("malformed manifest"); };
  Manifest m;
  auto mt = get_string(o, "mediaType", false);
  if (!mt) return wrap(mt.error());
  m.media_type = mt.value().empty() ? std::string(fallback_media_type) : std::move(mt).value();
  const json::value* version = o.if_contains("schemaVersion");
  if (version != nullptr && version->is_number() && version->to_number<double>() == 1.0) {
    m.media_type = media_type::kDockerSchema1;
  }
  if (media_type::is_schema1(m.media_type)) {
    return make_error(Errc::unsupported,
                      "unsupported manifest format: Docker Image manifest version 2, schema 1 "
                      "support has been removed; push the image again with a newer client");
  }
  if (m.media_type.empty()) m.media_type = media_type::kOciManifest;  // OCI makes it optional
  if (!media_type::is_image_manifest(m.media_type)) {
    return make_error(Errc::unsupported,
                      "unsupported manifest media type \"" + m.media_type + "\"");
  }
  const json::value* config = o.if_contains("config");
  if (config == nullptr) return wrap(bad("missing \"config\""));
  auto cfg = parse_descriptor(*config, "config");
  if (!cfg) return wrap(cfg.error());
  m.config = std::move(cfg).value();
  const json::value* layers = o.if_contains("layers");
  if (layers != nullptr && !layers->is_null()) {
    if (!layers->is_array()) return wrap(bad("\"layers\" is not an array"));
    std::size_t i = 0;
    for (const auto& l : layers->get_array()) {
      auto d = parse_descriptor(l, "layer " + std::to_string(i++));
      if (!d) return wrap(d.error());
      m.layers.push_back(std::move(d).value());
    }
  }
  return m;
}

Result<std::vector<Descriptor>> parse_index(std::string_view bytes) {
  BERTH_TRY(auto o, parse_object(bytes, "manifest list"));
  const json::value* manifests = o.if_contains("manifests");
  if (manifests == nullptr || !manifests->is_array()) {
    return bad("malformed manifest list: missing \"manifests\"");
  }
  std::vector<Descriptor> out;
  std::size_t i = 0;
  for (const auto& e : manifests->get_array()) {
    auto d = parse_descriptor(e, "entry " + std::to_string(i++));
    if (!d) return std::move(d).error().wrap("malformed manifest list");
    out.push_back(std::move(d).value());
  }
  return out;
}

const Descriptor* select_platform(const std::vector<Descriptor>& entries, const Platform& want) {
  const Descriptor* best = nullptr;
  Platform w = normalize_platform(want);
  for (const auto& e : entries) {
    if (!e.platform || !media_type::is_image_manifest(e.media_type)) continue;
    // BuildKit's provenance/SBOM entries look like images for "unknown/unknown".
    if (auto it = e.annotations.find("vnd.docker.reference.type"); it != e.annotations.end())
      continue;
    if (!platform_matches(want, *e.platform)) continue;
    if (normalize_platform(*e.platform).variant == w.variant) return &e;
    if (best == nullptr) best = &e;
  }
  return best;
}

}  // namespace berth::core::registry
