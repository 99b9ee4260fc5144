// Named network namespaces and running code inside one.
#include "berth/sdk/net/netns.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "berth/sdk/net/netlink.hpp"
#include "berth/sdk/status.hpp"
#include "berth/sdk/net/testing.hpp"

namespace {

namespace fs = std::filesystem;
using berth::sdk::Errc;
using berth::sdk::Error;
using berth::sdk::net::Netlink;
using berth::sdk::net::open_netns;
using berth::sdk::net::run_in_netns;
using berth::sdk::net::testing::is_root;
using berth::sdk::net::testing::PrivateNetns;

ino_t inode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "needs root (creates network namespaces)";
  }
};

TEST_F(NetnsTest, NamedNetnsIsANewNamespaceWithLoopbackUp) {
  PrivateNetns ns;
  struct statfs sfs {};
  ASSERT_EQ(::statfs(ns.path().c_str(), &sfs), 0);
  EXPECT_EQ(sfs.f_type, static_cast<decltype(sfs.f_type)>(NSFS_MAGIC)) << "not bind-mounted";
  EXPECT_NE(inode_of(ns.path()), inode_of("/proc/thread-self/ns/net"));

  Netlink nl = Netlink::in_netns(ns.fd());
  const auto lo = nl.link("lo");
  ASSERT_TRUE(lo.has_value());
  EXPECT_TRUE(lo->up);
  EXPECT_EQ(nl.link_names(), std::vector<std::string>{"lo"});
}

TEST_F(NetnsTest, RemoveUnmountsAndDeletesAndIsIdempotent) {
  auto ns = std::make_unique<PrivateNetns>();
  const std::string path = ns->path();
  berth::sdk::net::remove_named_netns(path);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_NO_THROW(berth::sdk::net::remove_named_netns(path));
  ns.reset();  // removes it a third time
}

TEST_F(NetnsTest, CreateOnAnExistingPathIsAlreadyExists) {
  PrivateNetns ns;
  try {
    berth::sdk::net::create_named_netns(ns.path());
    FAIL() << "created twice";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::already_exists) << e.what();
    EXPECT_NE(std::string(e.what()).find(ns.path()), std::string::npos) << e.what();
  }
  // The failed attempt left the first one alone.
  struct statfs sfs {};
  ASSERT_EQ(::statfs(ns.path().c_str(), &sfs), 0);
  EXPECT_EQ(sfs.f_type, static_cast<decltype(sfs.f_type)>(NSFS_MAGIC));
}

TEST_F(NetnsTest, CreateInAMissingDirectoryFailsAndLeavesNothing) {
  PrivateNetns ns;
  const std::string path = ns.dir() + "/missing/ns";
  try {
    berth::sdk::net::create_named_netns(path);
    FAIL() << "created in a missing directory";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found) << e.what();
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(NetnsTest, OpenMissingIsNotFound) {
  try {
    open_netns("/tmp/berth-test-no-such-netns");
    FAIL() << "opened a missing namespace";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
    EXPECT_NE(std::string(e.what()).find("/tmp/berth-test-no-such-netns"), std::string::npos);
  }
}

TEST_F(NetnsTest, RunInNetnsRunsThereAndLeavesTheCallerAlone) {
  PrivateNetns ns;
  const ino_t before = inode_of("/proc/thread-self/ns/net");
  ino_t inside = 0;
  run_in_netns(ns.fd(), [&] { inside = inode_of("/proc/thread-self/ns/net"); });
  EXPECT_EQ(inside, inode_of(ns.path()));
  EXPECT_EQ(inode_of("/proc/thread-self/ns/net"), before);
}

TEST_F(NetnsTest, RunInNetnsRethrowsWhatTheFunctionThrows) {
  PrivateNetns ns;
  try {
    run_in_netns(ns.fd(), [] { throw Error(Errc::conflict, "inside"); });
    FAIL() << "nothing thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::conflict);
    EXPECT_STREQ(e.what(), "inside");
  }
}

TEST_F(NetnsTest, RunInNetnsWithABadDescriptorFails) {
  const berth::sdk::UniqueFd not_a_netns(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  bool ran = false;
  EXPECT_THROW(run_in_netns(not_a_netns.get(), [&] { ran = true; }), Error);
  EXPECT_FALSE(ran);
}

TEST_F(NetnsTest, SocketsOpenedInsideStayThere) {
  PrivateNetns ns;
  std::unique_ptr<Netlink> nl;
  run_in_netns(ns.fd(), [&] { nl = std::make_unique<Netlink>(); });
  // Used from this thread (in the host's namespace), it still sees only the
  // private namespace.
  nl->create_bridge("b0");
  EXPECT_TRUE(nl->exists("b0"));
  EXPECT_TRUE(Netlink::in_netns(ns.fd()).exists("b0"));
}

}  // namespace
