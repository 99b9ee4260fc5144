// Networking through real clients (docker 20.10 and 28, and berth's own CLI)
// and at scale: the network commands (create, ls, inspect, connect,
// disconnect, rm, prune), run's network flags (--network, --network-alias,
// --ip, -p, --add-host, --dns, --hostname), port and ps, static addresses,
// and a hundred containers on one network that all reach each other by name.
#include "network_fixture.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <set>
#include <sstream>
#include <thread>

namespace berth::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!trim(l).empty()) out.push_back(trim(l));
  }
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines(text)) {
    if (l == line) return true;
  }
  return false;
}

// The column NAME (second word) of `network ls` tables.
std::set<std::string> network_names(const std::string& table) {
  std::set<std::string> out;
  auto ls = lines(table);
  for (size_t i = 1; i < ls.size(); ++i) {
    std::istringstream words(ls[i]);
    std::string id, name;
    words >> id >> name;
    out.insert(name);
  }
  return out;
}

// `network inspect` output (an array of one network) as its object; null
// when it does not parse.
json::object network_json(const CommandResult& r) {
  boost::system::error_code ec;
  auto v = json::parse(r.out, ec);
  if (ec || !v.is_array() || v.as_array().size() != 1 || !v.as_array()[0].is_object()) return {};
  return v.as_array()[0].as_object();
}

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The names of a network's containers (the Containers map of inspect).
std::set<std::string> attached(const json::object& net) {
  std::set<std::string> out;
  auto* c = net.if_contains("Containers");
  if (!c || !c->is_object()) return out;
  for (const auto& [id, ep] : c->as_object()) {
    if (ep.is_object()) out.insert(str(ep.as_object(), "Name"));
  }
  return out;
}

// The networks a `-f {{json .NetworkSettings.Networks}}` output names.
std::set<std::string> networks_of(const std::string& inspect_json) {
  std::set<std::string> out;
  boost::system::error_code ec;
  auto v = json::parse(inspect_json, ec);
  if (ec || !v.is_object()) return out;
  for (const auto& [name, ep] : v.as_object()) out.insert(std::string(name));
  return out;
}

// Shared by the suites: user networks go after the containers, then the
// daemon stops and nothing of it may remain.
template <class Base>
class NetworkClientsFixture : public Base {
 protected:
  void TearDown() override {
    Base::TearDown();
    if (this->daemon_ && this->daemon_->started()) {
      std::istringstream ids(this->docker({"network", "ls", "-q", "--filter", "type=custom"}).out);
      for (std::string id; std::getline(ids, id);) {
        if (!id.empty()) this->docker({"network", "rm", id});
      }
      this->daemon_->stop(SIGTERM);
    }
    EXPECT_EQ(this->leftovers(), "") << (this->daemon_ ? this->daemon_->log() : "");
  }

  std::string net(int third_octet) const {
    return "10." + std::to_string(this->octet_) + "." + std::to_string(third_octet);
  }

  // GET of http://127.0.0.1:port/index.html from the host, retried while the
  // server comes up.
  CommandResult curl_published(int port) {
    CommandResult page;
    for (int i = 0; i < 30; ++i) {
      page = run({"curl", "-sS", "--max-time", "3", "http://127.0.0.1:" + std::to_string(port) + "/index.html"});
      if (page.exit_code == 0) break;
      std::this_thread::sleep_for(200ms);
    }
    return page;
  }
};

// ---------------------------------------------------------------------------
// The docker CLIs, one test per client.

class NetworkClientsDocker : public NetworkClientsFixture<NetworkFixture>,
                             public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(GetParam())) GTEST_SKIP() << GetParam() << " is not installed";
    NetworkClientsFixture::SetUp();
  }
  // The client under test (the fixture's docker() stays the 28 CLI, for
  // cleanup).
  CommandResult client(std::vector<std::string> args) { return cli(GetParam(), std::move(args)); }
  std::string inspect(const std::string& container, const std::string& format) {
    return trim(client({"inspect", "-f", format, container}).out);
  }
};

TEST_P(NetworkClientsDocker, CreateListInspectRemoveAndPruneNetworks) {
  // With a subnet and gateway, and from the pool.
  auto fixed = client({"network", "create", "--subnet", net(50) + ".0/24", "--gateway", net(50) + ".254",
                       "berth-test-fixed"});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.err << daemon_->log();
  const std::string fixed_id = trim(fixed.out);
  EXPECT_EQ(fixed_id.size(), 64u) << fixed.out;
  auto pooled = client({"network", "create", "berth-test-pooled"});
  ASSERT_EQ(pooled.exit_code, 0) << pooled.err;
  const std::string pooled_id = trim(pooled.out);
  auto dup = client({"network", "create", "berth-test-pooled"});
  EXPECT_NE(dup.exit_code, 0);
  EXPECT_NE(dup.err.find("already exists"), std::string::npos) << dup.err;

  // ls: the predefined networks and the new ones; custom only; IDs only.
  auto ls = client({"network", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_TRUE(lines(ls.out).at(0).starts_with("NETWORK ID")) << ls.out;
  EXPECT_EQ(network_names(ls.out),
            (std::set<std::string>{"bridge", "host", "none", "berth-test-fixed", "berth-test-pooled"}))
      << ls.out;
  auto custom = client({"network", "ls", "--filter", "type=custom"});
  EXPECT_EQ(network_names(custom.out), (std::set<std::string>{"berth-test-fixed", "berth-test-pooled"})) << custom.out;
  auto builtin = client({"network", "ls", "--filter", "type=builtin"});
  EXPECT_EQ(network_names(builtin.out), (std::set<std::string>{"bridge", "host", "none"})) << builtin.out;
  auto quiet = client({"network", "ls", "-q", "--filter", "type=custom"});
  const auto quiet_ids = lines(quiet.out);
  EXPECT_EQ(std::set<std::string>(quiet_ids.begin(), quiet_ids.end()),
            (std::set<std::string>{fixed_id.substr(0, 12), pooled_id.substr(0, 12)}))
      << quiet.out;
  auto quiet_all = client({"network", "ls", "-q"});
  EXPECT_EQ(lines(quiet_all.out).size(), 5u) << quiet_all.out;

  // inspect: name, driver, the subnet (given, or the pool's).
  auto fixed_net = network_json(client({"network", "inspect", "berth-test-fixed"}));
  ASSERT_FALSE(fixed_net.empty());
  EXPECT_EQ(str(fixed_net, "Name"), "berth-test-fixed");
  EXPECT_EQ(str(fixed_net, "Id"), fixed_id);
  EXPECT_EQ(str(fixed_net, "Driver"), "bridge");
  EXPECT_EQ(str(fixed_net, "Scope"), "local");
  const auto& config = fixed_net.at("IPAM").as_object().at("Config").as_array();
  ASSERT_EQ(config.size(), 1u);
  EXPECT_EQ(str(config[0].as_object(), "Subnet"), net(50) + ".0/24");
  EXPECT_EQ(str(config[0].as_object(), "Gateway"), net(50) + ".254");
  EXPECT_TRUE(attached(fixed_net).empty());
  auto pooled_net = network_json(client({"network", "inspect", pooled_id.substr(0, 12)}));
  ASSERT_FALSE(pooled_net.empty());
  EXPECT_EQ(str(pooled_net, "Name"), "berth-test-pooled");
  const auto& pooled_config = pooled_net.at("IPAM").as_object().at("Config").as_array();
  ASSERT_EQ(pooled_config.size(), 1u);
  const std::string pooled_subnet = str(pooled_config[0].as_object(), "Subnet");
  EXPECT_TRUE(pooled_subnet.starts_with("10." + std::to_string(octet_) + ".") && pooled_subnet.ends_with(".0/24"))
      << pooled_subnet;
  EXPECT_EQ(client({"network", "inspect", "-f", "{{.Driver}} {{.Internal}}", "berth-test-pooled"}).out,
            "bridge false\n");
  auto missing = client({"network", "inspect", "berth-test-no-such"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("berth-test-no-such"), std::string::npos) << missing.err;

  // A container joins: it appears in Containers, with an address of the
  // subnet (the first, the gateway being the last).
  auto c1 = client({"run", "-d", "--name", "c1", "--network", "berth-test-fixed", kImage, "sleep", "300"});
  ASSERT_EQ(c1.exit_code, 0) << c1.err << daemon_->log();
  const std::string c1_id = trim(c1.out);
  fixed_net = network_json(client({"network", "inspect", "berth-test-fixed"}));
  EXPECT_EQ(attached(fixed_net), std::set<std::string>{"c1"});
  ASSERT_TRUE(fixed_net.at("Containers").as_object().contains(c1_id)) << json::serialize(fixed_net);
  const auto& ep = fixed_net.at("Containers").as_object().at(c1_id).as_object();
  EXPECT_EQ(str(ep, "IPv4Address"), net(50) + ".1/24");
  EXPECT_EQ(str(ep, "MacAddress").size(), 17u);
  EXPECT_EQ(inspect("c1", "{{(index .NetworkSettings.Networks \"berth-test-fixed\").Gateway}}"), net(50) + ".254");

  // rm: refused while in use, with Docker's words; then it goes.
  auto busy = client({"network", "rm", "berth-test-fixed"});
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_NE(busy.err.find("error while removing network: network berth-test-fixed id " + fixed_id +
                          " has active endpoints"),
            std::string::npos)
      << busy.err;
  EXPECT_EQ(network_names(client({"network", "ls"}).out).count("berth-test-fixed"), 1u);
  ASSERT_EQ(client({"rm", "-f", "c1"}).exit_code, 0);
  auto removed = client({"network", "rm", "berth-test-fixed"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(trim(removed.out), "berth-test-fixed");
  EXPECT_NE(client({"network", "inspect", "berth-test-fixed"}).exit_code, 0);

  // prune: the unused network goes, one in use (and the predefined) stay.
  ASSERT_EQ(client({"network", "create", "berth-test-used"}).exit_code, 0);
  ASSERT_EQ(client({"run", "-d", "--name", "c2", "--network", "berth-test-used", kImage, "sleep", "300"}).exit_code, 0);
  auto prune = client({"network", "prune", "-f"});
  EXPECT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_NE(prune.out.find("Deleted Networks:"), std::string::npos) << prune.out;
  EXPECT_TRUE(has_line(prune.out, "berth-test-pooled")) << prune.out;
  EXPECT_FALSE(has_line(prune.out, "berth-test-used")) << prune.out;
  EXPECT_EQ(network_names(client({"network", "ls"}).out),
            (std::set<std::string>{"bridge", "host", "none", "berth-test-used"}));
  // Nothing left to prune: nothing said.
  auto again = client({"network", "prune", "-f"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out.find("berth-test"), std::string::npos) << again.out;
}

TEST_P(NetworkClientsDocker, AliasesConnectAndDisconnectARunningContainer) {
  ASSERT_EQ(client({"network", "create", "berth-test-a"}).exit_code, 0) << daemon_->log();
  ASSERT_EQ(client({"network", "create", "berth-test-b"}).exit_code, 0);
  auto web = client({"run", "-d", "--name", "web", "--network", "berth-test-a", "--network-alias", "www",
                     "--network-alias", "site", kImage, "sleep", "300"});
  ASSERT_EQ(web.exit_code, 0) << web.err << daemon_->log();
  ASSERT_EQ(client({"run", "-d", "--name", "peer", "--network", "berth-test-a", kImage, "sleep", "300"}).exit_code, 0);
  const std::string web_ip = inspect("web", "{{(index .NetworkSettings.Networks \"berth-test-a\").IPAddress}}");
  EXPECT_FALSE(web_ip.empty());
  auto aliases = inspect("web", "{{json (index .NetworkSettings.Networks \"berth-test-a\").Aliases}}");
  EXPECT_NE(aliases.find("\"www\""), std::string::npos) << aliases;
  EXPECT_NE(aliases.find("\"site\""), std::string::npos) << aliases;
  // The name and both aliases resolve to web's address.
  for (const std::string name : {"web", "www", "site"}) {
    auto ping = client({"exec", "peer", "ping", "-c1", "-W2", name});
    EXPECT_EQ(ping.exit_code, 0) << name << ": " << ping.out << ping.err;
    EXPECT_NE(ping.out.find("(" + web_ip + ")"), std::string::npos) << name << ": " << ping.out;
  }

  // A running container on b joins a, with an alias of its own, and leaves.
  ASSERT_EQ(client({"run", "-d", "--name", "roamer", "--network", "berth-test-b", kImage, "sleep", "300"}).exit_code,
            0);
  EXPECT_NE(client({"exec", "roamer", "ping", "-c1", "-W1", "web"}).exit_code, 0);
  auto con = client({"network", "connect", "--alias", "wanderer", "berth-test-a", "roamer"});
  ASSERT_EQ(con.exit_code, 0) << con.err << daemon_->log();
  EXPECT_EQ(networks_of(inspect("roamer", "{{json .NetworkSettings.Networks}}")),
            (std::set<std::string>{"berth-test-a", "berth-test-b"}));
  EXPECT_EQ(attached(network_json(client({"network", "inspect", "berth-test-a"}))),
            (std::set<std::string>{"web", "peer", "roamer"}));
  const std::string roamer_ip = inspect("roamer", "{{(index .NetworkSettings.Networks \"berth-test-a\").IPAddress}}");
  EXPECT_FALSE(roamer_ip.empty());
  auto eth1 = client({"exec", "roamer", "ip", "-4", "-o", "addr"});
  EXPECT_NE(eth1.out.find(roamer_ip + "/"), std::string::npos) << eth1.out;
  auto ping = client({"exec", "roamer", "ping", "-c1", "-W2", "www"});
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err;
  auto back = client({"exec", "peer", "ping", "-c1", "-W2", "wanderer"});
  EXPECT_EQ(back.exit_code, 0) << back.out << back.err;
  EXPECT_NE(back.out.find("(" + roamer_ip + ")"), std::string::npos) << back.out;
  // Connected twice: refused.
  auto twice = client({"network", "connect", "berth-test-a", "roamer"});
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_NE(twice.err.find("already exists in network"), std::string::npos) << twice.err;

  auto dis = client({"network", "disconnect", "berth-test-a", "roamer"});
  ASSERT_EQ(dis.exit_code, 0) << dis.err << daemon_->log();
  EXPECT_EQ(networks_of(inspect("roamer", "{{json .NetworkSettings.Networks}}")),
            std::set<std::string>{"berth-test-b"});
  EXPECT_EQ(attached(network_json(client({"network", "inspect", "berth-test-a"}))),
            (std::set<std::string>{"web", "peer"}));
  auto gone = client({"exec", "roamer", "ip", "-4", "-o", "addr"});
  EXPECT_EQ(gone.out.find(roamer_ip + "/"), std::string::npos) << gone.out;
  EXPECT_NE(client({"exec", "roamer", "ping", "-c1", "-W1", web_ip}).exit_code, 0);
  EXPECT_NE(client({"exec", "peer", "ping", "-c1", "-W1", "wanderer"}).exit_code, 0);
  // Not connected: disconnecting again is refused.
  auto not_there = client({"network", "disconnect", "berth-test-a", "roamer"});
  EXPECT_NE(not_there.exit_code, 0);
  EXPECT_NE(not_there.err.find("is not connected to"), std::string::npos) << not_there.err;
}

TEST_P(NetworkClientsDocker, PublishesAPortThatAnswersAndThatPortAndPsShow) {
  const int port = free_port();
  const std::string p = std::to_string(port);
  auto web = client({"run", "-d", "--name", "web", "-p", p + ":80", kImage, "sh", "-c",
                     "echo hello-" + GetParam() + " > /tmp/index.html && httpd -f -p 80 -h /tmp"});
  ASSERT_EQ(web.exit_code, 0) << web.err << daemon_->log();
  auto page = curl_published(port);
  EXPECT_EQ(page.out, "hello-" + GetParam() + "\n") << page.err << daemon_->log();
  auto all = client({"port", "web"});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_TRUE(has_line(all.out, "80/tcp -> 0.0.0.0:" + p)) << all.out;
  EXPECT_EQ(trim(client({"port", "web", "80"}).out), "0.0.0.0:" + p);
  EXPECT_EQ(trim(client({"port", "web", "80/tcp"}).out), "0.0.0.0:" + p);
  auto unpublished = client({"port", "web", "81"});
  EXPECT_NE(unpublished.exit_code, 0);
  // ("'81/tcp'" from docker 20.10, "'81'" from 28)
  EXPECT_NE(unpublished.err.find("No public port '81"), std::string::npos) << unpublished.err;
  EXPECT_NE(unpublished.err.find("' published for web"), std::string::npos)
      << unpublished.err;
  auto ps = client({"ps", "--format", "{{.Names}}|{{.Ports}}"});
  EXPECT_TRUE(has_line(ps.out, "web|0.0.0.0:" + p + "->80/tcp")) << ps.out;
  auto bindings = inspect("web", "{{json .NetworkSettings.Ports}}");
  EXPECT_NE(bindings.find("\"HostPort\":\"" + p + "\""), std::string::npos) << bindings;
  // Gone with the container: the port is free again.
  ASSERT_EQ(client({"rm", "-f", "web"}).exit_code, 0);
  EXPECT_NE(run({"curl", "-sS", "--max-time", "3", "http://127.0.0.1:" + p + "/index.html"}).exit_code, 0);
  auto again = client({"run", "-d", "--name", "web2", "-p", p + ":80", kImage, "sleep", "300"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

INSTANTIATE_TEST_SUITE_P(NetworkClients, NetworkClientsDocker, kDockerClients, docker_client_name);

// ---------------------------------------------------------------------------
// berth's own CLI.

class NetworkClientsBerth : public NetworkClientsFixture<NetworkFixture> {
 protected:
  CommandResult berth(std::vector<std::string> args) { return daemon_->berth(std::move(args)); }
  std::string inspect(const std::string& container, const std::string& format) {
    return trim(berth({"inspect", "-f", format, container}).out);
  }
};

TEST_F(NetworkClientsBerth, NetworkCommandsAndRunFlags) {
  auto created = berth({"network", "create", "--subnet", net(60) + ".0/24", "--gateway", net(60) + ".1",
                        "berth-test-cli"});
  ASSERT_EQ(created.exit_code, 0) << created.err << daemon_->log();
  const std::string net_id = trim(created.out);
  EXPECT_EQ(net_id.size(), 64u) << created.out;
  ASSERT_EQ(berth({"network", "create", "berth-test-spare"}).exit_code, 0);

  auto ls = berth({"network", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_TRUE(lines(ls.out).at(0).starts_with("NETWORK ID")) << ls.out;
  EXPECT_EQ(network_names(ls.out),
            (std::set<std::string>{"bridge", "host", "none", "berth-test-cli", "berth-test-spare"}))
      << ls.out;
  EXPECT_EQ(network_names(berth({"network", "ls", "--filter", "type=custom"}).out),
            (std::set<std::string>{"berth-test-cli", "berth-test-spare"}));
  auto quiet = berth({"network", "ls", "-q", "--filter", "name=berth-test-cli"});
  EXPECT_EQ(lines(quiet.out), std::vector<std::string>{net_id.substr(0, 12)}) << quiet.out;

  auto inspected = network_json(berth({"network", "inspect", "berth-test-cli"}));
  ASSERT_FALSE(inspected.empty());
  EXPECT_EQ(str(inspected, "Name"), "berth-test-cli");
  EXPECT_EQ(str(inspected, "Driver"), "bridge");
  EXPECT_EQ(str(inspected.at("IPAM").as_object().at("Config").as_array().at(0).as_object(), "Subnet"),
            net(60) + ".0/24");

  // run with a network, an alias, a static address and a published port.
  const int port = free_port();
  const std::string p = std::to_string(port);
  auto web = berth({"run", "-d", "--name", "web", "--network", "berth-test-cli", "--network-alias", "www", "--ip",
                    net(60) + ".10", "-p", p + ":80", kImage, "sh", "-c",
                    "echo from-berth > /tmp/index.html && httpd -f -p 80 -h /tmp"});
  ASSERT_EQ(web.exit_code, 0) << web.err << daemon_->log();
  EXPECT_EQ(inspect("web", "{{(index .NetworkSettings.Networks \"berth-test-cli\").IPAddress}}"), net(60) + ".10");
  auto page = curl_published(port);
  EXPECT_EQ(page.out, "from-berth\n") << page.err << daemon_->log();
  auto port_out = berth({"port", "web"});
  EXPECT_EQ(port_out.exit_code, 0) << port_out.err;
  EXPECT_TRUE(has_line(port_out.out, "80/tcp -> 0.0.0.0:" + p)) << port_out.out;
  EXPECT_EQ(trim(berth({"port", "web", "80"}).out), "0.0.0.0:" + p);
  // ps: the PORTS column of the table, and the template field.
  auto ps = berth({"ps"});
  ASSERT_EQ(ps.exit_code, 0) << ps.err;
  ASSERT_FALSE(lines(ps.out).empty());
  EXPECT_NE(lines(ps.out)[0].find("PORTS"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("0.0.0.0:" + p + "->80/tcp"), std::string::npos) << ps.out;
  EXPECT_TRUE(has_line(berth({"ps", "--format", "{{.Names}}|{{.Ports}}"}).out, "web|0.0.0.0:" + p + "->80/tcp"));

  // Another container reaches web by its alias; connect and disconnect.
  ASSERT_EQ(berth({"run", "-d", "--name", "other", kImage, "sleep", "300"}).exit_code, 0);
  EXPECT_NE(berth({"exec", "other", "ping", "-c1", "-W1", net(60) + ".10"}).exit_code, 0);
  auto con = berth({"network", "connect", "berth-test-cli", "other"});
  ASSERT_EQ(con.exit_code, 0) << con.err << daemon_->log();
  EXPECT_EQ(networks_of(inspect("other", "{{json .NetworkSettings.Networks}}")),
            (std::set<std::string>{"bridge", "berth-test-cli"}));
  EXPECT_EQ(attached(network_json(berth({"network", "inspect", "berth-test-cli"}))),
            (std::set<std::string>{"web", "other"}));
  auto page_from_other = berth({"exec", "other", "timeout", "5", "wget", "-qO-", "http://" + net(60) + ".10/index.html"});
  EXPECT_EQ(page_from_other.out, "from-berth\n") << page_from_other.err;
  // (By name from a container started on the default bridge:
  // ADefaultBridgeContainerConnectedToAUserNetworkResolvesNames.)
  auto peer = berth({"run", "--rm", "--network", "berth-test-cli", kImage, "ping", "-c1", "-W2", "www"});
  EXPECT_EQ(peer.exit_code, 0) << peer.out << peer.err;
  EXPECT_NE(peer.out.find("(" + net(60) + ".10)"), std::string::npos) << peer.out;
  ASSERT_EQ(berth({"network", "disconnect", "berth-test-cli", "other"}).exit_code, 0);
  EXPECT_EQ(networks_of(inspect("other", "{{json .NetworkSettings.Networks}}")), std::set<std::string>{"bridge"});
  EXPECT_EQ(attached(network_json(berth({"network", "inspect", "berth-test-cli"}))), std::set<std::string>{"web"});
  EXPECT_NE(berth({"exec", "other", "ping", "-c1", "-W1", net(60) + ".10"}).exit_code, 0);

  // rm: refused in use; prune takes the unused one; rm once empty.
  auto busy = berth({"network", "rm", "berth-test-cli"});
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_NE(busy.err.find("has active endpoints"), std::string::npos) << busy.err;
  auto prune = berth({"network", "prune", "-f"});
  EXPECT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_TRUE(has_line(prune.out, "berth-test-spare")) << prune.out;
  EXPECT_FALSE(has_line(prune.out, "berth-test-cli")) << prune.out;
  ASSERT_EQ(berth({"rm", "-f", "web"}).exit_code, 0);
  auto removed = berth({"network", "rm", "berth-test-cli"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(network_names(berth({"network", "ls"}).out), (std::set<std::string>{"bridge", "host", "none"}));
}

TEST_F(NetworkClientsBerth, AddHostDnsAndHostnameShapeTheContainersFiles) {
  auto c = berth({"run", "-d", "--name", "shaped", "--hostname", "berth-box", "--add-host", "db.example:192.0.2.7",
                  "--add-host", "cache.example:192.0.2.8", "--dns", "192.0.2.53", "--dns", "198.51.100.53",
                  "--dns-search", "example.test", kImage, "sleep", "300"});
  ASSERT_EQ(c.exit_code, 0) << c.err << daemon_->log();
  const std::string ip = inspect("shaped", "{{.NetworkSettings.IPAddress}}");
  ASSERT_TRUE(ip.starts_with("10." + std::to_string(octet_) + ".")) << ip;
  // The default bridge: resolv.conf is exactly what --dns and --dns-search say.
  auto resolv = berth({"exec", "shaped", "cat", "/etc/resolv.conf"});
  ASSERT_EQ(resolv.exit_code, 0) << resolv.err;
  // (Docker 20.10 writes the search line first, later Dockers last: either.)
  std::vector<std::string> nameservers, others;
  for (const auto& l : lines(resolv.out)) {
    if (l.starts_with("nameserver ")) {
      nameservers.push_back(l);
    } else if (!l.starts_with("#")) {
      others.push_back(l);
    }
  }
  EXPECT_EQ(nameservers, (std::vector<std::string>{"nameserver 192.0.2.53", "nameserver 198.51.100.53"}))
      << resolv.out;
  EXPECT_EQ(others, std::vector<std::string>{"search example.test"}) << resolv.out;
  auto hosts = berth({"exec", "shaped", "cat", "/etc/hosts"});
  ASSERT_EQ(hosts.exit_code, 0) << hosts.err;
  EXPECT_TRUE(has_line(hosts.out, "192.0.2.7\tdb.example")) << hosts.out;
  EXPECT_TRUE(has_line(hosts.out, "192.0.2.8\tcache.example")) << hosts.out;
  EXPECT_TRUE(has_line(hosts.out, ip + "\tberth-box")) << hosts.out;
  EXPECT_NE(hosts.out.find("127.0.0.1\tlocalhost"), std::string::npos) << hosts.out;
  EXPECT_EQ(trim(berth({"exec", "shaped", "hostname"}).out), "berth-box");
  EXPECT_EQ(inspect("shaped", "{{.Config.Hostname}}"), "berth-box");
  EXPECT_EQ(inspect("shaped", "{{json .HostConfig.ExtraHosts}}"),
            "[\"db.example:192.0.2.7\",\"cache.example:192.0.2.8\"]");
  EXPECT_EQ(inspect("shaped", "{{json .HostConfig.Dns}}"), "[\"192.0.2.53\",\"198.51.100.53\"]");
  // The names resolve through /etc/hosts.
  auto ping = berth({"exec", "shaped", "ping", "-c1", "-W1", "db.example"});
  EXPECT_NE(ping.out.find("(192.0.2.7)"), std::string::npos) << ping.out << ping.err;
  // Bad values are refused by the CLI.
  auto bad_host = berth({"run", "--rm", "--add-host", "nocolon", kImage, "true"});
  EXPECT_NE(bad_host.exit_code, 0);
  EXPECT_NE(bad_host.err.find("bad format for add-host"), std::string::npos) << bad_host.err;
  auto bad_dns = berth({"run", "--rm", "--dns", "not-an-ip", kImage, "true"});
  EXPECT_NE(bad_dns.exit_code, 0);
  EXPECT_NE(bad_dns.err.find("not-an-ip"), std::string::npos) << bad_dns.err;
}

// Docker (libnetwork's Sandbox.startResolver, run when an endpoint that
// needs the embedded DNS server joins) rewrites the resolv.conf of a
// container started on the default bridge when it is connected to a user
// network: the names of that network resolve. So does berthd.
TEST_F(NetworkClientsBerth, ADefaultBridgeContainerConnectedToAUserNetworkResolvesNames) {
  ASSERT_EQ(docker({"network", "create", "berth-test-late"}).exit_code, 0) << daemon_->log();
  ASSERT_EQ(docker({"run", "-d", "--name", "target", "--network", "berth-test-late", "--network-alias", "tgt", kImage,
                    "sleep", "300"})
                .exit_code,
            0);
  ASSERT_EQ(docker({"run", "-d", "--name", "late", kImage, "sleep", "300"}).exit_code, 0);
  ASSERT_EQ(docker({"network", "connect", "berth-test-late", "late"}).exit_code, 0) << daemon_->log();
  auto resolv = docker({"exec", "late", "cat", "/etc/resolv.conf"});
  EXPECT_NE(resolv.out.find("nameserver 127.0.0.11"), std::string::npos) << resolv.out;
  for (const std::string name : {"target", "tgt"}) {
    auto ping = docker({"exec", "late", "ping", "-c1", "-W2", name});
    EXPECT_EQ(ping.exit_code, 0) << name << ": " << ping.out << ping.err;
  }
}

// ---------------------------------------------------------------------------
// Static addresses, through the docker 28 CLI.

class NetworkClientsStatic : public NetworkClientsFixture<NetworkFixture> {
 protected:
  std::string ip_on(const std::string& container, const std::string& network) {
    return trim(docker({"inspect", "-f", "{{(index .NetworkSettings.Networks \"" + network + "\").IPAddress}}",
                        container})
                    .out);
  }
};

TEST_F(NetworkClientsStatic, StaticAddressesAreGivenOnceAndOnlyOnUserSubnets) {
  ASSERT_EQ(docker({"network", "create", "--subnet", net(70) + ".0/24", "berth-test-static"}).exit_code, 0)
      << daemon_->log();
  auto first = docker({"run", "-d", "--name", "fixed1", "--network", "berth-test-static", "--ip", net(70) + ".42",
                       kImage, "sleep", "300"});
  ASSERT_EQ(first.exit_code, 0) << first.err << daemon_->log();
  EXPECT_EQ(ip_on("fixed1", "berth-test-static"), net(70) + ".42");
  auto inside = docker({"exec", "fixed1", "ip", "-4", "-o", "addr", "show", "eth0"});
  EXPECT_NE(inside.out.find(net(70) + ".42/24"), std::string::npos) << inside.out;
  EXPECT_EQ(docker({"inspect", "-f",
                    "{{(index .NetworkSettings.Networks \"berth-test-static\").IPAMConfig.IPv4Address}}", "fixed1"})
                .out,
            net(70) + ".42\n");
  // The same address again: refused, as Docker does.
  auto again = docker({"run", "-d", "--name", "fixed2", "--network", "berth-test-static", "--ip", net(70) + ".42",
                       kImage, "sleep", "300"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("Address already in use"), std::string::npos) << again.err;
  // Dynamic addresses go around it; and a refused container gives nothing
  // back wrongly: a second static address works.
  ASSERT_EQ(docker({"run", "-d", "--name", "dyn", "--network", "berth-test-static", kImage, "sleep", "300"}).exit_code,
            0);
  EXPECT_NE(ip_on("dyn", "berth-test-static"), net(70) + ".42");
  auto other = docker({"run", "-d", "--name", "fixed3", "--network", "berth-test-static", "--ip", net(70) + ".43",
                       kImage, "sleep", "300"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(ip_on("fixed3", "berth-test-static"), net(70) + ".43");
  EXPECT_EQ(docker({"exec", "fixed3", "ping", "-c1", "-W2", net(70) + ".42"}).exit_code, 0);
  // Outside the subnet: refused.
  auto outside = docker({"run", "-d", "--name", "fixed4", "--network", "berth-test-static", "--ip", net(71) + ".5",
                         kImage, "sleep", "300"});
  EXPECT_NE(outside.exit_code, 0) << outside.out;
  EXPECT_NE(outside.err.find("no configured subnet or ip-range contain the IP address " + net(71) + ".5"),
            std::string::npos)
      << outside.err;
  // Once the holder is gone the address can be taken again.
  ASSERT_EQ(docker({"rm", "-f", "fixed1"}).exit_code, 0);
  auto reuse = docker({"run", "-d", "--name", "fixed5", "--network", "berth-test-static", "--ip", net(70) + ".42",
                       kImage, "sleep", "300"});
  EXPECT_EQ(reuse.exit_code, 0) << reuse.err;
  EXPECT_EQ(ip_on("fixed5", "berth-test-static"), net(70) + ".42");

  // The default bridge takes no user-specified address (Docker's message).
  auto bridge = docker({"run", "-d", "--name", "onbridge", "--ip", "10." + std::to_string(octet_) + ".0.50", kImage,
                        "sleep", "300"});
  EXPECT_NE(bridge.exit_code, 0);
  EXPECT_NE(bridge.err.find("user specified IP address is supported on user defined networks only"),
            std::string::npos)
      << bridge.err;
  // Nor does a user network without a subnet of its own.
  ASSERT_EQ(docker({"network", "create", "berth-test-nosubnet"}).exit_code, 0);
  auto nosubnet = docker({"run", "-d", "--name", "nosub", "--network", "berth-test-nosubnet", "--ip",
                          "10." + std::to_string(octet_) + ".0.50", kImage, "sleep", "300"});
  EXPECT_NE(nosubnet.exit_code, 0);
  EXPECT_NE(nosubnet.err.find("user specified IP address is supported only when connecting to networks with user "
                              "configured subnets"),
            std::string::npos)
      << nosubnet.err;
}

// ---------------------------------------------------------------------------
// A hundred containers on one network.

class NetworkClientsScale : public NetworkClientsFixture<NetworkFixture> {};

TEST_F(NetworkClientsScale, HundredContainersOnOneNetworkReachEachOtherByName) {
  constexpr int kCount = 100;
  constexpr int kBatch = 10;
  ASSERT_EQ(docker({"network", "create", "--subnet", net(80) + ".0/24", "berth-test-scale"}).exit_code, 0)
      << daemon_->log();
  auto name = [](int i) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "s%03d", i);
    return std::string(buf);
  };
  for (int base = 0; base < kCount; base += kBatch) {
    std::vector<std::future<CommandResult>> batch;
    for (int i = base; i < base + kBatch; ++i) {
      batch.push_back(std::async(std::launch::async, [&, i] {
        return docker({"run", "-d", "--name", name(i), "--network", "berth-test-scale", kImage, "sleep", "600"});
      }));
    }
    for (int i = base; i < base + kBatch; ++i) {
      auto r = batch[static_cast<size_t>(i - base)].get();
      ASSERT_EQ(r.exit_code, 0) << name(i) << ": " << r.err << daemon_->log();
    }
  }
  // Every one on the network, each with its own address of the subnet.
  auto network = network_json(docker({"network", "inspect", "berth-test-scale"}));
  ASSERT_FALSE(network.empty());
  const auto& containers = network.at("Containers").as_object();
  EXPECT_EQ(containers.size(), static_cast<size_t>(kCount));
  std::set<std::string> names, addresses;
  for (const auto& [id, ep] : containers) {
    names.insert(str(ep.as_object(), "Name"));
    const std::string a = str(ep.as_object(), "IPv4Address");
    EXPECT_TRUE(a.starts_with(net(80) + ".") && a.ends_with("/24")) << a;
    EXPECT_NE(a, net(80) + ".1/24") << "the gateway's address";
    addresses.insert(a);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(names.count(name(0)) + names.count(name(kCount - 1)), 2u);
  EXPECT_EQ(addresses.size(), static_cast<size_t>(kCount)) << "addresses are not distinct";
  auto ps = docker({"ps", "-q", "--filter", "network=berth-test-scale"});
  EXPECT_EQ(lines(ps.out).size(), static_cast<size_t>(kCount)) << ps.err;

  // From the first, every other by name.
  const std::string loop = "fail=0; for i in $(seq 1 " + std::to_string(kCount - 1) +
                           "); do n=s$(printf %03d $i); ping -c1 -W1 $n >/dev/null 2>&1 || { echo unreachable $n; "
                           "fail=$((fail+1)); }; done; echo failed=$fail";
  auto pings = cli("/usr/local/bin/docker", {"exec", name(0), "sh", "-c", loop}, {}, std::chrono::seconds(240));
  EXPECT_EQ(pings.exit_code, 0) << pings.err;
  EXPECT_EQ(trim(pings.out), "failed=0") << pings.out << daemon_->log();

  // All removed (in batches, as they came): the network has no endpoints.
  for (int base = 0; base < kCount; base += kBatch) {
    std::vector<std::string> args{"rm", "-f"};
    for (int i = base; i < base + kBatch; ++i) args.push_back(name(i));
    auto rm = docker(args);
    ASSERT_EQ(rm.exit_code, 0) << rm.err;
  }
  network = network_json(docker({"network", "inspect", "berth-test-scale"}));
  ASSERT_FALSE(network.empty());
  EXPECT_TRUE(attached(network).empty()) << json::serialize(network);
  EXPECT_EQ(docker({"network", "inspect", "-f", "{{len .Containers}}", "berth-test-scale"}).out, "0\n");
  // The network can go now, and its bridge with it (TearDown checks).
  auto rm = docker({"network", "rm", "berth-test-scale"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err << daemon_->log();
}

}  // namespace
}  // namespace berth::testing
