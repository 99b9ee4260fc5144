// TCP listeners: refused without TLS unless explicitly allowed; with
// --tlsverify only clients with a certificate signed by the CA get in.
#include "harness.hpp"
#include "../support/image_builder.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace berth::testing {
namespace {

// A throwaway CA with a server and two client certificates, made with the
// openssl CLI (EC keys: fast to generate).
class Pki {
 public:
  Pki() {
    ca_ = make_ca("ca");
    other_ca_ = make_ca("other-ca");
    issue("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n", "ca");
    issue("client", "berth-test-client", "extendedKeyUsage=clientAuth\n", "ca");
    issue("rogue", "berth-test-rogue", "extendedKeyUsage=clientAuth\n", "other-ca");
  }
  std::string operator/(const std::string& f) const { return dir_ / f; }
  bool ok() const { return ok_; }

 private:
  bool ca_ = false, other_ca_ = false;
  bool make_ca(const std::string& name) {
    auto r = run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir_ / (name + "-key.pem"),
                  "-out", dir_ / (name + ".pem"), "-days", "2", "-subj", "/CN=berth-test-" + name});
    ok_ = ok_ && r.exit_code == 0;
    return r.exit_code == 0;
  }
  void issue(const std::string& name, const std::string& cn, const std::string& ext,
             const std::string& ca) {
    write_file(dir_ / (name + ".ext"), ext);
    auto req = run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", dir_ / (name + "-key.pem"), "-out", dir_ / (name + ".csr"),
                    "-subj", "/CN=" + cn});
    auto sign = run({"openssl", "x509", "-req", "-in", dir_ / (name + ".csr"), "-CA",
                     dir_ / (ca + ".pem"), "-CAkey", dir_ / (ca + "-key.pem"), "-CAcreateserial",
                     "-out", dir_ / (name + "-cert.pem"), "-days", "2", "-extfile",
                     dir_ / (name + ".ext")});
    ok_ = ok_ && req.exit_code == 0 && sign.exit_code == 0;
  }
  TempDir dir_{"pki"};
  bool ok_ = true;
};

class Tls : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(pki_.ok()) << "could not make test certificates"; }

  std::vector<std::string> server_flags() const {
    return {"-H", "tcp://127.0.0.1:0", "--tlsverify", "--tlscacert", pki_ / "ca.pem",
            "--tlscert", pki_ / "server-cert.pem", "--tlskey", pki_ / "server-key.pem"};
  }
  CommandResult berth_tcp(const std::string& endpoint, const std::string& client) {
    std::vector<std::string> argv{berth_path(), "-H", endpoint, "--tlsverify", "--tlscacert",
                                  pki_ / "ca.pem"};
    if (!client.empty()) {
      argv.insert(argv.end(), {"--tlscert", pki_ / (client + "-cert.pem"), "--tlskey",
                               pki_ / (client + "-key.pem")});
    } else {
      argv.insert(argv.end(), {"--tlscert", pki_ / "nonexistent.pem", "--tlskey",
                               pki_ / "nonexistent.pem"});
    }
    argv.insert(argv.end(), {"version", "--format", "{{.Server.Version}}"});
    return run(argv, {{"BERTH_HOST", ""}, {"DOCKER_HOST", ""}});
  }

  Pki pki_;
};

TEST_F(Tls, ClientCertificateSignedByTheCaIsRequired) {
  Daemon d({.args = server_flags()});
  ASSERT_TRUE(d.started()) << d.log();
  auto endpoints = d.tcp_endpoints();
  ASSERT_EQ(endpoints.size(), 1u) << d.log();
  std::string endpoint = endpoints[0];

  auto good = berth_tcp(endpoint, "client");
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(good.out, "0.1.0\n");

  auto none = berth_tcp(endpoint, "");
  EXPECT_NE(none.exit_code, 0);
  EXPECT_EQ(none.out.find("0.1.0"), std::string::npos);

  auto rogue = berth_tcp(endpoint, "rogue");
  EXPECT_NE(rogue.exit_code, 0);

  // curl as an independent client: no certificate, no answer.
  std::string url = "https://localhost:" + endpoint.substr(endpoint.rfind(':') + 1) + "/_ping";
  auto curl_none = run({"curl", "-sS", "--max-time", "10", "--cacert", pki_ / "ca.pem",
                        "--resolve", "localhost:" + endpoint.substr(endpoint.rfind(':') + 1) + ":127.0.0.1",
                        url});
  EXPECT_NE(curl_none.exit_code, 0);
  EXPECT_NE(curl_none.out, "OK");
  auto curl_good = run({"curl", "-sS", "--max-time", "10", "--cacert", pki_ / "ca.pem", "--cert",
                        pki_ / "client-cert.pem", "--key", pki_ / "client-key.pem", "--resolve",
                        "localhost:" + endpoint.substr(endpoint.rfind(':') + 1) + ":127.0.0.1",
                        url});
  EXPECT_EQ(curl_good.exit_code, 0) << curl_good.err;
  EXPECT_EQ(curl_good.out, "OK");

  // The daemon keeps serving after refused handshakes.
  EXPECT_EQ(d.berth({"version"}).exit_code, 0);
}

TEST_F(Tls, DockerCliWithCertificatesWorks) {
  if (!std::filesystem::exists("/usr/bin/docker")) GTEST_SKIP() << "docker.io not installed";
  Daemon d({.args = server_flags()});
  ASSERT_TRUE(d.started()) << d.log();
  std::string endpoint = d.tcp_endpoints().at(0);
  TempDir config("docker-config");
  auto r = run({"/usr/bin/docker", "-H", endpoint, "--tlsverify", "--tlscacert", pki_ / "ca.pem",
                "--tlscert", pki_ / "client-cert.pem", "--tlskey", pki_ / "client-key.pem",
                "version", "--format", "{{.Server.Version}}"},
               {{"DOCKER_CONFIG", config.path()}, {"DOCKER_HOST", ""}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0.1.0\n");
}

// Attach streams over TLS: stdin ends with a close_notify (TLS has no
// half-close) while the container's output keeps coming.
TEST_F(Tls, AttachedStreamsCrossTls) {
  std::vector<std::string> flags = server_flags();
  flags.insert(flags.end(), {"--storage-driver", "overlay"});
  Daemon d({.args = flags});
  ASSERT_TRUE(d.started()) << d.log();
  std::string endpoint = d.tcp_endpoints().at(0);
  TempDir work("tls-attach");
  write_file(work / "busybox.tar", docker_archive({busybox_image("berth-test/busybox:latest")}));
  ASSERT_EQ(d.berth({"load", "-i", work / "busybox.tar"}).exit_code, 0);
  auto berth = [&](std::vector<std::string> args, const std::string& input) {
    std::vector<std::string> argv{berth_path(), "-H", endpoint, "--tlsverify", "--tlscacert", pki_ / "ca.pem",
                                  "--tlscert", pki_ / "client-cert.pem", "--tlskey", pki_ / "client-key.pem"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {{"BERTH_HOST", ""}, {"DOCKER_HOST", ""}}, input);
  };
  auto piped = berth({"run", "-i", "--rm", "berth-test/busybox", "sh", "-c", "sleep 0.3; cat; echo end >&2; exit 4"},
                     "a\nb\n");
  EXPECT_EQ(piped.exit_code, 4) << piped.err << d.log();
  EXPECT_EQ(piped.out, "a\nb\n");
  EXPECT_EQ(piped.err, "end\n");
}

TEST_F(Tls, PlainTcpIsRefusedUnlessExplicitlyInsecure) {
  Daemon refused({.args = {"-H", "tcp://127.0.0.1:0"}});
  EXPECT_FALSE(refused.started());
  EXPECT_NE(refused.log().find("refusing to serve tcp://127.0.0.1:0 without TLS"),
            std::string::npos)
      << refused.log();

  Daemon insecure({.args = {"-H", "tcp://127.0.0.1:0", "--insecure-tcp"}});
  ASSERT_TRUE(insecure.started()) << insecure.log();
  EXPECT_NE(insecure.log().find("WITHOUT TLS"), std::string::npos);
  std::string endpoint = insecure.tcp_endpoints().at(0);
  auto r = run({berth_path(), "-H", endpoint, "info"}, {{"BERTH_HOST", ""}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("without encryption"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::testing
