// What vfs does beyond the conformance suite: its tree copy keeps everything
// a layer holds, its mount description, and its crash safety.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "berth/plugins/storage_vfs.h"
#include "berth/sdk/status.hpp"
#include "berth/sdk/testing/conformance.hpp"
#include "berth/sdk/testing/driver_under_test.hpp"
#include "berth/sdk/testing/fake_host.hpp"
#include "tree_copy.hpp"

namespace {

namespace fs = std::filesystem;
using berth::plugins::storage_vfs::copy_tree;
using berth::sdk::Errc;
using berth::sdk::Error;
using berth::sdk::testing::DriverSource;
using berth::sdk::testing::DriverUnderTest;
using berth::sdk::testing::FakeHost;
using berth::sdk::testing::FakeMount;
using berth::sdk::testing::make_tar;
using berth::sdk::testing::StorageClient;
using berth::sdk::testing::tar_dir;
using berth::sdk::testing::tar_file;
using berth::sdk::testing::tar_hardlink;
using berth::sdk::testing::TarEntry;

bool root() { return ::geteuid() == 0; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.flush()) << path;
}

void check(int rc, const std::string& what) {
  ASSERT_EQ(rc, 0) << what << ": " << std::strerror(errno);
}

std::map<std::string, std::string> xattrs_of(const std::string& path) {
  std::map<std::string, std::string> out;
  std::vector<char> names(4096);
  const ssize_t size = ::llistxattr(path.c_str(), names.data(), names.size());
  for (ssize_t at = 0; at < size;) {
    const std::string name(names.data() + at);
    at += static_cast<ssize_t>(name.size()) + 1;
    std::string value(4096, '\0');
    const ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    value.resize(static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    out.emplace(name, value);
  }
  return out;
}

struct Inode {
  struct stat st {};
  std::string content;
  std::string link;
  std::map<std::string, std::string> xattrs;
};

std::map<std::string, Inode> walk(const fs::path& root) {
  std::map<std::string, Inode> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    Inode n;
    ::lstat(entry.path().c_str(), &n.st);
    if (S_ISREG(n.st.st_mode)) n.content = read_file(entry.path());
    if (S_ISLNK(n.st.st_mode)) n.link = fs::read_symlink(entry.path()).string();
    n.xattrs = xattrs_of(entry.path().string());
    out.emplace(entry.path().lexically_relative(root).string(), std::move(n));
  }
  return out;
}

// The copy must look like the source in everything but inode numbers, and
// hard links must group the same names.
void expect_same_tree(const fs::path& src, const fs::path& dst) {
  const std::map<std::string, Inode> a = walk(src);
  const std::map<std::string, Inode> b = walk(dst);
  ASSERT_EQ(a.size(), b.size());
  std::map<ino_t, ino_t> inode_map;
  for (const auto& [path, x] : a) {
    ASSERT_TRUE(b.contains(path)) << "copy lacks " << path;
    const Inode& y = b.at(path);
    EXPECT_EQ(x.st.st_mode, y.st.st_mode) << path;
    EXPECT_EQ(x.st.st_uid, y.st.st_uid) << path;
    EXPECT_EQ(x.st.st_gid, y.st.st_gid) << path;
    EXPECT_EQ(x.st.st_rdev, y.st.st_rdev) << path;
    EXPECT_EQ(x.st.st_nlink, y.st.st_nlink) << path;
    if (!S_ISDIR(x.st.st_mode)) {
      EXPECT_EQ(x.st.st_size, y.st.st_size) << path;
    }
    EXPECT_EQ(x.st.st_mtim.tv_sec, y.st.st_mtim.tv_sec) << path;
    EXPECT_EQ(x.st.st_mtim.tv_nsec, y.st.st_mtim.tv_nsec) << path;
    EXPECT_EQ(x.content, y.content) << path;
    EXPECT_EQ(x.link, y.link) << path;
    EXPECT_EQ(x.xattrs, y.xattrs) << path;
    EXPECT_NE(x.st.st_ino, y.st.st_ino) << path << " was linked, not copied";
    const auto [it, fresh] = inode_map.emplace(x.st.st_ino, y.st.st_ino);
    EXPECT_EQ(it->second, y.st.st_ino) << path << ": hard links not kept";
  }
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/berth-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void set_times(const fs::path& path, std::int64_t sec, long nsec) {
  const struct timespec times[2] = {{sec, nsec}, {sec, nsec}};
  check(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW),
        "utimensat " + path.string());
}

TEST(CopyTree, KeepsEverythingALayerHolds) {
  const TempDir tmp;
  const fs::path src = tmp.path() / "src";
  fs::create_directories(src / "bin");
  fs::create_directories(src / "etc/ssl");
  write_file(src / "bin/tool", "#!/bin/sh\n");
  check(::chmod((src / "bin/tool").c_str(), 04755), "chmod");
  write_file(src / "empty", "");
  std::string big(3 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
  write_file(src / "big", big);
  check(::link((src / "bin/tool").c_str(), (src / "bin/tool2").c_str()), "link");
  check(::link((src / "bin/tool").c_str(), (src / "etc/tool3").c_str()), "link");
  fs::create_symlink("/nonexistent/target", src / "dangling");
  fs::create_symlink("../bin", src / "etc/bin");
  check(::mkfifo((src / "fifo").c_str(), 0640), "mkfifo");
  check(::setxattr((src / "big").c_str(), "user.berth", "on a file", 9, 0), "setxattr");
  check(::setxattr((src / "etc").c_str(), "user.dir", "on a dir", 8, 0), "setxattr");
  fs::create_directory(src / "sticky");
  check(::chmod((src / "sticky").c_str(), 01777), "chmod");
  fs::create_directory(src / "private");
  check(::chmod((src / "private").c_str(), 0700), "chmod");

  // A unix socket: bind one, then keep only its file.
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock_path = (src / "sock").string();
  ASSERT_LT(sock_path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
  check(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), "bind");
  ::close(sock);

  if (root()) {
    check(::mknod((src / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), "mknod");
    check(::mknod((src / "loop9").c_str(), S_IFBLK | 0660, makedev(7, 9)), "mknod");
    check(::lchown((src / "private").c_str(), 1000, 1001), "chown");
    check(::lchown((src / "dangling").c_str(), 1002, 1003), "chown");
    check(::chown((src / "big").c_str(), 1000, 1000), "chown");
    check(::setxattr((src / "big").c_str(), "trusted.berth", "privileged", 10, 0), "setxattr");
    check(::lsetxattr((src / "dangling").c_str(), "trusted.link", "on a symlink", 12, 0),
          "lsetxattr");
    // chown clears set-id bits: the copy must chown before chmod.
    check(::chown((src / "bin/tool").c_str(), 1000, 1000), "chown");
    check(::chmod((src / "bin/tool").c_str(), 06755), "chmod");
  }
  for (const char* path : {"bin/tool", "empty", "big", "dangling", "fifo", "etc", "sticky", ""}) {
    set_times(src / path, 1'600'000'000, 123'456'789);
  }

  copy_tree(src.string(), (tmp.path() / "dst").string());
  expect_same_tree(src, tmp.path() / "dst");
  EXPECT_EQ(fs::status(tmp.path() / "dst").permissions(), fs::status(src).permissions());

  // An independent copy: writing to it leaves the source alone.
  write_file(tmp.path() / "dst/bin/tool", "changed");
  EXPECT_EQ(read_file(src / "bin/tool"), "#!/bin/sh\n");
  EXPECT_EQ(read_file(tmp.path() / "dst/etc/tool3"), "changed");
}

TEST(CopyTree, NeverFollowsSymlinks) {
  const TempDir tmp;
  fs::create_directories(tmp.path() / "outside");
  write_file(tmp.path() / "outside/secret", "secret");
  fs::create_directories(tmp.path() / "src");
  fs::create_directory_symlink(tmp.path() / "outside", tmp.path() / "src/escape");
  copy_tree((tmp.path() / "src").string(), (tmp.path() / "dst").string());
  EXPECT_TRUE(fs::is_symlink(tmp.path() / "dst/escape"));
  EXPECT_EQ(fs::read_symlink(tmp.path() / "dst/escape"), tmp.path() / "outside");
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path() / "outside"), {}), 1);
}

TEST(CopyTree, ErrorsNameWhatFailed) {
  const TempDir tmp;
  fs::create_directories(tmp.path() / "src");
  fs::create_directories(tmp.path() / "dst");
  try {
    copy_tree((tmp.path() / "src").string(), (tmp.path() / "dst").string());
    FAIL() << "copied onto an existing directory";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::already_exists);
    EXPECT_NE(std::string(e.what()).find((tmp.path() / "dst").string()), std::string::npos);
  }
  try {
    copy_tree((tmp.path() / "absent").string(), (tmp.path() / "new").string());
    FAIL() << "copied a missing tree";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::not_found);
    EXPECT_NE(std::string(e.what()).find("absent"), std::string::npos) << e.what();
  }
}

// A driver loaded as berthd loads the built-in one.
class Vfs : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start() {
    driver_.reset();
    driver_ = std::make_unique<DriverUnderTest>(
        DriverSource::builtin("builtin", &berth_builtin_storage_vfs), host_);
    ASSERT_EQ(driver_->init(), BERTH_OK) << driver_->init_error();
    client_ = std::make_unique<StorageClient>(*driver_);
  }

  StorageClient& c() { return *client_; }
  fs::path state() const { return host_.state_dir(); }

  // Where get() says layer `id` lives (and takes no reference).
  fs::path layer_path(const std::string& id) {
    std::vector<FakeMount> mounts;
    EXPECT_EQ(c().get(id, &mounts), BERTH_OK) << c().error();
    EXPECT_EQ(c().put(id), BERTH_OK) << c().error();
    return mounts.empty() ? fs::path() : fs::path(mounts.front().source);
  }

  FakeHost host_;
  std::unique_ptr<DriverUnderTest> driver_;
  std::unique_ptr<StorageClient> client_;
};

TEST_F(Vfs, DescribesABindMountOfTheLayersTree) {
  ASSERT_EQ(c().create("base"), BERTH_OK) << c().error();
  ASSERT_EQ(c().create_rw("rw", "base"), BERTH_OK) << c().error();
  for (const char* id : {"base", "rw"}) {
    std::vector<FakeMount> mounts;
    ASSERT_EQ(c().get(id, &mounts, "system_u:object_r:container_file_t:s0"), BERTH_OK);
    const FakeMount want{"bind", (state() / "layers" / id / "fs").string(), "rbind"};
    EXPECT_EQ(mounts, std::vector<FakeMount>{want}) << id;
    EXPECT_EQ(c().put(id), BERTH_OK) << c().error();
  }
}

TEST_F(Vfs, AChildLayerIsAFullIndependentCopy) {
  if (!root()) GTEST_SKIP() << "devices and owners need root";
  TarEntry null_device;
  null_device.path = "dev/null";
  null_device.type = TarEntry::Type::char_device;
  null_device.dev_major = 1;
  null_device.dev_minor = 3;
  null_device.mode = 0666;
  TarEntry notes = tar_file("notes", "remember", 0600);
  notes.uid = 1000;
  notes.gid = 1000;
  notes.xattrs.emplace("user.berth", "kept");
  const std::vector<TarEntry> tar = {
      tar_dir("dev"),
      null_device,
      notes,
      tar_file("bin", "binary", 04755),
      tar_hardlink("bin-link", "bin"),
  };
  ASSERT_EQ(c().create("base"), BERTH_OK) << c().error();
  ASSERT_EQ(c().apply_diff("base", "", make_tar(tar)), BERTH_OK) << c().error();
  ASSERT_EQ(c().create("child", "base"), BERTH_OK) << c().error();
  const fs::path base = layer_path("base");
  const fs::path child = layer_path("child");
  ASSERT_NE(base, child);
  expect_same_tree(base, child);

  struct stat st {};
  ASSERT_EQ(::lstat((child / "dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(xattrs_of((child / "notes").string()).at("user.berth"), "kept");
  struct stat a {};
  struct stat b {};
  ASSERT_EQ(::lstat((child / "bin").c_str(), &a), 0);
  ASSERT_EQ(::lstat((child / "bin-link").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 04755U);

  write_file(child / "notes", "changed in the child");
  EXPECT_EQ(read_file(base / "notes"), "remember");
}

TEST_F(Vfs, AFailedCreateLeavesNothingBehind) {
  ASSERT_EQ(c().create("base"), BERTH_OK) << c().error();
  // Something in the way of the final rename: the create must fail whole.
  fs::create_directories(state() / "layers/blocked/junk");
  EXPECT_NE(c().create("blocked", "base"), BERTH_OK);
  EXPECT_NE(c().error().find("blocked"), std::string::npos) << c().error();
  EXPECT_FALSE(c().exists("blocked"));
  EXPECT_TRUE(fs::is_empty(state() / "tmp"));
  EXPECT_TRUE(fs::exists(state() / "layers/blocked/junk"));
  // The parent is not held by the failed child.
  EXPECT_EQ(c().remove("base"), BERTH_OK) << c().error();
}

TEST_F(Vfs, StartUpSweepsWhatACrashLeftBehind) {
  ASSERT_EQ(c().create("base"), BERTH_OK) << c().error();
  // A create and a remove that a crash interrupted, as they would look.
  fs::create_directories(state() / "tmp/half.Ab12Cd/fs/usr");
  write_file(state() / "tmp/half.Ab12Cd/fs/usr/file", "partial");
  fs::create_directories(state() / "tmp/gone.removed.Xy34Zw/fs");
  start();
  EXPECT_TRUE(fs::is_empty(state() / "tmp"));
  EXPECT_FALSE(c().exists("half"));
  EXPECT_TRUE(c().exists("base"));
}

TEST_F(Vfs, FreshnessSurvivesARestart) {
  ASSERT_EQ(c().create("base"), BERTH_OK) << c().error();
  ASSERT_EQ(c().apply_diff("base", "", make_tar({tar_file("a", "a")})), BERTH_OK) << c().error();
  start();
  EXPECT_EQ(c().apply_diff("base", "", make_tar({tar_file("b", "b")})),
            BERTH_E_FAILED_PRECONDITION);
  ASSERT_EQ(c().create("mounted"), BERTH_OK) << c().error();
  ASSERT_EQ(c().get("mounted"), BERTH_OK) << c().error();
  ASSERT_EQ(c().put("mounted"), BERTH_OK) << c().error();
  EXPECT_EQ(c().apply_diff("mounted", "", make_tar({tar_file("b", "b")})),
            BERTH_E_FAILED_PRECONDITION);
}

TEST_F(Vfs, PutWithoutGetIsRefused) {
  ASSERT_EQ(c().create("base"), BERTH_OK) << c().error();
  EXPECT_EQ(c().put("base"), BERTH_E_FAILED_PRECONDITION);
  EXPECT_NE(c().error().find("base"), std::string::npos);
}

TEST_F(Vfs, QuotasAreUnsupported) {
  EXPECT_EQ(c().create("sized", "", R"({"size": "10G"})"), BERTH_E_UNSUPPORTED);
  EXPECT_FALSE(c().exists("sized"));
}

TEST_F(Vfs, DiffsAgainstAnyLayer) {
  ASSERT_EQ(c().create("a"), BERTH_OK) << c().error();
  ASSERT_EQ(c().apply_diff("a", "", make_tar({tar_file("x", "1"), tar_file("same", "s")})),
            BERTH_OK);
  ASSERT_EQ(c().create("b"), BERTH_OK) << c().error();
  ASSERT_EQ(c().apply_diff("b", "", make_tar({tar_file("y", "2"), tar_file("same", "s")})),
            BERTH_OK);
  std::string json;
  // Unrelated layers: vfs holds full trees, so any pair compares.
  ASSERT_EQ(c().changes("b", "a", &json), BERTH_OK) << c().error();
  std::set<std::pair<std::string, int>> got;
  const boost::json::value changes = boost::json::parse(json);
  for (const auto& v : changes.as_array()) {
    got.emplace(std::string(v.at("Path").as_string()), static_cast<int>(v.at("Kind").as_int64()));
  }
  EXPECT_TRUE(got.contains({"/x", 2})) << json;
  EXPECT_TRUE(got.contains({"/y", 1})) << json;
  EXPECT_FALSE(got.contains({"/same", 0})) << json;
}

TEST_F(Vfs, StatusNamesTheBackingFilesystem) {
  std::string json;
  ASSERT_EQ(c().status(&json), BERTH_OK) << c().error();
  const boost::json::value status = boost::json::parse(json);
  const boost::json::array& pairs = status.as_array();
  ASSERT_EQ(pairs.size(), 1U) << json;
  EXPECT_EQ(pairs[0].as_array()[0].as_string(), "Backing Filesystem");
  EXPECT_NE(pairs[0].as_array()[1].as_string(), "") << json;
}

}  // namespace
