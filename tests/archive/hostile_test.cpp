// The hostile-tar corpus: every archive is built here, with names libarchive
// would sanitize on extraction written raw. Each case must be refused
// (Errc::invalid_argument, naming the entry) or contained, and in every case
// nothing outside `dest` may change.
//
// Layout: <tmp>/l1/l2/dest is extracted into; <tmp>/sentinel and
// <tmp>/outside (a directory) are what an escape would touch. Symlinks that
// point "up" point into <tmp>, never above it, so even a broken extractor
// would only write inside the test's own directory — where the check below
// finds it.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include <memory>
#include <string>

#include "archive_test_support.hpp"
#include "berth/sdk/layer_archive.hpp"

namespace {

using namespace berth::archive_test;
namespace ar = berth::sdk::archive;
using berth::sdk::Errc;

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    make_dir(tmp_ / "l1");
    make_dir(tmp_ / "l1/l2");
    make_dir(dest_);
    make_dir(outside_);
    write_file(tmp_ / "sentinel", "sentinel");
    set_mtime(tmp_ / "sentinel", 1'234'567'890);
    before_ = outside_dest();
  }

  void TearDown() override {
    EXPECT_EQ(diff(before_, outside_dest()), "") << "something outside dest changed";
    EXPECT_EQ(read_file(tmp_ / "sentinel"), "sentinel");
  }

  Snapshot outside_dest() const { return snapshot(tmp_.path(), {.skip = dest_}); }

  std::int64_t extract(const std::string& tar, ar::WhiteoutMode mode = ar::WhiteoutMode::apply,
                       bool allow_devices = true) {
    ar::ExtractOptions options;
    options.whiteouts = mode;
    options.allow_devices = allow_devices;
    return ar::extract_layer(reader_of(tar), dest_.string(), options);
  }

  void expect_refused(const std::string& tar, const std::string& entry,
                      ar::WhiteoutMode mode = ar::WhiteoutMode::apply, bool allow_devices = true) {
    const auto error = error_of([&] { extract(tar, mode, allow_devices); });
    EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
    EXPECT_NE(std::string(error.what()).find("extract " + entry + ":"), std::string::npos)
        << "message does not name the entry " << entry << ": " << error.what();
  }

  TempDir tmp_;
  const fs::path dest_ = tmp_ / "l1/l2/dest";
  const fs::path outside_ = tmp_ / "outside";
  Snapshot before_;
};

TEST_F(Hostile, DotDotIsRefused) {
  expect_refused(TarBuilder().file("../escape", "x").finish(), "../escape");
  expect_refused(TarBuilder().file("a/../../escape", "x").finish(), "a/../../escape");
  expect_refused(TarBuilder().dir("ok").file("ok/../../../../sentinel", "x").finish(),
                 "ok/../../../../sentinel");
}

TEST_F(Hostile, DotDotThatStaysInsideIsCleaned) {
  extract(TarBuilder().dir("a").file("a/../b", "b").finish());
  EXPECT_EQ(read_file(dest_ / "b"), "b");
}

TEST_F(Hostile, AbsolutePathLandsInsideDest) {
  extract(TarBuilder().file("/abs/path", "abs").file("//double//slash", "d").finish());
  EXPECT_EQ(read_file(dest_ / "abs/path"), "abs");
  EXPECT_EQ(read_file(dest_ / "double/slash"), "d");
}

TEST_F(Hostile, FileThroughSymlinkToRootIsRefused) {
  // Were the symlink followed, this would land in <tmp>/escaped.
  const std::string through = "evil" + (tmp_ / "escaped").string();
  expect_refused(TarBuilder().symlink("evil", "/").file(through, "x").finish(), through);
  EXPECT_TRUE(fs::is_symlink(dest_ / "evil"));
}

TEST_F(Hostile, FileThroughSymlinkUpIsRefused) {
  expect_refused(TarBuilder().symlink("evil", "../..").file("evil/x", "x").finish(), "evil/x");
  expect_refused(TarBuilder().symlink("deep", "../../..").dir("deep/d").finish(), "deep/d/");
}

TEST_F(Hostile, SymlinkChainIsRefused) {
  const std::string tar =
      TarBuilder().symlink("a", "b").symlink("b", "../../..").file("a/x", "x").finish();
  expect_refused(tar, "a/x");
  expect_refused(TarBuilder().symlink("b", "../../..").file("b/x", "x").finish(), "b/x");
}

TEST_F(Hostile, PreexistingSymlinkInDestIsNotFollowed) {
  make_symlink(dest_ / "lnk", outside_.string());
  expect_refused(TarBuilder().file("lnk/x", "x").finish(), "lnk/x");
  // The same as a parent further down, and for a directory entry.
  make_dir(dest_ / "real");
  make_symlink(dest_ / "real/lnk", outside_.string());
  expect_refused(TarBuilder().dir("real/lnk/sub").finish(), "real/lnk/sub/");
  EXPECT_TRUE(fs::is_empty(outside_));
}

TEST_F(Hostile, HardlinkToHostFileIsRefused) {
  struct stat before {};
  ASSERT_EQ(::lstat("/etc/passwd", &before), 0);
  expect_refused(TarBuilder().hardlink("pw", "/etc/passwd").finish(), "pw");
  struct stat after {};
  ASSERT_EQ(::lstat("/etc/passwd", &after), 0);
  EXPECT_EQ(before.st_nlink, after.st_nlink);
  EXPECT_FALSE(fs::exists(fs::symlink_status(dest_ / "pw")));
}

TEST_F(Hostile, AbsoluteHardlinkTargetMeansTheLayersFile) {
  extract(TarBuilder().file("etc/passwd", "layer").hardlink("pw", "/etc/passwd").finish());
  struct stat host {};
  struct stat layer {};
  struct stat link {};
  ASSERT_EQ(::lstat("/etc/passwd", &host), 0);
  ASSERT_EQ(::lstat((dest_ / "etc/passwd").c_str(), &layer), 0);
  ASSERT_EQ(::lstat((dest_ / "pw").c_str(), &link), 0);
  EXPECT_EQ(link.st_ino, layer.st_ino);
  EXPECT_NE(link.st_ino, host.st_ino);
}

TEST_F(Hostile, HardlinkUpIsRefused) {
  write_file(tmp_ / "l1/l2/x", "tempting");
  before_ = outside_dest();
  expect_refused(TarBuilder().hardlink("x", "../x").finish(), "x");
  expect_refused(TarBuilder().dir("a").hardlink("y", "a/../../x").finish(), "y");
}

TEST_F(Hostile, HardlinkToANameNotYetExtractedIsRefused) {
  expect_refused(TarBuilder().hardlink("early", "later").file("later", "x").finish(), "early");
}

TEST_F(Hostile, HardlinkThroughSymlinkIsRefused) {
  write_file(outside_ / "secret", "secret");
  before_ = outside_dest();
  expect_refused(TarBuilder().symlink("s", outside_.string()).hardlink("pw", "s/secret").finish(),
                 "pw");
}

TEST_F(Hostile, HardlinkToASymlinkLinksTheSymlinkItself) {
  extract(TarBuilder().symlink("s", (tmp_ / "sentinel").string()).hardlink("h", "s").finish());
  EXPECT_TRUE(fs::is_symlink(dest_ / "h"));
  EXPECT_EQ(fs::read_symlink(dest_ / "h"), tmp_ / "sentinel");
}

TEST_F(Hostile, WhiteoutOutsideIsRefused) {
  for (const auto mode : {ar::WhiteoutMode::apply, ar::WhiteoutMode::overlay}) {
    expect_refused(TarBuilder().file("../.wh.x", "").finish(), "../.wh.x", mode);
    expect_refused(TarBuilder().file("../.wh.l2", "").finish(), "../.wh.l2", mode);
    expect_refused(TarBuilder().file("../../../.wh.sentinel", "").finish(), "../../../.wh.sentinel",
                   mode);
    expect_refused(TarBuilder().symlink("up", "../../..").file("up/.wh.sentinel", "").finish(),
                   "up/.wh.sentinel", mode);
  }
}

TEST_F(Hostile, WhiteoutNamingNoFileIsRefused) {
  expect_refused(TarBuilder().dir("d").file("d/.wh..", "").finish(), "d/.wh..");
  expect_refused(TarBuilder().dir("d").file("d/.wh...", "").finish(), "d/.wh...");
  expect_refused(TarBuilder().file(".wh.", "").finish(), ".wh.");
  EXPECT_TRUE(fs::is_directory(dest_ / "d"));
}

TEST_F(Hostile, OpaqueMarkerInSymlinkedDirIsRefused) {
  write_file(outside_ / "keepme", "keep");
  before_ = outside_dest();
  for (const auto mode : {ar::WhiteoutMode::apply, ar::WhiteoutMode::overlay}) {
    expect_refused(
        TarBuilder().symlink("evil", outside_.string()).file("evil/.wh..wh..opq", "").finish(),
        "evil/.wh..wh..opq", mode);
  }
  EXPECT_EQ(get_xattr(outside_, "trusted.overlay.opaque"), std::nullopt);
}

TEST_F(Hostile, DevicesAreRefusedUnlessAllowed) {
  expect_refused(TarBuilder().node("dev/null", AE_IFCHR, makedev(1, 3)).finish(), "dev/null",
                 ar::WhiteoutMode::apply, false);
  expect_refused(TarBuilder().node("dev/sda", AE_IFBLK, makedev(8, 0)).finish(), "dev/sda",
                 ar::WhiteoutMode::apply, false);
  EXPECT_FALSE(fs::exists(fs::symlink_status(dest_ / "dev/null")));
  // A fifo is no device.
  extract(TarBuilder().node("run/fifo", AE_IFIFO, 0).finish(), ar::WhiteoutMode::apply, false);
  EXPECT_TRUE(fs::is_fifo(dest_ / "run/fifo"));
  // Overlay whiteouts are 0:0 devices, but no device nodes from the tar.
  extract(TarBuilder().file(".wh.gone", "").finish(), ar::WhiteoutMode::overlay, false);
  EXPECT_TRUE(fs::is_character_file(dest_ / "gone"));
}

TEST_F(Hostile, TruncatedHugeFileFails) {
  const std::string tar = truncated_tar("big", std::int64_t{1} << 40, std::string(100, 'x'));
  const auto error = error_of([&] { extract(tar); });
  EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
  EXPECT_NE(std::string(error.what()).find("extract big:"), std::string::npos) << error.what();
  // What was read stays (the caller removes the layer); nothing was
  // allocated for the declared size.
  struct stat st {};
  ASSERT_EQ(::stat((dest_ / "big").c_str(), &st), 0);
  EXPECT_LE(st.st_size, 100);
}

TEST_F(Hostile, TruncatedHeaderFails) {
  const std::string tar = TarBuilder().file("a", std::string(2000, 'a')).finish();
  const auto error = error_of([&] { extract(tar.substr(0, 700)); });
  EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
}

TEST_F(Hostile, GarbageIsNoTar) {
  const auto error = error_of([&] { extract(std::string(4096, 'g')); });
  EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
  EXPECT_TRUE(fs::is_empty(dest_));
}

TEST_F(Hostile, NulInANameEndsTheName) {
  // A first component too long for a ustar header, so the name goes into a
  // PAX path record, whose "X" becomes a NUL: "safe\0aaa…/../../../escape".
  // Refused or cut at the NUL, never outside.
  std::string name = "safeX" + std::string(160, 'a');
  for (int i = 0; i < 6; ++i) name += "/..";
  name += "/escape";
  std::string tar = TarBuilder().file(name, "nul").finish();
  const auto at = tar.find("path=safeX");
  ASSERT_NE(at, std::string::npos);
  tar[at + 9] = '\0';
  try {
    extract(tar);
    EXPECT_EQ(read_file(dest_ / "safe"), "nul");
    EXPECT_EQ(snapshot(dest_).size(), 1u);
  } catch (const berth::sdk::Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument) << e.what();
  }
}

TEST_F(Hostile, DirectoryReplacesSymlinkToOutside) {
  extract(
      TarBuilder().symlink("lnk", outside_.string()).dir("lnk").file("lnk/x", "inside").finish());
  EXPECT_FALSE(fs::is_symlink(dest_ / "lnk"));
  EXPECT_EQ(read_file(dest_ / "lnk/x"), "inside");
  EXPECT_TRUE(fs::is_empty(outside_));
}

TEST_F(Hostile, PreexistingSymlinkIsReplacedNotFollowed) {
  make_symlink(dest_ / "dir", outside_.string());
  make_symlink(dest_ / "file", (tmp_ / "sentinel").string());
  extract(TarBuilder().dir("dir").file("dir/x", "inside").file("file", "replaced").finish());
  EXPECT_EQ(read_file(dest_ / "dir/x"), "inside");
  EXPECT_FALSE(fs::is_symlink(dest_ / "file"));
  EXPECT_EQ(read_file(dest_ / "file"), "replaced");
  EXPECT_TRUE(fs::is_empty(outside_));
}

TEST_F(Hostile, FileOverAHardlinkDoesNotWriteThroughIt) {
  extract(TarBuilder().file("a", "original").hardlink("b", "a").file("b", "new").finish());
  EXPECT_EQ(read_file(dest_ / "a"), "original");
  EXPECT_EQ(read_file(dest_ / "b"), "new");
}

TEST_F(Hostile, SymlinkReplacingAnExtractedDirectoryCannotRedirectLaterEntries) {
  expect_refused(TarBuilder().dir("d").symlink("d", outside_.string()).file("d/x", "x").finish(),
                 "d/x");
}

TEST_F(Hostile, OverlayXattrsFromTheTarAreDropped) {
  extract(TarBuilder()
              .file("f", "f", 0644,
                    {{"trusted.overlay.redirect", "/elsewhere"},
                     {"trusted.overlay.metacopy", ""},
                     {"user.kept", "yes"}})
              .finish(),
          ar::WhiteoutMode::overlay);
  EXPECT_EQ(get_xattr(dest_ / "f", "trusted.overlay.redirect"), std::nullopt);
  EXPECT_EQ(get_xattr(dest_ / "f", "trusted.overlay.metacopy"), std::nullopt);
  EXPECT_EQ(get_xattr(dest_ / "f", "user.kept"), "yes");
}

TEST_F(Hostile, NonDirectoryNamingTheRootIsRefused) {
  expect_refused(TarBuilder().file(".", "x").finish(), ".");
  expect_refused(TarBuilder().file("a/..", "x").finish(), "a/..");
}

TEST_F(Hostile, WhiteoutPrefixInADirectoryNameIsRefused) {
  expect_refused(TarBuilder().file(".wh.d/x", "x").finish(), ".wh.d/x");
}

TEST_F(Hostile, PathThroughAFileIsRefused) {
  expect_refused(TarBuilder().file("f", "f").file("f/x", "x").finish(), "f/x");
}

TEST_F(Hostile, AbsurdlyDeepPathIsRefused) {
  std::string name;
  for (int i = 0; i < 3000; ++i) name += "d/";
  name += "x";
  expect_refused(TarBuilder().file(name, "x").finish(), name);
  EXPECT_TRUE(fs::is_empty(dest_));
}

TEST_F(Hostile, OutOfRangeOwnerIsRefused) {
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                  &archive_entry_free);
  archive_entry_set_pathname(e.get(), "f");
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_uid(e.get(), std::int64_t{1} << 33);
  archive_entry_set_size(e.get(), 0);
  TarBuilder tar;
  tar.add(e.get());
  expect_refused(tar.finish(), "f");
  EXPECT_TRUE(fs::is_empty(dest_));
}

}  // namespace
