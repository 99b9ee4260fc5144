#include "network_fixture.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

namespace berth::testing {
namespace fs = std::filesystem;

namespace {

std::mt19937& rng() {
  static std::mt19937 r{std::random_device{}()};
  return r;
}

std::string hex4() {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 4; ++i) out += digits[rng()() & 0xf];
  return out;
}

}  // namespace

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

std::string test_ifname() { return "berth-test-" + hex4(); }

std::vector<std::string> test_links() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/class/net", ec)) {
    std::string name = e.path().filename().string();
    if (name.starts_with("berth-test-")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string network_leftovers(const std::vector<std::string>& before, const std::string& table) {
  std::string out;
  for (const auto& l : test_links()) {
    if (!std::binary_search(before.begin(), before.end(), l)) out += "link " + l + "\n";
  }
  if (run({"nft", "list", "table", "ip", table}).exit_code == 0) out += "nftables table ip " + table + "\n";
  return out;
}

Internet::Internet(int second_octet) {
  netns_ = "berth-test-inet-" + hex4();
  veth_ = test_ifname();
  prefix_ = "10." + std::to_string(second_octet) + ".255";
  auto must = [&](std::vector<std::string> argv) {
    auto r = run(argv);
    if (r.exit_code != 0) {
      error_ += "`";
      for (const auto& a : argv) error_ += a + " ";
      error_ += "` failed: " + r.err;
      return false;
    }
    return true;
  };
  const std::string inner = test_ifname();
  ok_ = must({"ip", "netns", "add", netns_}) &&
        must({"ip", "link", "add", veth_, "type", "veth", "peer", "name", inner, "netns", netns_}) &&
        must({"ip", "addr", "add", host_ip() + "/30", "dev", veth_}) && must({"ip", "link", "set", veth_, "up"}) &&
        must({"ip", "netns", "exec", netns_, "ip", "link", "set", inner, "name", "eth0"}) &&
        must({"ip", "netns", "exec", netns_, "ip", "addr", "add", server_ip() + "/30", "dev", "eth0"}) &&
        must({"ip", "netns", "exec", netns_, "ip", "link", "set", "eth0", "up"}) &&
        must({"ip", "netns", "exec", netns_, "ip", "link", "set", "lo", "up"}) &&
        must({"ip", "netns", "exec", netns_, "ip", "route", "add", "default", "via", host_ip()}) &&
        // Replies to masqueraded traffic come in here and are forwarded to the
        // bridge: this interface forwards (the host's ip_forward is left alone).
        must({"sysctl", "-qw", "net.ipv4.conf." + veth_ + ".forwarding=1"});
  if (!ok_) return;
  write_file(www_ / "index.html", "hello from the internet\n");
  httpd_ = ::fork();
  if (httpd_ == 0) {
    ::setpgid(0, 0);
    ::execlp("ip", "ip", "netns", "exec", netns_.c_str(), "busybox", "httpd", "-f", "-p",
             (server_ip() + ":8080").c_str(), "-h", www_.path().c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Serving once a request from inside the namespace gets the page.
  for (int i = 0; i < 50; ++i) {
    auto r = exec({"busybox", "wget", "-qO-", "http://" + server_ip() + ":8080/index.html"});
    if (r.exit_code == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ok_ = false;
  error_ = "the internet's httpd does not answer";
}

Internet::~Internet() {
  if (httpd_ > 0) {
    ::kill(-httpd_, SIGKILL);
    ::kill(httpd_, SIGKILL);
    ::waitpid(httpd_, nullptr, 0);
  }
  run({"ip", "link", "del", veth_});
  run({"ip", "netns", "del", netns_});
}

CommandResult Internet::exec(std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {"ip", "netns", "exec", netns_});
  return run(argv, {}, {}, std::chrono::seconds(20));
}

void NetworkFixture::start_daemon() {
  links_before_ = test_links();
  suffix_ = hex4();
  bridge_ = "berth-test-" + suffix_;
  table_ = "berth-test-" + std::to_string(::getpid()) + "-" + suffix_;
  octet_ = 100 + static_cast<int>(rng()() % 150);
  write_file(root_ / "daemon.json", R"({
  "bridge": ")" + bridge_ + R"(",
  "ip-forward": false,
  "default-address-pools": [{"base": "10.)" + std::to_string(octet_) + R"(.0.0/16", "size": 24}],
  "drivers": {"options": {"net/bridge": {"nft_table": ")" + table_ + R"(",
    "interface_prefix": "berth-test-", "bridge_prefix": "berth-test-"}}}
}
)");
  daemon_.reset();
  daemon_ = std::make_unique<Daemon>(
      Daemon::Options{.args = {"--storage-driver", "overlay"}, .root = root_.path(), .networking = true});
}

}  // namespace berth::testing
