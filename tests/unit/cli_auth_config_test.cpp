// The CLI's credential store (cli/auth_config.hpp): Docker's config.json
// layout, the X-Registry-Auth header it derives (decoded here by the
// daemon's own decoder), and what a rewrite keeps.
#include "auth_config.hpp"
#include "client.hpp"

#include "berth/core/registry/auth.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace berth::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class AuthConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/berth-test-cli-auth-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/config";
    ::setenv("BERTH_CONFIG", dir_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("BERTH_CONFIG");
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void write_config(const std::string& text) {
    fs::create_directories(dir_);
    std::ofstream(dir_ + "/config.json") << text;
  }
  std::string read_config() {
    std::ifstream in(dir_ + "/config.json");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static core::registry::Credentials decode(const std::string& header) {
    auto c = core::registry::decode_registry_auth(header);
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    return c ? c.value() : core::registry::Credentials{};
  }

  std::string root_, dir_;
};

TEST_F(AuthConfig, ConfigDirFollowsBerthConfigThenHome) {
  EXPECT_EQ(config_dir(), dir_);
  EXPECT_EQ(config_file_path(), dir_ + "/config.json");
  ::unsetenv("BERTH_CONFIG");
  std::string home = std::getenv("HOME") != nullptr ? std::getenv("HOME") : "";
  EXPECT_EQ(config_dir(), home + "/.berth");
}

TEST_F(AuthConfig, StoresDockerLayoutWithPrivateModes) {
  store_auth({"127.0.0.1:5000", "alice", "s3cret<&>", "", ""});
  auto config = json::parse(read_config());
  // base64("alice:s3cret<&>")
  EXPECT_EQ(config.at("auths").at("127.0.0.1:5000").at("auth").as_string(), "YWxpY2U6czNjcmV0PCY+");
  EXPECT_EQ(config.at("auths").at("127.0.0.1:5000").as_object().size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/config.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // Docker writes the file tab-indented; no temporary file is left over.
  EXPECT_NE(read_config().find("\n\t\"auths\": {"), std::string::npos) << read_config();
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename(), "config.json");
  }
}

TEST_F(AuthConfig, HeaderCarriesWhatTheDaemonDecodes) {
  EXPECT_EQ(registry_auth_header("127.0.0.1:5000"), "");
  store_auth({"127.0.0.1:5000", "alice", "pw", "", ""});
  std::string header = registry_auth_header("127.0.0.1:5000");
  // base64url, as Docker's CLI sends it: no '+' or '/'.
  EXPECT_EQ(header.find_first_of("+/\n"), std::string::npos) << header;
  auto c = decode(header);
  EXPECT_EQ(c.username, "alice");
  EXPECT_EQ(c.password, "pw");
  EXPECT_EQ(c.server_address, "127.0.0.1:5000");
  EXPECT_EQ(registry_auth_header("127.0.0.1:5001"), "");
}

TEST_F(AuthConfig, DockerHubUsesTheIndexServerKey) {
  write_config(R"({"auths": {"https://index.docker.io/v1/": {"auth": "Ym9iOmh1bnRlcjI="}}})");
  for (const char* name : {"docker.io", "index.docker.io"}) {
    auto c = decode(registry_auth_header(name));
    EXPECT_EQ(c.username, "bob") << name;
    EXPECT_EQ(c.password, "hunter2") << name;
    EXPECT_EQ(c.server_address, "https://index.docker.io/v1/") << name;
  }
}

TEST_F(AuthConfig, IdentityTokenReplacesThePassword) {
  store_auth({"reg.example:443", "carol", "", "refresh-me", ""});
  auto config = json::parse(read_config());
  const auto& entry = config.at("auths").at("reg.example:443");
  EXPECT_EQ(entry.at("auth").as_string(), "Y2Fyb2w6");  // "carol:"
  EXPECT_EQ(entry.at("identitytoken").as_string(), "refresh-me");
  auto c = decode(registry_auth_header("reg.example:443"));
  EXPECT_EQ(c.username, "carol");
  EXPECT_EQ(c.password, "");
  EXPECT_EQ(c.identity_token, "refresh-me");
}

TEST_F(AuthConfig, LegacyKeysAreFoundByHostName) {
  write_config(R"({"auths": {"http://127.0.0.1:5000/v2/": {"auth": "ZGF2ZTpwdw=="}}})");
  auto found = find_auth("127.0.0.1:5000");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->server, "http://127.0.0.1:5000/v2/");
  EXPECT_EQ(found->username, "dave");
  EXPECT_EQ(convert_to_hostname("https://host:5000/v2/x"), "host:5000");
  EXPECT_EQ(convert_to_hostname("host"), "host");
}

TEST_F(AuthConfig, RewritesKeepOtherSettingsAndEntries) {
  write_config(R"({"auths": {"other:1": {"auth": "eDp5"}}, "psFormat": "table {{.ID}}",
                   "HttpHeaders": {"X-Test": "1"}})");
  store_auth({"127.0.0.1:5000", "alice", "pw", "", ""});
  auto config = json::parse(read_config());
  EXPECT_EQ(config.at("psFormat").as_string(), "table {{.ID}}");
  EXPECT_EQ(config.at("HttpHeaders").at("X-Test").as_string(), "1");
  EXPECT_TRUE(config.at("auths").as_object().contains("other:1"));
  erase_auth({"127.0.0.1:5000", "absent"});
  config = json::parse(read_config());
  EXPECT_FALSE(config.at("auths").as_object().contains("127.0.0.1:5000"));
  EXPECT_TRUE(config.at("auths").as_object().contains("other:1"));
  EXPECT_TRUE(has_auth_key("other:1"));
  EXPECT_FALSE(has_auth_key("127.0.0.1:5000"));
}

TEST_F(AuthConfig, ASymlinkedConfigStaysASymlink) {
  fs::create_directories(dir_);
  write_config("{}");
  fs::rename(dir_ + "/config.json", root_ + "/real.json");
  fs::create_symlink(root_ + "/real.json", dir_ + "/config.json");
  store_auth({"h:1", "u", "p", "", ""});
  EXPECT_TRUE(fs::is_symlink(dir_ + "/config.json"));
  EXPECT_NE(read_config().find("\"h:1\""), std::string::npos);
}

TEST_F(AuthConfig, BrokenConfigIsAnErrorForWritersAndAWarningForTheHeader) {
  write_config("{not json");
  EXPECT_THROW(store_auth({"h:1", "u", "p", "", ""}), CliError);
  EXPECT_EQ(read_config(), "{not json");  // left as it was
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(registry_auth_header("h:1"), "");
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("WARNING: Error loading config file " + dir_ + "/config.json"),
            std::string::npos)
      << err;
  write_config(R"({"auths": {"h:1": {"auth": "bm9jb2xvbg=="}}})");  // "nocolon"
  EXPECT_THROW(find_auth("h:1"), CliError);
}

}  // namespace
}  // namespace berth::cli
