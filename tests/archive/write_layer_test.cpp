// write_layer: the entries it writes (parents, whiteouts, opaque markers,
// hardlinks, xattrs) and that the same tree always gives the same bytes.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "archive_test_support.hpp"
#include "berth/sdk/layer_archive.hpp"

namespace {

using namespace berth::archive_test;
namespace ar = berth::sdk::archive;
using ar::Change;
using berth::sdk::Errc;

// The same tree, its entries created in the given or the reverse order.
void build(const fs::path& root, bool reverse) {
  std::vector<std::function<void()>> steps = {
      [&] { write_file(root / "z-last", "z"); },
      [&] { make_dir(root / "m"); },
      [&] { make_symlink(root / "link", "z-last"); },
      [&] { write_file(root / "a-first", std::string(5000, 'a'), 0600); },
      [&] { set_xattr(root / "a-first", "user.b", "2"); },
      [&] { set_xattr(root / "a-first", "user.a", "1"); },
  };
  if (reverse) {
    // Same result, other creation order (the xattrs after their file).
    steps = {steps[3], steps[4], steps[5], steps[2], steps[1], steps[0]};
  }
  for (const auto& step : steps) step();
  write_file(root / "m/inner", "inner");
  ASSERT_EQ(::link((root / "m/inner").c_str(), (root / "m/again").c_str()), 0);
  for (const auto& [path, node] : snapshot(root, {.mtimes = false})) {
    set_mtime(root / path, 1'400'000'000, 123'456'789);
  }
}

std::string layer_of(const fs::path& root, const std::vector<Change>& changes) {
  std::string tar;
  ar::write_layer(root.string(), changes, writer_to(tar));
  return tar;
}

TEST(WriteLayer, SameTreeSameBytes) {
  TempDir tmp;
  make_dir(tmp / "one");
  make_dir(tmp / "two");
  build(tmp / "one", false);
  build(tmp / "two", true);

  const auto changes = ar::tree_changes((tmp / "one").string(), "");
  const std::string first = layer_of(tmp / "one", changes);
  EXPECT_EQ(first, layer_of(tmp / "one", changes));
  // Another copy: other inodes, other directory order, other ctimes.
  EXPECT_EQ(first, layer_of(tmp / "two", ar::tree_changes((tmp / "two").string(), "")));
  // The change list's order does not matter either.
  std::vector<Change> reversed(changes.rbegin(), changes.rend());
  EXPECT_EQ(first, layer_of(tmp / "one", reversed));
  // Ends with the two zero blocks, without padding to a 10 KiB record.
  ASSERT_EQ(first.size() % 512, 0u);
  EXPECT_EQ(first.substr(first.size() - 1024), std::string(1024, '\0'));
  EXPECT_NE(first.size() % 10240, 0u);
}

TEST(WriteLayer, WritesSortedEntriesWithParentsWhiteoutsAndLinks) {
  TempDir tmp;
  make_dir(tmp / "root");
  build(tmp / "root", false);
  const fs::path root = tmp / "root";
  make_dir(root / "gone-parent");
  set_xattr(root / "m", "trusted.overlay.opaque", "y");
  set_xattr(root / "m", "user.kept", "k");

  const std::vector<Change> changes = {
      {"/m/again", Change::added}, {"/m/inner", Change::modified},
      {"/z-last", Change::added},  {"/gone-parent/x", Change::deleted},
      {"/link", Change::added},
  };
  const auto entries = list_tar(layer_of(root, changes));
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  const std::vector<std::string> expected = {
      "gone-parent/",   "gone-parent/.wh.x", "link",    "m/",
      "m/.wh..wh..opq", "m/again",           "m/inner", "z-last",
  };
  ASSERT_EQ(names, expected);

  const auto& m = entries[3];
  EXPECT_EQ(m.type, static_cast<unsigned>(S_IFDIR));
  const std::vector<std::pair<std::string, std::string>> m_xattrs = {{"user.kept", "k"}};
  EXPECT_EQ(m.xattrs, m_xattrs) << "trusted.overlay.* must not be written";
  EXPECT_EQ(m.mtime, 1'400'000'000);

  EXPECT_EQ(entries[1].type, static_cast<unsigned>(S_IFREG));
  EXPECT_EQ(entries[1].size, 0);
  EXPECT_EQ(entries[2].symlink, "z-last");
  // m/again comes first, so it carries the data; m/inner links to it.
  EXPECT_EQ(entries[5].size, 5);
  EXPECT_EQ(entries[5].hardlink, "");
  EXPECT_EQ(entries[6].hardlink, "m/again");
  EXPECT_EQ(entries[6].size, 0);
}

TEST(WriteLayer, WhiteoutsUnderDeletedDirectoriesAreLeftOut) {
  TempDir tmp;
  make_dir(tmp / "root");
  make_whiteout(tmp / "root/wh");  // an overlay upper's deleted directory
  const std::vector<Change> changes = {
      {"/wh", Change::deleted},
      {"/wh/x", Change::deleted},
      {"/gone", Change::deleted},
      {"/gone/y", Change::deleted},
  };
  std::vector<std::string> names;
  for (const auto& e : list_tar(layer_of(tmp / "root", changes))) names.push_back(e.name);
  const std::vector<std::string> expected = {".wh.gone", ".wh.wh"};
  EXPECT_EQ(names, expected);
}

TEST(WriteLayer, XattrsAreSortedByName) {
  TempDir tmp;
  make_dir(tmp / "root");
  build(tmp / "root", false);
  const auto entries = list_tar(layer_of(tmp / "root", {{"/a-first", Change::added}}));
  ASSERT_EQ(entries.size(), 1u);
  const std::vector<std::pair<std::string, std::string>> xattrs = {{"user.a", "1"},
                                                                   {"user.b", "2"}};
  EXPECT_EQ(entries[0].xattrs, xattrs);
}

TEST(WriteLayer, WriteFailureKeepsItsClass) {
  TempDir tmp;
  make_dir(tmp / "root");
  build(tmp / "root", false);
  const auto error = error_of([&] {
    ar::write_layer(
        (tmp / "root").string(), {{"/a-first", Change::added}},
        [](const void*, std::size_t) { throw berth::sdk::Error(Errc::unavailable, "disk gone"); });
  });
  EXPECT_EQ(error.code(), Errc::unavailable);
  EXPECT_NE(std::string(error.what()).find("disk gone"), std::string::npos) << error.what();
}

TEST(WriteLayer, WriteFailureMidStreamStopsWriting) {
  TempDir tmp;
  make_dir(tmp / "root");
  write_file(tmp / "root/big", std::string(200 * 1024, 'b'));
  std::size_t written = 0;
  int calls_after_failure = 0;
  const auto error = error_of([&] {
    ar::write_layer((tmp / "root").string(), {{"/big", Change::added}},
                    [&](const void*, std::size_t len) {
                      if (written >= 20 * 1024) {
                        ++calls_after_failure;
                        throw berth::sdk::Error(Errc::unavailable, "pipe closed");
                      }
                      written += len;
                    });
  });
  EXPECT_EQ(error.code(), Errc::unavailable) << error.what();
  EXPECT_EQ(calls_after_failure, 1);
}

TEST(WriteLayer, RefusesBadChangePaths) {
  TempDir tmp;
  make_dir(tmp / "root");
  for (const char* bad : {"relative", "/a/../b", "/a//b", "/a/"}) {
    std::string tar;
    const auto error = error_of([&] {
      ar::write_layer((tmp / "root").string(), {{bad, Change::added}}, writer_to(tar));
    });
    EXPECT_EQ(error.code(), Errc::invalid_argument) << bad << ": " << error.what();
  }
}

TEST(WriteLayer, MissingPathIsNotFound) {
  TempDir tmp;
  make_dir(tmp / "root");
  std::string tar;
  const auto error = error_of([&] {
    ar::write_layer((tmp / "root").string(), {{"/nope", Change::added}}, writer_to(tar));
  });
  EXPECT_EQ(error.code(), Errc::not_found) << error.what();
  EXPECT_NE(std::string(error.what()).find("nope"), std::string::npos) << error.what();
}

TEST(WriteLayer, DoesNotReadThroughSymlinks) {
  TempDir tmp;
  make_dir(tmp / "root");
  make_dir(tmp / "secret");
  write_file(tmp / "secret/key", "secret");
  make_symlink(tmp / "root/dir", (tmp / "secret").string());
  std::string tar;
  const auto error = error_of([&] {
    ar::write_layer((tmp / "root").string(), {{"/dir/key", Change::added}}, writer_to(tar));
  });
  EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
  EXPECT_EQ(tar.find("secret"), std::string::npos);
}

}  // namespace
