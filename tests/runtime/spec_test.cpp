// The runtime's spec parsing without a kernel in the way (no root needed):
// mount options to mount(2) flags, capability and rlimit names, and the
// errors a malformed config.json gets.
#include "spec.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>

#include <boost/json.hpp>

namespace berth::testing {
namespace {

namespace json = boost::json;
using namespace berth::runtime::detail;

json::object minimal() {
  return json::object{
      {"root", {{"path", "/"}}},
      {"process", {{"args", {"sh"}}, {"cwd", "/"}}},
      {"linux", {{"namespaces", {{{"type", "mount"}}}}}},
  };
}

TEST(SpecParsing, MountOptions) {
  MountEntry m;
  m.destination = "/data";
  ASSERT_TRUE(parse_mount_options(
      {"rbind", "ro", "nosuid", "rprivate", "mode=755", "size=1m", "rro", "exec", "noexec"}, m));
  EXPECT_EQ(m.flags,
            static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID | MS_NOEXEC));
  EXPECT_EQ(m.propagation, std::vector<unsigned long>{MS_PRIVATE | MS_REC});
  EXPECT_EQ(m.data, "mode=755,size=1m");
  EXPECT_EQ(m.attr_set, static_cast<std::uint64_t>(MOUNT_ATTR_RDONLY));
  EXPECT_TRUE(m.bind());

  MountEntry rw;
  ASSERT_TRUE(parse_mount_options({"ro", "rw"}, rw));
  EXPECT_EQ(rw.flags, 0u);

  MountEntry idmap;
  EXPECT_EQ(parse_mount_options({"idmap"}, idmap).error().code, core::Errc::unsupported);
}

TEST(SpecParsing, ProcessFields) {
  json::object spec = minimal();
  spec["process"] = {
      {"args", {"sh"}},
      {"cwd", "/tmp"},
      {"user", {{"uid", 5}, {"gid", 6}, {"additionalGids", {7}}, {"umask", 63}}},
      {"capabilities", {{"bounding", {"CAP_CHOWN", "CAP_SYS_ADMIN"}}, {"ambient", {"CAP_KILL"}}}},
      {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"soft", 10}, {"hard", 20}}}},
      {"consoleSize", {{"height", 24}, {"width", 80}}},
      {"oomScoreAdj", 100},
  };
  auto s = parse_spec(spec, "/bundle");
  ASSERT_TRUE(s) << s.error().message;
  const ProcessSpec& p = s.value().process;
  EXPECT_EQ(p.cwd, "/tmp");
  EXPECT_EQ(p.uid, 5u);
  EXPECT_EQ(p.additional_gids, std::vector<gid_t>{7});
  EXPECT_EQ(p.umask, 077u);
  ASSERT_TRUE(p.capabilities);
  EXPECT_EQ(p.capabilities->bounding, (1ULL << 0) | (1ULL << 21));
  EXPECT_EQ(p.capabilities->ambient, 1ULL << 5);
  ASSERT_EQ(p.rlimits.size(), 1u);
  EXPECT_EQ(p.rlimits[0].name, "RLIMIT_NOFILE");
  EXPECT_EQ(p.rows, 24);
  EXPECT_EQ(p.oom_score_adj, 100);
  EXPECT_EQ(capability_name(21), "CAP_SYS_ADMIN");
}

TEST(SpecParsing, Errors) {
  auto error_of = [](json::object spec) {
    auto s = parse_spec(spec, "/bundle");
    return s ? std::string() : s.error().message;
  };
  json::object spec = minimal();
  spec["process"].as_object()["args"] = json::array{};
  EXPECT_EQ(error_of(spec), "process.args must not be empty");

  spec = minimal();
  spec["process"].as_object()["cwd"] = "tmp";
  EXPECT_EQ(error_of(spec), "cwd \"tmp\" is not an absolute path");

  spec = minimal();
  spec["process"].as_object()["capabilities"] = {{"bounding", {"CAP_FLY"}}};
  EXPECT_EQ(error_of(spec), "unknown capability \"CAP_FLY\"");

  spec = minimal();
  spec["process"].as_object()["rlimits"] = {
      {{"type", "RLIMIT_NOFILE"}, {"soft", 30}, {"hard", 20}}};
  EXPECT_EQ(error_of(spec), "RLIMIT_NOFILE: soft limit 30 is above the hard limit 20");

  spec = minimal();
  spec["linux"].as_object()["namespaces"] = {{{"type", "user"}}};
  EXPECT_EQ(error_of(spec), "a new user namespace needs uidMappings and gidMappings");

  spec = minimal();
  spec["linux"].as_object()["namespaces"] = {{{"type", "time"}}};
  EXPECT_EQ(error_of(spec), "namespace type \"time\" is not supported");

  spec = minimal();
  spec["mounts"] = {{{"destination", "relative"}, {"type", "tmpfs"}}};
  EXPECT_EQ(error_of(spec), "mount destination \"relative\" is not an absolute path");

  spec = minimal();
  spec["linux"].as_object()["cgroupsPath"] = 5;
  EXPECT_EQ(error_of(spec), "linux.cgroupsPath: expected a string");

  spec = minimal();
  spec["root"] = {{"path", "/nonexistent-berth-test-root"}};
  EXPECT_EQ(error_of(spec), "rootfs /nonexistent-berth-test-root: no such file or directory");
}

TEST(SpecParsing, NamespacesAndPropagation) {
  json::object spec = minimal();
  spec["linux"].as_object()["namespaces"] = {{{"type", "mount"}},
                                             {{"type", "network"}, {"path", "/run/netns/x"}}};
  spec["linux"].as_object()["rootfsPropagation"] = "shared";
  auto s = parse_spec(spec, "/bundle");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_NE(s.value().find_namespace(CLONE_NEWNET), nullptr);
  EXPECT_EQ(s.value().find_namespace(CLONE_NEWNET)->path, "/run/netns/x");
  EXPECT_EQ(s.value().find_namespace(CLONE_NEWPID), nullptr);
  EXPECT_EQ(s.value().rootfs_propagation, static_cast<unsigned long>(MS_SHARED | MS_REC));
  EXPECT_STREQ(proc_ns_name(CLONE_NEWNET), "net");
}

}  // namespace
}  // namespace berth::testing
