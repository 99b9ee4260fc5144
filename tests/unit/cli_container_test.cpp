// The container flags of `berth run`/`create` as the create body Docker's
// CLI would send, the value parsers with Docker's messages, and the `ps`
// row fields (cli/container_opts.hpp, cli/container_common.hpp).
#include "command.hpp"
#include "container_common.hpp"
#include "container_opts.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace berth::cli {
namespace {

namespace json = boost::json;

// Parses `args` (flags, then IMAGE [COMMAND...]) the way `berth run` does
// and returns the create body.
json::object body_for(std::vector<std::string> args) {
  CLI::App app("test");
  ContainerFlags flags;
  app.prefix_command();
  add_container_flags(app, flags);
  std::vector<const char*> argv{"berth"};
  for (const auto& a : args) argv.push_back(a.c_str());
  app.parse(pflag_args(app, static_cast<int>(argv.size()), argv.data()));
  auto rest = app.remaining();
  if (!rest.empty()) {
    flags.image = rest.front();
    flags.args.assign(rest.begin() + 1, rest.end());
  }
  record_changed_flags(app, flags);
  return create_body(parse_container_flags(flags));
}

const json::object& host(const json::object& body) { return body.at("HostConfig").as_object(); }

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(CliContainerFlags, PlainRunGivesDockersDefaults) {
  auto b = body_for({"busybox"});
  EXPECT_EQ(b.at("Image"), "busybox");
  EXPECT_TRUE(b.at("Cmd").is_null());
  EXPECT_TRUE(b.at("Entrypoint").is_null());
  EXPECT_EQ(b.at("AttachStdout"), true);
  EXPECT_EQ(b.at("AttachStderr"), true);
  EXPECT_EQ(b.at("AttachStdin"), false);
  EXPECT_EQ(b.at("OpenStdin"), false);
  EXPECT_EQ(b.at("StdinOnce"), false);
  EXPECT_EQ(b.at("Tty"), false);
  EXPECT_EQ(b.at("Env"), json::array{});
  EXPECT_EQ(host(b).at("NetworkMode"), "default");
  EXPECT_EQ(host(b).at("RestartPolicy"), (json::object{{"Name", "no"}, {"MaximumRetryCount", 0}}));
  EXPECT_EQ(host(b).at("MemorySwappiness"), -1);
  EXPECT_EQ(host(b).at("AutoRemove"), false);
  EXPECT_FALSE(host(b).contains("Init"));
  EXPECT_FALSE(host(b).contains("PidsLimit"));
  EXPECT_FALSE(b.contains("StopSignal"));
  EXPECT_EQ(b.at("NetworkingConfig"), (json::object{{"EndpointsConfig", json::object{}}}));
}

TEST(CliContainerFlags, CommandAfterImageKeepsItsOwnFlags) {
  // -l and -e after the image belong to the command, not to run.
  auto b = body_for({"-e", "A=1", "busybox", "ls", "-l", "-e", "x"});
  EXPECT_EQ(b.at("Cmd"), (json::array{"ls", "-l", "-e", "x"}));
  EXPECT_EQ(b.at("Env"), (json::array{"A=1"}));
  EXPECT_EQ(b.at("Labels"), json::object{});
}

TEST(CliContainerFlags, InteractiveTtyAndRemove) {
  auto b = body_for({"-it", "--rm", "--name", "x", "busybox", "sh"});
  EXPECT_EQ(b.at("Tty"), true);
  EXPECT_EQ(b.at("OpenStdin"), true);
  EXPECT_EQ(b.at("AttachStdin"), true);
  EXPECT_EQ(b.at("StdinOnce"), true);
  EXPECT_EQ(host(b).at("AutoRemove"), true);
}

TEST(CliContainerFlags, AttachSelectsStreams) {
  auto b = body_for({"-a", "STDERR", "busybox"});
  EXPECT_EQ(b.at("AttachStdout"), false);
  EXPECT_EQ(b.at("AttachStderr"), true);
  EXPECT_EQ(message_of([] { body_for({"-a", "foo", "busybox"}); }),
            "invalid argument \"foo\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR");
}

TEST(CliContainerFlags, ResourcesAsDockerSendsThem) {
  auto b = body_for({"-m", "512m", "--memory-swap", "1g", "--memory-reservation", "256MiB", "--cpus", "1.5",
                     "--cpu-shares", "512", "--cpuset-cpus", "0-1", "--pids-limit", "100", "--shm-size", "64m",
                     "--ulimit", "nofile=1024:2048", "--ulimit", "nproc=10", "busybox"});
  const auto& h = host(b);
  EXPECT_EQ(h.at("Memory"), 512LL << 20);
  EXPECT_EQ(h.at("MemorySwap"), 1LL << 30);
  EXPECT_EQ(h.at("MemoryReservation"), 256LL << 20);
  EXPECT_EQ(h.at("NanoCpus"), 1'500'000'000);
  EXPECT_EQ(h.at("CpuShares"), 512);
  EXPECT_EQ(h.at("CpusetCpus"), "0-1");
  EXPECT_EQ(h.at("PidsLimit"), 100);
  EXPECT_EQ(h.at("ShmSize"), 64LL << 20);
  EXPECT_EQ(h.at("Ulimits"), (json::array{json::object{{"Name", "nofile"}, {"Hard", 2048}, {"Soft", 1024}},
                                          json::object{{"Name", "nproc"}, {"Hard", 10}, {"Soft", 10}}}));
  EXPECT_EQ(host(body_for({"--memory-swap", "-1", "busybox"})).at("MemorySwap"), -1);
  EXPECT_EQ(host(body_for({"--pids-limit", "-1", "busybox"})).at("PidsLimit"), -1);
}

TEST(CliContainerFlags, SecurityAndIdentity) {
  auto b = body_for({"--privileged", "--read-only", "--cap-add", "NET_ADMIN", "--cap-drop", "ALL",
                     "--security-opt", "no-new-privileges", "--security-opt", "seccomp=unconfined",
                     "--security-opt", "systempaths=unconfined", "-u", "1000:1000", "--group-add", "audio",
                     "-w", "/tmp", "--hostname", "box", "--runtime", "crun", "--init", "busybox"});
  const auto& h = host(b);
  EXPECT_EQ(h.at("Privileged"), true);
  EXPECT_EQ(h.at("ReadonlyRootfs"), true);
  EXPECT_EQ(h.at("CapAdd"), (json::array{"NET_ADMIN"}));
  EXPECT_EQ(h.at("CapDrop"), (json::array{"ALL"}));
  EXPECT_EQ(h.at("SecurityOpt"), (json::array{"no-new-privileges", "seccomp=unconfined"}));
  EXPECT_EQ(h.at("MaskedPaths"), json::array{});
  EXPECT_EQ(h.at("ReadonlyPaths"), json::array{});
  EXPECT_EQ(h.at("GroupAdd"), (json::array{"audio"}));
  EXPECT_EQ(h.at("Runtime"), "crun");
  EXPECT_EQ(h.at("Init"), true);
  EXPECT_EQ(b.at("User"), "1000:1000");
  EXPECT_EQ(b.at("WorkingDir"), "/tmp");
  EXPECT_EQ(b.at("Hostname"), "box");
  // -h is the hostname, not help.
  EXPECT_EQ(body_for({"-h", "other", "busybox"}).at("Hostname"), "other");
  EXPECT_EQ(host(body_for({"--init=false", "busybox"})).at("Init"), false);
}

TEST(CliContainerFlags, SeccompProfileFileIsSentInline) {
  std::string path = "/tmp/berth-test-seccomp-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n";
  auto b = body_for({"--security-opt", "seccomp=" + path, "busybox"});
  std::filesystem::remove(path);
  EXPECT_EQ(host(b).at("SecurityOpt"), (json::array{"seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"}));
  EXPECT_EQ(message_of([] { body_for({"--security-opt", "seccomp=/nonexistent/p.json", "busybox"}); }),
            "opening seccomp profile (/nonexistent/p.json) failed: open /nonexistent/p.json: No such file or "
            "directory");
  EXPECT_EQ(message_of([] { body_for({"--security-opt", "label", "busybox"}); }),
            "Invalid --security-opt: \"label\"");
}

TEST(CliContainerFlags, EntrypointStopAndRestart) {
  auto b = body_for({"--entrypoint", "/bin/sh", "--stop-signal", "SIGINT", "--stop-timeout", "3", "--restart",
                     "on-failure:5", "busybox", "-c", "true"});
  EXPECT_EQ(b.at("Entrypoint"), (json::array{"/bin/sh"}));
  EXPECT_EQ(b.at("Cmd"), (json::array{"-c", "true"}));
  EXPECT_EQ(b.at("StopSignal"), "SIGINT");
  EXPECT_EQ(b.at("StopTimeout"), 3);
  EXPECT_EQ(host(b).at("RestartPolicy"), (json::object{{"Name", "on-failure"}, {"MaximumRetryCount", 5}}));
  // An empty --entrypoint resets the image's; after the image, flags are
  // the command's, as typed.
  auto reset = body_for({"--entrypoint=", "-e=A=b", "busybox", "sh", "--entrypoint=", "-e=x"});
  EXPECT_EQ(reset.at("Entrypoint"), (json::array{""}));
  EXPECT_EQ(reset.at("Env"), (json::array{"A=b"}));
  EXPECT_EQ(reset.at("Cmd"), (json::array{"sh", "--entrypoint=", "-e=x"}));
  // A short option last in a cluster takes the next argument.
  auto cluster = body_for({"-ie", "B=1", "busybox", "-e"});
  EXPECT_EQ(cluster.at("Env"), (json::array{"B=1"}));
  EXPECT_EQ(cluster.at("Cmd"), (json::array{"-e"}));
}

TEST(CliContainerFlags, EnvironmentFromFlagsFilesAndOurEnvironment) {
  ::setenv("BERTH_TEST_FROM_ENV", "inherited", 1);
  ::unsetenv("BERTH_TEST_UNSET");
  std::string path = "/tmp/berth-test-envfile-" + std::to_string(::getpid());
  std::ofstream(path) << "\xEF\xBB\xBF# comment\n\n  A=1\nB= spaced \nBERTH_TEST_FROM_ENV\nBERTH_TEST_UNSET\n";
  auto b = body_for({"--env-file", path, "-e", "C=3", "-e", "BERTH_TEST_FROM_ENV", "-e", "BERTH_TEST_UNSET",
                     "busybox"});
  std::filesystem::remove(path);
  EXPECT_EQ(b.at("Env"), (json::array{"A=1", "B= spaced ", "BERTH_TEST_FROM_ENV=inherited", "BERTH_TEST_UNSET",
                                      "C=3", "BERTH_TEST_FROM_ENV=inherited", "BERTH_TEST_UNSET"}));
  EXPECT_EQ(message_of([] { body_for({"-e", "=x", "busybox"}); }),
            "invalid argument \"=x\" for \"-e, --env\" flag: invalid environment variable: =x");
  EXPECT_EQ(message_of([] { body_for({"--env-file", "/nonexistent/env", "busybox"}); }),
            "open /nonexistent/env: No such file or directory");
}

TEST(CliContainerFlags, LabelsFromFlagsAndFiles) {
  std::string path = "/tmp/berth-test-labels-" + std::to_string(::getpid());
  std::ofstream(path) << "a=from-file\nb=2\nnovalue\n";
  auto b = body_for({"--label-file", path, "-l", "a=flag", "--label", "c", "busybox"});
  std::filesystem::remove(path);
  EXPECT_EQ(b.at("Labels"), (json::object{{"a", "flag"}, {"b", "2"}, {"novalue", ""}, {"c", ""}}));
  EXPECT_EQ(message_of([] { body_for({"-l", "=v", "busybox"}); }),
            "invalid argument \"=v\" for \"-l, --label\" flag: invalid label '=v': empty name");
}

TEST(CliContainerFlags, PortsVolumesMountsAndNetwork) {
  auto b = body_for({"-p", "8080:80", "-p", "127.0.0.1:53:53/udp", "-p", "9000", "--expose", "7000-7001",
                     "-v", "/data", "-v", "/host:/ctr:ro", "-v", "named:/n", "--mount",
                     "type=bind,source=/src,target=/dst,readonly", "--tmpfs", "/run:size=64m", "--network",
                     "none", "--dns", "1.1.1.1", "--dns-search", "example.com", "--add-host", "db=10.0.0.2",
                     "--sysctl", "net.ipv4.ip_forward=1", "busybox"});
  EXPECT_EQ(b.at("ExposedPorts"), (json::object{{"80/tcp", json::object{}},
                                                {"53/udp", json::object{}},
                                                {"9000/tcp", json::object{}},
                                                {"7000/tcp", json::object{}},
                                                {"7001/tcp", json::object{}}}));
  const auto& h = host(b);
  EXPECT_EQ(h.at("PortBindings"),
            (json::object{{"80/tcp", json::array{json::object{{"HostIp", ""}, {"HostPort", "8080"}}}},
                          {"53/udp", json::array{json::object{{"HostIp", "127.0.0.1"}, {"HostPort", "53"}}}},
                          {"9000/tcp", json::array{json::object{{"HostIp", ""}, {"HostPort", ""}}}}}));
  EXPECT_EQ(b.at("Volumes"), (json::object{{"/data", json::object{}}}));
  EXPECT_EQ(h.at("Binds"), (json::array{"/host:/ctr:ro", "named:/n"}));
  EXPECT_EQ(h.at("Mounts"), (json::array{json::object{{"Type", "bind"}, {"Source", "/src"}, {"Target", "/dst"},
                                                       {"ReadOnly", true}}}));
  EXPECT_EQ(h.at("Tmpfs"), (json::object{{"/run", "size=64m"}}));
  EXPECT_EQ(h.at("NetworkMode"), "none");
  EXPECT_EQ(h.at("Dns"), (json::array{"1.1.1.1"}));
  EXPECT_EQ(h.at("DnsSearch"), (json::array{"example.com"}));
  EXPECT_EQ(h.at("ExtraHosts"), (json::array{"db:10.0.0.2"}));
  EXPECT_EQ(h.at("Sysctls"), (json::object{{"net.ipv4.ip_forward", "1"}}));
  EXPECT_EQ(message_of([] { body_for({"--network-alias", "a", "--network", "none", "busybox"}); }),
            "network-scoped aliases are only supported for user-defined networks");
  auto user_net = body_for({"--network", "mynet", "--network-alias", "web", "--ip", "10.1.0.5", "busybox"});
  EXPECT_EQ(user_net.at("NetworkingConfig").at("EndpointsConfig"),
            (json::object{{"mynet", json::object{{"Aliases", json::array{"web"}},
                                                 {"IPAMConfig", json::object{{"IPv4Address", "10.1.0.5"},
                                                                             {"IPv6Address", ""}}}}}}));
}

TEST(CliContainerFlags, LoggingHealthAndMisc) {
  auto b = body_for({"--log-driver", "json-file", "--log-opt", "max-size=10m", "--health-cmd", "true",
                     "--health-interval", "1m30s", "--health-retries", "3", "--platform", "linux/amd64",
                     "busybox"});
  EXPECT_EQ(host(b).at("LogConfig"),
            (json::object{{"Type", "json-file"}, {"Config", json::object{{"max-size", "10m"}}}}));
  EXPECT_EQ(b.at("Healthcheck"), (json::object{{"Interval", 90'000'000'000LL},
                                               {"Timeout", 0},
                                               {"StartPeriod", 0},
                                               {"Retries", 3},
                                               {"Test", json::array{"CMD-SHELL", "true"}}}));
  EXPECT_EQ(message_of([] { body_for({"--log-driver", "none", "--log-opt", "a=b", "busybox"}); }),
            "invalid logging opts for driver none");
  EXPECT_EQ(message_of([] { body_for({"--no-healthcheck", "--health-cmd", "x", "busybox"}); }),
            "--no-healthcheck conflicts with --health-* options");
}

TEST(CliContainerFlags, BadValuesWordedAsDockersFlagParser) {
  EXPECT_EQ(message_of([] { body_for({"-m", "x", "busybox"}); }),
            "invalid argument \"x\" for \"-m, --memory\" flag: invalid size: 'x'");
  EXPECT_EQ(message_of([] { body_for({"--memory", "12q", "busybox"}); }),
            "invalid argument \"12q\" for \"-m, --memory\" flag: invalid suffix: 'q'");
  EXPECT_EQ(message_of([] { body_for({"--cpus", "x", "busybox"}); }),
            "invalid argument \"x\" for \"--cpus\" flag: failed to parse x as a rational number");
  EXPECT_EQ(message_of([] { body_for({"--cpus", "0.0000000001", "busybox"}); }),
            "invalid argument \"0.0000000001\" for \"--cpus\" flag: value is too precise");
  EXPECT_EQ(message_of([] { body_for({"--pids-limit", "lots", "busybox"}); }),
            "invalid argument \"lots\" for \"--pids-limit\" flag: strconv.ParseInt: parsing \"lots\": invalid syntax");
  EXPECT_EQ(message_of([] { body_for({"--ulimit", "bogus=1", "busybox"}); }),
            "invalid argument \"bogus=1\" for \"--ulimit\" flag: invalid ulimit type: bogus");
  EXPECT_EQ(message_of([] { body_for({"--dns", "nope", "busybox"}); }),
            "invalid argument \"nope\" for \"--dns\" flag: IP address is not correctly formatted: nope");
  EXPECT_EQ(message_of([] { body_for({"--sysctl", "kernel.pid_max=1", "busybox"}); }),
            "invalid argument \"kernel.pid_max=1\" for \"--sysctl\" flag: sysctl 'kernel.pid_max=1' is not allowed");
  EXPECT_EQ(message_of([] { body_for({"--health-interval", "5", "busybox"}); }),
            "invalid argument \"5\" for \"--health-interval\" flag: time: missing unit in duration \"5\"");
  EXPECT_EQ(message_of([] { body_for({"--rm", "--restart", "always", "busybox"}); }),
            "Conflicting options: --restart and --rm");
  EXPECT_EQ(message_of([] { body_for({"--memory-swappiness", "101", "busybox"}); }),
            "invalid value: 101. Valid memory swappiness range is 0-100");
  EXPECT_EQ(message_of([] { body_for({"--pid", "bogus", "busybox"}); }), "--pid: invalid PID mode");
  EXPECT_EQ(message_of([] { body_for({"-p", "80:80/xyz", "busybox"}); }), "invalid proto: xyz");
  EXPECT_EQ(message_of([] { body_for({"--mount", "source=/a", "busybox"}); }),
            "invalid argument \"source=/a\" for \"--mount\" flag: target is required");
}

TEST(CliContainerValues, RamInBytesIsGoUnits) {
  EXPECT_EQ(ram_in_bytes("512"), 512);
  EXPECT_EQ(ram_in_bytes("512b"), 512);
  EXPECT_EQ(ram_in_bytes("1k"), 1024);
  EXPECT_EQ(ram_in_bytes("1KB"), 1024);
  EXPECT_EQ(ram_in_bytes("1KiB"), 1024);
  EXPECT_EQ(ram_in_bytes("1.5g"), 3LL << 29);
  EXPECT_EQ(ram_in_bytes("1 GB"), 1LL << 30);
  EXPECT_EQ(ram_in_bytes("2t"), 2LL << 40);
  EXPECT_EQ(message_of([] { ram_in_bytes(""); }), "invalid size: ''");
  EXPECT_EQ(message_of([] { ram_in_bytes("-1"); }), "invalid size: '-1'");
  EXPECT_EQ(message_of([] { ram_in_bytes("1kk"); }), "invalid suffix: 'kk'");
  EXPECT_EQ(message_of([] { ram_in_bytes("1kib2"); }), "strconv.ParseFloat: parsing \"1kib2\": invalid syntax");
}

TEST(CliContainerValues, NanoCpus) {
  EXPECT_EQ(parse_nano_cpus("1"), 1'000'000'000);
  EXPECT_EQ(parse_nano_cpus("0.5"), 500'000'000);
  EXPECT_EQ(parse_nano_cpus(".25"), 250'000'000);
  EXPECT_EQ(parse_nano_cpus("3/2"), 1'500'000'000);
  EXPECT_EQ(parse_nano_cpus("1e-3"), 1'000'000);
  EXPECT_EQ(parse_nano_cpus("0.000000001"), 1);
}

TEST(CliContainerValues, Ulimits) {
  EXPECT_EQ(parse_ulimit("nofile=100:200"), (json::object{{"Name", "nofile"}, {"Hard", 200}, {"Soft", 100}}));
  EXPECT_EQ(parse_ulimit("core=-1"), (json::object{{"Name", "core"}, {"Hard", -1}, {"Soft", -1}}));
  EXPECT_EQ(message_of([] { parse_ulimit("nofile"); }), "invalid ulimit argument: nofile");
  EXPECT_EQ(message_of([] { parse_ulimit("nofile=1:2:3"); }),
            "too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`");
  EXPECT_EQ(message_of([] { parse_ulimit("nofile=300:200"); }),
            "ulimit soft limit must be less than or equal to hard limit: 300 > 200");
}

TEST(CliContainerValues, RestartPolicies) {
  EXPECT_EQ(parse_restart_policy("always"), (json::object{{"Name", "always"}, {"MaximumRetryCount", 0}}));
  EXPECT_EQ(parse_restart_policy("unless-stopped").at("Name"), "unless-stopped");
  EXPECT_EQ(parse_restart_policy("on-failure").at("MaximumRetryCount"), 0);
  EXPECT_EQ(parse_restart_policy("on-failure:3").at("MaximumRetryCount"), 3);
  EXPECT_EQ(message_of([] { parse_restart_policy(":3"); }),
            "invalid restart policy format: no policy provided before colon");
  EXPECT_EQ(message_of([] { parse_restart_policy("on-failure:x"); }),
            "invalid restart policy format: maximum retry count must be an integer");
  EXPECT_EQ(message_of([] { parse_restart_policy("always:2"); }),
            "invalid restart policy: maximum retry count can only be used with 'on-failure'");
  EXPECT_EQ(message_of([] { parse_restart_policy("sometimes"); }),
            "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or "
            "'unless-stopped'");
}

TEST(CliContainerValues, GoDurationsAndLogTimestamps) {
  EXPECT_EQ(parse_go_duration("0"), 0);
  EXPECT_EQ(parse_go_duration("300ms"), 300'000'000);
  EXPECT_EQ(parse_go_duration("1h2m3s"), 3'723'000'000'000LL);
  EXPECT_EQ(parse_go_duration("1.5s"), 1'500'000'000);
  EXPECT_EQ(message_of([] { parse_go_duration("3x"); }), "time: unknown unit \"x\" in duration \"3x\"");
  EXPECT_EQ(api_timestamp("10m", 1'700'000'000), "1699999400");
  EXPECT_EQ(api_timestamp("2023-11-14T22:13:20Z", 0), "1700000000.000000000");
  EXPECT_EQ(api_timestamp("2023-11-14T23:13:20.5+01:00", 0), "1700000000.500000000");
  EXPECT_EQ(api_timestamp("1700000000.25", 0), "1700000000.25");
  EXPECT_EQ(message_of([] { api_timestamp("yesterday", 0); }),
            "failed to parse value as time or duration: \"yesterday\"");
}

TEST(CliContainerValues, ExtraHostsAndMounts) {
  EXPECT_EQ(validate_extra_host("db:10.0.0.1"), "db:10.0.0.1");
  EXPECT_EQ(validate_extra_host("v6=[::1]"), "v6:::1");
  EXPECT_EQ(validate_extra_host("gw:host-gateway"), "gw:host-gateway");
  EXPECT_EQ(message_of([] { validate_extra_host("nohost"); }), "bad format for add-host: \"nohost\"");
  EXPECT_EQ(message_of([] { validate_extra_host("h:999.1.1.1"); }), "invalid IP address in add-host: \"999.1.1.1\"");
  EXPECT_EQ(parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770"),
            (json::object{{"Type", "tmpfs"},
                          {"Target", "/t"},
                          {"TmpfsOptions", json::object{{"SizeBytes", 1 << 20}, {"Mode", 01770}}}}));
  EXPECT_EQ(parse_mount("target=/v,volume-nocopy,volume-label=a=b"),
            (json::object{{"Type", "volume"},
                          {"Target", "/v"},
                          {"VolumeOptions", json::object{{"NoCopy", true},
                                                         {"Labels", json::object{{"a", "b"}}},
                                                         {"DriverConfig", json::object{}}}}}));
  EXPECT_EQ(message_of([] { parse_mount("type=bind,target=/x,volume-nocopy"); }),
            "cannot mix 'volume-*' options with mount type 'bind'");
  EXPECT_EQ(message_of([] { parse_mount("target=/x,bogus=1"); }), "unexpected key 'bogus' in 'bogus=1'");
}

TEST(CliContainerRows, PsColumnsAsDockerShowsThem) {
  json::object c{{"Id", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
                 {"Names", json::array{"/web"}},
                 {"Image", "docker.io/library/busybox:latest"},
                 {"ImageID", "sha256:ffff"},
                 {"Command", "sh -c 'echo \"hello world\" && sleep 100000'"},
                 {"Created", 0},
                 {"State", "exited"},
                 {"Status", "Exited (0) 2 minutes ago"},
                 {"SizeRw", 12},
                 {"SizeRootFs", 4'200'000},
                 {"Labels", json::object{{"b", "2"}, {"a", "1"}}},
                 {"Ports", json::array{json::object{{"PrivatePort", 80}, {"PublicPort", 8080}, {"IP", "0.0.0.0"}, {"Type", "tcp"}},
                                       json::object{{"PrivatePort", 9000}, {"Type", "udp"}},
                                       json::object{{"PrivatePort", 9001}, {"Type", "udp"}}}}};
  auto row = container_row(c, true);
  EXPECT_EQ(row.at("ID"), "0123456789ab");
  EXPECT_EQ(row.at("Names"), "web");
  EXPECT_EQ(row.at("Image"), "busybox:latest");
  EXPECT_EQ(row.at("Command"), "\"sh -c 'echo \\\"hello …\"");
  EXPECT_EQ(row.at("Status"), "Exited (0) 2 minutes ago");
  EXPECT_EQ(row.at("Size"), "12B (virtual 4.2MB)");
  EXPECT_EQ(row.at("Labels"), "a=1,b=2");
  EXPECT_EQ(row.at("Ports"), "9000-9001/udp, 0.0.0.0:8080->80/tcp");
  auto full = container_row(c, false);
  EXPECT_EQ(full.at("Command"), "\"sh -c 'echo \\\"hello world\\\" && sleep 100000'\"");
  EXPECT_EQ(full.at("Image"), "docker.io/library/busybox:latest");
  EXPECT_EQ(displayable_ports(json::array{json::object{{"PrivatePort", 80}, {"PublicPort", 80}, {"IP", "::"}, {"Type", "tcp"}}}),
            "[::]:80->80/tcp");
}

}  // namespace
}  // namespace berth::cli
