#include "pull_fixture.hpp"

#include <algorithm>
#include <filesystem>

namespace berth::testing {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string PullTest::sql(const std::string& query) const {
  auto r = run({"sqlite3", "-cmd", ".timeout 5000", daemon_->data_root() + "/berth.db", query});
  EXPECT_EQ(r.exit_code, 0) << query << ": " << r.err;
  return r.out;
}

std::vector<std::string> PullTest::ingest_files() const {
  return entries(daemon_->data_root() + "/image/ingest");
}

std::vector<std::string> PullTest::blobs() const {
  return entries(daemon_->data_root() + "/image/blobs/sha256");
}

std::vector<std::string> PullTest::driver_layers() const {
  return entries(daemon_->data_root() + "/plugins/storage-" + driver() + "/layers");
}

std::vector<std::string> PullTest::driver_tmp() const {
  return entries(daemon_->data_root() + "/plugins/storage-" + driver() + "/tmp");
}

std::string PullTest::images_json() const {
  std::string reply = raw_exchange(
      daemon_->socket(), "GET /v1.41/images/json HTTP/1.0\r\nHost: berth\r\n\r\n");
  auto body = reply.find("\r\n\r\n");
  return body == std::string::npos ? reply : reply.substr(body + 4);
}

void PullTest::expect_empty_store() const {
  EXPECT_EQ(images_json(), "[]\n");
  EXPECT_EQ(ingest_files(), std::vector<std::string>{});
  EXPECT_EQ(blobs(), std::vector<std::string>{});
  EXPECT_EQ(driver_layers(), std::vector<std::string>{});
  EXPECT_EQ(driver_tmp(), std::vector<std::string>{});
  EXPECT_EQ(sql("SELECT COUNT(*) FROM pending_layers; SELECT COUNT(*) FROM layers; "
                "SELECT COUNT(*) FROM images; SELECT COUNT(*) FROM image_refs;"),
            "0\n0\n0\n0\n");
}

}  // namespace berth::testing
