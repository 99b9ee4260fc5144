// Container networking against a real berthd: the default bridge with NAT
// to an "internet" namespace, user networks with names, isolation,
// connect/disconnect, published ports (TCP, UDP, conflicts), host / none /
// container modes, and cleanup after rm, shutdown and kill -9. Driven with
// the docker 28 CLI (and berth's own where it says so).
#include "network_fixture.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <chrono>
#include <thread>

namespace berth::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

class NetworkTest : public NetworkFixture {
 protected:
  void TearDown() override {
    NetworkFixture::TearDown();
    if (daemon_ && daemon_->started()) {
      // User networks the test made.
      std::istringstream ids(docker({"network", "ls", "-q", "--filter", "type=custom"}).out);
      for (std::string id; std::getline(ids, id);) {
        if (!id.empty()) docker({"network", "rm", id});
      }
      daemon_->stop(SIGTERM);
    }
    EXPECT_EQ(leftovers(), "") << (daemon_ ? daemon_->log() : "");
  }

  std::string inspect(const std::string& container, const std::string& format) {
    return trim(docker({"inspect", "-f", format, container}).out);
  }

  // Waits until `container`'s httpd answers from inside another container.
  CommandResult wget_from(const std::string& from, const std::string& url) {
    // (busybox 1.35's wget -T crashes: timeout does it instead)
    return docker({"exec", from, "timeout", "5", "wget", "-qO-", url});
  }
};

TEST_F(NetworkTest, DefaultBridgeGivesAnAddressTheGatewayAndTheInternet) {
  Internet inet(octet_);
  ASSERT_TRUE(inet.ok()) << inet.error();
  auto started = docker({"run", "-d", "--name", "c1", kImage, "sleep", "300"});
  ASSERT_EQ(started.exit_code, 0) << started.err << daemon_->log();
  const std::string ip = inspect("c1", "{{.NetworkSettings.IPAddress}}");
  const std::string gw = inspect("c1", "{{.NetworkSettings.Gateway}}");
  EXPECT_TRUE(ip.starts_with("10." + std::to_string(octet_) + ".0.")) << ip;
  EXPECT_EQ(gw, "10." + std::to_string(octet_) + ".0.1");
  EXPECT_EQ(inspect("c1", "{{.NetworkSettings.Networks.bridge.IPAddress}}"), ip);
  EXPECT_EQ(inspect("c1", "{{.NetworkSettings.MacAddress}}").substr(0, 6), "02:42:");
  // Inside: eth0 with that address and a default route.
  auto addr = docker({"exec", "c1", "ip", "-4", "addr", "show", "eth0"});
  EXPECT_NE(addr.out.find(ip + "/24"), std::string::npos) << addr.out << addr.err;
  auto ping = docker({"exec", "c1", "ping", "-c", "1", "-W", "2", gw});
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err;
  // Through NAT to a server in another namespace.
  auto page = wget_from("c1", "http://" + inet.server_ip() + ":8080/index.html");
  EXPECT_EQ(page.exit_code, 0) << page.err << daemon_->log();
  EXPECT_EQ(page.out, "hello from the internet\n");
  // The host sees the bridge with the gateway address.
  auto link = run({"ip", "-4", "addr", "show", bridge_});
  EXPECT_NE(link.out.find(gw + "/24"), std::string::npos) << link.out;
  // A second container gets another address; /etc/hosts names the container.
  ASSERT_EQ(docker({"run", "-d", "--name", "c2", kImage, "sleep", "300"}).exit_code, 0);
  const std::string ip2 = inspect("c2", "{{.NetworkSettings.IPAddress}}");
  EXPECT_NE(ip2, ip);
  EXPECT_EQ(docker({"exec", "c1", "ping", "-c", "1", "-W", "2", ip2}).exit_code, 0);
  auto hosts = docker({"exec", "c2", "cat", "/etc/hosts"});
  EXPECT_NE(hosts.out.find(ip2 + "\t"), std::string::npos) << hosts.out;
}

TEST_F(NetworkTest, UserNetworkResolvesNamesAndAliasesAndIsolatesOtherNetworks) {
  ASSERT_EQ(docker({"network", "create", "berth-test-front"}).exit_code, 0) << daemon_->log();
  ASSERT_EQ(docker({"network", "create", "berth-test-back"}).exit_code, 0);
  auto web = docker({"run", "-d", "--name", "web", "--network", "berth-test-front", "--network-alias", "www", kImage,
                     "sh", "-c", "echo served-by-web > /tmp/index.html && httpd -f -p 8080 -h /tmp"});
  ASSERT_EQ(web.exit_code, 0) << web.err << daemon_->log();
  ASSERT_EQ(docker({"run", "-d", "--name", "client", "--network", "berth-test-front", kImage, "sleep", "300"}).exit_code, 0);
  ASSERT_EQ(docker({"run", "-d", "--name", "outsider", "--network", "berth-test-back", kImage, "sleep", "300"}).exit_code, 0);
  auto resolv = docker({"exec", "client", "cat", "/etc/resolv.conf"});
  EXPECT_NE(resolv.out.find("nameserver 127.0.0.11"), std::string::npos) << resolv.out;
  CommandResult page;
  for (int i = 0; i < 30; ++i) {  // httpd may take a moment to listen
    page = wget_from("client", "http://web:8080/index.html");
    if (page.exit_code == 0) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(page.out, "served-by-web\n") << page.err << daemon_->log();
  EXPECT_EQ(wget_from("client", "http://www:8080/index.html").out, "served-by-web\n");
  auto lookup = docker({"exec", "client", "nslookup", "web", "127.0.0.11"});
  const std::string web_ip = inspect("web", "{{(index .NetworkSettings.Networks \"berth-test-front\").IPAddress}}");
  EXPECT_NE(lookup.out.find(web_ip), std::string::npos) << lookup.out << lookup.err;
  // Another network: neither the name nor the address.
  EXPECT_NE(wget_from("outsider", "http://web:8080/index.html").exit_code, 0);
  EXPECT_NE(wget_from("outsider", "http://" + web_ip + ":8080/index.html").exit_code, 0);
  // Connected, the outsider reaches web by name; disconnected, not any more.
  auto con = docker({"network", "connect", "berth-test-front", "outsider"});
  ASSERT_EQ(con.exit_code, 0) << con.err << daemon_->log();
  EXPECT_EQ(wget_from("outsider", "http://web:8080/index.html").out, "served-by-web\n");
  auto nets = inspect("outsider", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}");
  EXPECT_EQ(nets, "berth-test-back berth-test-front");
  ASSERT_EQ(docker({"network", "disconnect", "berth-test-front", "outsider"}).exit_code, 0);
  EXPECT_NE(wget_from("outsider", "http://" + web_ip + ":8080/index.html").exit_code, 0);
  // --link: the alias resolves to the linked container on the shared network.
  ASSERT_EQ(docker({"run", "-d", "--name", "linker", "--network", "berth-test-front", "--link", "web:backend", kImage,
                    "sleep", "300"})
                .exit_code,
            0);
  EXPECT_EQ(wget_from("linker", "http://backend:8080/index.html").out, "served-by-web\n");
  // A network in use cannot go; once its containers are gone it can.
  auto busy = docker({"network", "rm", "berth-test-front"});
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_NE(busy.err.find("has active endpoints"), std::string::npos) << busy.err;
  ASSERT_EQ(docker({"rm", "-f", "web", "client", "linker"}).exit_code, 0);
  EXPECT_EQ(docker({"network", "rm", "berth-test-front"}).exit_code, 0);
}

TEST_F(NetworkTest, PublishedPortsAnswerFromLoopbackAndOtherNamespacesAndConflictsAreRefused) {
  Internet inet(octet_);
  ASSERT_TRUE(inet.ok()) << inet.error();
  const int port = free_port();
  auto run_web = docker({"run", "-d", "--name", "web", "-p", std::to_string(port) + ":80", kImage, "sh", "-c",
                         "echo published > /tmp/index.html && httpd -f -p 80 -h /tmp"});
  ASSERT_EQ(run_web.exit_code, 0) << run_web.err << daemon_->log();
  EXPECT_EQ(trim(docker({"port", "web", "80"}).out), "0.0.0.0:" + std::to_string(port));
  const std::string url = "127.0.0.1:" + std::to_string(port) + "/index.html";
  CommandResult page;
  for (int i = 0; i < 30; ++i) {
    page = run({"curl", "-sS", "--max-time", "3", "http://" + url});
    if (page.exit_code == 0) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(page.out, "published\n") << page.err << daemon_->log();
  // From another namespace, to the host's address on its side.
  auto remote = inet.exec({"busybox", "timeout", "5", "busybox", "wget", "-qO-",
                           "http://" + inet.host_ip() + ":" + std::to_string(port) + "/index.html"});
  EXPECT_EQ(remote.out, "published\n") << remote.err;
  // The port is taken: another container, and a host process, are refused.
  auto again = docker({"run", "-d", "--name", "web2", "-p", std::to_string(port) + ":80", kImage, "sleep", "300"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("port is already allocated"), std::string::npos) << again.err;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::listen(fd, 1);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  const int taken = ntohs(sa.sin_port);
  auto host_taken = docker({"run", "-d", "--name", "web3", "-p", std::to_string(taken) + ":80", kImage, "sleep", "300"});
  ::close(fd);
  EXPECT_NE(host_taken.exit_code, 0);
  EXPECT_NE(host_taken.err.find("port is already allocated"), std::string::npos) << host_taken.err;
  // A random host port, and UDP.
  // busybox has no UDP server: a small static one goes into the container.
  write_file(work_ / "udp-recv.c", R"(#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(9999);
  if (bind(fd, (struct sockaddr*)&sa, sizeof sa) != 0) return 1;
  char buf[512];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) { fwrite(buf, 1, (size_t)n, stdout); fflush(stdout); }
  }
})");
  auto cc = run({"cc", "-static", "-O2", "-o", work_ / "udp-recv", work_ / "udp-recv.c"});
  ASSERT_EQ(cc.exit_code, 0) << cc.err;
  ASSERT_EQ(docker({"create", "--name", "udp", "-p", "9999/udp", kImage, "/udp-recv"}).exit_code, 0);
  ASSERT_EQ(docker({"cp", work_ / "udp-recv", "udp:/udp-recv"}).exit_code, 0);
  auto udp = docker({"start", "udp"});
  ASSERT_EQ(udp.exit_code, 0) << udp.err << daemon_->log();
  const std::string mapped = trim(docker({"port", "udp", "9999/udp"}).out);
  ASSERT_TRUE(mapped.starts_with("0.0.0.0:")) << mapped;
  const std::string udp_port = mapped.substr(8);
  EXPECT_NE(udp_port, "0");
  std::string got;
  for (int i = 0; i < 30 && got.find("hello-udp") == std::string::npos; ++i) {
    run({"bash", "-c", "printf 'hello-udp\\n' > /dev/udp/127.0.0.1/" + udp_port});
    std::this_thread::sleep_for(100ms);
    got = docker({"logs", "udp"}).out;
  }
  EXPECT_NE(got.find("hello-udp"), std::string::npos) << got;
  // ps shows the mapping.
  auto ps = docker({"ps", "--format", "{{.Names}} {{.Ports}}"});
  EXPECT_NE(ps.out.find("web 0.0.0.0:" + std::to_string(port) + "->80/tcp"), std::string::npos) << ps.out;
}

TEST_F(NetworkTest, HostNoneAndContainerModesBehaveAsDocker) {
  auto none = docker({"run", "--rm", "--network", "none", kImage, "ls", "/sys/class/net"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(trim(none.out), "lo");
  auto host = docker({"run", "--rm", "--network", "host", kImage, "ls", "/sys/class/net"});
  EXPECT_EQ(host.exit_code, 0) << host.err;
  EXPECT_NE(host.out.find(bridge_), std::string::npos) << host.out;
  ASSERT_EQ(docker({"run", "-d", "--name", "base", kImage, "sleep", "300"}).exit_code, 0);
  const std::string mac = trim(docker({"exec", "base", "cat", "/sys/class/net/eth0/address"}).out);
  auto joined = docker({"run", "--rm", "--network", "container:base", kImage, "cat", "/sys/class/net/eth0/address"});
  EXPECT_EQ(joined.exit_code, 0) << joined.err;
  EXPECT_EQ(trim(joined.out), mac);
  auto conflict = docker({"run", "--rm", "--network", "container:base", "-p", "80:80", kImage, "true"});
  EXPECT_NE(conflict.exit_code, 0);
  EXPECT_NE(conflict.err.find("conflicting options"), std::string::npos) << conflict.err;
  auto missing = docker({"run", "--rm", "--network", "berth-test-no-such-net", kImage, "true"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
}

TEST_F(NetworkTest, NothingOutlivesRemovalShutdownOrACrash) {
  ASSERT_EQ(docker({"network", "create", "--subnet", "10." + std::to_string(octet_) + ".77.0/24", "berth-test-net"}).exit_code, 0)
      << daemon_->log();
  ASSERT_EQ(docker({"run", "-d", "--name", "ca", "--network", "berth-test-net", kImage, "sleep", "300"}).exit_code, 0);
  const int port = free_port();
  ASSERT_EQ(docker({"run", "-d", "--name", "cb", "-p", std::to_string(port) + ":80", kImage, "sh", "-c",
                    "echo still-here > /tmp/index.html && httpd -f -p 80 -h /tmp"})
                .exit_code,
            0);
  auto published = [&] {
    CommandResult page;
    for (int i = 0; i < 30; ++i) {
      page = run({"curl", "-sS", "--max-time", "3", "http://127.0.0.1:" + std::to_string(port) + "/index.html"});
      if (page.exit_code == 0) break;
      std::this_thread::sleep_for(200ms);
    }
    return page.out;
  };
  EXPECT_EQ(published(), "still-here\n");
  const std::string a_ip = inspect("ca", "{{(index .NetworkSettings.Networks \"berth-test-net\").IPAddress}}");
  EXPECT_EQ(a_ip, "10." + std::to_string(octet_) + ".77.2");
  // kill -9: the containers keep running and keep their addresses; a new
  // container never gets one of theirs.
  ::kill(daemon_->pid(), SIGKILL);
  daemon_->stop(SIGKILL);
  daemon_ = std::make_unique<Daemon>(
      Daemon::Options{.args = {"--storage-driver", "overlay"}, .root = root_.path(), .networking = true});
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  EXPECT_EQ(inspect("ca", "{{(index .NetworkSettings.Networks \"berth-test-net\").IPAddress}}"), a_ip);
  ASSERT_EQ(docker({"run", "-d", "--name", "cc", "--network", "berth-test-net", kImage, "sleep", "300"}).exit_code, 0)
      << daemon_->log();
  const std::string c_ip = inspect("cc", "{{(index .NetworkSettings.Networks \"berth-test-net\").IPAddress}}");
  EXPECT_NE(c_ip, a_ip);
  EXPECT_EQ(docker({"exec", "cc", "ping", "-c", "1", "-W", "2", "ca"}).exit_code, 0) << daemon_->log();
  // The published port is held and forwarded again.
  EXPECT_EQ(published(), "still-here\n") << daemon_->log();
  auto taken = docker({"run", "-d", "--name", "ce", "-p", std::to_string(port) + ":80", kImage, "true"});
  EXPECT_NE(taken.err.find("port is already allocated"), std::string::npos) << taken.err;
  // A container that dies while the daemon is down gives its address back.
  const std::string a_pid = inspect("ca", "{{.State.Pid}}");
  ::kill(daemon_->pid(), SIGKILL);
  daemon_->stop(SIGKILL);
  ASSERT_GT(std::stoi(a_pid), 0);
  ::kill(std::stoi(a_pid), SIGKILL);
  std::this_thread::sleep_for(500ms);
  daemon_ = std::make_unique<Daemon>(
      Daemon::Options{.args = {"--storage-driver", "overlay"}, .root = root_.path(), .networking = true});
  ASSERT_TRUE(daemon_->started()) << daemon_->log();
  EXPECT_EQ(inspect("ca", "{{.State.Running}}"), "false");
  EXPECT_EQ(inspect("ca", "{{(index .NetworkSettings.Networks \"berth-test-net\").IPAddress}}"), "");
  ASSERT_EQ(docker({"run", "-d", "--name", "cd", "--network", "berth-test-net", kImage, "sleep", "300"}).exit_code, 0)
      << daemon_->log();
  EXPECT_EQ(inspect("cd", "{{(index .NetworkSettings.Networks \"berth-test-net\").IPAddress}}"), a_ip);
  // Removing everything leaves only the default bridge and the table,
  // which a clean shutdown takes down too (TearDown checks).
  remove_all_containers(*daemon_);
  EXPECT_EQ(docker({"network", "rm", "berth-test-net"}).exit_code, 0);
  auto sandboxes = run({"sh", "-c", "ls " + daemon_->exec_root() + "/netns | wc -l"});
  EXPECT_EQ(trim(sandboxes.out), "0");
}

}  // namespace
}  // namespace berth::testing
