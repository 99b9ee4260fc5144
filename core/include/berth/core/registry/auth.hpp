// Registry credentials as the Engine API carries them (the X-Registry-Auth
// header and the body of POST /auth), and the WWW-Authenticate challenges a
// registry answers with.
//
// Plain values and pure functions; safe from any thread.
#pragma once

#include "berth/core/error.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::core::registry {

// Docker's AuthConfig. Which fields are used:
//  - registry_token: sent as is as a bearer token, nothing else is tried;
//  - identity_token: an OAuth refresh token (from an earlier login) traded at
//    the token server for access tokens;
//  - username/password: HTTP basic auth, or basic auth at the token server.
// All empty: anonymous.
struct Credentials {
  std::string username, password;
  std::string identity_token;
  std::string registry_token;
  std::string server_address;  // informational ("serveraddress"), e.g. for POST /auth

  bool empty() const {
    return username.empty() && password.empty() && identity_token.empty() && registry_token.empty();
  }
};

// Parses Docker's AuthConfig JSON ({"username", "password", "auth",
// "identitytoken", "registrytoken", "serveraddress", "email"}). "auth" is
// base64("user:password") and fills username/password when those are empty.
// Unknown keys are ignored (clients send "email"). Not an object or wrong
// types: invalid_argument.
Result<Credentials> parse_auth_config(std::string_view json);

// Decodes the X-Registry-Auth header: base64url (padded or not) of the
// AuthConfig JSON; standard base64 is accepted too. An empty header is
// anonymous. Anything undecodable is invalid_argument
// ("invalid X-Registry-Auth header: ...").
Result<Credentials> decode_registry_auth(std::string_view header);

// The inverse, for tests and for clients written against the core:
// base64url of the JSON, without padding.
std::string encode_registry_auth(const Credentials& credentials);

// One challenge of a WWW-Authenticate header (RFC 7235): `scheme` lower-case
// ("basic", "bearer"), parameter names lower-case, values unquoted.
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;

  const std::string& param(const std::string& name) const;
};

// Parses every challenge in the given WWW-Authenticate header values, e.g.
// `Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`.
// Unparseable parts are skipped.
std::vector<Challenge> parse_challenges(const std::vector<std::string>& header_values);

}  // namespace berth::core::registry
