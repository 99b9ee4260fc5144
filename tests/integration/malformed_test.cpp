// A corpus of malformed and hostile requests sent as raw bytes: each gets a
// clean HTTP error (or a closed connection), and the daemon keeps serving.
#include "harness.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace berth::testing {
namespace {

struct Case {
  const char* name;
  std::string request;
  // Expected status line prefix ("HTTP/1.1 404"), or empty: any 4xx, or the
  // connection closed without an answer.
  std::string status;
  std::string body_has;
};

std::string get(const std::string& target, const std::string& extra_headers = {}) {
  return "GET " + target + " HTTP/1.1\r\nHost: berth\r\n" + extra_headers +
         "Connection: close\r\n\r\n";
}

std::vector<Case> corpus() {
  std::string many_headers;
  for (int i = 0; i < 5000; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  return {
      {"unknown_route", get("/v1.41/nothing"), "HTTP/1.1 404", R"({"message":"page not found"})"},
      {"wrong_method", "DELETE /_ping HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
       "HTTP/1.1 405", "not allowed"},
      {"invented_method", "BREW /info HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
       "HTTP/1.1 405", "not allowed"},
      {"too_old", get("/v1.2/info"), "HTTP/1.1 400", "is too old"},
      {"too_new", get("/v2.0/info"), "HTTP/1.1 400", "is too new"},
      {"version_overflow", get("/v99999999999999999999.1/info"), "HTTP/1.1 404", "page not found"},
      {"dotdot", get("/v1.41/../../etc/passwd"), "HTTP/1.1 404", "page not found"},
      {"encoded_dotdot", get("/v1.41/%2e%2e/info"), "HTTP/1.1 404", "page not found"},
      {"encoded_nul", get("/v1.41/info%00"), "HTTP/1.1 400", "invalid request path"},
      {"bad_percent", get("/v1.41/info%zz"), "HTTP/1.1 400", "invalid request path"},
      {"bad_query", get("/v1.41/plugins?filters=%zz"), "HTTP/1.1 400", "invalid query string"},
      {"bad_filters_json", get("/v1.41/plugins?filters=%7Bnope"), "HTTP/1.1 400", "invalid filters"},
      {"unknown_filter", get("/v1.41/plugins?filters=%7B%22x%22%3A%5B%5D%7D"), "HTTP/1.1 400",
       "invalid filter 'x'"},
      {"absolute_form_garbage", get("http//x"), "HTTP/1.1 400", ""},
      {"huge_header", get("/_ping", "X-Big: " + std::string(200000, 'a') + "\r\n"), "", ""},
      {"many_headers", get("/_ping", many_headers), "", ""},
      {"huge_uri", get("/v1.41/" + std::string(1 << 20, 'a')), "", ""},
      {"garbage", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 26),
       "", ""},
      {"no_version", "GET /_ping\r\n\r\n", "", ""},
      {"bad_chunked",
       "POST /v1.41/info HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nxx\r\n",
       "", ""},
      {"short_body",
       "POST /v1.41/info HTTP/1.1\r\nHost: b\r\nContent-Length: 100000\r\n\r\n{\"a\":", "", ""},
      {"negative_length",
       "POST /v1.41/info HTTP/1.1\r\nHost: b\r\nContent-Length: -5\r\n\r\n", "", ""},
      {"empty", "", "", ""},
      {"only_crlf", "\r\n\r\n\r\n", "", ""},
  };
}

class Malformed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { daemon_ = new Daemon(); }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
  }
  static Daemon* daemon_;
};
Daemon* Malformed::daemon_ = nullptr;

TEST_F(Malformed, EveryRequestGetsACleanErrorAndTheDaemonKeepsServing) {
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  for (const auto& c : corpus()) {
    SCOPED_TRACE(c.name);
    std::string reply = raw_exchange(daemon_->socket(), c.request);
    if (!c.status.empty()) {
      EXPECT_EQ(reply.rfind(c.status, 0), 0u) << reply.substr(0, 300);
      EXPECT_NE(reply.find("Api-Version: 1.43"), std::string::npos) << reply.substr(0, 300);
    } else if (!reply.empty()) {
      // Poco answers framing errors with a 4xx; it must never be a 2xx or 5xx.
      EXPECT_EQ(reply.rfind("HTTP/1.", 0), 0u) << reply.substr(0, 300);
      EXPECT_EQ(reply[9], '4') << reply.substr(0, 300);
    }
    if (!c.body_has.empty()) {
      EXPECT_NE(reply.find(c.body_has), std::string::npos) << reply;
    }
    std::string ping = raw_exchange(daemon_->socket(), get("/_ping"));
    ASSERT_EQ(ping.rfind("HTTP/1.1 200", 0), 0u) << "daemon stopped serving after " << c.name;
  }
  EXPECT_EQ(::kill(daemon_->pid(), 0), 0);
}

TEST_F(Malformed, HeadPingHasHeadersAndNoBody) {
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  std::string reply = raw_exchange(daemon_->socket(),
                                   "HEAD /_ping HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("Api-Version: 1.43"), std::string::npos);
  EXPECT_NE(reply.find("Ostype: linux"), std::string::npos);
  EXPECT_EQ(reply.substr(reply.find("\r\n\r\n") + 4), "");
}

TEST_F(Malformed, IdleConnectionsDoNotBlockOtherClients) {
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  // Twenty clients that connect and send half a request, then wait.
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, daemon_->socket().c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const char half[] = "GET /_ping HTTP/1.1\r\nHost: b\r\n";
    ASSERT_GT(::send(fd, half, sizeof half - 1, MSG_NOSIGNAL), 0);
    idle.push_back(fd);
  }
  auto r = daemon_->berth({"version", "--format", "{{.Server.Version}}"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (int fd : idle) ::close(fd);
}

}  // namespace
}  // namespace berth::testing
