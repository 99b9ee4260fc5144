// Change detection: tree_changes (two full trees, Docker's ChangesDirs) and
// overlay_changes (an upper directory against its merged lowers).
#include <gtest/gtest.h>
#include <linux/capability.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "archive_test_support.hpp"
#include "berth/sdk/layer_archive.hpp"

namespace berth::sdk::archive {
// For readable failures.
void PrintTo(const Change& change, std::ostream* out) {
  *out << "MAD"[change.kind] << " " << change.path;
}
bool operator==(const Change& a, const Change& b) { return a.path == b.path && a.kind == b.kind; }
}  // namespace berth::sdk::archive

namespace {

using namespace berth::archive_test;
namespace ar = berth::sdk::archive;
using ar::Change;

constexpr std::int64_t kTime = 1'500'000'000;

// Every mtime under `root` to kTime, so equal builds compare equal.
void settle_times(const fs::path& root) {
  for (const auto& [path, node] : snapshot(root, {.mtimes = false})) set_mtime(root / path, kTime);
}

void build_parent(const fs::path& root) {
  make_dir(root / "a");
  write_file(root / "a/file1", "one");
  write_file(root / "a/file2", "two");
  make_dir(root / "b");
  write_file(root / "b/same", "same");
  write_file(root / "c", "c");
  make_dir(root / "d");
  make_dir(root / "d/deep");
  write_file(root / "d/deep/x", "x");
  write_file(root / "m", "m", 0644);
  write_file(root / "cap", "cap", 0755);
  make_dir(root / "dir-mtime");
  write_file(root / "dir-mtime/f", "f");
  make_dir(root / "n");
  make_dir(root / "n/o");
  write_file(root / "n/o/p", "p");
  settle_times(root);
}

TEST(TreeChanges, ListsWhatDockerLists) {
  TempDir tmp;
  make_dir(tmp / "parent");
  make_dir(tmp / "layer");
  build_parent(tmp / "parent");
  build_parent(tmp / "layer");
  const fs::path layer = tmp / "layer";

  write_file(layer / "a/file1", "ONE");  // same size, new mtime
  set_mtime(layer / "a/file1", kTime + 1);
  fs::remove(layer / "a/file2");
  write_file(layer / "a/new", "new");
  fs::remove(layer / "c");
  make_dir(layer / "c");
  write_file(layer / "c/inner", "inner");
  fs::remove_all(layer / "d");
  set_mode(layer / "m", 0600);
  set_xattr(layer / "cap", "security.capability", capability_xattr(CAP_NET_RAW));
  set_mtime(layer / "cap", kTime);
  set_mtime(layer / "dir-mtime", kTime + 100);  // directories: not a change
  write_file(layer / "n/o/p", "P");
  set_mtime(layer / "n/o/p", kTime + 2);
  // Equal size and mtime: not re-read, so not seen (documented).
  write_file(layer / "b/same", "SAME");
  set_mtime(layer / "b/same", kTime);
  set_mtime(layer / "b", kTime);

  const std::vector<Change> expected = {
      {"/a", Change::modified},   {"/a/file1", Change::modified}, {"/a/file2", Change::deleted},
      {"/a/new", Change::added},  {"/c", Change::modified},       {"/c/inner", Change::added},
      {"/cap", Change::modified}, {"/d", Change::deleted},        {"/m", Change::modified},
      {"/n", Change::modified},   {"/n/o", Change::modified},     {"/n/o/p", Change::modified},
  };
  EXPECT_EQ(ar::tree_changes(layer.string(), (tmp / "parent").string()), expected);
}

TEST(TreeChanges, WithoutParentEverythingIsAdded) {
  TempDir tmp;
  make_dir(tmp / "layer");
  build_parent(tmp / "layer");
  const auto changes = ar::tree_changes((tmp / "layer").string(), "");
  const auto snap = snapshot(tmp / "layer");
  ASSERT_EQ(changes.size(), snap.size());
  auto it = snap.begin();
  for (const auto& change : changes) {
    EXPECT_EQ(change.kind, Change::added) << change.path;
    EXPECT_EQ(change.path, "/" + (it++)->first);
  }
}

TEST(TreeChanges, IdenticalTreesHaveNoChanges) {
  TempDir tmp;
  make_dir(tmp / "parent");
  make_dir(tmp / "layer");
  build_parent(tmp / "parent");
  build_parent(tmp / "layer");
  EXPECT_TRUE(ar::tree_changes((tmp / "layer").string(), (tmp / "parent").string()).empty());
}

TEST(TreeChanges, MissingTreeIsNotFound) {
  TempDir tmp;
  const auto error = error_of([&] { ar::tree_changes((tmp / "nope").string(), ""); });
  EXPECT_EQ(error.code(), berth::sdk::Errc::not_found) << error.what();
  EXPECT_NE(std::string(error.what()).find((tmp / "nope").string()), std::string::npos);
}

// lower2 (bottom) is a plain tree; lower1 (top) and upper are overlay
// layers with whiteouts and an opaque directory.
struct OverlayLayers {
  fs::path lower2, lower1, upper;
};

OverlayLayers build_overlay(const TempDir& tmp) {
  OverlayLayers l{tmp / "lower2", tmp / "lower1", tmp / "upper"};
  make_dir(l.lower2);
  make_dir(l.lower2 / "etc");
  write_file(l.lower2 / "etc/hosts", "h");
  write_file(l.lower2 / "etc/old", "o");
  make_dir(l.lower2 / "usr");
  make_dir(l.lower2 / "usr/bin");
  write_file(l.lower2 / "usr/bin/x", "x");
  make_dir(l.lower2 / "shadowed");
  write_file(l.lower2 / "shadowed/inner", "i");
  make_dir(l.lower2 / "opq");
  write_file(l.lower2 / "opq/new", "n");
  write_file(l.lower2 / "opq/z", "z");
  settle_times(l.lower2);

  make_dir(l.lower1);
  make_dir(l.lower1 / "etc");
  make_whiteout(l.lower1 / "etc/old");
  write_file(l.lower1 / "shadowed", "a file now");
  settle_times(l.lower1);

  make_dir(l.upper);
  make_dir(l.upper / "etc");
  write_file(l.upper / "etc/hosts", "h2");
  write_file(l.upper / "etc/old", "new old");
  make_dir(l.upper / "usr");
  make_dir(l.upper / "usr/bin");
  make_whiteout(l.upper / "usr/bin/x");
  make_dir(l.upper / "shadowed");
  write_file(l.upper / "shadowed/inner2", "i2");
  make_dir(l.upper / "opq");
  set_xattr(l.upper / "opq", "trusted.overlay.opaque", "y");
  write_file(l.upper / "opq/new", "n2");
  make_dir(l.upper / "newdir");
  write_file(l.upper / "newdir/f", "f");
  settle_times(l.upper);
  return l;
}

TEST(OverlayChanges, MergesLowersLikeOverlayfs) {
  TempDir tmp;
  const auto l = build_overlay(tmp);
  const std::vector<Change> expected = {
      {"/etc", Change::modified},          {"/etc/hosts", Change::modified},
      {"/etc/old", Change::added},         {"/newdir", Change::added},
      {"/newdir/f", Change::added},        {"/opq", Change::modified},
      {"/opq/new", Change::added},         {"/shadowed", Change::modified},
      {"/shadowed/inner2", Change::added}, {"/usr/bin", Change::modified},
      {"/usr/bin/x", Change::deleted},
  };
  EXPECT_EQ(ar::overlay_changes(l.upper.string(), {l.lower1.string(), l.lower2.string()}),
            expected);
}

TEST(OverlayChanges, ChangedDirectoryMetadataIsAModification) {
  TempDir tmp;
  const auto l = build_overlay(tmp);
  set_mode(l.upper / "usr", 0700);
  const auto changes =
      ar::overlay_changes(l.upper.string(), {l.lower1.string(), l.lower2.string()});
  ASSERT_FALSE(changes.empty());
  EXPECT_NE(std::find(changes.begin(), changes.end(), Change{"/usr", Change::modified}),
            changes.end());
}

TEST(OverlayChanges, AnOpaqueDirectoryIsAlwaysAChange) {
  TempDir tmp;
  const auto l = build_overlay(tmp);
  // Same mode, owner and mtime as the lower opq, nothing inside: only the
  // opaque xattr tells it hides opq/new and opq/z.
  fs::remove(l.upper / "opq/new");
  set_mtime(l.upper / "opq", kTime);
  const auto changes =
      ar::overlay_changes(l.upper.string(), {l.lower1.string(), l.lower2.string()});
  EXPECT_NE(std::find(changes.begin(), changes.end(), Change{"/opq", Change::modified}),
            changes.end());

  std::string tar;
  ar::write_layer(l.upper.string(), changes, writer_to(tar));
  bool marker = false;
  for (const auto& entry : list_tar(tar)) marker = marker || entry.name == "opq/.wh..wh..opq";
  EXPECT_TRUE(marker);
}

TEST(OverlayChanges, WithoutLowersEverythingIsAddedButWhiteouts) {
  TempDir tmp;
  const auto l = build_overlay(tmp);
  for (const auto& change : ar::overlay_changes(l.upper.string(), {})) {
    EXPECT_EQ(change.kind, change.path == "/usr/bin/x" ? Change::deleted : Change::added)
        << change.path;
  }
}

}  // namespace
