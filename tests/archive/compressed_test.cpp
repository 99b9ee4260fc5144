// Input formats: plain, gzip and zstd tars are detected and extracted; an
// empty stream is an empty layer; a failing ReadFn keeps its error class.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "archive_test_support.hpp"
#include "berth/sdk/layer_archive.hpp"

namespace {

using namespace berth::archive_test;
namespace ar = berth::sdk::archive;
using berth::sdk::Errc;

std::string sample(Compression compression) {
  TarBuilder tar(compression);
  std::string big(200 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 31 + i / 7) % 256);
  tar.dir("d").file("d/small", "small\n").file("d/big", big).symlink("d/link", "small");
  return tar.finish();
}

class Compressed : public ::testing::TestWithParam<Compression> {};

TEST_P(Compressed, IsDetectedAndExtracted) {
  TempDir tmp;
  make_dir(tmp / "dest");
  const std::string tar = sample(GetParam());
  if (GetParam() != Compression::none) {
    // Really compressed: the builder's output is not a plain tar.
    EXPECT_NE(tar.substr(257, 5), "ustar");
  }
  const auto bytes = ar::extract_layer(reader_of(tar, 777), (tmp / "dest").string(), {});
  EXPECT_EQ(bytes, 6 + 200 * 1024);
  EXPECT_EQ(read_file(tmp / "dest/d/small"), "small\n");
  EXPECT_EQ(read_file(tmp / "dest/d/big").size(), 200u * 1024);
  EXPECT_EQ(fs::read_symlink(tmp / "dest/d/link"), "small");
}

INSTANTIATE_TEST_SUITE_P(Formats, Compressed,
                         ::testing::Values(Compression::none, Compression::gzip, Compression::zstd),
                         [](const auto& test_param) {
                           switch (test_param.param) {
                             case Compression::gzip:
                               return std::string("gzip");
                             case Compression::zstd:
                               return std::string("zstd");
                             default:
                               return std::string("plain");
                           }
                         });

TEST(Input, EmptyStreamIsAnEmptyLayer) {
  TempDir tmp;
  EXPECT_EQ(ar::extract_layer(reader_of(""), tmp.path().string(), {}), 0);
  EXPECT_EQ(ar::extract_layer(reader_of(TarBuilder().finish()), tmp.path().string(), {}), 0);
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

TEST(Input, ReadFailureKeepsItsClass) {
  TempDir tmp;
  const std::string tar = sample(Compression::none);
  std::size_t served = 0;
  const ar::ReadFn failing = [&](void* buf, std::size_t cap) -> std::size_t {
    if (served >= 4096) throw berth::sdk::Error(Errc::unavailable, "registry connection reset");
    const std::size_t n = std::min<std::size_t>(cap, 1024);
    std::memcpy(buf, tar.data() + served, n);
    served += n;
    return n;
  };
  const auto error = error_of([&] { ar::extract_layer(failing, tmp.path().string(), {}); });
  EXPECT_EQ(error.code(), Errc::unavailable) << error.what();
  EXPECT_NE(std::string(error.what()).find("registry connection reset"), std::string::npos)
      << error.what();
}

TEST(Input, MissingDestinationIsNotFound) {
  TempDir tmp;
  const auto error = error_of([&] {
    ar::extract_layer(reader_of(sample(Compression::none)), (tmp / "nope").string(), {});
  });
  EXPECT_EQ(error.code(), Errc::not_found) << error.what();
  EXPECT_NE(std::string(error.what()).find((tmp / "nope").string()), std::string::npos);
}

}  // namespace
