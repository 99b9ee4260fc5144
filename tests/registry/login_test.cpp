// Logging in to a registry through berthd: POST /auth against Debian's
// docker-registry (htpasswd basic auth, and token auth with identity
// tokens), `berth login` / `berth logout` and the config.json they keep,
// the credentials reaching a pull, and the real docker CLIs logging in
// through berthd.
#include "docker_clients.hpp"
#include "harness.hpp"
#include "registry.hpp"

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

// A loopback port nothing listens on (bound, then released).
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

std::string auth_body(const std::string& user, const std::string& password,
                      const std::string& server) {
  return json::serialize(
      json::object{{"username", user}, {"password", password}, {"serveraddress", server}});
}

class Login : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(daemon_.started()) << daemon_.log(); }

  std::string config_path() const { return daemon_.cli_config() + "/config.json"; }
  json::value config() const { return json::parse(read_file(config_path())); }
  CommandResult login_alice() {
    return daemon_.berth({"login", registry_.host(), "-u", "alice", "--password-stdin"}, "s3cret");
  }
  std::string unauthorized(const LocalRegistry& r) const {
    return "Get \"http://" + r.host() + "/v2/\": unauthorized: incorrect username or password";
  }

  LocalRegistry registry_{{.auth = LocalRegistry::Auth::basic, .users = {{"alice", "s3cret"}}}};
  Daemon daemon_{{.args = {"--storage-driver", "vfs"}}};
};

TEST_F(Login, AuthEndpointAnswersLikeDocker) {
  auto ok = daemon_.api("POST", "/auth", auth_body("alice", "s3cret", registry_.host()));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.body, "{\"Status\":\"Login Succeeded\",\"IdentityToken\":\"\"}\n");

  auto wrong = daemon_.api("POST", "/auth", auth_body("alice", "nope", registry_.host()));
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_EQ(json::parse(wrong.body).at("message").as_string(), unauthorized(registry_));
  auto unknown_user =
      daemon_.api("POST", "/auth", auth_body("mallory", "s3cret", registry_.host()));
  EXPECT_EQ(unknown_user.status, 401) << unknown_user.body;

  // Nothing listens there: a server error naming the address, as Docker's
  // "Get ...: connection refused".
  std::string nowhere = "127.0.0.1:" + std::to_string(closed_port());
  auto down = daemon_.api("POST", "/auth", auth_body("alice", "s3cret", nowhere));
  EXPECT_EQ(down.status, 500) << down.body;
  std::string message(json::parse(down.body).at("message").as_string());
  EXPECT_THAT(message, HasSubstr(nowhere));
  EXPECT_THAT(message, HasSubstr("refused"));

  auto garbage = daemon_.api("POST", "/auth", "{\"username\": 7");
  EXPECT_EQ(garbage.status, 400) << garbage.body;
}

TEST_F(Login, TokenRegistryHandsOutAnIdentityToken) {
  LocalRegistry token_registry(
      {.auth = LocalRegistry::Auth::token, .users = {{"alice", "s3cret"}}});
  auto ok = daemon_.api("POST", "/auth", auth_body("alice", "s3cret", token_registry.host()));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body).at("IdentityToken").as_string(), "berth-test-refresh:alice");
  auto wrong = daemon_.api("POST", "/auth", auth_body("alice", "nope", token_registry.host()));
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_EQ(json::parse(wrong.body).at("message").as_string(), unauthorized(token_registry));

  // berth login keeps the identity token instead of the password ...
  auto login = daemon_.berth({"login", token_registry.host(), "-u", "alice", "--password-stdin"},
                             "s3cret\n");
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_EQ(login.out, "Login Succeeded\n");
  EXPECT_THAT(login.err, Not(HasSubstr("stored unencrypted")));
  json::value stored = config();
  const auto& entry = stored.at("auths").at(token_registry.host());
  EXPECT_EQ(entry.at("identitytoken").as_string(), "berth-test-refresh:alice");
  EXPECT_EQ(entry.at("auth").as_string(), "YWxpY2U6");  // "alice:"
  EXPECT_THAT(read_file(config_path()), Not(HasSubstr("s3cret")));

  // ... and a later login without flags tries what is stored first.
  auto again = daemon_.berth({"login", token_registry.host()});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "Authenticating with existing credentials...\nLogin Succeeded\n");
}

TEST_F(Login, BerthLoginStoresCredentialsPrivately) {
  auto r = daemon_.berth({"login", registry_.host(), "-u", "alice", "-p", "s3cret"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Login Succeeded\n");
  EXPECT_THAT(
      r.err,
      HasSubstr("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"));
  EXPECT_THAT(r.err,
              HasSubstr("WARNING! Your password will be stored unencrypted in " + config_path()));
  // base64("alice:s3cret"), Docker's layout.
  EXPECT_EQ(config().at("auths").at(registry_.host()).at("auth").as_string(), "YWxpY2U6czNjcmV0");
  EXPECT_EQ(mode_of(config_path()), 0600u);
  EXPECT_EQ(mode_of(daemon_.cli_config()), 0700u);

  // --password-stdin: no warning about the command line; the line end is
  // not part of the password.
  auto piped =
      daemon_.berth({"login", "-u", "alice", "--password-stdin", registry_.host()}, "s3cret\r\n");
  EXPECT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_THAT(piped.err, Not(HasSubstr("--password via the CLI")));
  // Given as a URL, the entry is still kept under the host name.
  auto url = daemon_.berth(
      {"login", "http://" + registry_.host() + "/", "-u", "alice", "--password-stdin"}, "s3cret");
  EXPECT_EQ(url.exit_code, 0) << url.err;
  EXPECT_EQ(config().at("auths").as_object().size(), 1u) << read_file(config_path());
}

TEST_F(Login, RefusedLoginsStoreNothing) {
  auto wrong =
      daemon_.berth({"login", registry_.host(), "-u", "alice", "--password-stdin"}, "nope");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_EQ(wrong.err, "Error response from daemon: " + unauthorized(registry_) + "\n");
  EXPECT_FALSE(fs::exists(config_path()));

  auto no_tty = daemon_.berth({"login", registry_.host()});
  EXPECT_EQ(no_tty.exit_code, 1);
  EXPECT_EQ(no_tty.err, "Error: Cannot perform an interactive login from a non TTY device\n");
  auto user_only = daemon_.berth({"login", registry_.host(), "-u", "alice"});
  EXPECT_EQ(user_only.err, "Error: Cannot perform an interactive login from a non TTY device\n");
  auto stdin_no_user = daemon_.berth({"login", registry_.host(), "--password-stdin"}, "s3cret");
  EXPECT_EQ(stdin_no_user.exit_code, 1);
  EXPECT_EQ(stdin_no_user.err, "Must provide --username with --password-stdin\n");
  auto both = daemon_.berth({"login", registry_.host(), "-u", "a", "-p", "b", "--password-stdin"});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_THAT(both.err, HasSubstr("--password and --password-stdin are mutually exclusive\n"));
  EXPECT_FALSE(fs::exists(config_path()));
}

TEST_F(Login, PromptsOnATerminalWithoutEchoingThePassword) {
  auto r = run_on_terminal({berth_path(), "-H", daemon_.host(), "login", registry_.host()},
                           {{"BERTH_CONFIG", daemon_.cli_config()}, {"BERTH_HOST", ""}}, 120,
                           {{"Username: ", "alice\n"}, {"Password: ", "s3cret\n"}});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("Username: alice\n"));  // the user name is echoed
  EXPECT_THAT(r.out, Not(HasSubstr("s3cret")));        // the password is not
  EXPECT_THAT(r.out, HasSubstr("Login Succeeded\n"));
  EXPECT_EQ(config().at("auths").at(registry_.host()).at("auth").as_string(), "YWxpY2U6czNjcmV0");

  // Stored credentials that no longer work are tried, then the stored user
  // is offered as the default; a wrong password is refused.
  write_file(
      config_path(),
      json::serialize(json::object{
          {"auths", json::object{{registry_.host(), json::object{{"auth", "YWxpY2U6b2xk"}}}}}}));
  auto retry = run_on_terminal({berth_path(), "-H", daemon_.host(), "login", registry_.host()},
                               {{"BERTH_CONFIG", daemon_.cli_config()}, {"BERTH_HOST", ""}}, 120,
                               {{"Username (alice): ", "\n"}, {"Password: ", "wrong\n"}});
  EXPECT_EQ(retry.exit_code, 1) << retry.out;
  EXPECT_THAT(
      retry.out,
      HasSubstr("Authenticating with existing credentials...\nLogin did not succeed, error: "));
  EXPECT_THAT(retry.out, HasSubstr("unauthorized: incorrect username or password"));
}

TEST_F(Login, LogoutRemovesOnlyThatRegistry) {
  auto not_in = daemon_.berth({"logout", registry_.host()});
  EXPECT_EQ(not_in.exit_code, 0) << not_in.err;
  EXPECT_EQ(not_in.out, "Not logged in to " + registry_.host() + "\n");
  auto hub = daemon_.berth({"logout"});
  EXPECT_EQ(hub.out, "Not logged in to https://index.docker.io/v1/\n");

  ASSERT_EQ(login_alice().exit_code, 0);
  // Another tool's entry and setting survive.
  auto cfg = config().as_object();
  cfg["auths"].as_object()["other.example:5000"] = json::object{{"auth", "eDp5"}};
  cfg["detachKeys"] = "ctrl-x";
  write_file(config_path(), json::serialize(cfg));

  auto out = daemon_.berth({"logout", "http://" + registry_.host()});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, "Removing login credentials for " + registry_.host() + "\n");
  auto after = config();
  EXPECT_FALSE(after.at("auths").as_object().contains(registry_.host()));
  EXPECT_TRUE(after.at("auths").as_object().contains("other.example:5000"));
  EXPECT_EQ(after.at("detachKeys").as_string(), "ctrl-x");
  EXPECT_EQ(mode_of(config_path()), 0600u);
  EXPECT_EQ(daemon_.berth({"logout", registry_.host()}).out,
            "Not logged in to " + registry_.host() + "\n");
}

TEST_F(Login, StoredCredentialsGoAlongWithAPull) {
  push_test_image(registry_, "berth-test/private:1", ImageFormat::docker_v2s2);
  std::string ref = registry_.host() + "/berth-test/private:1";
  auto anonymous = daemon_.berth({"pull", ref});
  EXPECT_NE(anonymous.exit_code, 0) << anonymous.out;
  ASSERT_EQ(login_alice().exit_code, 0);
  auto pulled = daemon_.berth({"pull", ref});
  EXPECT_EQ(pulled.exit_code, 0) << pulled.out << pulled.err;
  EXPECT_EQ(daemon_.berth({"images", "-q", ref}).out.size(), 13u);
  ASSERT_EQ(daemon_.berth({"logout", registry_.host()}).exit_code, 0);
  ASSERT_EQ(daemon_.berth({"rmi", ref}).exit_code, 0);
  EXPECT_NE(daemon_.berth({"pull", ref}).exit_code, 0);
}

class DockerLogin : public Login, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    if (!fs::exists(GetParam())) GTEST_SKIP() << GetParam() << " is not installed";
    Login::SetUp();
  }
  CommandResult docker(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), {GetParam(), "-H", daemon_.host()});
    return run(args,
               {{"DOCKER_CONFIG", docker_config_.path()},
                {"DOCKER_HOST", ""},
                {"DOCKER_CONTEXT", ""},
                {"DOCKER_API_VERSION", ""}},
               input);
  }
  TempDir docker_config_{"docker-config"};
};

TEST_P(DockerLogin, LogsInThroughBerthd) {
  auto ok = docker({"login", registry_.host(), "-u", "alice", "--password-stdin"}, "s3cret\n");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("Login Succeeded"));
  auto stored = json::parse(read_file(docker_config_ / "config.json"));
  EXPECT_EQ(stored.at("auths").at(registry_.host()).at("auth").as_string(), "YWxpY2U6czNjcmV0");

  auto wrong = docker({"login", registry_.host(), "-u", "alice", "-p", "nope"});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_THAT(wrong.err, HasSubstr("Error response from daemon: " + unauthorized(registry_)));
}

INSTANTIATE_TEST_SUITE_P(Clients, DockerLogin, kDockerClients, docker_client_name);

}  // namespace
}  // namespace berth::testing
