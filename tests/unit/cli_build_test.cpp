// The CLI's build side against a fake daemon: the query and headers of
// POST /build for the flags, the context tar (.dockerignore applied, a
// Dockerfile from outside the context or from stdin added under a random
// name, stdin contexts), the display of the daemon's stream and its exit
// codes, -q and --iidfile, and `builder prune`.
#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/URI.h>
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>

#include "cli_fake_daemon.hpp"
#include "cli_run.hpp"
#include "command.hpp"
#include "tar_writer.hpp"

namespace berth::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test_support::FakeDaemon;
using test_support::Outcome;
using test_support::request_body;
using test_support::request_line;
using test_support::respond;
using test_support::write_all;

// Runs `berth <args>` with `build` and the `builder` commands against
// `host`, `input` as stdin.
Outcome berth(const std::string& host, const std::vector<std::string>& args,
              const std::string& input = "") {
  CLI::App app("test", "berth");
  Context ctx;
  ctx.globals.host = host;
  configure_build(*app.add_subcommand("build", "Build an image from a Dockerfile"), ctx);
  add_builder_commands(app, ctx);
  return test_support::run_cli(app, args, input);
}

// A fresh directory, removed with the test; BERTH_CONFIG points into it so
// that no user's credentials are read.
class CliBuild : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "berth-build-test-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    ::setenv("BERTH_CONFIG", (dir_ / "config").c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("BERTH_CONFIG");
    fs::remove_all(dir_);
  }

  // Writes `content` to `relative` below the test directory (parents made).
  fs::path write(const std::string& relative, const std::string& content) {
    fs::path p = dir_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::string path(const std::string& relative) const { return (dir_ / relative).string(); }

  fs::path dir_;
};

// A daemon that answers POST /build with `stream` (JSON messages) and
// anything else with `other`.
FakeDaemon build_daemon(std::string stream, std::string other = "{}") {
  return FakeDaemon(
      [stream = std::move(stream), other = std::move(other)](int fd, const std::string& r) {
        if (request_line(r).starts_with("POST /v1.43/build?")) {
          write_all(
              fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n" +
                      stream);
        } else {
          respond(fd, 200, other);
        }
      });
}

const std::string kBuilt = R"({"stream":"Step 1/1 : FROM scratch\n"})"
                           "\r\n"
                           R"({"stream":" ---\u003e Running in 1234\n"})"
                           "\r\n"
                           R"({"aux":{"ID":"sha256:abc123"}})"
                           "\r\n"
                           R"({"stream":"Successfully built abc123\n"})"
                           "\r\n";

// The query of a request line, decoded, in order.
std::vector<std::pair<std::string, std::string>> query(const std::string& line) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string q = line.substr(line.find('?') + 1);
  std::istringstream in(q);
  std::string pair;
  while (std::getline(in, pair, '&')) {
    auto eq = pair.find('=');
    std::string name, value;
    Poco::URI::decode(pair.substr(0, eq), name);
    Poco::URI::decode(eq == std::string::npos ? "" : pair.substr(eq + 1), value);
    out.emplace_back(name, value);
  }
  return out;
}

std::string query_value(const std::string& line, const std::string& name) {
  for (const auto& [k, v] : query(line)) {
    if (k == name) return v;
  }
  return "<absent>";
}

std::string header(const std::string& request, const std::string& name) {
  auto at = request.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "<absent>";
  at += name.size() + 4;
  return request.substr(at, request.find("\r\n", at) - at);
}

struct TarEntry {
  std::string content;
  unsigned mode = 0;
  long uid = -1, gid = -1;
  std::string uname;
  bool dir = false;
};

// The entries of a tar (compressed or not), by name, in order of names.
std::map<std::string, TarEntry> untar(const std::string& data) {
  std::map<std::string, TarEntry> out;
  std::unique_ptr<struct archive, decltype(&archive_read_free)> a(archive_read_new(),
                                                                  &archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_all(a.get());
  EXPECT_EQ(archive_read_open_memory(a.get(), data.data(), data.size()), ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    TarEntry t;
    t.mode = archive_entry_perm(e);
    t.uid = static_cast<long>(archive_entry_uid(e));
    t.gid = static_cast<long>(archive_entry_gid(e));
    const char* uname = archive_entry_uname(e);
    t.uname = uname != nullptr ? uname : "";
    t.dir = archive_entry_filetype(e) == AE_IFDIR;
    char buf[4096];
    la_ssize_t n = 0;
    while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) {
      t.content.append(buf, static_cast<std::size_t>(n));
    }
    out[archive_entry_pathname(e)] = t;
  }
  return out;
}

// The names of a tar's entries in the order they were written.
std::vector<std::string> tar_names(const std::string& data) {
  std::vector<std::string> out;
  std::unique_ptr<struct archive, decltype(&archive_read_free)> a(archive_read_new(),
                                                                  &archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_all(a.get());
  EXPECT_EQ(archive_read_open_memory(a.get(), data.data(), data.size()), ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK)
    out.emplace_back(archive_entry_pathname(e));
  return out;
}

// A tar made here, for stdin contexts; gzip-compressed when `gzip`.
std::string make_tar(const std::map<std::string, std::string>& files, bool gzip = false) {
  std::vector<char> buf(1 << 20);
  std::size_t used = 0;
  std::unique_ptr<struct archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                                   &archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  if (gzip) archive_write_add_filter_gzip(a.get());
  archive_write_open_memory(a.get(), buf.data(), buf.size(), &used);
  for (const auto& [name, content] : files) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_write_header(a.get(), e);
    archive_write_data(a.get(), content.data(), content.size());
    archive_entry_free(e);
  }
  archive_write_close(a.get());
  return std::string(buf.data(), used);
}

std::string base64_decode(const std::string& text) {
  std::istringstream in(text);
  Poco::Base64Decoder decoder(in, Poco::BASE64_URL_ENCODING);
  std::ostringstream out;
  out << decoder.rdbuf();
  return out.str();
}

// "Sending build context to Docker daemon  2.048kB\r\r\n" for a context
// of `bytes`.
std::string sending_line(std::size_t bytes) {
  char size[32];
  std::snprintf(size, sizeof size, "%8s", human_size(static_cast<double>(bytes)).c_str());
  return std::string("Sending build context to Docker daemon ") + size + "\r\r\n";
}

// --- flags into the query --------------------------------------------------------

TEST_F(CliBuild, DefaultQueryAndHeaders) {
  write("ctx/Dockerfile", "FROM scratch\n");
  auto daemon = build_daemon(kBuilt);
  auto o = berth(daemon.host(), {"build", path("ctx")});
  ASSERT_EQ(o.error, "");
  auto request = daemon.last_request();
  EXPECT_EQ(
      request_line(request),
      "POST /v1.43/build?buildargs=%7B%7D&cachefrom=%5B%5D&dockerfile=Dockerfile&labels=%7B%7D"
      "&networkmode=default&rm=1&target=&version=1");
  EXPECT_EQ(header(request, "Content-Type"), "application/x-tar");
  EXPECT_EQ(header(request, "Content-Length"), std::to_string(request_body(request).size()));
  // No stored credentials: an empty map, as Docker sends it.
  EXPECT_EQ(header(request, "X-Registry-Config"), "e30=");
}

TEST_F(CliBuild, EveryFlagInTheQuery) {
  write("ctx/Dockerfile", "FROM scratch\n");
  ::setenv("BERTH_TEST_FROM_ENV", "from env", 1);
  ::unsetenv("BERTH_TEST_UNSET");
  auto daemon = build_daemon(kBuilt);
  auto o = berth(daemon.host(), {"builder",
                                 "build",
                                 "-t",
                                 "app:1",
                                 "--tag=reg:5000/team/x",
                                 "--build-arg",
                                 "A=1",
                                 "--build-arg",
                                 "BERTH_TEST_FROM_ENV",
                                 "--build-arg",
                                 "BERTH_TEST_UNSET",
                                 "--label",
                                 "b=2",
                                 "--label",
                                 "a",
                                 "--no-cache",
                                 "--pull",
                                 "--force-rm",
                                 "--rm=false",
                                 "--network",
                                 "host",
                                 "--target",
                                 "stage",
                                 "--platform",
                                 "Linux/AMD64",
                                 "--cache-from",
                                 "c1,c2",
                                 "--cache-from",
                                 "c3",
                                 "-q",
                                 path("ctx")});
  ::unsetenv("BERTH_TEST_FROM_ENV");
  ASSERT_EQ(o.error, "");
  using Q = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(
      query(request_line(daemon.last_request())),
      (Q{{"buildargs", R"({"A":"1","BERTH_TEST_FROM_ENV":"from env","BERTH_TEST_UNSET":null})"},
         {"cachefrom", R"(["c1","c2","c3"])"},
         {"dockerfile", "Dockerfile"},
         {"forcerm", "1"},
         {"labels", R"({"a":"","b":"2"})"},
         {"networkmode", "host"},
         {"nocache", "1"},
         {"platform", "linux/amd64"},
         {"pull", "1"},
         {"q", "1"},
         {"rm", "0"},
         {"t", "app:1"},
         {"t", "reg:5000/team/x"},
         {"target", "stage"},
         {"version", "1"}}));
}

TEST_F(CliBuild, BadFlagValuesAreUsageErrorsBeforeAnyRequest) {
  write("ctx/Dockerfile", "FROM scratch\n");
  auto daemon = build_daemon(kBuilt);
  auto o = berth(daemon.host(), {"build", "-t", "x@y", path("ctx")});
  EXPECT_EQ(o.code, 125);
  EXPECT_EQ(o.error,
            "berth: invalid argument \"x@y\" for \"-t, --tag\" flag: invalid reference format\n"
            "See 'berth build --help'.");
  o = berth(daemon.host(), {"builder", "build", "--build-arg", "=x", path("ctx")});
  EXPECT_EQ(o.code, 125);
  EXPECT_EQ(o.error,
            "berth: invalid argument \"=x\" for \"--build-arg\" flag: invalid environment "
            "variable: =x\nSee 'berth builder build --help'.");
  o = berth(daemon.host(), {"build", "--label", "=x", path("ctx")});
  EXPECT_EQ(o.code, 125);
  EXPECT_EQ(o.error,
            "berth: invalid argument \"=x\" for \"--label\" flag: invalid label '=x': empty name\n"
            "See 'berth build --help'.");
  EXPECT_TRUE(daemon.requests().empty());
}

TEST_F(CliBuild, StoredCredentialsGoAsRegistryConfig) {
  // "auth" is base64("user:pw").
  write("config/config.json",
        R"({"auths":{"reg.example:5000":{"auth":"dXNlcjpwdw=="},)"
        R"("https://index.docker.io/v1/":{"auth":"aHViOg==","identitytoken":"tok"}}})");
  write("ctx/Dockerfile", "FROM scratch\n");
  auto daemon = build_daemon(kBuilt);
  ASSERT_EQ(berth(daemon.host(), {"build", path("ctx")}).error, "");
  auto decoded = base64_decode(header(daemon.last_request(), "X-Registry-Config"));
  EXPECT_EQ(
      json::parse(decoded),
      json::parse(R"({"reg.example:5000":{"username":"user","password":"pw",)"
                  R"("serveraddress":"reg.example:5000"},)"
                  R"("https://index.docker.io/v1/":{"username":"hub",)"
                  R"("serveraddress":"https://index.docker.io/v1/","identitytoken":"tok"}})"));
}

// --- the context -----------------------------------------------------------------

TEST_F(CliBuild, DockerignoreAppliedButDockerfileAndItselfKept) {
  write("ctx/Dockerfile", "FROM scratch\nCOPY . /\n");
  write("ctx/.dockerignore",
        "# comment\n*.log\nbuild\n!build/keep.txt\nDockerfile\n.dockerignore\nsecret/\n");
  write("ctx/a.txt", "a");
  write("ctx/b.log", "b");
  write("ctx/build/x.o", "x");
  write("ctx/build/keep.txt", "keep");
  write("ctx/secret/key", "k");
  write("ctx/sub/c.txt", "c");
  // Patterns are anchored at the context root: *.log is not sub/d.log.
  write("ctx/sub/d.log", "d");
  auto daemon = build_daemon(kBuilt);
  ASSERT_EQ(berth(daemon.host(), {"build", path("ctx")}).error, "");
  auto body = request_body(daemon.last_request());
  // Lexical order, as Docker's walk; "build" itself is excluded, only the
  // exception below it goes.
  EXPECT_EQ(tar_names(body),
            (std::vector<std::string>{".dockerignore", "Dockerfile", "a.txt", "build/keep.txt",
                                      "sub/", "sub/c.txt", "sub/d.log"}));
  auto entries = untar(body);
  EXPECT_EQ(entries["Dockerfile"].content, "FROM scratch\nCOPY . /\n");
  EXPECT_EQ(entries["build/keep.txt"].content, "keep");
  EXPECT_TRUE(entries["sub/"].dir);
  // Owned by root, without names, as Docker's ChownOpts 0:0.
  for (const auto& [name, e] : entries) {
    EXPECT_EQ(e.uid, 0) << name;
    EXPECT_EQ(e.gid, 0) << name;
    EXPECT_EQ(e.uname, "") << name;
  }
  EXPECT_EQ(query_value(request_line(daemon.last_request()), "dockerfile"), "Dockerfile");
}

TEST_F(CliBuild, WithoutDockerignoreEverythingGoes) {
  write("ctx/Dockerfile", "FROM scratch\n");
  write("ctx/dir/f", "f");
  auto daemon = build_daemon(kBuilt);
  ASSERT_EQ(berth(daemon.host(), {"build", path("ctx")}).error, "");
  EXPECT_EQ(tar_names(request_body(daemon.last_request())),
            (std::vector<std::string>{"Dockerfile", "dir/", "dir/f"}));
}

TEST_F(CliBuild, DockerfileInsideTheContextByRelativePath) {
  write("ctx/sub/Dockerfile.dev", "FROM scratch\n");
  write("ctx/.dockerignore", "sub\n");
  auto daemon = build_daemon(kBuilt);
  ASSERT_EQ(
      berth(daemon.host(), {"build", "-f", path("ctx/sub/Dockerfile.dev"), path("ctx")}).error, "");
  auto request = daemon.last_request();
  EXPECT_EQ(query_value(request_line(request), "dockerfile"), "sub/Dockerfile.dev");
  // Excluded by "sub", kept as the Dockerfile.
  EXPECT_EQ(tar_names(request_body(request)),
            (std::vector<std::string>{".dockerignore", "sub/Dockerfile.dev"}));
}

TEST_F(CliBuild, LowerCaseDockerfileWhenOnlyThatExists) {
  write("ctx/dockerfile", "FROM scratch\n");
  auto daemon = build_daemon(kBuilt);
  ASSERT_EQ(berth(daemon.host(), {"build", path("ctx")}).error, "");
  EXPECT_EQ(query_value(request_line(daemon.last_request()), "dockerfile"), "dockerfile");
}

TEST_F(CliBuild, DockerfileOutsideTheContextGoesUnderARandomName) {
  write("ctx/a.txt", "a");
  write("other/Dockerfile.out", "FROM scratch\nCOPY a.txt /\n");
  auto daemon = build_daemon(kBuilt);
  ASSERT_EQ(berth(daemon.host(), {"build", "-f", path("other/Dockerfile.out"), path("ctx")}).error,
            "");
  auto request = daemon.last_request();
  std::string name = query_value(request_line(request), "dockerfile");
  EXPECT_TRUE(std::regex_match(name, std::regex(R"(\.dockerfile\.[0-9a-f]{20})"))) << name;
  auto entries = untar(request_body(request));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[name].content, "FROM scratch\nCOPY a.txt /\n");
  EXPECT_EQ(entries[name].mode, 0600u);
  // A .dockerignore is made that keeps the random name out of COPY.
  EXPECT_EQ(entries[".dockerignore"].content, ".dockerignore\n" + name + "\n");
  EXPECT_EQ(entries["a.txt"].content, "a");
}

TEST_F(CliBuild, RandomNameIsAddedToAnExistingDockerignore) {
  write("ctx/a.txt", "a");
  write("ctx/.dockerignore", "*.tmp");
  write("ctx/x.tmp", "x");
  auto daemon = build_daemon(kBuilt);
  ASSERT_EQ(berth(daemon.host(), {"build", "-f", "-", path("ctx")}, "FROM scratch\n").error, "");
  auto request = daemon.last_request();
  std::string name = query_value(request_line(request), "dockerfile");
  EXPECT_TRUE(std::regex_match(name, std::regex(R"(\.dockerfile\.[0-9a-f]{20})"))) << name;
  auto entries = untar(request_body(request));
  EXPECT_EQ(entries[".dockerignore"].content, "*.tmp\n" + name + "\n");
  EXPECT_EQ(entries[name].content, "FROM scratch\n");
  EXPECT_EQ(entries.count("x.tmp"), 0u);
  EXPECT_EQ(entries.count("a.txt"), 1u);
}

TEST_F(CliBuild, TarOnStdinGoesAsItIs) {
  auto daemon = build_daemon(kBuilt);
  for (bool gzip : {false, true}) {
    std::string tar = make_tar({{"Dockerfile", "FROM scratch\n"}, {"f", "x"}}, gzip);
    ASSERT_EQ(berth(daemon.host(), {"build", "-"}, tar).error, "");
    auto request = daemon.last_request();
    EXPECT_EQ(request_body(request), tar);
    // Without -f the daemon takes its default.
    EXPECT_EQ(query_value(request_line(request), "dockerfile"), "");
  }
  std::string tar = make_tar({{"df/Custom", "FROM scratch\n"}});
  ASSERT_EQ(berth(daemon.host(), {"build", "-f", "df/Custom", "-"}, tar).error, "");
  EXPECT_EQ(query_value(request_line(daemon.last_request()), "dockerfile"), "df/Custom");
}

TEST_F(CliBuild, DockerfileOnStdinBecomesTheContext) {
  auto daemon = build_daemon(kBuilt);
  ASSERT_EQ(berth(daemon.host(), {"build", "-"}, "FROM scratch\nLABEL a=b\n").error, "");
  auto request = daemon.last_request();
  EXPECT_EQ(query_value(request_line(request), "dockerfile"), "Dockerfile");
  auto entries = untar(request_body(request));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries["Dockerfile"].content, "FROM scratch\nLABEL a=b\n");
}

TEST_F(CliBuild, CompressGzipsTheContext) {
  write("ctx/Dockerfile", "FROM scratch\n");
  auto daemon = build_daemon(kBuilt);
  ASSERT_EQ(berth(daemon.host(), {"build", "--compress", path("ctx")}).error, "");
  auto body = request_body(daemon.last_request());
  ASSERT_GT(body.size(), 2u);
  EXPECT_EQ(body.substr(0, 2), "\x1f\x8b");
  EXPECT_EQ(tar_names(body), (std::vector<std::string>{"Dockerfile"}));
}

TEST_F(CliBuild, ContextErrorsAsDockers) {
  write("ctx/a.txt", "a");
  write("file", "x");
  auto daemon = build_daemon(kBuilt);
  auto o = berth(daemon.host(), {"build", path("ctx")});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.error,
            "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat " +
                path("ctx/Dockerfile") + ": no such file or directory");
  o = berth(daemon.host(), {"build", path("nothing")});
  EXPECT_EQ(o.error, "unable to prepare context: path \"" + path("nothing") + "\" not found");
  o = berth(daemon.host(), {"build", path("file")});
  EXPECT_EQ(o.error, "unable to prepare context: context must be a directory: " + path("file"));
  o = berth(daemon.host(), {"build", "https://example.com/context.tar.gz"});
  EXPECT_EQ(o.error, "unable to prepare context: remote URL contexts are not supported");
  o = berth(daemon.host(), {"build", "git@github.com:docker/cli.git"});
  EXPECT_EQ(o.error, "unable to prepare context: git repository contexts are not supported");
  o = berth(daemon.host(), {"build", "-f", "-", "-"}, "FROM scratch\n");
  EXPECT_EQ(o.error, "invalid argument: can't use stdin for both build context and dockerfile");
  o = berth(daemon.host(), {"build", "-f", "Dockerfile", "-"}, "FROM scratch\n");
  EXPECT_EQ(o.error,
            "unable to prepare context: ambiguous Dockerfile source: both stdin and flag "
            "correspond to Dockerfiles");
  o = berth(daemon.host(), {"build", "-f", path("missing/Dockerfile"), path("ctx")});
  EXPECT_EQ(o.error,
            "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat " +
                path("missing") + ": no such file or directory");
  EXPECT_TRUE(daemon.requests().empty());
}

// --- the daemon's stream -----------------------------------------------------------

TEST_F(CliBuild, StreamPrintedAfterTheContextSize) {
  write("ctx/Dockerfile", "FROM scratch\n");
  auto daemon = build_daemon(kBuilt);
  auto o = berth(daemon.host(), {"build", path("ctx")});
  ASSERT_EQ(o.error, "");
  EXPECT_EQ(o.out,
            sending_line(request_body(daemon.last_request()).size()) +
                "Step 1/1 : FROM scratch\n ---> Running in 1234\nSuccessfully built abc123\n");
  EXPECT_EQ(o.err, "");
}

TEST_F(CliBuild, StreamErrorFailsWithItsCode) {
  write("ctx/Dockerfile", "FROM scratch\nRUN false\n");
  auto daemon = build_daemon(
      R"({"stream":"Step 1/2 : FROM scratch\n"})"
      R"({"errorDetail":{"message":"pull access denied"},"error":"pull access denied"})"
      R"({"stream":"never shown\n"})");
  auto o = berth(daemon.host(), {"build", path("ctx")});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.error, "pull access denied");
  EXPECT_EQ(o.out,
            sending_line(request_body(daemon.last_request()).size()) + "Step 1/2 : FROM scratch\n");
  // A failed RUN's exit code is the CLI's, as with Docker.
  auto failed_run = build_daemon(
      R"({"errorDetail":{"code":3,"message":"The command '/bin/sh -c exit 3' returned a non-zero code: 3"},)"
      R"("error":"The command '/bin/sh -c exit 3' returned a non-zero code: 3"})");
  o = berth(failed_run.host(), {"build", path("ctx")});
  EXPECT_EQ(o.code, 3);
  EXPECT_EQ(o.error, "The command '/bin/sh -c exit 3' returned a non-zero code: 3");
}

TEST_F(CliBuild, DaemonRefusalIsAnErrorResponse) {
  write("ctx/Dockerfile", "FROM scratch\n");
  FakeDaemon daemon([](int fd, const std::string&) {
    respond(fd, 400, R"({"message":"dockerfile parse error on line 1: unknown instruction: FRM"})");
  });
  auto o = berth(daemon.host(), {"build", path("ctx")});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(
      o.error,
      "Error response from daemon: dockerfile parse error on line 1: unknown instruction: FRM");
}

TEST_F(CliBuild, QuietPrintsOnlyTheImageId) {
  write("ctx/Dockerfile", "FROM scratch\n");
  auto daemon = build_daemon(R"({"stream":"sha256:abc123\n"})"
                             R"({"aux":{"ID":"sha256:abc123"}})");
  auto o = berth(daemon.host(), {"build", "-q", path("ctx")});
  ASSERT_EQ(o.error, "");
  EXPECT_EQ(o.out, "sha256:abc123\n");
  EXPECT_EQ(o.err, "");
  // A daemon that says more than the ID: the aux ID alone still.
  auto chatty = build_daemon(kBuilt);
  o = berth(chatty.host(), {"build", "--quiet", path("ctx")});
  EXPECT_EQ(o.out, "sha256:abc123\n");
}

TEST_F(CliBuild, QuietFailureShowsWhatWasHeldBack) {
  write("ctx/Dockerfile", "FROM scratch\n");
  auto daemon = build_daemon(R"({"stream":"Step 1/1 : FROM scratch\n"})"
                             R"({"errorDetail":{"message":"boom"},"error":"boom"})");
  auto o = berth(daemon.host(), {"build", "-q", path("ctx")});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.error, "boom");
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err,
            sending_line(request_body(daemon.last_request()).size()) + "Step 1/1 : FROM scratch\n");
}

TEST_F(CliBuild, IidfileGetsTheIdWithoutNewline) {
  write("ctx/Dockerfile", "FROM scratch\n");
  auto daemon = build_daemon(kBuilt);
  std::string iid = path("iid");
  ASSERT_EQ(berth(daemon.host(), {"build", "--iidfile", iid, path("ctx")}).error, "");
  std::ifstream in(iid);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "sha256:abc123");
  // A failed build leaves no stale file behind.
  auto failing = build_daemon(R"({"errorDetail":{"message":"boom"},"error":"boom"})");
  EXPECT_EQ(berth(failing.host(), {"build", "--iidfile", iid, path("ctx")}).error, "boom");
  EXPECT_FALSE(fs::exists(iid));
  // No aux message: nothing to write.
  auto no_id = build_daemon(R"({"stream":"done\n"})");
  auto o = berth(no_id.host(), {"build", "--iidfile", iid, path("ctx")});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.error, "Server did not provide an image ID. Cannot write " + iid);
}

// --- the tar writer cp shares --------------------------------------------------------

// Spools what `write` puts in a TarWriter and returns the archive.
std::string spooled_tar(const std::function<void(TarWriter&)>& write) {
  Spool spool("test");
  TarWriter tar(spool.fd());
  write(tar);
  tar.finish();
  std::uint64_t size = spool.rewind();
  std::uint64_t seen = 0;
  bool done = false;
  std::string data = [&] {
    std::ostringstream s;
    s << spool
             .body([&](std::uint64_t read, bool end) {
               seen = read;
               done = done || end;
             })
             .rdbuf();
    return s.str();
  }();
  EXPECT_EQ(data.size(), size);
  EXPECT_EQ(seen, size);
  EXPECT_TRUE(done);
  return data;
}

TEST_F(CliBuild, TarWriterNamesEntriesUnderTheTopName) {
  write("src/a", "a");
  write("src/d/b", "b");
  fs::create_symlink("a", dir_ / "src" / "link");
  // cp's form: the root's entry under its new name, the rest below it.
  std::string tar = spooled_tar([&](TarWriter& t) { t.add_tree(path("src"), {.top = "dest"}); });
  EXPECT_EQ(tar_names(tar),
            (std::vector<std::string>{"dest/", "dest/a", "dest/d/", "dest/d/b", "dest/link"}));
  // Not root-owned: the files' own owner.
  EXPECT_EQ(untar(tar)["dest/a"].uid, static_cast<long>(::getuid()));
  // "dir/." copies a directory's contents.
  tar = spooled_tar([&](TarWriter& t) { t.add_tree(path("src/d/."), {.top = "."}); });
  EXPECT_EQ(tar_names(tar), (std::vector<std::string>{"./", "./b"}));
  // A single file.
  tar = spooled_tar([&](TarWriter& t) { t.add_tree(path("src/a"), {.top = "renamed"}); });
  auto entries = untar(tar);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries["renamed"].content, "a");
}

// --- builder prune -----------------------------------------------------------------

TEST_F(CliBuild, BuilderPruneQueryAndOutput) {
  auto daemon =
      build_daemon("", R"({"CachesDeleted":["sha256:aaa","sha256:bbb"],"SpaceReclaimed":2048})");
  auto o = berth(daemon.host(), {"builder", "prune", "-f"});
  ASSERT_EQ(o.error, "");
  EXPECT_EQ(request_line(daemon.last_request()), "POST /v1.43/build/prune?filters=");
  EXPECT_EQ(o.out,
            "Deleted build cache objects:\nsha256:aaa\nsha256:bbb\n\nTotal reclaimed space: "
            "2.048kB\n");
  o = berth(daemon.host(), {"builder", "prune", "-a", "--force", "--filter", "until=24h",
                            "--keep-storage", "1MB"});
  ASSERT_EQ(o.error, "");
  EXPECT_EQ(request_line(daemon.last_request()),
            "POST /v1.43/build/prune?all=1&filters=%7B%22until%22%3A%7B%2224h%22%3Atrue%7D%7D"
            "&keep-storage=1048576");
}

TEST_F(CliBuild, BuilderPruneAsksFirst) {
  auto daemon = build_daemon("", R"({"CachesDeleted":[],"SpaceReclaimed":0})");
  auto o = berth(daemon.host(), {"builder", "prune"}, "n\n");
  EXPECT_EQ(o.out,
            "WARNING! This will remove all dangling build cache. Are you sure you want to "
            "continue? [y/N] Total reclaimed space: 0B\n");
  EXPECT_TRUE(daemon.requests().empty());
  o = berth(daemon.host(), {"builder", "prune", "-a"}, "y\n");
  EXPECT_EQ(o.out,
            "WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] "
            "Total reclaimed space: 0B\n");
  EXPECT_EQ(request_line(daemon.last_request()), "POST /v1.43/build/prune?all=1&filters=");
}

TEST(CliBuilderPrune, OutputWithoutDeletions) {
  EXPECT_EQ(builder_prune_output(json::object{{"CachesDeleted", nullptr}, {"SpaceReclaimed", 0}}),
            "Total reclaimed space: 0B\n");
  EXPECT_EQ(builder_prune_output(json::object{}), "Total reclaimed space: 0B\n");
}

}  // namespace
}  // namespace berth::cli
