// Whiteouts in both modes: applied to a full tree (vfs), and turned into
// overlayfs' own form in an upper directory — checked by mounting it.
#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include <string>

#include "archive_test_support.hpp"
#include "berth/sdk/layer_archive.hpp"

namespace {

using namespace berth::archive_test;
namespace ar = berth::sdk::archive;

// The parent layer: what the whiteouts below delete or hide.
void build_lower(const fs::path& root) {
  make_dir(root / "a");
  write_file(root / "a/keep", "keep");
  write_file(root / "a/gone", "gone");
  make_dir(root / "b");
  write_file(root / "b/x", "x");
  make_dir(root / "opq");
  write_file(root / "opq/old", "old");
  write_file(root / "opq/new", "lower new");
  make_dir(root / "opq/sub");
  write_file(root / "opq/sub/old2", "old2");
}

// Deletes a/gone and b, makes opq opaque. "opq/+early" sorts before the
// opaque marker: it must survive the marker in apply mode.
std::string whiteout_layer() {
  TarBuilder tar;
  tar.dir("a")
      .file("a/.wh.gone", "")
      .file(".wh.b", "")
      .dir("opq")
      .file("opq/+early", "early")
      .file("opq/.wh..wh..opq", "")
      .file("opq/new", "upper new")
      .dir("opq/sub")
      .file("opq/sub/new2", "new2");
  return tar.finish();
}

TEST(Whiteouts, ApplyModeDeletesAndClearsOpaqueDirectories) {
  TempDir tmp;
  make_dir(tmp / "dest");
  build_lower(tmp / "dest");

  ar::ExtractOptions options;
  options.whiteouts = ar::WhiteoutMode::apply;
  ar::extract_layer(reader_of(whiteout_layer()), (tmp / "dest").string(), options);

  Snapshot files;
  for (const auto& [path, node] : snapshot(tmp / "dest", {.mtimes = false})) {
    if (S_ISREG(node.mode)) files.emplace(path, node);
  }
  std::map<std::string, std::string> contents;
  for (const auto& [path, node] : files) contents[path] = node.content;
  const std::map<std::string, std::string> expected = {
      {"a/keep", "keep"},
      {"opq/+early", "early"},
      {"opq/new", "upper new"},
      {"opq/sub/new2", "new2"},
  };
  EXPECT_EQ(contents, expected);
  EXPECT_FALSE(fs::exists(fs::symlink_status(tmp / "dest/b")));
  EXPECT_TRUE(fs::is_directory(tmp / "dest/opq/sub"));
  EXPECT_EQ(get_xattr(tmp / "dest/opq", "trusted.overlay.opaque"), std::nullopt);
}

TEST(Whiteouts, ApplyModeToleratesMissingTargets) {
  TempDir tmp;
  make_dir(tmp / "dest");
  TarBuilder tar;
  tar.file(".wh.nothing", "").file("no/such/dir/.wh.x", "").file("nodir/.wh..wh..opq", "");
  ar::ExtractOptions options;
  options.whiteouts = ar::WhiteoutMode::apply;
  ar::extract_layer(reader_of(tar.finish()), (tmp / "dest").string(), options);
  EXPECT_TRUE(snapshot(tmp / "dest").empty());
}

TEST(Whiteouts, OverlayModeWritesOverlayfsForm) {
  TempDir tmp;
  make_dir(tmp / "upper");
  ar::ExtractOptions options;
  options.whiteouts = ar::WhiteoutMode::overlay;
  ar::extract_layer(reader_of(whiteout_layer()), (tmp / "upper").string(), options);

  const auto snap = snapshot(tmp / "upper", {.mtimes = false});
  for (const char* deleted : {"a/gone", "b"}) {
    ASSERT_TRUE(snap.contains(deleted)) << deleted;
    const Node& node = snap.at(deleted);
    EXPECT_TRUE(S_ISCHR(node.mode)) << deleted;
    EXPECT_EQ(node.rdev, makedev(0, 0)) << deleted;
  }
  EXPECT_EQ(get_xattr(tmp / "upper/opq", "trusted.overlay.opaque"), "y");
  EXPECT_EQ(get_xattr(tmp / "upper/a", "trusted.overlay.opaque"), std::nullopt);
  for (const auto& [path, node] : snap) {
    EXPECT_EQ(fs::path(path).filename().string().rfind(".wh.", 0), std::string::npos) << path;
  }
  EXPECT_EQ(read_file(tmp / "upper/opq/+early"), "early");
}

TEST(Whiteouts, OverlayFormWorksWhenMounted) {
  TempDir tmp;
  for (const char* dir : {"lower", "upper", "work", "merged"}) make_dir(tmp / dir);
  build_lower(tmp / "lower");
  ar::ExtractOptions options;
  options.whiteouts = ar::WhiteoutMode::overlay;
  ar::extract_layer(reader_of(whiteout_layer()), (tmp / "upper").string(), options);

  Mount mount("overlay", tmp / "merged",
              "lowerdir=" + (tmp / "lower").string() + ",upperdir=" + (tmp / "upper").string() +
                  ",workdir=" + (tmp / "work").string());
  const fs::path merged = tmp / "merged";
  EXPECT_EQ(read_file(merged / "a/keep"), "keep");
  EXPECT_FALSE(fs::exists(fs::symlink_status(merged / "a/gone")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(merged / "b")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(merged / "opq/old")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(merged / "opq/sub/old2")));
  EXPECT_EQ(read_file(merged / "opq/new"), "upper new");
  EXPECT_EQ(read_file(merged / "opq/+early"), "early");
  EXPECT_EQ(read_file(merged / "opq/sub/new2"), "new2");

  // The same layer applied to a copy of the lower tree gives what overlayfs
  // shows.
  make_dir(tmp / "vfs");
  build_lower(tmp / "vfs");
  ar::ExtractOptions apply;
  apply.whiteouts = ar::WhiteoutMode::apply;
  ar::extract_layer(reader_of(whiteout_layer()), (tmp / "vfs").string(), apply);
  EXPECT_EQ(diff(snapshot(tmp / "vfs", {.mtimes = false}), snapshot(merged, {.mtimes = false})),
            "");
}

TEST(Whiteouts, OverlayUpperDiffRoundTripsThroughALayerTar) {
  TempDir tmp;
  for (const char* dir : {"lower", "upper", "work", "merged", "vfs"}) make_dir(tmp / dir);
  build_lower(tmp / "lower");
  build_lower(tmp / "vfs");
  {
    // Changes made through a real overlay mount, as a container makes them.
    Mount mount("overlay", tmp / "merged",
                "lowerdir=" + (tmp / "lower").string() + ",upperdir=" + (tmp / "upper").string() +
                    ",workdir=" + (tmp / "work").string());
    const fs::path merged = tmp / "merged";
    fs::remove(merged / "a/gone");
    fs::remove_all(merged / "b");
    write_file(merged / "a/keep", "changed");
    fs::remove_all(merged / "opq");
    make_dir(merged / "opq");  // overlayfs makes it opaque
    write_file(merged / "opq/fresh", "fresh");
    make_dir(merged / "c");
    write_file(merged / "c/new", "new");
  }
  ASSERT_EQ(get_xattr(tmp / "upper/opq", "trusted.overlay.opaque"), "y");

  std::string tar;
  ar::write_layer((tmp / "upper").string(),
                  ar::overlay_changes((tmp / "upper").string(), {(tmp / "lower").string()}),
                  writer_to(tar));
  std::vector<std::string> names;
  for (const auto& entry : list_tar(tar)) names.push_back(entry.name);
  const std::vector<std::string> expected_names = {
      ".wh.b", "a/",   "a/.wh.gone",       "a/keep",   "c/",
      "c/new", "opq/", "opq/.wh..wh..opq", "opq/fresh"};
  EXPECT_EQ(names, expected_names);

  ar::ExtractOptions apply;
  apply.whiteouts = ar::WhiteoutMode::apply;
  ar::extract_layer(reader_of(tar), (tmp / "vfs").string(), apply);

  Mount mount("overlay", tmp / "merged",
              "lowerdir=" + (tmp / "lower").string() + ",upperdir=" + (tmp / "upper").string() +
                  ",workdir=" + (tmp / "work").string());
  const SnapshotOptions options{.dir_mtimes = false, .whole_seconds = true};
  EXPECT_EQ(diff(snapshot(tmp / "merged", options), snapshot(tmp / "vfs", options)), "");
}

}  // namespace
