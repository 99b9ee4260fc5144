// Registry credentials on the client side, kept like Docker's CLI keeps
// them: a config.json in the user's berth config directory with
//   {"auths": {"<server>": {"auth": "<base64 user:password>"}}}
// ("identitytoken" next to "auth" when the registry handed one out at
// login; the password is then not stored). Docker Hub's key is
// "https://index.docker.io/v1/", any other registry's its host[:port].
// Keys the CLI does not know (other tools' settings) are kept on rewrite.
//
// Functions throw CliError; none keeps state between calls.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::cli {

// Docker Hub's config.json key, and the server `login` uses by default.
inline constexpr std::string_view kIndexServer = "https://index.docker.io/v1/";

// The user's berth config directory: $BERTH_CONFIG when set, else
// $HOME/.berth.
std::string config_dir();
// <config_dir>/config.json.
std::string config_file_path();

// One registry's stored credentials.
struct StoredAuth {
  std::string server;  // the config.json key they are stored under
  std::string username, password;
  std::string identity_token;  // instead of the password (OAuth refresh token)
  std::string registry_token;  // a bearer token to send as is
};

// Docker's ConvertToHostname: "https://host:5000/v2/" -> "host:5000".
std::string convert_to_hostname(std::string_view server);

// The credentials stored for `server`: under that exact key, else under a
// key with the same host name ("http://host:5000" for "host:5000"), as
// Docker's file store looks them up. nullopt when there are none. Throws
// CliError when config.json exists but cannot be read or parsed.
std::optional<StoredAuth> find_auth(const std::string& server);

// Whether config.json has an entry under exactly `key`.
bool has_auth_key(const std::string& key);

// Stores `auth` under auth.server, replacing what was there; creates the
// config directory (mode 0700) and writes config.json atomically (mode
// 0600). Throws CliError.
void store_auth(const StoredAuth& auth);

// Removes the entries under `keys` (absent ones are skipped); rewrites
// config.json only when something was removed. Throws CliError.
void erase_auth(const std::vector<std::string>& keys);

// The X-Registry-Auth header value (base64url of the AuthConfig JSON, as
// Docker's CLI sends) for registry host `registry` ("127.0.0.1:5000",
// "docker.io", ...), from config.json; empty when no credentials are
// stored. "docker.io" (and "index.docker.io") use Docker Hub's key. An
// unreadable config.json gives a warning on stderr and no credentials, as
// with Docker.
std::string registry_auth_header(const std::string& registry);

// base64url (padded) of the AuthConfig JSON for `auth`, with
// "serveraddress" = auth.server: the header value for given credentials.
std::string encode_auth_header(const StoredAuth& auth);

// The X-Registry-Config header value `build` sends (Docker's
// ImageBuildOptions.AuthConfigs): base64url (padded) of a JSON object with
// every stored credential, {"<config.json key>": <AuthConfig>, ...};
// "e30=" ({}) when there is none. An unreadable config.json gives a
// warning on stderr and no credentials, as with Docker.
std::string registry_config_header();

// Decodes standard base64 (also used for cp's path stat header).
std::string base64_decode(const std::string& text);

}  // namespace berth::cli
