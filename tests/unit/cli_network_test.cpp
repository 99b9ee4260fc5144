// The CLI's network side without a daemon: -p/--publish specs as
// nat.ParsePortSpecs reads them, the network flags of run/create, the
// bodies of network create/connect, network ls rows, `port` lines and the
// ps PORTS column (cli/container_opts.hpp, cli/network.hpp,
// cli/container_common.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <functional>
#include <sstream>

#include "command.hpp"
#include "container_common.hpp"
#include "container_opts.hpp"
#include "network.hpp"

namespace berth::cli {
namespace {

namespace json = boost::json;

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<no error>";
}

json::object binding(const std::string& ip, const std::string& port) {
  return {{"HostIp", ip}, {"HostPort", port}};
}

struct Ports {
  json::object exposed, bindings;
};

Ports ports_for(const std::vector<std::string>& specs) {
  Ports p;
  parse_port_specs(specs, p.exposed, p.bindings);
  return p;
}

std::string port_error(const std::string& spec) {
  return message_of([&] { ports_for({spec}); });
}

// The create body `berth run` sends for `args` (flags, then IMAGE).
json::object body_for(std::vector<std::string> args) {
  CLI::App app("test");
  ContainerFlags flags;
  app.prefix_command();
  add_container_flags(app, flags);
  std::vector<const char*> argv{"berth"};
  for (const auto& a : args) argv.push_back(a.c_str());
  app.parse(pflag_args(app, static_cast<int>(argv.size()), argv.data()));
  auto rest = app.remaining();
  if (!rest.empty()) flags.image = rest.front();
  record_changed_flags(app, flags);
  return create_body(parse_container_flags(flags));
}

const json::object& host(const json::object& body) { return body.at("HostConfig").as_object(); }

// --- -p/--publish --------------------------------------------------------------

TEST(CliPortSpecs, HostPortToContainerPort) {
  auto p = ports_for({"8080:80"});
  EXPECT_EQ(p.exposed, (json::object{{"80/tcp", json::object{}}}));
  EXPECT_EQ(p.bindings, (json::object{{"80/tcp", json::array{binding("", "8080")}}}));
}

TEST(CliPortSpecs, HostAddressForms) {
  EXPECT_EQ(ports_for({"127.0.0.1:8080:80"}).bindings,
            (json::object{{"80/tcp", json::array{binding("127.0.0.1", "8080")}}}));
  // No host port: the daemon picks one on that address.
  EXPECT_EQ(ports_for({"127.0.0.1::80"}).bindings,
            (json::object{{"80/tcp", json::array{binding("127.0.0.1", "")}}}));
  EXPECT_EQ(ports_for({"[::1]:8080:80"}).bindings,
            (json::object{{"80/tcp", json::array{binding("::1", "8080")}}}));
  EXPECT_EQ(ports_for({"::1:8080:80"}).bindings,
            (json::object{{"80/tcp", json::array{binding("::1", "8080")}}}));
  EXPECT_EQ(ports_for({"[::]::80"}).bindings,
            (json::object{{"80/tcp", json::array{binding("::", "")}}}));
}

TEST(CliPortSpecs, ContainerPortAlonePublishesToARandomPort) {
  auto p = ports_for({"80"});
  EXPECT_EQ(p.exposed, (json::object{{"80/tcp", json::object{}}}));
  EXPECT_EQ(p.bindings, (json::object{{"80/tcp", json::array{binding("", "")}}}));
}

TEST(CliPortSpecs, Protocols) {
  auto p = ports_for({"53:53/udp", "9000/sctp", "8080:80/tcp", "81/TCP", "82/"});
  EXPECT_EQ(p.exposed, (json::object{{"53/udp", json::object{}},
                                     {"9000/sctp", json::object{}},
                                     {"80/tcp", json::object{}},
                                     {"81/tcp", json::object{}},
                                     {"82/tcp", json::object{}}}));
  EXPECT_EQ(p.bindings.at("53/udp"), (json::array{binding("", "53")}));
  EXPECT_EQ(p.bindings.at("9000/sctp"), (json::array{binding("", "")}));
}

TEST(CliPortSpecs, Ranges) {
  auto p = ports_for({"8080-8081:80-81"});
  EXPECT_EQ(p.exposed, (json::object{{"80/tcp", json::object{}}, {"81/tcp", json::object{}}}));
  EXPECT_EQ(p.bindings, (json::object{{"80/tcp", json::array{binding("", "8080")}},
                                      {"81/tcp", json::array{binding("", "8081")}}}));
  // A container range alone: each port to a random host port.
  EXPECT_EQ(ports_for({"7000-7001/udp"}).bindings,
            (json::object{{"7000/udp", json::array{binding("", "")}},
                          {"7001/udp", json::array{binding("", "")}}}));
  // One container port, a host range: the daemon picks in the range.
  EXPECT_EQ(ports_for({"8000-8010:80"}).bindings,
            (json::object{{"80/tcp", json::array{binding("", "8000-8010")}}}));
}

TEST(CliPortSpecs, OnePortPublishedTwiceKeepsBothBindings) {
  auto p = ports_for({"8080:80", "127.0.0.1:8081:80"});
  EXPECT_EQ(
      p.bindings,
      (json::object{{"80/tcp", json::array{binding("", "8080"), binding("127.0.0.1", "8081")}}}));
}

TEST(CliPortSpecs, LongSyntax) {
  EXPECT_EQ(ports_for({"published=8080,target=80,protocol=udp"}).bindings,
            (json::object{{"80/udp", json::array{binding("", "8080")}}}));
  EXPECT_EQ(ports_for({"target=80"}).bindings,
            (json::object{{"80/tcp", json::array{binding("", "")}}}));
  EXPECT_EQ(port_error("target=80,published"),
            "invalid publish opts format (should be name=value but got 'published')");
  EXPECT_EQ(port_error("=80"), "invalid publish opts format (should be name=value but got '=80')");
}

TEST(CliPortSpecs, DockersErrors) {
  EXPECT_EQ(port_error("abc"), "invalid containerPort: abc");
  EXPECT_EQ(port_error("70000"), "invalid containerPort: 70000");
  EXPECT_EQ(port_error("x:80"), "invalid hostPort: x");
  EXPECT_EQ(port_error("8080:"), "no port specified: 8080:<empty>");
  EXPECT_EQ(port_error("8080:/udp"), "no port specified: 8080:/udp<empty>");
  EXPECT_EQ(port_error("80/foo"), "invalid proto: foo");
  EXPECT_EQ(port_error("1.2.3:80:80"), "invalid IP address: 1.2.3");
  EXPECT_EQ(port_error("localhost:80:80"), "invalid IP address: localhost");
  EXPECT_EQ(port_error("[::1:80:80"),
            "invalid IP address [::1: address [::1:: missing ']' in address");
  EXPECT_EQ(port_error("8080-8082:80-81"),
            "invalid ranges specified for container and host Ports: 80-81 and 8080-8082");
  EXPECT_EQ(port_error("81-80"), "invalid containerPort: 81-80");
}

TEST(CliPortSpecs, RunFlagsAddPublishedAndExposedPorts) {
  auto b = body_for({"-p", "8080:80", "-p", "127.0.0.1::443", "--expose", "7000-7001/udp",
                     "--expose", "80", "-P", "busybox"});
  EXPECT_EQ(b.at("ExposedPorts"), (json::object{{"80/tcp", json::object{}},
                                                {"443/tcp", json::object{}},
                                                {"7000/udp", json::object{}},
                                                {"7001/udp", json::object{}}}));
  EXPECT_EQ(host(b).at("PortBindings"),
            (json::object{{"80/tcp", json::array{binding("", "8080")}},
                          {"443/tcp", json::array{binding("127.0.0.1", "")}}}));
  EXPECT_EQ(host(b).at("PublishAllPorts"), true);
  EXPECT_EQ(message_of([] { body_for({"-p", "80/foo", "busybox"}); }), "invalid proto: foo");
  EXPECT_EQ(message_of([] {
              body_for({"--expose", "80:80", "busybox"});
            }),
            "invalid port format for --expose: 80:80");
  EXPECT_EQ(message_of([] {
              body_for({"--expose", "99999", "busybox"});
            }),
            "invalid range format for --expose: 99999, error: strconv.ParseUint: parsing "
            "\"99999\": value out of range");
}

// --- the other network flags of run/create -----------------------------------

TEST(CliRunNetworkFlags, NetworkModes) {
  EXPECT_EQ(host(body_for({"busybox"})).at("NetworkMode"), "default");
  for (const char* mode : {"host", "none", "bridge", "container:web", "mynet"}) {
    EXPECT_EQ(host(body_for({"--network", mode, "busybox"})).at("NetworkMode"), mode);
  }
  EXPECT_EQ(host(body_for({"--net", "host", "busybox"})).at("NetworkMode"), "host");
}

TEST(CliRunNetworkFlags, EndpointSettingsOfTheFirstNetwork) {
  auto b = body_for({"--network", "mynet", "--net-alias", "web", "--network-alias", "www", "--ip",
                     "10.1.0.5", "--link", "db:database", "busybox"});
  EXPECT_EQ(
      b.at("NetworkingConfig").at("EndpointsConfig"),
      (json::object{{"mynet", json::object{{"Aliases", json::array{"web", "www"}},
                                           {"Links", json::array{"db:database"}},
                                           {"IPAMConfig", json::object{{"IPv4Address", "10.1.0.5"},
                                                                       {"IPv6Address", ""}}}}}}));
  EXPECT_EQ(host(b).at("Links"), (json::array{"db:database"}));
  auto mac = body_for({"--network", "name=mynet,mac-address=02:42:ac:11:00:02,alias=a", "busybox"});
  EXPECT_EQ(mac.at("NetworkingConfig").at("EndpointsConfig").at("mynet"),
            (json::object{{"Aliases", json::array{"a"}}, {"MacAddress", "02:42:ac:11:00:02"}}));
  EXPECT_EQ(body_for({"--mac-address", "02:42:ac:11:00:02", "busybox"}).at("MacAddress"),
            "02:42:ac:11:00:02");
  EXPECT_EQ(message_of([] {
              body_for({"--mac-address", "zz", "busybox"});
            }),
            "zz is not a valid mac address");
  EXPECT_EQ(message_of([] {
              body_for({"--link", "a:b:c", "busybox"});
            }),
            "invalid argument \"a:b:c\" for \"--link\" flag: bad format for links: a:b:c");
  EXPECT_EQ(
      message_of([] {
        body_for({"--network", "host", "--network", "mynet", "busybox"});
      }),
      "conflicting options: cannot attach both user-defined and non-user-defined network-modes");
}

TEST(CliRunNetworkFlags, DnsHostsAndNames) {
  auto b = body_for({"--dns",        "1.1.1.1",
                     "--dns",        "2606:4700:4700::1111",
                     "--dns-search", "example.com",
                     "--dns-option", "ndots:2",
                     "--dns-opt",    "timeout:1",
                     "--add-host",   "db:10.0.0.2",
                     "--add-host",   "gw:host-gateway",
                     "--add-host",   "v6=[::1]",
                     "-h",           "web",
                     "--domainname", "example.com",
                     "busybox"});
  const auto& h = host(b);
  EXPECT_EQ(h.at("Dns"), (json::array{"1.1.1.1", "2606:4700:4700::1111"}));
  EXPECT_EQ(h.at("DnsSearch"), (json::array{"example.com"}));
  EXPECT_EQ(h.at("DnsOptions"), (json::array{"ndots:2", "timeout:1"}));
  EXPECT_EQ(h.at("ExtraHosts"), (json::array{"db:10.0.0.2", "gw:host-gateway", "v6:::1"}));
  EXPECT_EQ(b.at("Hostname"), "web");
  EXPECT_EQ(b.at("Domainname"), "example.com");
  EXPECT_EQ(message_of([] {
              body_for({"--add-host", "db:300.0.0.1", "busybox"});
            }),
            "invalid argument \"db:300.0.0.1\" for \"--add-host\" flag: invalid IP address in "
            "add-host: \"300.0.0.1\"");
  EXPECT_EQ(message_of([] {
              body_for({"--add-host", "db", "busybox"});
            }),
            "invalid argument \"db\" for \"--add-host\" flag: bad format for add-host: \"db\"");
  EXPECT_EQ(message_of([] {
              body_for({"--dns", "x", "busybox"});
            }),
            "invalid argument \"x\" for \"--dns\" flag: IP address is not correctly formatted: x");
}

// --- network create -----------------------------------------------------------

TEST(CliNetworkCreate, DefaultBody) {
  NetworkCreateFlags f;
  f.name = "mynet";
  EXPECT_EQ(network_create_body(f),
            (json::object{{"Name", "mynet"},
                          {"CheckDuplicate", true},
                          {"Driver", "bridge"},
                          {"Scope", ""},
                          {"EnableIPv6", false},
                          {"IPAM", json::object{{"Driver", "default"},
                                                {"Config", json::array{}},
                                                {"Options", json::object{}}}},
                          {"Internal", false},
                          {"Attachable", false},
                          {"Ingress", false},
                          {"ConfigOnly", false},
                          {"ConfigFrom", nullptr},
                          {"Options", json::object{}},
                          {"Labels", json::object{}}}));
}

TEST(CliNetworkCreate, FlagsIntoTheBody) {
  NetworkCreateFlags f;
  f.name = "mynet";
  f.driver = "macvlan";
  f.internal = f.attachable = f.ipv6 = true;
  f.options = {"com.docker.network.bridge.name=br-test", "mtu=1400", "flag"};
  f.labels = {"a=1", "b"};
  f.subnets = {"172.28.0.0/16", "fd00:1::/64"};
  f.ip_ranges = {"172.28.5.0/24"};
  f.gateways = {"172.28.5.254", "fd00:1::1"};
  f.aux_addresses = {"router=172.28.1.5"};
  auto b = network_create_body(f);
  EXPECT_EQ(b.at("Driver"), "macvlan");
  EXPECT_EQ(b.at("Internal"), true);
  EXPECT_EQ(b.at("Attachable"), true);
  EXPECT_EQ(b.at("EnableIPv6"), true);
  EXPECT_EQ(
      b.at("Options"),
      (json::object{{"com.docker.network.bridge.name", "br-test"}, {"mtu", "1400"}, {"flag", ""}}));
  EXPECT_EQ(b.at("Labels"), (json::object{{"a", "1"}, {"b", ""}}));
  EXPECT_EQ(
      b.at("IPAM").at("Config"),
      (json::array{json::object{{"Subnet", "172.28.0.0/16"},
                                {"IPRange", "172.28.5.0/24"},
                                {"Gateway", "172.28.5.254"},
                                {"AuxiliaryAddresses", json::object{{"router", "172.28.1.5"}}}},
                   json::object{{"Subnet", "fd00:1::/64"}, {"Gateway", "fd00:1::1"}}}));
  f.labels = {"=x"};
  EXPECT_EQ(message_of([&] { network_create_body(f); }),
            "invalid argument \"=x\" for \"--label\" flag: invalid label '=x': empty name");
}

TEST(CliNetworkCreate, IpamErrorsAsDockers) {
  auto error = [](std::vector<std::string> subnets, std::vector<std::string> ranges,
                  std::vector<std::string> gateways, std::vector<std::string> aux = {}) {
    return message_of([&] { consolidate_ipam(subnets, ranges, gateways, aux); });
  };
  EXPECT_EQ(error({}, {}, {"10.0.0.1"}),
            "every ip-range or gateway must have a corresponding subnet");
  EXPECT_EQ(error({"10.0.0.0"}, {}, {}), "<no error>");  // nothing to match against yet
  EXPECT_EQ(error({"10.0.0.0"}, {}, {"10.0.0.1"}),
            "invalid subnet: invalid CIDR address: 10.0.0.0");
  EXPECT_EQ(error({"10.0.0.0/33"}, {}, {"10.0.0.1"}),
            "invalid subnet: invalid CIDR address: 10.0.0.0/33");
  EXPECT_EQ(error({"10.0.0.0/8", "10.1.0.0/16"}, {}, {}),
            "multiple overlapping subnet configuration is not supported");
  EXPECT_EQ(error({"10.0.0.0/24", "10.0.0.0/24"}, {}, {}),
            "multiple overlapping subnet configuration is not supported");
  EXPECT_EQ(error({"10.0.0.0/24"}, {}, {"10.0.1.1"}), "no matching subnet for gateway 10.0.1.1");
  EXPECT_EQ(error({"10.0.0.0/24"}, {}, {"x"}), "no matching subnet for gateway x");
  EXPECT_EQ(error({"10.0.0.0/24"}, {"10.0.1.0/28"}, {}),
            "no matching subnet for range 10.0.1.0/28");
  EXPECT_EQ(error({"10.0.0.0/24"}, {"10.0.0.0/x"}, {}), "invalid CIDR address: 10.0.0.0/x");
  EXPECT_EQ(error({"10.0.0.0/24", "10.1.0.0/24"}, {"10.0.0.0/28", "10.0.0.16/28"}, {}),
            "cannot configure multiple ranges (10.0.0.16/28, 10.0.0.0/28) on the same subnet "
            "(10.0.0.0/24)");
  EXPECT_EQ(
      error({"10.0.0.0/24", "10.1.0.0/24"}, {}, {"10.0.0.1", "10.0.0.2"}),
      "cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/24)");
  EXPECT_EQ(error({"10.0.0.0/24"}, {}, {}, {"a=10.9.0.1"}),
            "no matching subnet for aux-address 10.9.0.1");
  // An IPv6 subnet holds no IPv4 address, even ::/0.
  EXPECT_EQ(error({"::/0"}, {}, {"10.0.0.1"}), "no matching subnet for gateway 10.0.0.1");
  EXPECT_EQ(consolidate_ipam({"10.0.0.7/24"}, {}, {"10.0.0.1"}, {}),
            (json::array{json::object{{"Subnet", "10.0.0.7/24"}, {"Gateway", "10.0.0.1"}}}));
}

// --- network connect ------------------------------------------------------------

TEST(CliNetworkConnect, Body) {
  NetworkConnectFlags f;
  EXPECT_EQ(network_connect_body("web", f),
            (json::object{{"Container", "web"},
                          {"EndpointConfig", json::object{{"IPAMConfig", json::object{}},
                                                          {"Links", nullptr},
                                                          {"Aliases", json::array{}},
                                                          {"DriverOpts", json::object{}}}}}));
  f.ip = "10.1.0.9";
  f.ip6 = "fd00::9";
  f.link_local_ips = {"169.254.0.9"};
  f.aliases = {"a", "b"};
  f.links = {"db:database"};
  f.driver_opts = {" k = v "};
  EXPECT_EQ(
      network_connect_body("web", f).at("EndpointConfig"),
      (json::object{{"IPAMConfig", json::object{{"IPv4Address", "10.1.0.9"},
                                                {"IPv6Address", "fd00::9"},
                                                {"LinkLocalIPs", json::array{"169.254.0.9"}}}},
                    {"Links", json::array{"db:database"}},
                    {"Aliases", json::array{"a", "b"}},
                    {"DriverOpts", json::object{{"k", "v"}}}}));
  f.driver_opts = {"novalue"};
  EXPECT_EQ(message_of([&] { network_connect_body("web", f); }),
            "invalid key/value pair format in driver options");
  f.driver_opts = {};
  f.links = {"a:b:c"};
  EXPECT_EQ(message_of([&] { network_connect_body("web", f); }),
            "invalid argument \"a:b:c\" for \"--link\" flag: bad format for links: a:b:c");
}

// --- network ls -------------------------------------------------------------------

json::object network(const std::string& name, const std::string& id, const std::string& driver) {
  return {{"Name", name},
          {"Id", id},
          {"Created", "2024-05-01T10:20:30.123400Z"},
          {"Scope", "local"},
          {"Driver", driver},
          {"EnableIPv6", false},
          {"Internal", true},
          {"Labels", json::object{{"z", "1"}, {"a", "2"}}}};
}

TEST(CliNetworkLs, RowFields) {
  std::string id = "f2de39df4171b0dc801e8002d1d999b77256983dfc63041c0f34030aa3977566";
  auto row = network_row(network("bridge", id, "bridge"), true);
  EXPECT_EQ(row, (json::object{{"CreatedAt", "2024-05-01 10:20:30.1234 +0000 UTC"},
                               {"Driver", "bridge"},
                               {"ID", "f2de39df4171"},
                               {"IPv6", "false"},
                               {"Internal", "true"},
                               {"Labels", "a=2,z=1"},
                               {"Name", "bridge"},
                               {"Scope", "local"}}));
  EXPECT_EQ(network_row(network("bridge", id, "bridge"), false).at("ID"), json::value(id));
  auto zoned = network("n", id, "bridge");
  zoned["Created"] = "0001-01-01T00:00:00+01:00";
  EXPECT_EQ(network_row(zoned, true).at("CreatedAt"), "0001-01-01 00:00:00 +0100 +0100");
}

TEST(CliNetworkLs, NaturalOrderByName) {
  json::array list{network("net10", "3", "bridge"), network("none", "4", "null"),
                   network("net2", "2", "bridge"), network("bridge", "1", "bridge"),
                   network("host", "5", "host")};
  std::vector<std::string> names;
  for (const auto& r : network_rows(list, true)) names.emplace_back(r.at("Name").as_string());
  EXPECT_EQ(names, (std::vector<std::string>{"bridge", "host", "net2", "net10", "none"}));
}

TEST(CliNetworkLs, Filters) {
  EXPECT_EQ(
      filters_json({"driver=bridge", "type=custom", "label=a=b", "dangling=true", "name=web",
                    "id=f2de", "scope=local"}),
      R"({"dangling":{"true":true},"driver":{"bridge":true},"id":{"f2de":true},"label":{"a=b":true},)"
      R"("name":{"web":true},"scope":{"local":true},"type":{"custom":true}})");
  EXPECT_EQ(message_of([] { filters_json({"driver"}); }),
            "invalid argument \"driver\" for \"-f, --filter\" flag: bad format of filter (expected "
            "name=value)");
}

TEST(CliNaturalLess, DockersSortOrder) {
  EXPECT_TRUE(natural_less("net2", "net10"));
  EXPECT_FALSE(natural_less("net10", "net2"));
  EXPECT_TRUE(natural_less("a", "b"));
  EXPECT_TRUE(natural_less("1a", "a"));  // digits before other characters
  EXPECT_TRUE(natural_less("a1", "a01"));
  EXPECT_TRUE(natural_less("a", "a1"));
  EXPECT_FALSE(natural_less("x", "x"));
  EXPECT_TRUE(natural_less("80/tcp -> 0.0.0.0:80", "443/tcp -> 0.0.0.0:443"));
}

// --- the network group ----------------------------------------------------------

TEST(CliNetworkCommands, GroupAloneShowsUsage) {
  CLI::App app("test", "berth");
  Context ctx;
  add_network_commands(app, ctx);
  EXPECT_THROW(app.parse(std::vector<std::string>{"network"}), CLI::CallForHelp);
  EXPECT_NE(app.help().find("connect"), std::string::npos);
}

TEST(CliNetworkCommands, CreateChecksFlagsBeforeAskingTheDaemon) {
  auto run = [](std::vector<std::string> args) {
    CLI::App app("test", "berth");
    Context ctx;
    ctx.globals.host = "unix:///nonexistent/berth-network-test.sock";
    add_network_commands(app, ctx);
    std::reverse(args.begin(), args.end());
    try {
      app.parse(std::move(args));
    } catch (const CliError& e) {
      return std::to_string(e.exit_code()) + " " + e.what();
    }
    return std::string("<no error>");
  };
  // --subnet takes comma-separated values, as pflag's string slices do.
  EXPECT_EQ(run({"network", "create", "--subnet", "10.0.0.0/24,10.0.0.0/16", "n"}),
            "1 multiple overlapping subnet configuration is not supported");
  EXPECT_EQ(
      run({"network", "create", "--label", "=x", "n"}),
      "125 berth: invalid argument \"=x\" for \"--label\" flag: invalid label '=x': empty name\n"
      "See 'berth network create --help'.");
  EXPECT_EQ(run({"network", "connect", "--driver-opt", "x", "n", "c"}),
            "1 invalid key/value pair format in driver options");
}

TEST(CliNetworkCommands, PruneAsksFirst) {
  CLI::App app("test", "berth");
  Context ctx;
  ctx.globals.host = "unix:///nonexistent/berth-network-test.sock";
  add_network_commands(app, ctx);
  std::istringstream answer("n\n");
  std::ostringstream output;
  auto* in = std::cin.rdbuf(answer.rdbuf());
  auto* out = std::cout.rdbuf(output.rdbuf());
  app.parse(std::vector<std::string>{"prune", "network"});
  std::cin.rdbuf(in);
  std::cout.rdbuf(out);
  EXPECT_EQ(output.str(),
            "WARNING! This will remove all custom networks not used by at least one container.\n"
            "Are you sure you want to continue? [y/N] ");
}

// --- berth port and the ps PORTS column ----------------------------------------------

TEST(CliPort, Lines) {
  json::object ports{{"80/tcp", json::array{binding("0.0.0.0", "8080"), binding("::", "8080")}},
                     {"443/tcp", json::array{binding("127.0.0.1", "8443")}},
                     {"53/udp", json::array{binding("0.0.0.0", "5353")}},
                     {"9000/tcp", nullptr},
                     {"9001/tcp", json::array{}}};
  EXPECT_EQ(port_lines(ports, "", "web"),
            (std::vector<std::string>{"53/udp -> 0.0.0.0:5353", "80/tcp -> 0.0.0.0:8080",
                                      "80/tcp -> [::]:8080", "443/tcp -> 127.0.0.1:8443"}));
  EXPECT_EQ(port_lines(ports, "80", "web"),
            (std::vector<std::string>{"0.0.0.0:8080", "[::]:8080"}));
  EXPECT_EQ(port_lines(ports, "80/tcp", "web"),
            (std::vector<std::string>{"0.0.0.0:8080", "[::]:8080"}));
  EXPECT_EQ(port_lines(ports, "53/udp", "web"), (std::vector<std::string>{"0.0.0.0:5353"}));
  EXPECT_EQ(message_of([&] { port_lines(ports, "81/tcp", "web"); }),
            "Error: No public port '81/tcp' published for web");
  EXPECT_EQ(message_of([&] { port_lines(ports, "53", "web"); }),
            "Error: No public port '53' published for web");
  EXPECT_EQ(message_of([&] { port_lines(ports, "9000", "web"); }),
            "Error: No public port '9000' published for web");
  EXPECT_EQ(message_of([&] { port_lines(ports, "9001", "web"); }),
            "Error: No public port '9001' published for web");
  EXPECT_EQ(message_of([&] { port_lines(ports, "http", "web"); }),
            "Error: invalid port (http): strconv.ParseUint: parsing \"http\": invalid syntax");
  EXPECT_EQ(
      message_of([&] { port_lines(ports, "70000", "web"); }),
      "Error: invalid port (70000): strconv.ParseUint: parsing \"70000\": value out of range");
  EXPECT_TRUE(port_lines(json::object{}, "", "web").empty());
}

json::object api_port(const std::string& ip, int priv, int pub, const std::string& type) {
  json::object p{{"PrivatePort", priv}, {"Type", type}};
  if (!ip.empty()) {
    p["IP"] = ip;
    p["PublicPort"] = pub;
  }
  return p;
}

TEST(CliPsPorts, DockersDisplayablePorts) {
  EXPECT_EQ(displayable_ports(json::array{}), "");
  EXPECT_EQ(displayable_ports(
                json::array{api_port("0.0.0.0", 80, 8080, "tcp"), api_port("", 443, 0, "tcp")}),
            "443/tcp, 0.0.0.0:8080->80/tcp");
  // Consecutive ports published to the same ports collapse into a range.
  EXPECT_EQ(displayable_ports(json::array{api_port("0.0.0.0", 8001, 8001, "tcp"),
                                          api_port("0.0.0.0", 8000, 8000, "tcp"),
                                          api_port("0.0.0.0", 8002, 8002, "tcp")}),
            "0.0.0.0:8000-8002->8000-8002/tcp");
  EXPECT_EQ(
      displayable_ports(json::array{api_port("", 6000, 0, "udp"), api_port("", 6001, 0, "udp"),
                                    api_port("", 6003, 0, "udp"), api_port("", 6001, 0, "tcp")}),
      "6000-6001/udp, 6003/udp, 6001/tcp");
  EXPECT_EQ(displayable_ports(
                json::array{api_port("0.0.0.0", 80, 80, "tcp"), api_port("::", 80, 80, "tcp")}),
            "0.0.0.0:80->80/tcp, [::]:80->80/tcp");
  EXPECT_EQ(displayable_ports(
                json::array{api_port("::", 80, 8080, "tcp"), api_port("0.0.0.0", 80, 8080, "tcp")}),
            "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp");
  // Addresses order by value (netip), not as text.
  EXPECT_EQ(displayable_ports(
                json::array{api_port("10.0.0.1", 80, 1, "tcp"), api_port("9.0.0.1", 80, 2, "tcp")}),
            "9.0.0.1:2->80/tcp, 10.0.0.1:1->80/tcp");
}

TEST(CliPsPorts, PortsAndNetworksInTheRow) {
  json::object c{
      {"Id", "0123456789abcdef"},
      {"Names", json::array{"/web"}},
      {"Image", "busybox"},
      {"Command", "sh"},
      {"Created", 0},
      {"Ports", json::array{api_port("0.0.0.0", 80, 8080, "tcp"), api_port("", 443, 0, "tcp")}},
      {"NetworkSettings", json::object{{"Networks", json::object{{"bridge", json::object{}},
                                                                 {"mynet", json::object{}}}}}}};
  auto row = container_row(c, true);
  EXPECT_EQ(row.at("Ports"), "443/tcp, 0.0.0.0:8080->80/tcp");
  EXPECT_EQ(row.at("Networks"), "bridge,mynet");
}

}  // namespace
}  // namespace berth::cli
