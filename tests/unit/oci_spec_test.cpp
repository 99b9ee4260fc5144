// The OCI spec builder against Docker's behaviour: a fake rootfs with its own
// /etc/passwd and /etc/group, a fake host, and the expectations dockerd's
// config.json and error messages set.
#include "berth/core/container/oci_spec.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "berth/core/container/capabilities.hpp"
#include "berth/core/container/exec_user.hpp"
#include "berth/core/container/seccomp.hpp"

namespace berth::core::container {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::vector<std::string> strings(const json::value& v) {
  std::vector<std::string> out;
  for (const auto& e : v.as_array()) out.emplace_back(e.as_string());
  return out;
}

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

class OciSpec : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-test-ocispec-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    rootfs_ = dir_ + "/rootfs";
    write_file(rootfs_ + "/etc/passwd",
               "root:x:0:0:root:/root:/bin/sh\n"
               "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
               "\n"
               "app:x:1000:1000::/home/app:/bin/sh\n");
    write_file(rootfs_ + "/etc/group",
               "root:x:0:\n"
               "wheel:x:10:root,app\n"
               "staff:x:50:\n"
               "audio:x:29:app\n"
               "app:x:1000:\n");
    fs::create_directories(dir_ + "/dev");
    host_.hostname = "berth-test-host";
    host_.kernel_release = "6.1.0-test";
    host_.go_arch = "amd64";
    host_.ncpu = 2;
    host_.cpuset_cpus = "0-1";
    host_.cpuset_mems = "0";
    host_.cgroup_version = 1;
    host_.capabilities = (CapabilityMask{1} << 41) - 1;
    host_.dev_dir = dir_ + "/dev";
  }
  void TearDown() override { fs::remove_all(dir_); }

  SpecInput input(json::object config = {{"Cmd", json::array{"sh"}}},
                  json::object host_config = {}) {
    SpecInput in;
    in.id = kId;
    in.name = "/berth-test";
    in.config = std::move(config);
    in.host_config = std::move(host_config);
    in.image_config = image_;
    in.rootfs = rootfs_;
    in.host = host_;
    return in;
  }

  json::object spec(const SpecInput& in) {
    auto r = make_spec(in);
    EXPECT_TRUE(r) << r.error().message;
    return r ? r.value() : json::object{};
  }

  std::string spec_error(const SpecInput& in) {
    auto r = make_spec(in);
    EXPECT_FALSE(r);
    return r ? "" : r.error().message;
  }

  static const json::object* mount(const json::object& s, std::string_view dest) {
    for (const auto& m : s.at("mounts").as_array()) {
      if (m.at("destination").as_string() == dest) return &m.as_object();
    }
    return nullptr;
  }

  static std::vector<std::string> mount_destinations(const json::object& s) {
    std::vector<std::string> out;
    for (const auto& m : s.at("mounts").as_array())
      out.emplace_back(m.at("destination").as_string());
    return out;
  }

  static std::vector<std::string> namespace_types(const json::object& s) {
    std::vector<std::string> out;
    for (const auto& n : s.at("linux").at("namespaces").as_array())
      out.emplace_back(n.at("type").as_string());
    return out;
  }

  // Syscalls an unconditional SCMP_ACT_ALLOW entry lets through.
  static std::set<std::string> allowed(const json::object& seccomp) {
    std::set<std::string> out;
    for (const auto& c : seccomp.at("syscalls").as_array()) {
      if (c.at("action") != "SCMP_ACT_ALLOW" || c.as_object().contains("args")) continue;
      for (const auto& n : strings(c.at("names"))) out.insert(n);
    }
    return out;
  }

  std::string dir_, rootfs_;
  SpecHost host_;
  json::object image_;
};

TEST_F(OciSpec, DefaultSpecIsDockers) {
  image_ = {{"Env", json::array{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}}};
  const auto s = spec(input());
  EXPECT_EQ(s.at("ociVersion"), "1.0.2-dev");
  const auto& process = s.at("process").as_object();
  EXPECT_EQ(process.at("terminal"), false);
  EXPECT_EQ(strings(process.at("args")), std::vector<std::string>{"sh"});
  EXPECT_EQ(process.at("cwd"), "/");
  EXPECT_EQ(strings(process.at("env")),
            (std::vector<std::string>{"PATH=/usr/local/bin:/usr/bin:/bin", "HOSTNAME=0123456789ab",
                                      "LANG=C.UTF-8", "HOME=/root"}));
  EXPECT_EQ(process.at("user"), json::parse(R"({"uid":0,"gid":0,"additionalGids":[0,10]})"));
  const std::vector<std::string> docker_caps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  for (const char* set : {"bounding", "effective", "permitted"}) {
    EXPECT_EQ(strings(process.at("capabilities").at(set)), docker_caps) << set;
  }
  EXPECT_FALSE(process.contains("rlimits"));  // none by default: nofile's hard limit may be low
  EXPECT_FALSE(process.contains("noNewPrivileges"));
  EXPECT_EQ(process.at("oomScoreAdj"), 0);

  EXPECT_EQ(s.at("root"), json::parse(R"({"path":")" + rootfs_ + R"(","readonly":false})"));
  EXPECT_EQ(s.at("hostname"), "0123456789ab");
  EXPECT_EQ(mount_destinations(s),
            (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup",
                                      "/dev/mqueue", "/dev/shm"}));
  EXPECT_EQ(*mount(s, "/dev"), json::parse(R"({"destination":"/dev","type":"tmpfs","source":"tmpfs",
      "options":["nosuid","strictatime","mode=755","size=65536k"]})"));
  EXPECT_EQ(strings(mount(s, "/dev/pts")->at("options")),
            (std::vector<std::string>{"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                      "mode=0620", "gid=5"}));
  EXPECT_EQ(strings(mount(s, "/sys")->at("options")),
            (std::vector<std::string>{"nosuid", "noexec", "nodev", "ro"}));
  EXPECT_EQ(mount(s, "/sys/fs/cgroup")->at("type"), "cgroup");
  EXPECT_EQ(strings(mount(s, "/sys/fs/cgroup")->at("options")),
            (std::vector<std::string>{"ro", "nosuid", "noexec", "nodev"}));
  EXPECT_EQ(strings(mount(s, "/dev/shm")->at("options")),
            (std::vector<std::string>{"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}));

  const auto& lx = s.at("linux").as_object();
  EXPECT_EQ(lx.at("cgroupsPath").as_string(), "/berth/" + kId);
  EXPECT_EQ(namespace_types(s),
            (std::vector<std::string>{"mount", "network", "uts", "pid", "ipc"}));
  EXPECT_EQ(strings(lx.at("maskedPaths")),
            (std::vector<std::string>{
                "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"}));
  EXPECT_EQ(strings(lx.at("readonlyPaths")),
            (std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger"}));
  EXPECT_EQ(lx.at("sysctl"), json::parse(R"({"net.ipv4.ping_group_range":"0 2147483647",
      "net.ipv4.ip_unprivileged_port_start":"0"})"));
  const auto& rules = lx.at("resources").at("devices").as_array();
  ASSERT_EQ(rules.size(), 8u);
  EXPECT_EQ(rules[0], json::parse(R"({"allow":false,"access":"rwm"})"));
  EXPECT_EQ(rules[7],
            json::parse(R"({"allow":false,"type":"c","major":10,"minor":229,"access":"rwm"})"));
  EXPECT_FALSE(lx.at("resources").as_object().contains("memory"));
  EXPECT_FALSE(lx.contains("devices"));
  EXPECT_EQ(lx.at("seccomp").at("defaultAction"), "SCMP_ACT_ERRNO");
}

TEST_F(OciSpec, EnvironmentFollowsDocker) {
  image_ = {{"Env", json::array{"PATH=/image/bin", "A=image", "B=image"}}};
  auto s = spec(input(
      {{"Cmd", json::array{"sh"}}, {"Tty", true}, {"Env", json::array{"A=mine", "HOME=/h", "C"}}}));
  EXPECT_EQ(strings(s.at("process").at("env")),
            (std::vector<std::string>{"PATH=/image/bin", "HOSTNAME=0123456789ab", "TERM=xterm",
                                      "A=mine", "HOME=/h", "B=image"}));
  EXPECT_EQ(s.at("process").at("terminal"), true);

  // No PATH anywhere: Docker's default. "PATH" alone unsets it.
  image_ = {};
  s = spec(input({{"Cmd", json::array{"sh"}}}));
  EXPECT_EQ(strings(s.at("process").at("env")).front(),
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  s = spec(input({{"Cmd", json::array{"sh"}}, {"Env", json::array{"PATH"}}}));
  EXPECT_EQ(strings(s.at("process").at("env")),
            (std::vector<std::string>{"HOSTNAME=0123456789ab", "HOME=/root"}));

  s = spec(
      input({{"Cmd", json::array{"sh"}}, {"Tty", true}}, {{"ConsoleSize", json::array{40, 120}}}));
  EXPECT_EQ(s.at("process").at("consoleSize"), json::parse(R"({"height":40,"width":120})"));
}

struct MergeCase {
  const char* name;
  const char* request;  // Config
  const char* image;    // image config
  const char* path;     // expected Path, or the error
  std::vector<std::string> args;
};

class MergeRules : public ::testing::TestWithParam<MergeCase> {};

TEST_P(MergeRules, EntrypointAndCmd) {
  const auto& c = GetParam();
  auto merged =
      merge_image_config(json::parse(c.request).as_object(), json::parse(c.image).as_object());
  if (!merged) {
    EXPECT_EQ(merged.error().message, c.path);
    EXPECT_EQ(merged.error().code, Errc::invalid_argument);
    return;
  }
  EXPECT_EQ(merged.value().path, c.path);
  EXPECT_EQ(merged.value().args, c.args);
}

INSTANTIATE_TEST_SUITE_P(
    Docker, MergeRules,
    ::testing::Values(
        MergeCase{"image_both", "{}", R"({"Entrypoint":["/ep"],"Cmd":["a"]})", "/ep", {"a"}},
        MergeCase{"cmd_replaces_image_cmd",
                  R"({"Cmd":["b","c"]})",
                  R"({"Entrypoint":["/ep"],"Cmd":["a"]})",
                  "/ep",
                  {"b", "c"}},
        MergeCase{"entrypoint_drops_image_cmd",
                  R"({"Entrypoint":["/x"]})",
                  R"({"Entrypoint":["/ep"],"Cmd":["a"]})",
                  "/x",
                  {}},
        MergeCase{"entrypoint_and_cmd",
                  R"({"Entrypoint":"/x","Cmd":["c"]})",
                  R"({"Cmd":["a"]})",
                  "/x",
                  {"c"}},
        MergeCase{"empty_entrypoint_means_none",
                  R"({"Entrypoint":[""],"Cmd":["sh"]})",
                  R"({"Entrypoint":["/ep"],"Cmd":["a"]})",
                  "sh",
                  {}},
        MergeCase{"empty_entrypoint_alone",
                  R"({"Entrypoint":[""]})",
                  R"({"Entrypoint":["/ep"],"Cmd":["a"]})",
                  "No command specified",
                  {}},
        MergeCase{"entrypoint_empty_array_keeps_image_cmd",
                  R"({"Entrypoint":[]})",
                  R"({"Entrypoint":["/ep"],"Cmd":["a"]})",
                  "a",
                  {}},
        MergeCase{"nothing", "{}", "{}", "No command specified", {}},
        MergeCase{"bad_env",
                  R"({"Cmd":["x"],"Env":["=oops"]})",
                  "{}",
                  "invalid environment variable: =oops",
                  {}},
        MergeCase{"relative_workdir",
                  R"({"Cmd":["x"],"WorkingDir":"tmp"})",
                  "{}",
                  "the working directory 'tmp' is invalid, it needs to be an absolute path",
                  {}}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(MergeImageConfig, FillsFromTheImage) {
  auto merged = merge_image_config(
      json::parse(R"({"Cmd":["x"],"Env":["A=1"],"Labels":{"l":"mine"},"ExposedPorts":{"80/tcp":{}},
                      "Healthcheck":{"Test":["CMD","true"]}})")
          .as_object(),
      json::parse(R"({"User":"app","WorkingDir":"/srv","StopSignal":"SIGQUIT","Env":["A=2","B=2"],
                      "Labels":{"l":"image","m":"image"},"ExposedPorts":{"443/tcp":{}},"Volumes":{"/data":{}},
                      "Healthcheck":{"Test":["CMD","false"],"Interval":5000000000,"Retries":3}})")
          .as_object());
  ASSERT_TRUE(merged) << merged.error().message;
  const auto& c = merged.value().config;
  EXPECT_EQ(merged.value().user, "app");
  EXPECT_EQ(merged.value().working_dir, "/srv");
  EXPECT_EQ(c.at("StopSignal"), "SIGQUIT");
  EXPECT_EQ(merged.value().env, (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_EQ(c.at("Labels"), json::parse(R"({"l":"mine","m":"image"})"));
  EXPECT_EQ(c.at("ExposedPorts"), json::parse(R"({"80/tcp":{},"443/tcp":{}})"));
  EXPECT_EQ(c.at("Volumes"), json::parse(R"({"/data":{}})"));
  EXPECT_EQ(c.at("Healthcheck"),
            json::parse(R"({"Test":["CMD","true"],"Interval":5000000000,"Retries":3})"));
  EXPECT_EQ(c.at("Entrypoint"), nullptr);
  EXPECT_EQ(c.at("Cmd"), json::parse(R"(["x"])"));
}

TEST_F(OciSpec, UserResolvedInTheImage) {
  auto user = [&](const std::string& u, json::array group_add = {}) {
    return spec(input({{"Cmd", json::array{"sh"}}, {"User", u}}, {{"GroupAdd", group_add}}))
        .at("process");
  };
  auto p = user("app");
  EXPECT_EQ(p.at("user"), json::parse(R"({"uid":1000,"gid":1000,"additionalGids":[1000,10,29]})"));
  EXPECT_EQ(strings(p.at("env")).back(), "HOME=/home/app");
  EXPECT_EQ(user("1000:staff").at("user"),
            json::parse(R"({"uid":1000,"gid":50,"additionalGids":[50]})"));
  EXPECT_EQ(user("4242").at("user"), json::parse(R"({"uid":4242,"gid":0,"additionalGids":[0]})"));
  EXPECT_EQ(strings(user("4242").at("env")).back(), "HOME=/");
  EXPECT_EQ(user("4242:4343").at("user"),
            json::parse(R"({"uid":4242,"gid":4343,"additionalGids":[4343]})"));
  EXPECT_EQ(user("daemon", json::array{"staff", "77", "staff"}).at("user"),
            json::parse(R"({"uid":1,"gid":1,"additionalGids":[1,50,77]})"));

  auto error = [&](const std::string& u, json::array group_add = {}) {
    return spec_error(input({{"Cmd", json::array{"sh"}}, {"User", u}}, {{"GroupAdd", group_add}}));
  };
  EXPECT_EQ(error("nobody"), "unable to find user nobody: no matching entries in passwd file");
  EXPECT_EQ(error("app:nogroup"),
            "unable to find group nogroup: no matching entries in group file");
  EXPECT_EQ(error("app", json::array{"video"}),
            "Unable to find group video: no matching entries in group file");
  EXPECT_EQ(error("-1"), "uids and gids must be in range 0-2147483647");

  // The image's user from its config.
  image_ = {{"User", "app"}};
  EXPECT_EQ(spec(input()).at("process").at("user").at("uid"), 1000);
}

TEST_F(OciSpec, PasswdIsReadInsideTheRootfs) {
  // An absolute symlink resolves against the rootfs, ".." cannot leave it.
  fs::rename(rootfs_ + "/etc/passwd", rootfs_ + "/etc/passwd.real");
  fs::create_symlink("/etc/../../../../etc/passwd.real", rootfs_ + "/etc/passwd");
  auto resolved = resolve_in_root(rootfs_, "/etc/passwd");
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(resolved.value(), rootfs_ + "/etc/passwd.real");
  EXPECT_EQ(
      spec(input({{"Cmd", json::array{"sh"}}, {"User", "app"}})).at("process").at("user").at("uid"),
      1000);

  // No passwd at all (FROM scratch): numeric users only.
  fs::remove(rootfs_ + "/etc/passwd");
  fs::remove(rootfs_ + "/etc/passwd.real");
  auto root = resolve_exec_user(rootfs_, "");
  ASSERT_TRUE(root);
  EXPECT_EQ(root.value().uid, 0u);
  EXPECT_EQ(root.value().home, "/");
  EXPECT_FALSE(resolve_exec_user(rootfs_, "app"));
  EXPECT_EQ(resolve_exec_user(rootfs_, "7:8").value().gid, 8u);
}

TEST_F(OciSpec, CapabilitiesAddDropAll) {
  auto caps = [&](json::array add, json::array drop) {
    return strings(spec(input({{"Cmd", json::array{"sh"}}}, {{"CapAdd", add}, {"CapDrop", drop}}))
                       .at("process")
                       .at("capabilities")
                       .at("bounding"));
  };
  auto c = caps({"net_admin", "CAP_SYS_ADMIN"}, {"chown", "CAP_KILL"});
  EXPECT_EQ(c.size(), 14u);
  EXPECT_EQ(std::count(c.begin(), c.end(), "CAP_CHOWN"), 0);
  EXPECT_EQ(std::count(c.begin(), c.end(), "CAP_KILL"), 0);
  EXPECT_EQ(c[c.size() - 2], "CAP_NET_ADMIN");
  EXPECT_EQ(c.back(), "CAP_SYS_ADMIN");
  EXPECT_EQ(caps({"chown"}, {"ALL"}), std::vector<std::string>{"CAP_CHOWN"});
  EXPECT_EQ(caps({"all"}, {"SYS_ADMIN"}).size(), 40u);
  EXPECT_EQ(caps({"CHOWN"}, {}).size(), 14u);  // already there: no duplicate

  EXPECT_EQ(spec_error(input({{"Cmd", json::array{"sh"}}}, {{"CapAdd", json::array{"FOO"}}})),
            "invalid CapAdd: unknown capability: \"CAP_FOO\"");
  EXPECT_EQ(spec_error(input({{"Cmd", json::array{"sh"}}}, {{"CapDrop", json::array{"cap_bar"}}})),
            "invalid CapDrop: unknown capability: \"CAP_BAR\"");
  // A capability the daemon itself lacks (root without CAP_SYS_RESOURCE).
  host_.capabilities &= ~(CapabilityMask{1} << *capability_number("CAP_SYS_RESOURCE"));
  EXPECT_EQ(
      spec_error(input({{"Cmd", json::array{"sh"}}}, {{"CapAdd", json::array{"SYS_RESOURCE"}}})),
      "invalid CapAdd: capability not supported by your kernel or not available in the current "
      "environment: \"CAP_SYS_RESOURCE\"");
  EXPECT_EQ(caps({"ALL"}, {}).size(), 40u);
}

TEST_F(OciSpec, PrivilegedLoosensEverything) {
  host_.capabilities &= ~(CapabilityMask{1} << *capability_number("CAP_SYS_RESOURCE"));
  // A device node to find: this test may run without root, so use the host's
  // own /dev for the one node every Linux has.
  host_.dev_dir = "/dev";
  const auto s = spec(input({{"Cmd", json::array{"sh"}}}, {{"Privileged", true}}));
  const auto caps = strings(s.at("process").at("capabilities").at("bounding"));
  EXPECT_EQ(caps.size(), 40u);
  EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_SYS_RESOURCE"), 0);
  EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_SYS_ADMIN"), 1);
  const auto& lx = s.at("linux").as_object();
  EXPECT_FALSE(lx.contains("seccomp"));
  EXPECT_FALSE(lx.contains("maskedPaths"));
  EXPECT_FALSE(lx.contains("readonlyPaths"));
  EXPECT_EQ(strings(mount(s, "/sys")->at("options")),
            (std::vector<std::string>{"nosuid", "noexec", "nodev"}));
  EXPECT_EQ(strings(mount(s, "/sys/fs/cgroup")->at("options")),
            (std::vector<std::string>{"nosuid", "noexec", "nodev"}));
  EXPECT_EQ(lx.at("resources").at("devices"), json::parse(R"([{"allow":true,"access":"rwm"}])"));
  bool null_found = false;
  for (const auto& d : lx.at("devices").as_array()) {
    EXPECT_NE(d.at("path"), "/dev/console");
    if (d.at("path") == "/dev/null") {
      null_found = true;
      EXPECT_EQ(d.at("type"), "c");
      EXPECT_EQ(d.at("major"), 1);
      EXPECT_EQ(d.at("minor"), 3);
    }
  }
  EXPECT_TRUE(null_found);
}

TEST_F(OciSpec, DefaultSeccompProfile) {
  auto s = spec(input());
  const auto& seccomp = s.at("linux").at("seccomp").as_object();
  EXPECT_EQ(seccomp.at("defaultAction"), "SCMP_ACT_ERRNO");
  EXPECT_EQ(seccomp.at("defaultErrnoRet"), 1);
  EXPECT_EQ(strings(seccomp.at("architectures")),
            (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  auto ok = allowed(seccomp);
  EXPECT_TRUE(ok.contains("read"));
  EXPECT_TRUE(ok.contains("arch_prctl"));  // amd64 only
  EXPECT_TRUE(ok.contains("ptrace"));      // minKernel 4.8
  EXPECT_FALSE(ok.contains("kexec_load"));
  EXPECT_FALSE(ok.contains("mount"));
  EXPECT_FALSE(ok.contains("riscv_flush_icache"));
  // clone only without namespace flags, clone3 refused with ENOSYS.
  bool clone_masked = false, clone3_enosys = false;
  for (const auto& c : seccomp.at("syscalls").as_array()) {
    const auto names = strings(c.at("names"));
    if (names == std::vector<std::string>{"clone"} && c.as_object().contains("args")) {
      clone_masked = c.at("args").at(0) ==
                     json::parse(R"({"index":0,"value":2114060288,"op":"SCMP_CMP_MASKED_EQ"})");
    }
    if (names == std::vector<std::string>{"clone3"} && c.at("action") == "SCMP_ACT_ERRNO") {
      clone3_enosys = c.at("errnoRet") == 38;
    }
  }
  EXPECT_TRUE(clone_masked);
  EXPECT_TRUE(clone3_enosys);

  // CAP_SYS_ADMIN opens mount & co and drops the clone restrictions.
  s = spec(input({{"Cmd", json::array{"sh"}}}, {{"CapAdd", json::array{"SYS_ADMIN"}}}));
  ok = allowed(s.at("linux").at("seccomp").as_object());
  EXPECT_TRUE(ok.contains("mount"));
  EXPECT_TRUE(ok.contains("unshare"));
  EXPECT_TRUE(ok.contains("clone"));
  EXPECT_FALSE(ok.contains("kexec_load"));

  // An old kernel: ptrace was only safe from 4.8 on.
  host_.kernel_release = "4.4.0-generic";
  EXPECT_FALSE(allowed(spec(input()).at("linux").at("seccomp").as_object()).contains("ptrace"));

  // Another architecture.
  auto arm = seccomp_to_oci(default_seccomp_profile(), {}, {"arm64", "6.1.0"});
  ASSERT_TRUE(arm) << arm.error().message;
  EXPECT_EQ(strings(arm.value()->at("architectures")),
            (std::vector<std::string>{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
  EXPECT_TRUE(allowed(*arm.value()).contains("set_tls"));
  EXPECT_FALSE(allowed(*arm.value()).contains("arch_prctl"));
}

TEST_F(OciSpec, SeccompOptions) {
  auto with = [&](std::vector<std::string> opts) {
    json::array a;
    for (auto& o : opts) a.emplace_back(o);
    return input({{"Cmd", json::array{"sh"}}}, {{"SecurityOpt", a}});
  };
  EXPECT_FALSE(spec(with({"seccomp=unconfined"})).at("linux").as_object().contains("seccomp"));
  EXPECT_EQ(spec(with({"seccomp=builtin"})).at("linux").at("seccomp"),
            spec(input()).at("linux").at("seccomp"));
  // The docker CLI sends the file's content.
  const auto custom = spec(with({R"(seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
      {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]})"}));
  EXPECT_EQ(custom.at("linux").at("seccomp"),
            json::parse(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]})"));
  EXPECT_TRUE(
      spec_error(with({"seccomp={not json"})).starts_with("Decoding seccomp profile failed: "));
  EXPECT_EQ(spec_error(with(
                {R"(seccomp={"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],
      "archMap":[{"architecture":"SCMP_ARCH_X86_64"}]})"})),
            "'architectures' and 'archMap' were specified in the seccomp profile, use either "
            "'architectures' or "
            "'archMap'");

  // The daemon's own choice applies when the container names none.
  auto in = input();
  in.default_seccomp_profile = "unconfined";
  EXPECT_FALSE(spec(in).at("linux").as_object().contains("seccomp"));

  EXPECT_EQ(spec(with({"no-new-privileges"})).at("process").at("noNewPrivileges"), true);
  EXPECT_EQ(spec(with({"no-new-privileges=true"})).at("process").at("noNewPrivileges"), true);
  in = with({"no-new-privileges:false"});
  in.default_no_new_privileges = true;
  EXPECT_FALSE(spec(in).at("process").as_object().contains("noNewPrivileges"));
  // Accepted and ignored (logged): no AppArmor or SELinux here.
  EXPECT_FALSE(spec(with({"apparmor=docker-default", "label=disable"})).empty());
  EXPECT_EQ(spec_error(with({"nonsense"})), "invalid --security-opt 1: \"nonsense\"");
  EXPECT_EQ(spec_error(with({"foo=bar"})), "invalid --security-opt 2: \"foo=bar\"");
  EXPECT_EQ(spec_error(with({"no-new-privileges=maybe"})),
            "invalid --security-opt 2: \"no-new-privileges=maybe\"");
}

struct ResourceCase {
  const char* name;
  const char* host_config;
  const char* error;
};

class ResourceErrors : public OciSpec, public ::testing::WithParamInterface<ResourceCase> {};

TEST_P(ResourceErrors, DockersMessage) {
  auto in = input({{"Cmd", json::array{"sh"}}}, json::parse(GetParam().host_config).as_object());
  auto r = make_spec(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, GetParam().error);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(
    Docker, ResourceErrors,
    ::testing::Values(
        ResourceCase{"memory", R"({"Memory":1048576})", "Minimum memory limit allowed is 6MB"},
        ResourceCase{"swap", R"({"Memory":67108864,"MemorySwap":33554432})",
                     "Minimum memoryswap limit should be larger than memory limit, see usage."},
        ResourceCase{
            "swap_alone", R"({"MemorySwap":67108864})",
            "You should always set the Memory limit when using Memoryswap limit, see usage"},
        ResourceCase{"reservation", R"({"MemoryReservation":1024})",
                     "Minimum memory reservation allowed is 6MB"},
        ResourceCase{
            "reservation_above", R"({"Memory":67108864,"MemoryReservation":134217728})",
            "Minimum memory limit can not be less than memory reservation limit, see usage"},
        ResourceCase{"swappiness", R"({"MemorySwappiness":101})",
                     "Invalid value: 101, valid memory swappiness range is 0-100"},
        ResourceCase{"cpus", R"({"NanoCpus":3000000000})",
                     "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"},
        ResourceCase{"cpus_negative", R"({"NanoCpus":-1})",
                     "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"},
        ResourceCase{"cpus_and_period", R"({"NanoCpus":1000000000,"CpuPeriod":50000})",
                     "Conflicting options: Nano CPUs and CPU Period cannot both be set"},
        ResourceCase{
            "period", R"({"CpuPeriod":100})",
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"},
        ResourceCase{"quota", R"({"CpuQuota":10})",
                     "CPU cfs quota can not be less than 1ms (i.e. 1000)"},
        ResourceCase{"cpuset_format", R"({"CpusetCpus":"0-x"})",
                     "Invalid value 0-x for cpuset cpus: invalid format: 0-x"},
        ResourceCase{"cpuset_unavailable", R"({"CpusetCpus":"1-3"})",
                     "Requested CPUs are not available - requested 1-3, available: 0-1"},
        ResourceCase{"mems_unavailable", R"({"CpusetMems":"1"})",
                     "Requested memory nodes are not available - requested 1, available: 0"},
        ResourceCase{"blkio", R"({"BlkioWeight":5})", "Range of blkio weight is from 10 to 1000"},
        ResourceCase{"shm", R"({"ShmSize":-1})", "SHM size can not be less than 0"},
        ResourceCase{"oom_score", R"({"OomScoreAdj":1001})",
                     "Invalid value 1001, range for oom score adj is [-1000, 1000]"},
        ResourceCase{"ipc_mode", R"({"IpcMode":"weird"})", "invalid IPC mode: weird"},
        ResourceCase{"pid_mode", R"({"PidMode":"container:"})", "invalid PID mode: container:"},
        ResourceCase{"uts_mode", R"({"UTSMode":"private"})", "invalid UTS mode: private"},
        ResourceCase{"cgroupns", R"({"CgroupnsMode":"shared"})",
                     "invalid cgroup namespace mode: shared"},
        ResourceCase{"ulimit_type", R"({"Ulimits":[{"Name":"files","Soft":1,"Hard":2}]})",
                     "invalid ulimit type: files"},
        ResourceCase{"ulimit_order", R"({"Ulimits":[{"Name":"nofile","Soft":4096,"Hard":1024}]})",
                     "ulimit soft limit must be less than or equal to hard limit: 4096 > 1024"},
        ResourceCase{"sysctl_host_wide", R"({"Sysctls":{"vm.swappiness":"10"}})",
                     "sysctl \"vm.swappiness\" is not in a separate kernel namespace"},
        ResourceCase{"sysctl_host_net",
                     R"({"NetworkMode":"host","Sysctls":{"net.ipv4.ip_forward":"1"}})",
                     "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace"},
        ResourceCase{"sysctl_host_ipc", R"({"IpcMode":"host","Sysctls":{"kernel.shmmax":"1"}})",
                     "sysctl \"kernel.shmmax\" is not allowed in the hosts ipc namespace"},
        ResourceCase{"bind_spec", R"({"Binds":["/a:/b:/c:/d"]})",
                     "invalid volume specification: '/a:/b:/c:/d'"},
        ResourceCase{"bind_mode", R"({"Binds":["/a:/b:rx"]})", "invalid mode: rx"},
        ResourceCase{"bind_relative", R"({"Binds":["/a:b"]})",
                     "invalid volume specification: '/a:b': invalid mount config for type "
                     "\"bind\": invalid mount "
                     "path: 'b' mount path must be absolute"},
        ResourceCase{"duplicate_mount", R"({"Binds":["/a:/data","/b:/data/"]})",
                     "Duplicate mount point: /data"},
        ResourceCase{"tmpfs_option", R"({"Tmpfs":{"/run":"size"}})",
                     "Invalid tmpfs option [\"size\"]"},
        ResourceCase{
            "mount_source",
            R"({"Mounts":[{"Type":"bind","Source":"/berth-test-no-such-dir","Target":"/x"}]})",
            "invalid mount config for type \"bind\": bind source path does not exist: "
            "/berth-test-no-such-dir"},
        ResourceCase{"device",
                     R"({"Devices":[{"PathOnHost":"/dev/berth-test-nope","PathInContainer":"/dev/x",
                     "CgroupPermissions":"rwm"}]})",
                     "error gathering device information while adding custom device "
                     "\"/dev/berth-test-nope\": "
                     "no such file or directory"},
        ResourceCase{"device_rule", R"({"DeviceCgroupRules":["c 1:3"]})",
                     "invalid device cgroup format 'c 1:3'"},
        ResourceCase{"wrong_type", R"({"Memory":"lots"})",
                     "HostConfig.Memory: expected an integer"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST_F(OciSpec, ResourcesBecomeLinuxResources) {
  auto s = spec(
      input({{"Cmd", json::array{"sh"}}},
            json::parse(R"({"Memory":67108864,"MemoryReservation":33554432,"NanoCpus":1500000000,
                          "CpuShares":512,"CpusetCpus":"0-1","CpusetMems":"0","PidsLimit":100,"OomKillDisable":true,
                          "BlkioWeight":300,"MemorySwappiness":10,
                          "Ulimits":[{"Name":"nofile","Soft":1024,"Hard":2048}]})")
                .as_object()));
  auto resources = s.at("linux").at("resources").as_object();
  resources.erase("devices");
  EXPECT_EQ(resources, json::parse(R"({
      "memory":{"limit":67108864,"reservation":33554432,"swap":134217728,"swappiness":10,"disableOOMKiller":true},
      "cpu":{"shares":512,"quota":150000,"period":100000,"cpus":"0-1","mems":"0"},
      "pids":{"limit":100},"blockIO":{"weight":300}})"));
  EXPECT_EQ(s.at("process").at("rlimits"),
            json::parse(R"([{"type":"RLIMIT_NOFILE","hard":2048,"soft":1024}])"));

  // Explicit period and quota; -1 swap is unlimited; the daemon's ulimits fill in.
  auto in =
      input({{"Cmd", json::array{"sh"}}},
            json::parse(R"({"Memory":67108864,"MemorySwap":-1,"CpuPeriod":50000,"CpuQuota":25000,
                      "PidsLimit":0,"Ulimits":[{"Name":"nofile","Soft":100,"Hard":200}]})")
                .as_object());
  in.default_ulimits = json::parse(R"({"nofile":{"Name":"nofile","Soft":9,"Hard":9},
                                       "nproc":{"Name":"nproc","Soft":64,"Hard":128}})")
                           .as_object();
  s = spec(in);
  resources = s.at("linux").at("resources").as_object();
  EXPECT_EQ(resources.at("memory"), json::parse(R"({"limit":67108864})"));
  EXPECT_EQ(resources.at("cpu"), json::parse(R"({"period":50000,"quota":25000})"));
  EXPECT_FALSE(resources.contains("pids"));
  EXPECT_EQ(s.at("process").at("rlimits"),
            json::parse(R"([{"type":"RLIMIT_NOFILE","hard":200,"soft":100},
      {"type":"RLIMIT_NPROC","hard":128,"soft":64}])"));
}

TEST_F(OciSpec, AdaptFillsDockersDefaults) {
  json::object config{{"Cmd", json::array{"sh"}}};
  json::object hc{{"Memory", 67108864}, {"MemorySwappiness", 20}};
  host_.swap_limit = false;
  host_.cgroup_version = 2;
  auto warnings = adapt_create_request(config, hc, kId, host_);
  ASSERT_TRUE(warnings) << warnings.error().message;
  EXPECT_EQ(config.at("Hostname"), "0123456789ab");
  EXPECT_EQ(hc.at("ShmSize"), 67108864);
  EXPECT_EQ(hc.at("MemorySwap"), -1);  // no swap accounting here
  EXPECT_EQ(hc.at("MemorySwappiness"), nullptr);
  EXPECT_EQ(hc.at("OomKillDisable"), false);
  EXPECT_EQ(hc.at("IpcMode"), "private");
  EXPECT_EQ(hc.at("CgroupnsMode"), "private");
  ASSERT_EQ(warnings.value().size(), 2u);
  EXPECT_EQ(warnings.value()[0],
            "Your kernel does not support swap limit capabilities or the cgroup is not mounted. "
            "Memory limited "
            "without swap.");

  // Twice the memory by default where swap is accounted; the host's name
  // under --network host.
  host_.swap_limit = true;
  json::object config2{{"Cmd", json::array{"sh"}}};
  json::object hc2{{"Memory", 67108864}, {"NetworkMode", "host"}};
  ASSERT_TRUE(adapt_create_request(config2, hc2, kId, host_));
  EXPECT_EQ(hc2.at("MemorySwap"), 134217728);
  EXPECT_EQ(config2.at("Hostname"), "berth-test-host");
}

TEST_F(OciSpec, ReadonlyRootfs) {
  auto in = input({{"Cmd", json::array{"sh"}}}, {{"ReadonlyRootfs", true}});
  write_file(dir_ + "/hosts", "127.0.0.1 localhost\n");
  in.hosts_path = dir_ + "/hosts";
  in.hostname_path = dir_ + "/hostname";
  in.resolv_conf_path = dir_ + "/resolv.conf";
  const auto s = spec(in);
  EXPECT_EQ(s.at("root").at("readonly"), true);
  EXPECT_EQ(*mount(s, "/etc/hosts"),
            json::parse(R"({"destination":"/etc/hosts","type":"bind","source":")" + dir_ +
                        R"(/hosts","options":["rbind","ro","rprivate"]})"));
  EXPECT_EQ(strings(mount(s, "/etc/resolv.conf")->at("options")),
            (std::vector<std::string>{"rbind", "ro", "rprivate"}));
  // The writable kernel filesystems stay writable.
  EXPECT_EQ(strings(mount(s, "/dev/mqueue")->at("options")),
            (std::vector<std::string>{"nosuid", "noexec", "nodev"}));
  EXPECT_EQ(strings(mount(spec(input()), "/sys/fs/cgroup")->at("options")).front(), "ro");

  // Without --read-only the network files are writable, and they follow
  // Docker's order: defaults first, then by depth.
  in.host_config = {};
  const auto rw = spec(in);
  EXPECT_EQ(strings(mount(rw, "/etc/hosts")->at("options")),
            (std::vector<std::string>{"rbind", "rprivate"}));
  const auto dests = mount_destinations(rw);
  EXPECT_EQ(std::vector<std::string>(dests.end() - 3, dests.end()),
            (std::vector<std::string>{"/etc/resolv.conf", "/etc/hostname", "/etc/hosts"}));
}

TEST_F(OciSpec, NetworkAndNamespaceModes) {
  auto s = spec(input({{"Cmd", json::array{"sh"}}}, {{"NetworkMode", "host"}}));
  EXPECT_EQ(namespace_types(s), (std::vector<std::string>{"mount", "uts", "pid", "ipc"}));
  EXPECT_EQ(s.at("hostname"), "berth-test-host");
  EXPECT_EQ(strings(s.at("process").at("env"))[1], "HOSTNAME=berth-test-host");
  EXPECT_TRUE(s.at("linux").at("sysctl").as_object().empty());

  auto in = input({{"Cmd", json::array{"sh"}}}, {{"NetworkMode", "none"}});
  in.netns_path = "/run/berth-test/netns";
  s = spec(in);
  EXPECT_EQ(s.at("linux").at("namespaces").at(1),
            json::parse(R"({"type":"network","path":"/run/berth-test/netns"})"));
  in.netns_path = "host";
  EXPECT_EQ(namespace_types(spec(in)).size(), 4u);

  in = input({{"Cmd", json::array{"sh"}}}, {{"NetworkMode", "container:web"}});
  EXPECT_EQ(spec_error(in),
            "network mode container:web: the joined container's namespace path is missing");
  in.netns_path = "/proc/42/ns/net";
  s = spec(in);
  EXPECT_EQ(s.at("linux").at("namespaces").at(1).at("path"), "/proc/42/ns/net");
  EXPECT_TRUE(s.at("linux").at("sysctl").as_object().empty());

  in = input(
      {{"Cmd", json::array{"sh"}}, {"Hostname", "web"}, {"Domainname", "example.org"}},
      {{"IpcMode", "host"}, {"PidMode", "host"}, {"UTSMode", "host"}, {"CgroupnsMode", "private"}});
  s = spec(in);
  EXPECT_EQ(namespace_types(s), (std::vector<std::string>{"mount", "network", "cgroup"}));
  EXPECT_FALSE(s.contains("hostname"));
  EXPECT_EQ(*mount(s, "/dev/shm"),
            json::parse(R"({"destination":"/dev/shm","type":"bind","source":"/dev/shm",
      "options":["rbind","rprivate"]})"));
  EXPECT_EQ(s.at("linux").at("sysctl").at("kernel.domainname"), "example.org");

  in = input({{"Cmd", json::array{"sh"}}}, {{"IpcMode", "none"}, {"PidMode", "container:db"}});
  EXPECT_EQ(spec_error(in),
            "PID mode container:db: the joined container's namespace path is missing");
  in.pid_ns_path = "/proc/7/ns/pid";
  s = spec(in);
  EXPECT_EQ(mount(s, "/dev/shm"), nullptr);
  EXPECT_EQ(s.at("linux").at("namespaces").at(3),
            json::parse(R"({"type":"pid","path":"/proc/7/ns/pid"})"));

  in = input({{"Cmd", json::array{"sh"}}}, {{"IpcMode", "container:db"}});
  in.ipc_ns_path = "/proc/7/ns/ipc";
  in.shm_path = "/proc/7/root/dev/shm";
  s = spec(in);
  EXPECT_EQ(s.at("linux").at("namespaces").at(4).at("path"), "/proc/7/ns/ipc");
  EXPECT_EQ(mount(s, "/dev/shm")->at("source"), "/proc/7/root/dev/shm");

  in = input({{"Cmd", json::array{"sh"}}},
             {{"CgroupParent", "/custom/"}, {"Sysctls", {{"net.core.somaxconn", "1024"}}}});
  s = spec(in);
  EXPECT_EQ(s.at("linux").at("cgroupsPath").as_string(), "/custom/" + kId);
  EXPECT_EQ(s.at("linux").at("sysctl").at("net.core.somaxconn"), "1024");
}

TEST_F(OciSpec, MountsDevicesAndInit) {
  const std::string src = dir_ + "/src";
  fs::create_directories(src);
  auto in =
      input({{"Cmd", json::array{"sh"}}, {"WorkingDir", "/srv/./app/"}},
            {{"Binds", json::array{src + ":/data/deep:ro", src + ":/data:rshared,z"}},
             {"Mounts",
              json::array{json::object{{"Type", "tmpfs"},
                                       {"Target", "/cache"},
                                       {"TmpfsOptions", {{"SizeBytes", 1048576}, {"Mode", 0700}}}},
                          json::object{{"Type", "bind"},
                                       {"Source", src},
                                       {"Target", "/dev/shm"},
                                       {"BindOptions", {{"NonRecursive", true}}}}}},
             {"Tmpfs", {{"/run", "size=1m,exec,size=2m"}}},
             {"Devices", json::array{json::object{{"PathOnHost", "/dev/null"},
                                                  {"PathInContainer", "/dev/mynull"},
                                                  {"CgroupPermissions", "rw"}}}},
             {"DeviceCgroupRules", json::array{"c 10:* rwm"}},
             {"Init", true},
             {"Annotations", {{"org.example", "1"}}}});
  in.init_path = "/usr/bin/berth-test-init";
  const auto s = spec(in);
  EXPECT_EQ(s.at("process").at("cwd"), "/srv/app");
  EXPECT_EQ(strings(s.at("process").at("args")),
            (std::vector<std::string>{"/sbin/docker-init", "--", "sh"}));
  EXPECT_EQ(*mount(s, "/sbin/docker-init"),
            json::parse(R"({"destination":"/sbin/docker-init","type":"bind",
      "source":"/usr/bin/berth-test-init","options":["bind","ro"]})"));
  EXPECT_EQ(strings(mount(s, "/data/deep")->at("options")),
            (std::vector<std::string>{"rbind", "ro", "rprivate"}));
  EXPECT_EQ(strings(mount(s, "/data")->at("options")),
            (std::vector<std::string>{"rbind", "rshared"}));
  EXPECT_EQ(s.at("linux").at("rootfsPropagation"), "shared");
  EXPECT_EQ(
      strings(mount(s, "/cache")->at("options")),
      (std::vector<std::string>{"noexec", "nosuid", "nodev", "rprivate", "mode=700", "size=1m"}));
  EXPECT_EQ(strings(mount(s, "/run")->at("options")),
            (std::vector<std::string>{"nosuid", "nodev", "rprivate", "exec", "size=2m"}));
  // The user's /dev/shm replaces Docker's tmpfs.
  EXPECT_EQ(*mount(s, "/dev/shm"),
            json::parse(R"({"destination":"/dev/shm","type":"bind","source":")" + src +
                        R"(","options":["bind","rprivate"]})"));
  const auto dests = mount_destinations(s);
  EXPECT_EQ(std::count(dests.begin(), dests.end(), "/dev/shm"), 1);
  // Defaults, init, then the user's mounts by depth.
  const std::vector<std::string> user_order(dests.begin() + 7, dests.end());
  EXPECT_EQ(user_order,
            (std::vector<std::string>{"/data", "/cache", "/run", "/data/deep", "/dev/shm"}));

  EXPECT_EQ(s.at("linux").at("devices"),
            json::parse(R"([{"path":"/dev/mynull","type":"c","major":1,"minor":3,
      "fileMode":438,"uid":0,"gid":0}])"));
  const auto& rules = s.at("linux").at("resources").at("devices").as_array();
  EXPECT_EQ(rules.at(rules.size() - 2),
            json::parse(R"({"allow":true,"type":"c","major":1,"minor":3,"access":"rw"})"));
  EXPECT_EQ(rules.back(), json::parse(R"({"allow":true,"type":"c","major":10,"access":"rwm"})"));
  EXPECT_EQ(s.at("annotations"), json::parse(R"({"org.example":"1"})"));

  // Named volumes are a later feature; say so rather than ignore them.
  auto volume =
      make_spec(input({{"Cmd", json::array{"sh"}}}, {{"Binds", json::array{"data:/data"}}}));
  ASSERT_FALSE(volume);
  EXPECT_EQ(volume.error().code, Errc::unsupported);

  // No init binary configured and none in PATH.
  in = input({{"Cmd", json::array{"sh"}}}, {{"Init", true}});
  const char* old_path = std::getenv("PATH");
  const std::string saved = old_path != nullptr ? old_path : "";
  ::setenv("PATH", (dir_ + "/empty").c_str(), 1);
  const auto init_error = spec_error(in);
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(init_error, "exec: \"docker-init\": executable file not found in $PATH");
  // With --pid host there is an init already: none added.
  in = input({{"Cmd", json::array{"sh"}}}, {{"Init", true}, {"PidMode", "host"}});
  EXPECT_EQ(strings(spec(in).at("process").at("args")), std::vector<std::string>{"sh"});
}

TEST(Capabilities, NamesAndNumbers) {
  EXPECT_EQ(default_capabilities().size(), 14u);
  EXPECT_EQ(capability_number("CAP_CHOWN"), 0);
  EXPECT_EQ(capability_number("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(capability_number("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_FALSE(capability_number("CAP_NOPE"));
  // This host: every name we know exists up to the kernel's last, minus
  // what the test process may not hold.
  const auto& host = current_spec_host();
  EXPECT_NE(host.capabilities, 0u);
  EXPECT_GE(host.ncpu, 1);
  EXPECT_FALSE(host.kernel_release.empty());
}

}  // namespace
}  // namespace berth::core::container
