#include "berth/core/config.hpp"

#include <gtest/gtest.h>

namespace berth::core {
namespace {

TEST(ConfigFile, ParsesEveryKnownKey) {
  auto layer = parse_config_file(R"({
    "data-root": "/srv/berth", "exec-root": "/run/b", "hosts": ["unix:///run/b/s.sock"],
    "plugin-dirs": ["/opt/p"], "storage-driver": "vfs", "log-driver": "json-file",
    "log-level": "debug", "pidfile": "/run/b/pid", "tls": true, "tlsverify": true,
    "tlscacert": "/c/ca.pem", "tlscert": "/c/cert.pem", "tlskey": "/c/key.pem",
    "insecure-tcp": false,
    "drivers": {"disabled": ["log/local"], "required": ["storage/vfs"],
                "options": {"storage/vfs": {"size": "10G"}}}
  })",
                                 "daemon.json");
  ASSERT_TRUE(layer) << layer.error().message;
  const auto& l = layer.value();
  EXPECT_EQ(*l.data_root, "/srv/berth");
  EXPECT_EQ(l.hosts->size(), 1u);
  EXPECT_EQ(*l.storage_driver, "vfs");
  EXPECT_TRUE(*l.tls_verify);
  ASSERT_TRUE(l.drivers);
  EXPECT_EQ(l.drivers->disabled, std::vector<std::string>{"log/local"});
  EXPECT_EQ(l.drivers->required, std::vector<std::string>{"storage/vfs"});
  EXPECT_EQ(l.drivers->options_json.at("storage/vfs"), R"({"size":"10G"})");
}

struct BadFile {
  const char* text;
  const char* expected;
};

class ConfigFileErrors : public ::testing::TestWithParam<BadFile> {};

TEST_P(ConfigFileErrors, NamesTheProblem) {
  auto layer = parse_config_file(GetParam().text, "/etc/berth/daemon.json");
  ASSERT_FALSE(layer);
  EXPECT_EQ(layer.error().code, Errc::invalid_argument);
  EXPECT_EQ(layer.error().message, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    All, ConfigFileErrors,
    ::testing::Values(
        BadFile{R"({"data-root": "/x",)",
                "/etc/berth/daemon.json: not valid JSON: incomplete JSON"},
        BadFile{R"([1, 2])", "/etc/berth/daemon.json: the top level must be a JSON object"},
        BadFile{R"({"frobnicate": true})", "/etc/berth/daemon.json: unknown key \"frobnicate\""},
        BadFile{R"({"data-root": 7})", "/etc/berth/daemon.json: \"data-root\" must be a string"},
        BadFile{R"({"hosts": "unix:///x"})",
                "/etc/berth/daemon.json: \"hosts\" must be an array of strings"},
        BadFile{R"({"tls": "yes"})", "/etc/berth/daemon.json: \"tls\" must be true or false"},
        BadFile{R"({"drivers": {"enabled": []}})",
                "/etc/berth/daemon.json: unknown key \"drivers.enabled\""},
        BadFile{R"({"drivers": {"required": ["overlay"]}})",
                "/etc/berth/daemon.json: \"drivers.required\": \"overlay\" is not a driver name "
                "(want <storage|net|volume|log>/<id>)"},
        BadFile{R"({"drivers": {"options": {"storage/vfs": 3}}})",
                "/etc/berth/daemon.json: \"drivers.options.storage/vfs\" must be an object"},
        BadFile{R"({"runtimes": []})", "/etc/berth/daemon.json: \"runtimes\" must be an object"},
        BadFile{R"({"runtimes": {"crun": {}}})", "/etc/berth/daemon.json: \"runtimes.crun.path\" must be set"},
        BadFile{R"({"runtimes": {"crun": {"path": "crun", "args": []}}})",
                "/etc/berth/daemon.json: unknown key \"runtimes.crun.args\""},
        BadFile{R"({"runtimes": {"crun": {"path": "crun", "runtimeArgs": "--debug"}}})",
                "/etc/berth/daemon.json: \"runtimes.crun.runtimeArgs\" must be an array of strings"},
        BadFile{R"({"runtimes": {"native": {"path": "runc"}}})",
                "/etc/berth/daemon.json: \"runtimes.native\": the name native is reserved for the built-in runtime"},
        BadFile{R"({"cgroup-parent": 1})", "/etc/berth/daemon.json: \"cgroup-parent\" must be a string"}));

TEST(ConfigFile, RuntimesAndCgroupParent) {
  auto layer = parse_config_file(R"({
    "runtimes": {"crun": {"path": "/usr/bin/crun", "runtimeArgs": ["--root", "/run/crun-b"]}},
    "default-runtime": "crun", "cgroup-parent": "machine/berth"
  })",
                                 "daemon.json");
  ASSERT_TRUE(layer) << layer.error().message;
  auto cfg = resolve_config(layer.value(), {}, "/p");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg.value().default_runtime, "crun");
  EXPECT_EQ(cfg.value().runtimes.at("crun"), (RuntimeConfig{"/usr/bin/crun", {"--root", "/run/crun-b"}}));
  EXPECT_EQ(cfg.value().cgroup_parent, "/machine/berth");
  ConfigLayer unknown_default;
  unknown_default.default_runtime = "kata";
  auto bad = resolve_config({}, unknown_default, "/p");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "default-runtime \"kata\" is not \"native\" or one of \"runtimes\"");
  ConfigLayer escaping;
  escaping.cgroup_parent = "/../escape";
  EXPECT_FALSE(resolve_config({}, escaping, "/p"));
}

TEST(ConfigFile, LogOptsFromTheFileAndTheFlags) {
  auto layer = parse_config_file(R"({"log-driver": "local", "log-opts": {"max-size": "10m", "max-file": "3"}})",
                                 "daemon.json");
  ASSERT_TRUE(layer) << layer.error().message;
  auto cfg = resolve_config(layer.value(), {}, "/p");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg.value().log_driver, "local");
  EXPECT_EQ(cfg.value().log_opts, (std::map<std::string, std::string>{{"max-file", "3"}, {"max-size", "10m"}}));
  EXPECT_TRUE(resolve_config({}, {}, "/p").value().log_opts.empty());

  auto flag_opts = parse_log_opts({"max-size=1k", "compress=false", "labels=a=b"});
  ASSERT_TRUE(flag_opts) << flag_opts.error().message;
  ConfigLayer flags;
  flags.log_opts = flag_opts.value();
  EXPECT_EQ(resolve_config(layer.value(), flags, "/p").value().log_opts,
            (std::map<std::string, std::string>{{"compress", "false"}, {"labels", "a=b"}, {"max-size", "1k"}}));

  EXPECT_EQ(parse_log_opts({"max-size"}).error().message, "invalid --log-opt \"max-size\": want key=value");
  EXPECT_EQ(parse_log_opts({"=1"}).error().message, "invalid --log-opt \"=1\": want key=value");
  EXPECT_EQ(parse_config_file(R"({"log-opts": ["max-size=1k"]})", "d.json").error().message,
            "d.json: \"log-opts\" must be an object of strings");
  EXPECT_EQ(parse_config_file(R"({"log-opts": {"max-file": 3}})", "d.json").error().message,
            "d.json: \"log-opts.max-file\" must be a string");
}

TEST(ConfigFile, MissingDefaultFileIsEmptyButMissingExplicitFileIsAnError) {
  auto missing = load_config_file("/nonexistent/berth-test/daemon.json", false);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing.value().data_root);
  auto required = load_config_file("/nonexistent/berth-test/daemon.json", true);
  ASSERT_FALSE(required);
  EXPECT_EQ(required.error().code, Errc::not_found);
  EXPECT_NE(required.error().message.find("/nonexistent/berth-test/daemon.json"), std::string::npos);
}

TEST(ResolveConfig, FlagsOverrideFileOverridesDefaults) {
  ConfigLayer file, flags;
  file.data_root = "/from/file";
  file.log_level = "warn";
  file.log_driver = "json-file";
  flags.data_root = "/from/flags";
  auto cfg = resolve_config(file, flags, "/usr/lib/berth/plugins");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg.value().data_root, "/from/flags");
  EXPECT_EQ(cfg.value().log_level, "warn");
  EXPECT_EQ(cfg.value().exec_root, "/run/berth");
  EXPECT_EQ(cfg.value().pidfile, "/run/berth/berthd.pid");
  EXPECT_EQ(cfg.value().plugin_dirs, std::vector<std::string>{"/usr/lib/berth/plugins"});
  ASSERT_EQ(cfg.value().hosts.size(), 1u);
  EXPECT_EQ(cfg.value().hosts[0].path, "/run/berth/berth.sock");
}

TEST(ResolveConfig, RejectsBadValues) {
  ConfigLayer none;
  ConfigLayer level;
  level.log_level = "loud";
  EXPECT_FALSE(resolve_config(none, level, "/p"));
  ConfigLayer relative;
  relative.data_root = "var/lib/berth";
  EXPECT_FALSE(resolve_config(none, relative, "/p"));
  ConfigLayer tls;
  tls.tls_verify = true;
  tls.tls_cert = "/c";
  tls.tls_key = "/k";
  auto r = resolve_config(none, tls, "/p");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "--tlsverify needs --tlscacert");
}

TEST(ListenAddress, ParsesUnixAndTcp) {
  auto u = ListenAddress::parse("unix:///run/berth/berth.sock");
  ASSERT_TRUE(u);
  EXPECT_EQ(u.value().kind, ListenAddress::Kind::unix_socket);
  EXPECT_EQ(u.value().path, "/run/berth/berth.sock");
  auto t = ListenAddress::parse("tcp://127.0.0.1:2376");
  ASSERT_TRUE(t);
  EXPECT_EQ(t.value().host, "127.0.0.1");
  EXPECT_EQ(t.value().port, 2376);
  auto v6 = ListenAddress::parse("tcp://[::1]:0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6.value().host, "::1");
  EXPECT_EQ(v6.value().port, 0);
  for (const char* bad : {"http://x:1", "tcp://127.0.0.1", "tcp://127.0.0.1:70000",
                          "tcp://h:12ab", "unix://", "unix://relative/path"}) {
    EXPECT_FALSE(ListenAddress::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace berth::core
