#include "berth/core/store.hpp"

#include <Poco/UUIDGenerator.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

namespace berth::core {
namespace {

constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE daemon_meta ("
     "  key TEXT PRIMARY KEY NOT NULL,"
     "  value TEXT NOT NULL"
     ") WITHOUT ROWID;"},
    {2,
     // Layers by chain ID; cache_id is the storage driver's name for it.
     "CREATE TABLE layers ("
     "  chain_id TEXT PRIMARY KEY NOT NULL,"
     "  diff_id TEXT NOT NULL,"
     "  parent TEXT REFERENCES layers(chain_id),"
     "  cache_id TEXT NOT NULL UNIQUE,"
     "  driver TEXT NOT NULL,"
     "  size INTEGER NOT NULL,"
     "  created INTEGER NOT NULL"
     ");"
     "CREATE INDEX layers_parent ON layers(parent);"
     // Driver layers being written: removed by the start-up sweep if the
     // daemon died before they were registered.
     "CREATE TABLE pending_layers ("
     "  cache_id TEXT PRIMARY KEY NOT NULL,"
     "  driver TEXT NOT NULL,"
     "  created INTEGER NOT NULL"
     ");"
     "CREATE TABLE images ("
     "  id TEXT PRIMARY KEY NOT NULL,"
     "  top_layer TEXT REFERENCES layers(chain_id),"
     "  parent TEXT,"
     "  loaded INTEGER NOT NULL"
     ");"
     "CREATE INDEX images_top_layer ON images(top_layer);"
     "CREATE TABLE image_refs ("
     "  name TEXT PRIMARY KEY NOT NULL,"
     "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
     "  is_digest INTEGER NOT NULL,"
     "  created INTEGER NOT NULL"
     ");"
     "CREATE INDEX image_refs_image ON image_refs(image_id);"
     // Blobs an image keeps in the content store: config, manifests and the
     // original (compressed) layer blobs, so push and save give the same bytes.
     "CREATE TABLE image_blobs ("
     "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
     "  digest TEXT NOT NULL,"
     "  PRIMARY KEY(image_id, digest)"
     ");"
     "CREATE INDEX image_blobs_digest ON image_blobs(digest);"
     "CREATE TABLE layer_blobs ("
     "  diff_id TEXT NOT NULL,"
     "  digest TEXT NOT NULL,"
     "  media_type TEXT NOT NULL,"
     "  size INTEGER NOT NULL,"
     "  PRIMARY KEY(diff_id, digest)"
     ");"},
    {3,
     // Containers: what was asked for (config: Config, HostConfig and the
     // rest of the create request, as inspect shows it) and where it stands
     // (state: Docker's State object), each as JSON; the read-write layer is
     // the storage driver's layer of the same ID.
     "CREATE TABLE containers ("
     "  id TEXT PRIMARY KEY NOT NULL,"
     "  name TEXT NOT NULL UNIQUE,"
     "  image_id TEXT NOT NULL,"
     "  created TEXT NOT NULL,"
     "  config TEXT NOT NULL,"
     "  state TEXT NOT NULL"
     ");"
     "CREATE INDEX containers_image ON containers(image_id);"},
    {4,
     // Networks (config: Docker's network object without Containers) and
     // the endpoints of running containers: an endpoint's row is its
     // address allocation, so the two commit together and a unique index
     // keeps an address from being handed out twice.
     "CREATE TABLE networks ("
     "  id TEXT PRIMARY KEY NOT NULL,"
     "  name TEXT NOT NULL UNIQUE,"
     "  driver TEXT NOT NULL,"
     "  created TEXT NOT NULL,"
     "  config TEXT NOT NULL"
     ");"
     "CREATE TABLE endpoints ("
     "  id TEXT PRIMARY KEY NOT NULL,"
     "  network_id TEXT NOT NULL REFERENCES networks(id),"
     "  container_id TEXT NOT NULL,"
     "  address TEXT NOT NULL,"
     "  state TEXT NOT NULL,"
     "  UNIQUE(network_id, container_id)"
     ");"
     "CREATE UNIQUE INDEX endpoints_address ON endpoints(network_id, address) WHERE address != '';"
     "CREATE INDEX endpoints_container ON endpoints(container_id);"},
    {5,
     // Volumes (config: Labels and Options as created) and the containers
     // that use them, running or not: a volume with a reference is never
     // removed.
     "CREATE TABLE volumes ("
     "  name TEXT PRIMARY KEY NOT NULL,"
     "  driver TEXT NOT NULL,"
     "  created TEXT NOT NULL,"
     "  config TEXT NOT NULL"
     ");"
     "CREATE TABLE volume_refs ("
     "  volume TEXT NOT NULL,"
     "  container_id TEXT NOT NULL,"
     "  PRIMARY KEY(volume, container_id)"
     ");"
     "CREATE INDEX volume_refs_container ON volume_refs(container_id);"},
    {6,
     // The build cache: the image a build step made from `parent` (an
     // image ID, "" for scratch) and the step's key (its instruction after
     // substitution, the build args it sees and, for COPY/ADD, a checksum
     // of its sources).
     "CREATE TABLE build_cache ("
     "  parent TEXT NOT NULL,"
     "  key TEXT NOT NULL,"
     "  image_id TEXT NOT NULL,"
     "  created TEXT NOT NULL,"
     "  PRIMARY KEY(parent, key)"
     ");"
     "CREATE INDEX build_cache_image ON build_cache(image_id);"},
};


}  // namespace

std::span<const Migration> builtin_migrations() { return kMigrations; }

MetadataStore::MetadataStore(const std::string& path)
    : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX) {}

Result<std::unique_ptr<MetadataStore>> MetadataStore::open(const std::string& path,
                                                           std::span<const Migration> migrations) {
  auto context = "open metadata store " + path;
  try {
    std::unique_ptr<MetadataStore> store(new MetadataStore(path));
    auto& db = store->db_;
    db.setBusyTimeout(5000);
    // WAL keeps readers off the writer's back; FULL makes every commit
    // durable before it returns, not only crash-consistent.
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("PRAGMA synchronous=FULL");
    db.exec("PRAGMA foreign_keys=ON");

    int current = db.execAndGet("PRAGMA user_version").getInt();
    int newest = migrations.empty() ? 0 : migrations.back().version;
    if (current > newest) {
      return make_error(Errc::failed_precondition,
                        context + ": schema version " + std::to_string(current) +
                            " is newer than this berthd supports (" + std::to_string(newest) +
                            "); use a newer berthd");
    }
    for (const auto& m : migrations) {
      if (m.version <= current) continue;
      if (m.version != current + 1) {
        return make_error(Errc::internal,
                          "migration " + std::to_string(m.version) + " follows version " +
                              std::to_string(current) + ": migrations must not have gaps");
      }
      try {
        SQLite::Transaction tx(db);
        db.exec(m.sql);
        db.exec("PRAGMA user_version=" + std::to_string(m.version));
        tx.commit();
      } catch (const SQLite::Exception& e) {
        return make_error(Errc::internal,
                          "migration to schema version " + std::to_string(m.version) + ": " +
                              e.what());
      }
      current = m.version;
    }
    return store;
  } catch (const SQLite::Exception& e) {
    return make_error(Errc::internal, context + ": " + e.what());
  }
}

int MetadataStore::schema_version() {
  return with_db([](SQLite::Database& db) { return db.execAndGet("PRAGMA user_version").getInt(); });
}

Result<std::string> MetadataStore::get_meta(const std::string& key) {
  return guard("read " + key + " from metadata store", [&] {
    return with_db([&](SQLite::Database& db) -> std::string {
      SQLite::Statement q(db, "SELECT value FROM daemon_meta WHERE key = ?");
      q.bind(1, key);
      return q.executeStep() ? q.getColumn(0).getString() : std::string();
    });
  });
}

Result<void> MetadataStore::set_meta(const std::string& key, const std::string& value) {
  return guard("write " + key + " to metadata store", [&] {
    with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db,
                          "INSERT INTO daemon_meta(key, value) VALUES(?, ?) "
                          "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
      q.bind(1, key);
      q.bind(2, value);
      q.exec();
    });
  });
}

Result<std::string> MetadataStore::daemon_id() {
  return guard("daemon id", [&] {
    return with_db([&](SQLite::Database& db) -> std::string {
      // Insert-if-absent then read, in one transaction, so two racing first
      // calls agree on one ID.
      SQLite::Transaction tx(db);
      SQLite::Statement ins(db, "INSERT OR IGNORE INTO daemon_meta(key, value) VALUES('id', ?)");
      ins.bind(1, Poco::UUIDGenerator::defaultGenerator().createRandom().toString());
      ins.exec();
      std::string id = db.execAndGet("SELECT value FROM daemon_meta WHERE key = 'id'").getString();
      tx.commit();
      return id;
    });
  });
}

}  // namespace berth::core
