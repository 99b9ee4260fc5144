#include "berth/core/image/image_store.hpp"

#include "berth/core/image/digest.hpp"
#include "berth/core/image/reference.hpp"
#include "berth/core/log.hpp"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <boost/json.hpp>

#include <chrono>
#include <random>
#include <set>

namespace berth::core::image {

namespace {

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_hex64() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 64; ++i) out += kHex[rd() & 0xf];
  return out;
}

LayerInfo read_layer(SQLite::Statement& q) {
  LayerInfo l;
  l.chain_id = q.getColumn(0).getString();
  l.diff_id = q.getColumn(1).getString();
  l.parent = q.getColumn(2).isNull() ? std::string() : q.getColumn(2).getString();
  l.cache_id = q.getColumn(3).getString();
  l.size = q.getColumn(4).getInt64();
  return l;
}

constexpr const char* kLayerColumns = "chain_id, diff_id, parent, cache_id, size";

}  // namespace

std::string chain_id(const std::string& parent_chain, const std::string& diff_id) {
  return parent_chain.empty() ? diff_id : sha256_digest(parent_chain + " " + diff_id);
}

ImageStore::ImageStore(MetadataStore& db, ContentStore& content, const StorageDriver* driver)
    : db_(db), content_(content), driver_(driver) {}

Result<void> ImageStore::sweep() {
  std::lock_guard lock(mutex_);
  BERTH_TRY(auto pending, guard("read pending layers", [&] {
    return db_.with_db([&](SQLite::Database& db) {
      std::vector<std::pair<std::string, std::string>> out;
      SQLite::Statement q(db, "SELECT cache_id, driver FROM pending_layers");
      while (q.executeStep()) out.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getString());
      return out;
    });
  }));
  for (const auto& [cache_id, driver_id] : pending) {
    if (driver_ == nullptr || driver_->id() != driver_id) continue;
    if (driver_->exists(cache_id)) {
      if (auto r = driver_->remove(cache_id); !r) {
        logger("image")->warn("sweep: {}", r.error().message);
        continue;
      }
    }
    logger("image")->info("sweep: removed unregistered layer {} of an interrupted pull or load",
                          cache_id);
    BERTH_TRY(guard("forget pending layer", [&] {
      db_.with_db([&](SQLite::Database& db) {
        SQLite::Statement q(db, "DELETE FROM pending_layers WHERE cache_id = ?");
        q.bind(1, cache_id);
        q.exec();
      });
    }));
  }
  // Registered layers no image holds, directly or as a parent: a pull or
  // load that died after registering some layers but before recording its
  // image. Only this driver's: another driver's layers are not ours to judge.
  if (driver_ != nullptr) {
    BERTH_TRY(auto unheld, guard("read unheld layers", [&] {
      return db_.with_db([&](SQLite::Database& db) {
        std::vector<std::string> out;
        SQLite::Statement q(db,
                            "SELECT chain_id FROM layers l WHERE driver = ? AND NOT EXISTS "
                            "(SELECT 1 FROM images WHERE top_layer = l.chain_id) AND NOT EXISTS "
                            "(SELECT 1 FROM layers c WHERE c.parent = l.chain_id)");
        q.bind(1, driver_->id());
        while (q.executeStep()) out.push_back(q.getColumn(0).getString());
        return out;
      });
    }));
    for (const auto& chain : unheld) {
      logger("image")->info("sweep: removing layer {} that no image holds", chain);
      if (auto r = release_layers(chain); !r) logger("image")->warn("sweep: {}", r.error().message);
    }
  }
  // Blobs no image keeps: leftovers of a pull or load that died before its
  // image was recorded.
  BERTH_TRY(auto kept, guard("read kept blobs", [&] {
    return db_.with_db([&](SQLite::Database& db) {
      std::set<std::string> out;
      SQLite::Statement q(db, "SELECT DISTINCT digest FROM image_blobs");
      while (q.executeStep()) out.insert(q.getColumn(0).getString());
      return out;
    });
  }));
  for (const auto& digest : content_.list()) {
    if (!kept.contains(digest)) (void)content_.remove(digest);
  }
  return ok();
}

std::optional<LayerInfo> ImageStore::layer(const std::string& chain) {
  auto r = guard("read layer", [&] {
    return db_.with_db([&](SQLite::Database& db) -> std::optional<LayerInfo> {
      SQLite::Statement q(db, std::string("SELECT ") + kLayerColumns +
                                  " FROM layers WHERE chain_id = ?");
      q.bind(1, chain);
      if (!q.executeStep()) return std::nullopt;
      return read_layer(q);
    });
  });
  return r ? r.value() : std::nullopt;
}

Result<LayerInfo> ImageStore::register_layer(const std::string& parent_chain,
                                             const std::string& expected_diff_id,
                                             std::function<std::int64_t(void*, std::size_t)> read) {
  if (driver_ == nullptr) {
    return make_error(Errc::failed_precondition, "no storage driver is loaded");
  }
  std::string parent_cache;
  if (!parent_chain.empty()) {
    auto parent = layer(parent_chain);
    if (!parent) return make_error(Errc::not_found, "parent layer " + parent_chain + " not found");
    parent_cache = parent->cache_id;
  }
  if (!expected_diff_id.empty()) {
    if (auto existing = layer(chain_id(parent_chain, expected_diff_id))) return *existing;
  }

  std::string cache_id = random_hex64();
  BERTH_TRY(guard("record pending layer", [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "INSERT INTO pending_layers(cache_id, driver, created) VALUES(?, ?, ?)");
      q.bind(1, cache_id);
      q.bind(2, driver_->id());
      q.bind(3, now_unix());
      q.exec();
    });
  }));
  auto forget = [&] {
    (void)driver_->remove(cache_id);
    (void)guard("forget pending layer", [&] {
      db_.with_db([&](SQLite::Database& db) {
        SQLite::Statement q(db, "DELETE FROM pending_layers WHERE cache_id = ?");
        q.bind(1, cache_id);
        q.exec();
      });
    });
  };

  if (auto r = driver_->create(cache_id, parent_cache); !r) {
    forget();
    return std::move(r).error();
  }
  Sha256 hash;
  auto size = driver_->apply_diff(cache_id, parent_cache, [&](void* buf, std::size_t cap) {
    std::int64_t n = read(buf, cap);
    if (n > 0) hash.update(buf, static_cast<std::size_t>(n));
    return n;
  });
  if (!size) {
    forget();
    return std::move(size).error();
  }
  std::string diff_id = hash.finish();
  if (!expected_diff_id.empty() && diff_id != expected_diff_id) {
    forget();
    return make_error(Errc::invalid_argument, "layer content does not match its diff ID: expected " +
                                                  expected_diff_id + ", got " + diff_id);
  }
  LayerInfo info{chain_id(parent_chain, diff_id), diff_id, parent_chain, cache_id, size.value()};
  std::lock_guard lock(mutex_);
  BERTH_TRY(auto inserted, guard("register layer " + info.chain_id, [&] {
    return db_.with_db([&](SQLite::Database& db) {
      SQLite::Transaction tx(db);
      SQLite::Statement ins(db,
                            "INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, cache_id, "
                            "driver, size, created) VALUES(?, ?, ?, ?, ?, ?, ?)");
      ins.bind(1, info.chain_id);
      ins.bind(2, info.diff_id);
      if (parent_chain.empty()) {
        ins.bind(3);
      } else {
        ins.bind(3, parent_chain);
      }
      ins.bind(4, cache_id);
      ins.bind(5, driver_->id());
      ins.bind(6, info.size);
      ins.bind(7, now_unix());
      int changed = ins.exec();
      SQLite::Statement del(db, "DELETE FROM pending_layers WHERE cache_id = ?");
      del.bind(1, cache_id);
      del.exec();
      tx.commit();
      return changed > 0;
    });
  }));
  if (!inserted) {
    // Someone registered the same layer meanwhile: keep theirs.
    (void)driver_->remove(cache_id);
    if (auto existing = layer(info.chain_id)) return *existing;
  }
  return info;
}

Result<std::string> ImageStore::add_image(const std::string& config_digest,
                                          const std::string& top_layer,
                                          const std::vector<std::string>& keep_blobs,
                                          const std::vector<LayerBlob>& layer_blobs) {
  if (!content_.exists(config_digest)) {
    return make_error(Errc::not_found, "image config " + config_digest + " is not in the content store");
  }
  std::lock_guard lock(mutex_);
  BERTH_TRY(guard("record image " + config_digest, [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Transaction tx(db);
      SQLite::Statement img(db, "INSERT OR IGNORE INTO images(id, top_layer, parent, loaded) VALUES(?, ?, NULL, ?)");
      img.bind(1, config_digest);
      if (top_layer.empty()) {
        img.bind(2);
      } else {
        img.bind(2, top_layer);
      }
      img.bind(3, now_unix());
      img.exec();
      std::set<std::string> blobs(keep_blobs.begin(), keep_blobs.end());
      blobs.insert(config_digest);
      for (const auto& b : blobs) {
        SQLite::Statement q(db, "INSERT OR IGNORE INTO image_blobs(image_id, digest) VALUES(?, ?)");
        q.bind(1, config_digest);
        q.bind(2, b);
        q.exec();
      }
      for (const auto& lb : layer_blobs) {
        SQLite::Statement q(db,
                            "INSERT OR IGNORE INTO layer_blobs(diff_id, digest, media_type, size) "
                            "VALUES(?, ?, ?, ?)");
        q.bind(1, lb.diff_id);
        q.bind(2, lb.digest);
        q.bind(3, lb.media_type);
        q.bind(4, lb.size);
        q.exec();
      }
      tx.commit();
    });
  }));
  return config_digest;
}

Result<void> ImageStore::set_parent(const std::string& id, const std::string& parent) {
  return guard("record parent of " + id, [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "UPDATE images SET parent = ? WHERE id = ? AND parent IS NULL AND id != ?");
      q.bind(1, parent);
      q.bind(2, id);
      q.bind(3, parent);
      q.exec();
    });
  });
}

Result<void> ImageStore::set_ref(const std::string& name, const std::string& image_id,
                                 bool is_digest) {
  return guard("tag " + image_id + " as " + name, [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db,
                          "INSERT INTO image_refs(name, image_id, is_digest, created) VALUES(?, ?, ?, ?) "
                          "ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, "
                          "created = excluded.created");
      q.bind(1, name);
      q.bind(2, image_id);
      q.bind(3, is_digest ? 1 : 0);
      q.bind(4, now_unix());
      q.exec();
    });
  });
}

Result<void> ImageStore::remove_ref(const std::string& name) {
  return guard("untag " + name, [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "DELETE FROM image_refs WHERE name = ?");
      q.bind(1, name);
      q.exec();
    });
  });
}

Result<std::string> ImageStore::resolve(std::string_view name) {
  std::string text(name);
  auto not_found = [&] {
    return make_error(Errc::not_found, "No such image: " + text);
  };
  if (text.empty()) return not_found();
  // An ID or an unambiguous prefix of one.
  std::string hex = text.starts_with("sha256:") ? text.substr(7) : text;
  bool all_hex = !hex.empty() && hex.size() <= 64 &&
                 hex.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (all_hex) {
    BERTH_TRY(auto ids, guard("resolve " + text, [&] {
      return db_.with_db([&](SQLite::Database& db) {
        std::vector<std::string> out;
        SQLite::Statement q(db, "SELECT id FROM images WHERE id >= ? AND id < ? LIMIT 2");
        q.bind(1, "sha256:" + hex);
        q.bind(2, "sha256:" + hex + "g");
        while (q.executeStep()) out.push_back(q.getColumn(0).getString());
        return out;
      });
    }));
    if (ids.size() == 1) return ids.front();
    if (ids.size() > 1 && text.size() < 71) {
      return make_error(Errc::invalid_argument, "ambiguous image ID prefix " + text);
    }
    if (text.starts_with("sha256:")) return not_found();
  }
  auto ref = Reference::parse(text);
  if (!ref) return not_found();
  std::string full = ref.value().str();
  BERTH_TRY(auto id, guard("resolve " + text, [&] {
    return db_.with_db([&](SQLite::Database& db) -> std::string {
      SQLite::Statement q(db, "SELECT image_id FROM image_refs WHERE name = ?");
      q.bind(1, full);
      return q.executeStep() ? q.getColumn(0).getString() : std::string();
    });
  }));
  if (id.empty()) return not_found();
  return id;
}

Result<ImageInfo> ImageStore::get(const std::string& id) {
  BERTH_TRY(auto info, guard("read image " + id, [&] {
    return db_.with_db([&](SQLite::Database& db) -> std::optional<ImageInfo> {
      SQLite::Statement q(db, "SELECT id, top_layer, parent, loaded FROM images WHERE id = ?");
      q.bind(1, id);
      if (!q.executeStep()) return std::nullopt;
      ImageInfo i;
      i.id = q.getColumn(0).getString();
      i.top_layer = q.getColumn(1).isNull() ? std::string() : q.getColumn(1).getString();
      i.parent = q.getColumn(2).isNull() ? std::string() : q.getColumn(2).getString();
      i.loaded = q.getColumn(3).getInt64();
      SQLite::Statement refs(db, "SELECT name, is_digest FROM image_refs WHERE image_id = ? ORDER BY name");
      refs.bind(1, id);
      while (refs.executeStep()) {
        (refs.getColumn(1).getInt() != 0 ? i.digests : i.tags).push_back(refs.getColumn(0).getString());
      }
      std::string chain = i.top_layer;
      while (!chain.empty()) {
        SQLite::Statement l(db, std::string("SELECT ") + kLayerColumns + " FROM layers WHERE chain_id = ?");
        l.bind(1, chain);
        if (!l.executeStep()) break;
        i.layers.insert(i.layers.begin(), read_layer(l));
        chain = i.layers.front().parent;
      }
      for (const auto& l : i.layers) i.size += l.size;
      return i;
    });
  }));
  if (!info) return make_error(Errc::not_found, "No such image: " + id);
  BERTH_TRY(info->config, content_.read(id));
  return std::move(*info);
}

std::vector<ImageInfo> ImageStore::list() {
  auto ids = guard("list images", [&] {
    return db_.with_db([&](SQLite::Database& db) {
      std::vector<std::string> out;
      SQLite::Statement q(db, "SELECT id FROM images");
      while (q.executeStep()) out.push_back(q.getColumn(0).getString());
      return out;
    });
  });
  std::vector<ImageInfo> out;
  if (!ids) return out;
  for (const auto& id : ids.value()) {
    if (auto i = get(id)) out.push_back(std::move(i).value());
  }
  return out;
}

std::vector<LayerBlob> ImageStore::layer_blobs(const std::string& diff_id) {
  auto r = guard("read layer blobs", [&] {
    return db_.with_db([&](SQLite::Database& db) {
      std::vector<LayerBlob> out;
      SQLite::Statement q(db, "SELECT diff_id, digest, media_type, size FROM layer_blobs WHERE diff_id = ?");
      q.bind(1, diff_id);
      while (q.executeStep()) {
        out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(),
                       q.getColumn(2).getString(), q.getColumn(3).getInt64()});
      }
      return out;
    });
  });
  return r ? r.value() : std::vector<LayerBlob>{};
}

Result<void> ImageStore::release_unused_layers(const std::string& chain) {
  std::lock_guard lock(mutex_);
  return release_layers(chain);
}

bool ImageStore::blob_kept(const std::string& digest) {
  auto r = guard("check blob", [&] {
    return db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "SELECT 1 FROM image_blobs WHERE digest = ? LIMIT 1");
      q.bind(1, digest);
      return q.executeStep();
    });
  });
  // When in doubt, keep it: the start-up sweep collects what is really unused.
  return !r || r.value();
}

Result<void> ImageStore::release_layers(std::string chain) {
  // Walk down from the top layer while nothing else holds a layer: no image
  // on it, no child layer.
  while (!chain.empty()) {
    BERTH_TRY(auto held, guard("check layer " + chain, [&] {
      return db_.with_db([&](SQLite::Database& db) {
        SQLite::Statement q(db,
                            "SELECT (SELECT COUNT(*) FROM images WHERE top_layer = ?1) + "
                            "(SELECT COUNT(*) FROM layers WHERE parent = ?1)");
        q.bind(1, chain);
        q.executeStep();
        return q.getColumn(0).getInt() > 0;
      });
    }));
    if (held) return ok();
    auto l = layer(chain);
    if (!l) return ok();
    if (driver_ != nullptr && driver_->exists(l->cache_id)) {
      BERTH_TRY(driver_->remove(l->cache_id));
    }
    BERTH_TRY(guard("remove layer " + chain, [&] {
      db_.with_db([&](SQLite::Database& db) {
        SQLite::Transaction tx(db);
        SQLite::Statement q(db, "DELETE FROM layers WHERE chain_id = ?");
        q.bind(1, chain);
        q.exec();
        SQLite::Statement b(db,
                            "DELETE FROM layer_blobs WHERE diff_id = ? AND NOT EXISTS "
                            "(SELECT 1 FROM layers WHERE diff_id = ?)");
        b.bind(1, l->diff_id);
        b.bind(2, l->diff_id);
        b.exec();
        tx.commit();
      });
    }));
    chain = l->parent;
  }
  return ok();
}

Result<std::vector<DeleteEntry>> ImageStore::delete_image(const std::string& id) {
  std::vector<DeleteEntry> out;
  BERTH_TRY(auto info, get(id));
  BERTH_TRY(auto orphaned_blobs, guard("delete image " + id, [&] {
    return db_.with_db([&](SQLite::Database& db) {
      SQLite::Transaction tx(db);
      std::vector<std::string> blobs;
      SQLite::Statement q(db,
                          "SELECT digest FROM image_blobs WHERE image_id = ?1 AND digest NOT IN "
                          "(SELECT digest FROM image_blobs WHERE image_id != ?1)");
      q.bind(1, id);
      while (q.executeStep()) blobs.push_back(q.getColumn(0).getString());
      SQLite::Statement refs(db, "DELETE FROM image_refs WHERE image_id = ?");
      refs.bind(1, id);
      refs.exec();
      SQLite::Statement kept(db, "DELETE FROM image_blobs WHERE image_id = ?");
      kept.bind(1, id);
      kept.exec();
      SQLite::Statement img(db, "DELETE FROM images WHERE id = ?");
      img.bind(1, id);
      img.exec();
      tx.commit();
      return blobs;
    });
  }));
  for (const auto& name : info.tags) out.push_back({false, name});
  for (const auto& name : info.digests) out.push_back({false, name});
  out.push_back({true, id});
  for (const auto& b : orphaned_blobs) (void)content_.remove(b);
  BERTH_TRY(release_layers(info.top_layer));
  return out;
}

Result<std::vector<DeleteEntry>> ImageStore::remove(std::string_view name, bool force) {
  BERTH_TRY(auto id, resolve(name));
  std::lock_guard lock(mutex_);
  BERTH_TRY(auto info, get(id));
  std::string text(name);
  auto ref = Reference::parse(text);
  bool by_ref = false;
  std::string full;
  if (ref) {
    full = ref.value().str();
    for (const auto& n : info.tags) by_ref = by_ref || n == full;
    for (const auto& n : info.digests) by_ref = by_ref || n == full;
  }
  std::vector<ImageUser> users = in_use_ ? in_use_(id) : std::vector<ImageUser>{};
  if (by_ref) {
    // Docker's rule: untag; when that was the repository's last tag, its
    // digest references go too; the image goes when nothing is left.
    auto repository = [](const std::string& n) {
      auto r = Reference::parse(n);
      return r ? r.value().name() : n;
    };
    std::string repo = ref.value().name();
    std::vector<std::string> remaining, also_untag;
    bool tag_left = false;
    for (const auto& n : info.tags) {
      if (n == full) continue;
      remaining.push_back(n);
      tag_left = tag_left || repository(n) == repo;
    }
    for (const auto& n : info.digests) {
      if (n == full) continue;
      if (ref.value().digest.empty() && !tag_left && repository(n) == repo) {
        also_untag.push_back(n);
      } else {
        remaining.push_back(n);
      }
    }
    // The last reference of an image a container uses stays unless forced.
    if (remaining.empty() && !users.empty() && !force) {
      return make_error(Errc::conflict, "conflict: unable to remove repository reference \"" + text +
                                            "\" (must force) - container " + users.front().container_id.substr(0, 12) +
                                            " is using its referenced image " + id.substr(7, 12));
    }
    BERTH_TRY(remove_ref(full));
    std::vector<DeleteEntry> out{{false, full}};
    for (const auto& n : also_untag) {
      BERTH_TRY(remove_ref(n));
      out.push_back({false, n});
    }
    if (!remaining.empty() || !users.empty()) return out;
    BERTH_TRY(auto deleted, delete_image(id));
    out.insert(out.end(), deleted.begin(), deleted.end());
    return out;
  }
  for (const auto& u : users) {
    if (u.running) {
      return make_error(Errc::conflict, "conflict: unable to delete " + id.substr(7, 12) +
                                            " (cannot be forced) - image is being used by running container " +
                                            u.container_id.substr(0, 12));
    }
  }
  if (!users.empty() && !force) {
    return make_error(Errc::conflict, "conflict: unable to delete " + id.substr(7, 12) +
                                          " (must be forced) - image is being used by stopped container " +
                                          users.front().container_id.substr(0, 12));
  }
  if (info.tags.size() > 1 && !force) {
    return make_error(Errc::conflict, "conflict: unable to delete " + id.substr(7, 12) +
                                          " (must be forced) - image is referenced in multiple "
                                          "repositories");
  }
  if (!users.empty()) {
    // Forced while a stopped container uses it: the references go, the
    // image stays for the container.
    std::vector<DeleteEntry> out;
    for (const auto& n : info.tags) {
      BERTH_TRY(remove_ref(n));
      out.push_back({false, n});
    }
    for (const auto& n : info.digests) {
      BERTH_TRY(remove_ref(n));
      out.push_back({false, n});
    }
    return out;
  }
  return delete_image(id);
}

Result<std::vector<DeleteEntry>> ImageStore::prune(bool all, std::int64_t& reclaimed) {
  reclaimed = 0;
  std::vector<DeleteEntry> out;
  // An image other images were built on (a build step's, a commit's base)
  // stays while they do, as Docker's prune only takes heads; deleting a
  // head can make its parent one, so the walk goes on up the chain. The
  // images are read once.
  std::map<std::string, ImageInfo> images;
  std::map<std::string, int> children;
  for (auto& info : list()) {
    if (!info.parent.empty()) ++children[info.parent];
    images.emplace(info.id, std::move(info));
  }
  auto prunable = [&](const ImageInfo& info) {
    if (!all && (!info.tags.empty() || !info.digests.empty())) return false;
    if (children[info.id] > 0) return false;
    return !in_use_ || in_use_(info.id).empty();
  };
  std::vector<std::string> heads;
  for (const auto& [id, info] : images) {
    if (prunable(info)) heads.push_back(id);
  }
  while (!heads.empty()) {
    const ImageInfo& info = images.at(heads.back());
    heads.pop_back();
    {
      std::lock_guard lock(mutex_);
      BERTH_TRY(auto entries, delete_image(info.id));
      out.insert(out.end(), entries.begin(), entries.end());
    }
    reclaimed += info.size;
    auto parent = images.find(info.parent);
    if (parent != images.end() && --children[parent->first] == 0 && prunable(parent->second)) {
      heads.push_back(parent->first);
    }
  }
  return out;
}

void ImageStore::log_event(const std::string& action, const std::string& id,
                           std::map<std::string, std::string> attributes) {
  if (!event_) return;
  // The given attributes ("name") win over labels of the same key.
  auto resolved = id.empty() ? Result<std::string>(make_error(Errc::not_found, "no image")) : resolve(id);
  auto info = resolved ? get(resolved.value()) : Result<ImageInfo>(std::move(resolved).error());
  boost::json::error_code ec;
  auto config = info ? boost::json::parse(info.value().config, ec) : boost::json::value();
  const boost::json::value* labels = nullptr;
  if (!ec && config.is_object()) {
    if (const auto* c = config.get_object().if_contains("config"); c != nullptr && c->is_object()) {
      labels = c->get_object().if_contains("Labels");
    }
  }
  if (labels != nullptr && labels->is_object()) {
    for (const auto& [k, v] : labels->get_object()) {
      if (v.is_string()) attributes.emplace(std::string(k), std::string(v.get_string()));
    }
  }
  event_(action, id, attributes);
}

}  // namespace berth::core::image
