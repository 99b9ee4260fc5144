#include "auth_config.hpp"

#include "atomic_file.hpp"
#include "client.hpp"
#include "pretty_json.hpp"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/Exception.h>
#include <boost/json.hpp>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace berth::cli {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string base64_encode(std::string_view data, int options) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out, options);
  encoder.rdbuf()->setLineLength(0);
  encoder.write(data.data(), static_cast<std::streamsize>(data.size()));
  encoder.close();
  return out.str();
}

// config.json as a JSON object; an absent file is an empty one.
json::object load_config() {
  std::string path = config_file_path();
  std::error_code exists_error;
  if (!fs::exists(path, exists_error) && !exists_error) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliError("loading config file " + path + ": " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return {};
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    throw CliError("loading config file " + path + ": " +
                   (ec ? ec.message() : std::string("not a JSON object")));
  }
  return std::move(v.get_object());
}

json::object* auths_of(json::object& config) {
  auto* auths = config.if_contains("auths");
  return auths != nullptr && auths->is_object() ? &auths->get_object() : nullptr;
}

std::string string_member(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Docker's decodeAuth: "auth" is base64("user:password").
StoredAuth decode_entry(const std::string& key, const json::object& entry) {
  StoredAuth a;
  a.server = key;
  a.username = string_member(entry, "username");
  a.password = string_member(entry, "password");
  a.identity_token = string_member(entry, "identitytoken");
  a.registry_token = string_member(entry, "registrytoken");
  if (std::string encoded = string_member(entry, "auth"); !encoded.empty()) {
    std::string plain;
    try {
      plain = base64_decode(encoded);
    } catch (const Poco::Exception&) {
    }
    auto colon = plain.find(':');
    if (colon == std::string::npos) {
      throw CliError("loading config file " + config_file_path() +
                     ": invalid auth configuration for " + key);
    }
    a.username = plain.substr(0, colon);
    a.password = plain.substr(colon + 1);
  }
  return a;
}

// Writes `config` as Docker does (tab-indented), creating the directory.
void save_config(const json::object& config) {
  std::string dir = config_dir();
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) throw CliError("create " + dir + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, ec);
  }
  // A config.json that is a symlink (dotfile managers) stays one: the file
  // it points to is replaced.
  std::string path = config_file_path();
  if (fs::is_symlink(path, ec)) {
    auto target = fs::canonical(path, ec);
    if (!ec) path = target.string();
  }
  AtomicFile file(path, 0600);
  file.write(indent_json(json::serialize(config), "\t"));
  file.commit();
}

}  // namespace

std::string base64_decode(const std::string& text) {
  std::istringstream in(text);
  Poco::Base64Decoder decoder(in);
  std::ostringstream out;
  out << decoder.rdbuf();
  return out.str();
}

std::string config_dir() {
  if (const char* dir = std::getenv("BERTH_CONFIG"); dir != nullptr && *dir != '\0') return dir;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.berth";
}

std::string config_file_path() { return config_dir() + "/config.json"; }

std::string convert_to_hostname(std::string_view server) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (server.starts_with(scheme)) {
      server.remove_prefix(scheme.size());
      break;
    }
  }
  return std::string(server.substr(0, server.find('/')));
}

std::optional<StoredAuth> find_auth(const std::string& server) {
  json::object config = load_config();
  const json::object* auths = auths_of(config);
  if (auths == nullptr) return std::nullopt;
  if (const auto* e = auths->if_contains(server); e != nullptr && e->is_object()) {
    return decode_entry(server, e->get_object());
  }
  for (const auto& [key, e] : *auths) {
    if (e.is_object() && convert_to_hostname(key) == server)
      return decode_entry(key, e.get_object());
  }
  return std::nullopt;
}

bool has_auth_key(const std::string& key) {
  json::object config = load_config();
  const json::object* auths = auths_of(config);
  return auths != nullptr && auths->contains(key);
}

void store_auth(const StoredAuth& auth) {
  json::object config = load_config();
  if (auths_of(config) == nullptr) config["auths"] = json::object{};
  json::object entry;
  // Docker's encodeAuth: with an identity token the password is empty and
  // "auth" holds "user:".
  if (!auth.username.empty() || !auth.password.empty()) {
    entry["auth"] = base64_encode(auth.username + ":" + auth.password, 0);
  }
  if (!auth.identity_token.empty()) entry["identitytoken"] = auth.identity_token;
  if (!auth.registry_token.empty()) entry["registrytoken"] = auth.registry_token;
  (*auths_of(config))[auth.server] = std::move(entry);
  save_config(config);
}

void erase_auth(const std::vector<std::string>& keys) {
  json::object config = load_config();
  json::object* auths = auths_of(config);
  if (auths == nullptr) return;
  bool changed = false;
  for (const auto& k : keys) changed = auths->erase(k) > 0 || changed;
  if (changed) save_config(config);
}

namespace {

// Docker's AuthConfig, in its field order, empty fields left out.
json::object auth_config_json(const StoredAuth& auth) {
  json::object o;
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) o[key] = value;
  };
  put("username", auth.username);
  put("password", auth.password);
  put("serveraddress", auth.server);
  put("identitytoken", auth.identity_token);
  put("registrytoken", auth.registry_token);
  return o;
}

}  // namespace

std::string encode_auth_header(const StoredAuth& auth) {
  return base64_encode(json::serialize(auth_config_json(auth)), Poco::BASE64_URL_ENCODING);
}

std::string registry_config_header() {
  json::object configs;
  try {
    json::object config = load_config();
    if (const json::object* auths = auths_of(config); auths != nullptr) {
      for (const auto& [key, entry] : *auths) {
        if (entry.is_object()) {
          configs[key] = auth_config_json(decode_entry(std::string(key), entry.get_object()));
        }
      }
    }
  } catch (const CliError& e) {
    std::cerr << "WARNING: Error " << e.what() << "\n";
    configs.clear();
  }
  return base64_encode(json::serialize(configs), Poco::BASE64_URL_ENCODING);
}

std::string registry_auth_header(const std::string& registry) {
  std::string key = registry;
  if (registry == "docker.io" || registry == "index.docker.io") key = std::string(kIndexServer);
  std::optional<StoredAuth> auth;
  try {
    auth = find_auth(key);
  } catch (const CliError& e) {
    std::cerr << "WARNING: Error " << e.what() << "\n";
    return {};
  }
  return auth ? encode_auth_header(*auth) : std::string();
}

}  // namespace berth::cli
