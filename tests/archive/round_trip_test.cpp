// write_layer of a full tree, extracted into an empty directory, gives the
// same tree: types, modes (set-user-ID too), owners, mtimes, content,
// xattrs, hardlinks, devices and fifos.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/sysmacros.h>

#include <string>

#include "archive_test_support.hpp"
#include "berth/sdk/layer_archive.hpp"

namespace {

using namespace berth::archive_test;
namespace ar = berth::sdk::archive;

// A tree with one of everything a layer holds; times are whole seconds
// (layers keep seconds, as Docker's do).
void build_tree(const fs::path& root) {
  make_dir(root / "bin");
  write_file(root / "bin/tool", "#!/bin/true\n", 0755);
  set_mode(root / "bin/tool", 04755);
  ASSERT_EQ(::link((root / "bin/tool").c_str(), (root / "bin/tool-link").c_str()), 0);
  make_symlink(root / "bin/sh", "tool");
  write_file(root / "bin/ping", std::string(3000, 'p'), 0755);
  set_xattr(root / "bin/ping", "security.capability", capability_xattr(CAP_NET_RAW));

  make_dir(root / "etc");
  write_file(root / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  set_xattr(root / "etc/passwd", "user.origin", "test");
  set_xattr(root / "etc/passwd", "trusted.berth-test", std::string("\0\1\2", 3));
  // Dangling on purpose, and nothing that exists on the host.
  make_symlink(root / "etc/localtime", "/nonexistent/berth-test/zoneinfo/UTC");
  write_file(root / "etc/empty", "", 0600);

  make_dir(root / "home", 0755);
  make_dir(root / "home/user", 0700);
  write_file(root / "home/user/.profile", "export PS1='$ '\n", 0640);
  set_owner(root / "home/user/.profile", 1000, 1000);
  set_owner(root / "home/user", 1000, 1000);
  make_symlink(root / "home/user/link", "../../etc/passwd");
  set_owner(root / "home/user/link", 1000, 1000);
  set_xattr(root / "home/user", "user.dir", "yes");

  make_dir(root / "dev");
  make_node(root / "dev/null", S_IFCHR, makedev(1, 3), 0666);
  make_node(root / "dev/loop9", S_IFBLK, makedev(7, 9), 0660);
  set_owner(root / "dev/loop9", 0, 6);
  make_dir(root / "run");
  make_node(root / "run/fifo", S_IFIFO, 0, 0620);

  make_dir(root / "data", 01777);
  std::string big(300 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) % 251);
  write_file(root / "data/big.bin", big, 0644);
  write_file(root / "data/name with spaces and \xc3\xa9", "utf-8\n");
  const std::string long_name(200, 'n');
  write_file(root / "data" / long_name, "long\n");
  make_dir(root / "data/a");
  make_dir(root / "data/a/b");
  make_dir(root / "data/a/b/c");
  write_file(root / "data/a/b/c/deep", "deep\n", 02755);
  set_owner(root / "data/a/b/c/deep", 0, 50);
  set_mode(root / "data/a/b/c/deep", 02755);

  // mtimes last, deepest first, so creating entries does not move them.
  std::int64_t t = 1'500'000'000;
  const auto snap = snapshot(root, {.mtimes = false});
  for (auto it = snap.rbegin(); it != snap.rend(); ++it) set_mtime(root / it->first, t += 61);
}

std::string layer_of(const fs::path& root) {
  std::string tar;
  ar::write_layer(root.string(), ar::tree_changes(root.string(), ""), writer_to(tar));
  return tar;
}

TEST(RoundTrip, ExtractedTreeEqualsTheWrittenOne) {
  TempDir tmp;
  make_dir(tmp / "src");
  make_dir(tmp / "dest");
  build_tree(tmp / "src");

  const std::string tar = layer_of(tmp / "src");
  // Small reads: entries and blocks straddle read boundaries.
  const auto bytes = ar::extract_layer(reader_of(tar, 1000), (tmp / "dest").string(), {});

  const auto expected = snapshot(tmp / "src");
  const auto actual = snapshot(tmp / "dest");
  EXPECT_EQ(diff(expected, actual), "");
  EXPECT_EQ(expected.size(), actual.size());

  std::int64_t content = 0;
  for (const auto& [path, node] : expected) {
    // A hardlink's second name carries no data.
    if (S_ISREG(node.mode) && (node.link_group.empty() || node.link_group == path))
      content += node.size;
  }
  EXPECT_EQ(bytes, content);
}

TEST(RoundTrip, SetUidAndCapabilitySurviveTheOwnerChange) {
  TempDir tmp;
  make_dir(tmp / "src");
  make_dir(tmp / "dest");
  write_file(tmp / "src/su", "x", 0755);
  set_owner(tmp / "src/su", 1000, 1000);
  set_mode(tmp / "src/su", 06755);
  write_file(tmp / "src/cap", "y", 0755);
  set_owner(tmp / "src/cap", 1000, 1000);
  set_xattr(tmp / "src/cap", "security.capability", capability_xattr(CAP_NET_BIND_SERVICE));

  ar::extract_layer(reader_of(layer_of(tmp / "src")), (tmp / "dest").string(), {});

  struct stat st {};
  ASSERT_EQ(::lstat((tmp / "dest/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 06755u);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(get_xattr(tmp / "dest/cap", "security.capability"),
            capability_xattr(CAP_NET_BIND_SERVICE));
}

TEST(RoundTrip, WithoutPreserveOwnerTheCallerOwnsEverything) {
  TempDir tmp;
  make_dir(tmp / "src");
  make_dir(tmp / "dest");
  make_dir(tmp / "src/d", 0750);
  set_owner(tmp / "src/d", 1000, 1000);
  write_file(tmp / "src/d/f", "f", 0640);
  set_owner(tmp / "src/d/f", 1000, 1001);
  make_symlink(tmp / "src/d/l", "f");
  set_owner(tmp / "src/d/l", 1000, 1001);

  ar::ExtractOptions options;
  options.preserve_owner = false;
  ar::extract_layer(reader_of(layer_of(tmp / "src")), (tmp / "dest").string(), options);

  for (const auto& [path, node] : snapshot(tmp / "dest")) {
    EXPECT_EQ(node.uid, ::geteuid()) << path;
    EXPECT_EQ(node.gid, ::getegid()) << path;
  }
  EXPECT_EQ(snapshot(tmp / "dest").at("d/f").mode & 07777, 0640u);
}

TEST(RoundTrip, ARootEntrySetsTheRootsMetadataLast) {
  TempDir tmp;
  make_dir(tmp / "dest");
  TarBuilder tar;
  tar.dir("./", 0711).file("./a", "a").dir("./sub", 0700).file("./sub/b", "b");
  ar::extract_layer(reader_of(tar.finish()), (tmp / "dest").string(), {});

  struct stat st {};
  ASSERT_EQ(::stat((tmp / "dest").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  // The builder's entries all carry this mtime; contents came after.
  EXPECT_EQ(st.st_mtim.tv_sec, 1'600'000'000);
  ASSERT_EQ(::stat((tmp / "dest/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'600'000'000);
  EXPECT_EQ(read_file(tmp / "dest/sub/b"), "b");
}

TEST(RoundTrip, LaterEntriesReplaceEarlierOnesAndDirectoriesMerge) {
  TempDir tmp;
  make_dir(tmp / "dest");
  make_dir(tmp / "dest/keep");
  write_file(tmp / "dest/keep/old", "old");
  write_file(tmp / "dest/was-file", "x");
  make_dir(tmp / "dest/was-dir");
  write_file(tmp / "dest/was-dir/inner", "x");

  TarBuilder tar;
  tar.dir("keep", 0700)
      .file("keep/new", "new")
      .dir("was-file")
      .file("was-file/child", "c")
      .symlink("was-dir", "keep")
      .file("twice", "first")
      .file("twice", "second");
  ar::extract_layer(reader_of(tar.finish()), (tmp / "dest").string(), {});

  EXPECT_EQ(read_file(tmp / "dest/keep/old"), "old");
  EXPECT_EQ(read_file(tmp / "dest/keep/new"), "new");
  EXPECT_EQ(snapshot(tmp / "dest").at("keep").mode & 07777, 0700u);
  EXPECT_EQ(read_file(tmp / "dest/was-file/child"), "c");
  EXPECT_TRUE(fs::is_symlink(tmp / "dest/was-dir"));
  EXPECT_EQ(read_file(tmp / "dest/twice"), "second");
}

}  // namespace
