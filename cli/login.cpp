// berth login and berth logout: credentials are checked by the daemon
// (POST /auth, which asks the registry) and kept in config.json
// (auth_config.hpp), with Docker's prompts, warnings and messages.
#include "auth_config.hpp"
#include "command.hpp"

#include <boost/json.hpp>
#include <termios.h>
#include <unistd.h>

#include <iterator>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct LoginOpts {
  std::string server;
  std::string username, password;
  bool password_stdin = false;
};

std::string trim_space(std::string s) {
  const char* space = " \t\r\n\v\f";
  s.erase(0, s.find_first_not_of(space));
  s.erase(s.find_last_not_of(space) + 1);
  return s;
}

// One line from the user, without its line end. Like Docker, a closed
// input ends the command.
std::string read_line(Context& ctx) {
  std::string line;
  if (!std::getline(ctx.in, line)) throw CliError("EOF");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Shows `prompt` and reads a line with the terminal's echo off (turned off
// before the prompt shows, so a quick typist's answer is not echoed),
// restoring it even on error.
std::string read_secret(Context& ctx, std::string_view prompt) {
  termios saved{};
  bool restore = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  struct Restore {
    bool on;
    termios state;
    ~Restore() {
      if (on) ::tcsetattr(STDIN_FILENO, TCSANOW, &state);
    }
  } guard{restore, saved};
  ctx.out << prompt << std::flush;
  return read_line(ctx);
}

// Docker's ConfigureAuth: asks for what the flags did not give.
StoredAuth prompt_for_credentials(Context& ctx, const LoginOpts& o, const std::string& default_user,
                                  bool is_default_registry) {
  if (o.password.empty() && !ctx.in_is_terminal()) {
    throw CliError("Error: Cannot perform an interactive login from a non TTY device");
  }
  std::string user = trim_space(o.username);
  if (user.empty()) {
    if (is_default_registry) {
      ctx.out << "Login with your Docker ID to push and pull images from Docker Hub. If you don't "
                 "have a Docker ID, head over to https://hub.docker.com to create one.\n";
    }
    ctx.out << (default_user.empty() ? "Username: " : "Username (" + default_user + "): ")
            << std::flush;
    user = trim_space(read_line(ctx));
    if (user.empty()) user = default_user;
  }
  if (user.empty()) throw CliError("Error: Non-null Username Required");
  std::string password = o.password;
  if (password.empty()) {
    password = read_secret(ctx, "Password: ");
    ctx.out << "\n";
    if (password.empty()) throw CliError("Error: Password Required");
  }
  StoredAuth a;
  a.username = user;
  a.password = password;
  return a;
}

// POST /auth; the answer's IdentityToken (may be empty). A refusal
// throws CliError with the daemon's message.
json::object authenticate(Context& ctx, const StoredAuth& a, const std::string& server) {
  json::object body;
  if (!a.username.empty()) body["username"] = a.username;
  if (!a.password.empty()) body["password"] = a.password;
  body["serveraddress"] = server;
  if (!a.identity_token.empty()) body["identitytoken"] = a.identity_token;
  if (!a.registry_token.empty()) body["registrytoken"] = a.registry_token;
  Response r = ctx.client().request("POST", "/auth", json::serialize(body), "application/json");
  check_response(r);
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) throw CliError("invalid JSON from daemon for /auth");
  return std::move(v.get_object());
}

std::string string_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

void login(Context& ctx, LoginOpts o) {
  if (!o.password.empty()) {
    ctx.err << "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n";
    if (o.password_stdin) throw CliError("--password and --password-stdin are mutually exclusive");
  }
  if (o.password_stdin) {
    if (o.username.empty()) throw CliError("Must provide --username with --password-stdin");
    o.password.assign(std::istreambuf_iterator<char>(ctx.in), std::istreambuf_iterator<char>());
    if (o.password.ends_with('\n')) o.password.pop_back();
    if (o.password.ends_with('\r')) o.password.pop_back();
  }
  std::string server =
      o.server.empty() || o.server == "docker.io" ? std::string(kIndexServer) : o.server;
  bool is_default = server == kIndexServer;
  // Docker Hub keeps its URL as the key; others their host name.
  std::string key = is_default ? server : convert_to_hostname(server);

  std::optional<StoredAuth> stored = find_auth(key);
  std::optional<json::object> answer;
  StoredAuth creds;
  // Without flags, credentials stored earlier are tried first.
  if (o.username.empty() && o.password.empty() && stored && !stored->username.empty() &&
      (!stored->password.empty() || !stored->identity_token.empty())) {
    ctx.out << "Authenticating with existing credentials...\n";
    try {
      answer = authenticate(ctx, *stored, server);
      creds = *stored;
    } catch (const CliError& e) {
      ctx.err << "Login did not succeed, error: " << e.what() << "\n";
    }
  }
  if (!answer) {
    creds = prompt_for_credentials(ctx, o, stored ? stored->username : std::string(), is_default);
    answer = authenticate(ctx, creds, server);
  }
  if (std::string token = string_field(*answer, "IdentityToken"); !token.empty()) {
    creds.password.clear();
    creds.identity_token = token;
  }
  creds.server = key;
  if (!creds.password.empty()) {
    ctx.err << "WARNING! Your password will be stored unencrypted in " << config_file_path()
            << ".\n\n";
  }
  try {
    store_auth(creds);
  } catch (const CliError& e) {
    throw CliError(std::string("Error saving credentials: ") + e.what());
  }
  if (std::string status = string_field(*answer, "Status"); !status.empty()) {
    ctx.out << status << "\n";
  }
}

// Docker's logout: the default registry by its URL, any other by host
// name, also erasing the older spellings ("http://host", "https://host")
// that earlier clients stored.
void logout(Context& ctx, const std::string& given) {
  std::string server = given.empty() ? std::string(kIndexServer) : given;
  std::vector<std::string> keys{server};
  std::string hostname = server;
  if (!given.empty()) {
    hostname = convert_to_hostname(server);
    keys.insert(keys.end(), {hostname, "http://" + hostname, "https://" + hostname});
  }
  if (!has_auth_key(hostname)) {
    ctx.out << "Not logged in to " << hostname << "\n";
    return;
  }
  ctx.out << "Removing login credentials for " << hostname << "\n";
  erase_auth(keys);
}

}  // namespace

void add_login_commands(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<LoginOpts>();
  auto* in = app.add_subcommand("login", "Log in to a registry");
  in->footer("If no server is specified, the default is Docker Hub.");
  in->add_option("SERVER", o->server, "Registry server");
  in->add_option("-u,--username", o->username, "Username");
  in->add_option("-p,--password", o->password, "Password");
  in->add_flag("--password-stdin", o->password_stdin, "Take the password from stdin");
  in->callback([&ctx, o] { login(ctx, *o); });

  auto server = std::make_shared<std::string>();
  auto* out = app.add_subcommand("logout", "Log out from a registry");
  out->footer("If no server is specified, the default is Docker Hub.");
  out->add_option("SERVER", *server, "Registry server");
  out->callback([&ctx, server] { logout(ctx, *server); });
}

}  // namespace berth::cli
