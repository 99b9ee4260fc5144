// The metadata store: one SQLite database (WAL mode) under the data root.
// Related changes commit together in one transaction, so a kill -9 at any
// moment leaves either all of them or none.
#pragma once

#include "berth/core/error.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace berth::core {

// One schema step. Steps run in order, each in its own transaction together
// with the bump of the schema version, so a crash mid-way leaves the previous
// version intact.
struct Migration {
  int version;      // 1, 2, 3, ... without gaps
  const char* sql;  // one or more statements
};

// Runs `fn` (store work that may throw SQLite::Exception) and turns the
// exception into a Result whose message starts with `what`; a busy database
// is `unavailable`, anything else `internal`.
template <class Fn>
auto guard(std::string_view what, Fn&& fn) -> Result<decltype(fn())> {
  try {
    if constexpr (std::is_void_v<decltype(fn())>) {
      fn();
      return ok();
    } else {
      return fn();
    }
  } catch (const SQLite::Exception& e) {
    Errc code = e.getErrorCode() == SQLITE_BUSY ? Errc::unavailable : Errc::internal;
    return make_error(code, std::string(what) + ": " + e.what());
  }
}

// berth's schema, oldest first.
std::span<const Migration> builtin_migrations();

class MetadataStore {
 public:
  // Opens (creating if needed) the database at `path`, switches it to WAL
  // with full synchronous commits, and applies the pending `migrations`.
  // Refuses a database whose schema is newer than the newest migration.
  static Result<std::unique_ptr<MetadataStore>> open(
      const std::string& path, std::span<const Migration> migrations = builtin_migrations());

  // The schema version in force.
  int schema_version();

  // A value from the daemon's key/value table, or empty.
  Result<std::string> get_meta(const std::string& key);
  Result<void> set_meta(const std::string& key, const std::string& value);

  // This daemon's stable ID (generated on first start), as /info reports it.
  Result<std::string> daemon_id();

  // Runs `fn(db)` under the store lock. SQLiteCpp throws SQLite::Exception;
  // callers catch it at the store boundary (see guard()).
  template <class Fn>
  auto with_db(Fn&& fn) {
    std::lock_guard lock(mutex_);
    return fn(db_);
  }

 private:
  explicit MetadataStore(const std::string& path);

  std::mutex mutex_;
  SQLite::Database db_;
};

}  // namespace berth::core
