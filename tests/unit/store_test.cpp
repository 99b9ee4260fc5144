#include "berth/core/store.hpp"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

#include <filesystem>

namespace berth::core {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-test-store-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/berth.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
};

TEST_F(StoreTest, CreatesSchemaInWalModeAndKeepsDaemonId) {
  std::string id;
  {
    auto store = MetadataStore::open(path_);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_EQ(store.value()->schema_version(), builtin_migrations().back().version);
    auto got = store.value()->daemon_id();
    ASSERT_TRUE(got);
    id = got.value();
    EXPECT_EQ(id.size(), 36u);
    auto mode = store.value()->with_db(
        [](SQLite::Database& db) { return db.execAndGet("PRAGMA journal_mode").getString(); });
    EXPECT_EQ(mode, "wal");
  }
  auto reopened = MetadataStore::open(path_);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened.value()->daemon_id().value(), id);
}

TEST_F(StoreTest, AppliesOnlyPendingMigrations) {
  const Migration v1[] = {{1, "CREATE TABLE a(x INTEGER);"}};
  const Migration v2[] = {{1, "CREATE TABLE a(x INTEGER);"},
                          {2, "ALTER TABLE a ADD COLUMN y TEXT; CREATE TABLE b(z INTEGER);"}};
  ASSERT_TRUE(MetadataStore::open(path_, v1));
  auto store = MetadataStore::open(path_, v2);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(store.value()->schema_version(), 2);
  store.value()->with_db([](SQLite::Database& db) {
    db.exec("INSERT INTO a(x, y) VALUES(1, 'ok'); INSERT INTO b(z) VALUES(2);");
  });
}

TEST_F(StoreTest, FailedMigrationRollsBackToThePreviousVersion) {
  const Migration good[] = {{1, "CREATE TABLE a(x INTEGER);"}};
  const Migration bad[] = {{1, "CREATE TABLE a(x INTEGER);"},
                           {2, "CREATE TABLE c(q INTEGER); THIS IS NOT SQL;"}};
  ASSERT_TRUE(MetadataStore::open(path_, good));
  auto failed = MetadataStore::open(path_, bad);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("migration to schema version 2"), std::string::npos);
  auto store = MetadataStore::open(path_, good);
  ASSERT_TRUE(store);
  EXPECT_EQ(store.value()->schema_version(), 1);
  bool has_c = store.value()->with_db([](SQLite::Database& db) { return db.tableExists("c"); });
  EXPECT_FALSE(has_c);
}

TEST_F(StoreTest, RefusesNewerSchema) {
  const Migration v2[] = {{1, "CREATE TABLE a(x INTEGER);"}, {2, "CREATE TABLE b(x INTEGER);"}};
  const Migration v1[] = {{1, "CREATE TABLE a(x INTEGER);"}};
  ASSERT_TRUE(MetadataStore::open(path_, v2));
  auto old = MetadataStore::open(path_, v1);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().code, Errc::failed_precondition);
  EXPECT_NE(old.error().message.find("schema version 2 is newer than this berthd supports (1)"),
            std::string::npos);
}

TEST_F(StoreTest, MetaValuesRoundTrip) {
  auto store = MetadataStore::open(path_);
  ASSERT_TRUE(store);
  EXPECT_EQ(store.value()->get_meta("k").value(), "");
  ASSERT_TRUE(store.value()->set_meta("k", "v1"));
  ASSERT_TRUE(store.value()->set_meta("k", "v2"));
  EXPECT_EQ(store.value()->get_meta("k").value(), "v2");
}

TEST_F(StoreTest, UnreadableDatabaseIsAnError) {
  {
    std::FILE* f = std::fopen(path_.c_str(), "w");
    std::fputs("this is not a database file, just text that is long enough to matter", f);
    std::fclose(f);
  }
  auto store = MetadataStore::open(path_);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find(path_), std::string::npos);
}

}  // namespace
}  // namespace berth::core
