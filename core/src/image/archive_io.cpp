#include "berth/core/image/archive_io.hpp"

#include "berth/core/image/digest.hpp"
#include "berth/core/image/progress.hpp"
#include "berth/core/image/reference.hpp"
#include "berth/core/log.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <boost/json.hpp>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <map>
#include <set>

namespace berth::core::image {
namespace json = boost::json;

namespace {

constexpr std::size_t kChunk = 1 << 16;

struct ReadCtx {
  const ReadFn* fn;
  std::vector<char> buf = std::vector<char>(kChunk);
};

la_ssize_t read_cb(struct archive* a, void* ud, const void** buffer) {
  auto* ctx = static_cast<ReadCtx*>(ud);
  std::int64_t n = (*ctx->fn)(ctx->buf.data(), ctx->buf.size());
  if (n < 0) {
    archive_set_error(a, EIO, "read failed");
    return -1;
  }
  *buffer = ctx->buf.data();
  return static_cast<la_ssize_t>(n);
}

// "./a/b" and "a//b" -> "a/b".
std::string normalize(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(i, end - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.emplace_back(part);
    }
    i = end + 1;
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

// The archive's files, each stored as a blob, by normalised path.
struct ArchiveFiles {
  std::map<std::string, std::string> digest;  // path -> blob digest
  std::set<std::string> written;

  const std::string* find(const std::string& path) const {
    auto it = digest.find(normalize(path));
    return it == digest.end() ? nullptr : &it->second;
  }
};

// Fills `files` as it goes, so a caller can drop what a failed read left.
Result<void> ingest_archive(ContentStore& content, const ReadFn& body, ArchiveFiles& files) {
  std::map<std::string, std::string> links;  // path -> target path (normalised)
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  ReadCtx ctx{&body};
  auto fail = [&](std::string why) {
    archive_read_free(a);
    return make_error(Errc::invalid_argument, "read image archive: " + why);
  };
  if (archive_read_open(a, &ctx, nullptr, read_cb, nullptr) != ARCHIVE_OK) {
    return fail(archive_error_string(a) ? archive_error_string(a) : "not a tar archive");
  }
  struct archive_entry* entry = nullptr;
  std::vector<char> buf(kChunk);
  for (;;) {
    int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      return fail(archive_error_string(a) ? archive_error_string(a) : "corrupt archive");
    }
    const char* raw_path = archive_entry_pathname(entry);
    std::string path = normalize(raw_path ? raw_path : "");
    if (const char* hl = archive_entry_hardlink(entry); hl != nullptr) {
      links[path] = normalize(hl);
      continue;
    }
    auto type = archive_entry_filetype(entry);
    if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      std::string t = target ? target : "";
      links[path] = normalize(t.starts_with("/") ? t : parent_dir(path) + "/" + t);
      continue;
    }
    if (type != AE_IFREG) continue;
    auto writer = content.writer();
    if (!writer) {
      archive_read_free(a);
      return std::move(writer).error();
    }
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
      if (n < 0) return fail(path + ": " + (archive_error_string(a) ? archive_error_string(a) : "read error"));
      if (n == 0) break;
      if (auto w = writer.value()->write(buf.data(), static_cast<std::size_t>(n)); !w) {
        archive_read_free(a);
        return std::move(w).error();
      }
    }
    auto digest = writer.value()->commit();
    if (!digest) {
      archive_read_free(a);
      return std::move(digest).error();
    }
    files.digest[path] = digest.value();
    files.written.insert(digest.value());
  }
  archive_read_free(a);
  // Links (docker save links repeated layers) resolve to the file they name.
  for (int round = 0; round < 8; ++round) {
    for (const auto& [path, target] : links) {
      if (auto* d = files.find(target)) files.digest[path] = *d;
    }
  }
  return ok();
}

Result<json::value> read_json_blob(ContentStore& content, const std::string& digest,
                                   const std::string& what) {
  BERTH_TRY(auto text, content.read(digest));
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return make_error(Errc::invalid_argument, what + ": invalid JSON: " + ec.message());
  return v;
}

std::vector<std::string> diff_ids_of(const json::value& config) {
  std::vector<std::string> out;
  const auto* rootfs = config.is_object() ? config.get_object().if_contains("rootfs") : nullptr;
  const auto* ids = rootfs && rootfs->is_object() ? rootfs->get_object().if_contains("diff_ids") : nullptr;
  if (ids == nullptr || !ids->is_array()) return out;
  for (const auto& d : ids->get_array()) {
    if (d.is_string()) out.emplace_back(d.get_string());
  }
  return out;
}

// Registers the layers of one image whose config and layer blobs are in
// the content store; returns the top chain ID.
Result<std::string> register_layers(ImageStore& store, const json::value& config,
                                    const std::vector<std::string>& layer_blobs,
                                    const std::vector<std::string>& media_types,
                                    std::vector<LayerBlob>& recorded,
                                    const std::function<void(const std::string&)>& progress) {
  auto diff_ids = diff_ids_of(config);
  if (diff_ids.size() != layer_blobs.size()) {
    return make_error(Errc::invalid_argument,
                      "image config lists " + std::to_string(diff_ids.size()) + " layers, the archive has " +
                          std::to_string(layer_blobs.size()));
  }
  std::string chain;
  for (std::size_t i = 0; i < diff_ids.size(); ++i) {
    BERTH_TRY(auto path, store.content().path(layer_blobs[i]));
    BERTH_TRY(auto source, file_reader(path));
    Decompressor dec(source);
    auto layer = store.register_layer(chain, diff_ids[i], [&](void* buf, std::size_t cap) {
      return dec.read(buf, cap);
    });
    if (!layer) {
      if (!chain.empty()) (void)store.release_unused_layers(chain);
      return std::move(layer).error().wrap("load layer " + short_id(diff_ids[i]) +
                                           (dec.error().empty() ? "" : " (" + dec.error() + ")"));
    }
    BERTH_TRY(auto size, store.content().size(layer_blobs[i]));
    recorded.push_back({diff_ids[i], layer_blobs[i], media_types[i], size});
    progress("Loading layer " + short_id(diff_ids[i]));
    chain = layer.value().chain_id;
  }
  return chain;
}

Result<void> tag_image(ImageStore& store, const std::string& id, const std::string& tag) {
  auto ref = Reference::parse(tag);
  if (!ref) return std::move(ref).error().wrap("tag " + tag);
  return store.set_ref(ref.value().str(), id, !ref.value().digest.empty() && ref.value().tag.empty());
}

Result<std::vector<LoadedImage>> load_docker_archive(ImageStore& store, const ArchiveFiles& files,
                                                     const std::string& manifest_digest,
                                                     const std::function<void(const std::string&)>& progress) {
  BERTH_TRY(auto manifest, read_json_blob(store.content(), manifest_digest, "manifest.json"));
  if (!manifest.is_array()) return make_error(Errc::invalid_argument, "manifest.json: want an array");
  std::vector<LoadedImage> out;
  for (const auto& item : manifest.get_array()) {
    if (!item.is_object()) return make_error(Errc::invalid_argument, "manifest.json: want objects");
    const auto& o = item.get_object();
    const auto* cfg = o.if_contains("Config");
    const auto* layers = o.if_contains("Layers");
    if (cfg == nullptr || !cfg->is_string() || layers == nullptr || !layers->is_array()) {
      return make_error(Errc::invalid_argument, "manifest.json: an entry lacks Config or Layers");
    }
    const std::string* config_digest = files.find(std::string(cfg->get_string()));
    if (config_digest == nullptr) {
      return make_error(Errc::invalid_argument, "manifest.json names " + std::string(cfg->get_string()) +
                                                    ", which is not in the archive");
    }
    BERTH_TRY(auto config, read_json_blob(store.content(), *config_digest, "image config"));
    std::vector<std::string> blobs, types;
    for (const auto& l : layers->get_array()) {
      const std::string* d = l.is_string() ? files.find(std::string(l.get_string())) : nullptr;
      if (d == nullptr) {
        return make_error(Errc::invalid_argument, "manifest.json names layer " + json::serialize(l) +
                                                      ", which is not in the archive");
      }
      blobs.push_back(*d);
      types.emplace_back("application/vnd.docker.image.rootfs.diff.tar");
    }
    std::vector<LayerBlob> recorded;
    BERTH_TRY(auto top, register_layers(store, config, blobs, types, recorded, progress));
    std::vector<std::string> keep = blobs;
    BERTH_TRY(auto id, store.add_image(*config_digest, top, keep, recorded));
    LoadedImage loaded{id, {}};
    if (const auto* tags = o.if_contains("RepoTags"); tags != nullptr && tags->is_array()) {
      for (const auto& t : tags->get_array()) {
        if (!t.is_string()) continue;
        BERTH_TRY(tag_image(store, id, std::string(t.get_string())));
        loaded.tags.emplace_back(t.get_string());
      }
    }
    out.push_back(std::move(loaded));
  }
  return out;
}

// OCI image layout (index.json): each manifest, following nested indexes and
// picking linux/amd64 (or the only entry) from multi-platform ones.
Result<std::vector<LoadedImage>> load_oci_layout(ImageStore& store, const ArchiveFiles& files,
                                                 const std::string& index_digest,
                                                 const std::function<void(const std::string&)>& progress) {
  auto blob_of = [&](const std::string& digest) -> Result<std::string> {
    BERTH_TRY(auto hex, digest_hex(digest));
    const std::string* d = files.find("blobs/sha256/" + hex);
    if (d == nullptr || *d != digest) {
      return make_error(Errc::invalid_argument, "OCI layout: blob " + digest + " is missing or corrupt");
    }
    return *d;
  };
  BERTH_TRY(auto index, read_json_blob(store.content(), index_digest, "index.json"));
  std::vector<LoadedImage> out;
  struct Pending {
    json::object desc;
    std::string name;
  };
  std::vector<Pending> todo;
  auto manifests_of = [](const json::value& v) -> const json::array* {
    const auto* m = v.is_object() ? v.get_object().if_contains("manifests") : nullptr;
    return m != nullptr && m->is_array() ? &m->get_array() : nullptr;
  };
  auto annotation = [](const json::object& desc, std::string_view key) -> std::string {
    const auto* a = desc.if_contains("annotations");
    const auto* v = a && a->is_object() ? a->get_object().if_contains(key) : nullptr;
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  if (const auto* m = manifests_of(index)) {
    for (const auto& d : *m) {
      if (!d.is_object()) continue;
      std::string name = annotation(d.get_object(), "io.containerd.image.name");
      if (name.empty()) {
        std::string ref = annotation(d.get_object(), "org.opencontainers.image.ref.name");
        // A full reference (has a '/' or ':') names the image; a bare tag cannot.
        if (ref.find_first_of("/:") != std::string::npos) name = ref;
      }
      todo.push_back({d.get_object(), name});
    }
  }
  std::size_t guard = 0;
  while (!todo.empty() && guard++ < 64) {
    Pending p = std::move(todo.front());
    todo.erase(todo.begin());
    const auto* dv = p.desc.if_contains("digest");
    if (dv == nullptr || !dv->is_string()) continue;
    BERTH_TRY(auto digest, blob_of(std::string(dv->get_string())));
    BERTH_TRY(auto doc, read_json_blob(store.content(), digest, "manifest " + digest));
    if (const auto* nested = manifests_of(doc)) {
      const json::object* pick = nullptr;
      for (const auto& d : *nested) {
        if (!d.is_object()) continue;
        const auto* plat = d.get_object().if_contains("platform");
        bool amd64 = plat && plat->is_object() && plat->get_object().if_contains("architecture") &&
                     plat->get_object().at("architecture") == "amd64" &&
                     plat->get_object().at("os") == "linux";
        if (amd64 || nested->size() == 1) pick = &d.get_object();
        if (amd64) break;
      }
      if (pick == nullptr) return make_error(Errc::not_found, "OCI layout: no linux/amd64 image in index " + digest);
      todo.insert(todo.begin(), Pending{*pick, p.name});
      continue;
    }
    const auto& m = doc.as_object();
    const auto* cfg = m.if_contains("config");
    const auto* layers = m.if_contains("layers");
    if (cfg == nullptr || !cfg->is_object() || layers == nullptr || !layers->is_array()) {
      return make_error(Errc::invalid_argument, "manifest " + digest + " has no config or layers");
    }
    BERTH_TRY(auto config_digest, blob_of(std::string(cfg->at("digest").as_string())));
    BERTH_TRY(auto config, read_json_blob(store.content(), config_digest, "image config"));
    std::vector<std::string> blobs, types;
    for (const auto& l : layers->get_array()) {
      BERTH_TRY(auto b, blob_of(std::string(l.at("digest").as_string())));
      blobs.push_back(b);
      types.emplace_back(l.at("mediaType").as_string());
    }
    std::vector<LayerBlob> recorded;
    BERTH_TRY(auto top, register_layers(store, config, blobs, types, recorded, progress));
    std::vector<std::string> keep = blobs;
    keep.push_back(digest);
    BERTH_TRY(auto id, store.add_image(config_digest, top, keep, recorded));
    LoadedImage loaded{id, {}};
    if (!p.name.empty()) {
      BERTH_TRY(tag_image(store, id, p.name));
      loaded.tags.push_back(p.name);
    }
    out.push_back(std::move(loaded));
  }
  return out;
}

}  // namespace

struct Decompressor::Impl {
  ReadFn source;
  ReadCtx ctx{&source};
  struct archive* a = nullptr;
  bool opened = false, done = false;
  ~Impl() {
    if (a != nullptr) archive_read_free(a);
  }
};

Decompressor::Decompressor(ReadFn source) : impl_(std::make_unique<Impl>()) {
  impl_->source = std::move(source);
  impl_->ctx.fn = &impl_->source;
}

Decompressor::~Decompressor() = default;

std::int64_t Decompressor::read(void* buf, std::size_t cap) {
  auto& d = *impl_;
  if (d.done) return 0;
  if (!d.opened) {
    d.opened = true;
    d.a = archive_read_new();
    archive_read_support_filter_all(d.a);
    archive_read_support_format_raw(d.a);
    struct archive_entry* entry = nullptr;
    if (archive_read_open(d.a, &d.ctx, nullptr, read_cb, nullptr) != ARCHIVE_OK ||
        archive_read_next_header(d.a, &entry) != ARCHIVE_OK) {
      // An empty stream is an empty layer.
      const char* e = archive_error_string(d.a);
      if (e == nullptr) {
        d.done = true;
        return 0;
      }
      error_ = e;
      return -1;
    }
  }
  la_ssize_t n = archive_read_data(d.a, buf, cap);
  if (n < 0) {
    error_ = archive_error_string(d.a) ? archive_error_string(d.a) : "decompression failed";
    return -1;
  }
  if (n == 0) d.done = true;
  return n;
}

struct GzipWriter::Impl {
  WriteFn sink;
  z_stream z{};
  bool ok = false;
  char out[64 << 10];
};

GzipWriter::GzipWriter(WriteFn sink) : impl_(std::make_unique<Impl>()) {
  impl_->sink = std::move(sink);
  // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
  impl_->ok = deflateInit2(&impl_->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

GzipWriter::~GzipWriter() { deflateEnd(&impl_->z); }

bool GzipWriter::pump(int flush) {
  auto& d = *impl_;
  do {
    d.z.next_out = reinterpret_cast<Bytef*>(d.out);
    d.z.avail_out = sizeof d.out;
    int rc = deflate(&d.z, flush);
    if (rc == Z_STREAM_ERROR) return d.ok = false;
    std::size_t n = sizeof d.out - d.z.avail_out;
    if (n > 0 && !d.sink(d.out, n)) return d.ok = false;
  } while (d.z.avail_out == 0);
  return true;
}

bool GzipWriter::write(const void* buf, std::size_t len) {
  auto& d = *impl_;
  if (!d.ok) return false;
  d.z.next_in = static_cast<Bytef*>(const_cast<void*>(buf));
  d.z.avail_in = static_cast<uInt>(len);
  return pump(Z_NO_FLUSH);
}

bool GzipWriter::finish() {
  if (!impl_->ok) return false;
  impl_->z.avail_in = 0;
  return pump(Z_FINISH);
}

Result<ReadFn> file_reader(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(Errc::internal, "open " + path, errno);
  auto owner = std::shared_ptr<int>(new int(fd), [](int* p) {
    ::close(*p);
    delete p;
  });
  return ReadFn([owner](void* buf, std::size_t cap) -> std::int64_t {
    for (;;) {
      ssize_t n = ::read(*owner, buf, cap);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  });
}

Result<std::vector<LoadedImage>> load_archive(ImageStore& store, const ReadFn& body,
                                              const std::function<void(const std::string&)>& progress) {
  ArchiveFiles files;
  Result<std::vector<LoadedImage>> loaded = make_error(
      Errc::invalid_argument, "read image archive: neither manifest.json nor index.json found");
  if (auto r = ingest_archive(store.content(), body, files); !r) {
    loaded = std::move(r).error();
  } else if (const auto* manifest = files.find("manifest.json")) {
    loaded = load_docker_archive(store, files, *manifest, progress);
  } else if (const auto* index = files.find("index.json")) {
    loaded = load_oci_layout(store, files, *index, progress);
  }
  // Blobs the archive brought that no image keeps (manifest.json, ...).
  for (const auto& digest : files.written) {
    if (!store.blob_kept(digest)) (void)store.content().remove(digest);
  }
  return loaded;
}

namespace {

struct WriteCtx {
  const WriteFn* fn;
};

la_ssize_t write_cb(struct archive* a, void* ud, const void* buf, size_t len) {
  auto* ctx = static_cast<WriteCtx*>(ud);
  if (!(*ctx->fn)(buf, len)) {
    archive_set_error(a, EPIPE, "client went away");
    return -1;
  }
  return static_cast<la_ssize_t>(len);
}

class TarWriter {
 public:
  explicit TarWriter(const WriteFn& out) : ctx_{&out} {
    a_ = archive_write_new();
    archive_write_set_format_pax_restricted(a_);
    archive_write_set_bytes_per_block(a_, 0);
    archive_write_open(a_, &ctx_, nullptr, write_cb, nullptr);
  }
  ~TarWriter() { archive_write_free(a_); }

  Result<void> dir(const std::string& path) {
    auto* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, AE_IFDIR);
    archive_entry_set_perm(e, 0755);
    int rc = archive_write_header(a_, e);
    archive_entry_free(e);
    return check(rc, path);
  }

  // A file of `size` bytes whose content `fill` writes through the callback.
  Result<void> file(const std::string& path, std::int64_t size,
                    const std::function<Result<void>(const std::function<bool(const void*, std::size_t)>&)>& fill) {
    auto* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, size);
    int rc = archive_write_header(a_, e);
    archive_entry_free(e);
    BERTH_TRY(check(rc, path));
    std::int64_t written = 0;
    BERTH_TRY(fill([&](const void* buf, std::size_t len) {
      written += static_cast<std::int64_t>(len);
      return archive_write_data(a_, buf, len) == static_cast<la_ssize_t>(len);
    }));
    if (written != size) {
      return make_error(Errc::internal, "save " + path + ": wrote " + std::to_string(written) +
                                            " of " + std::to_string(size) + " bytes");
    }
    return ok();
  }

  Result<void> text(const std::string& path, const std::string& content) {
    return file(path, static_cast<std::int64_t>(content.size()), [&](const auto& write) -> Result<void> {
      if (!write(content.data(), content.size())) return make_error(Errc::unavailable, "client went away");
      return ok();
    });
  }

  Result<void> close() { return check(archive_write_close(a_), "archive"); }

 private:
  Result<void> check(int rc, const std::string& what) {
    if (rc >= ARCHIVE_WARN) return ok();
    return make_error(Errc::unavailable, "save " + what + ": " +
                                             (archive_error_string(a_) ? archive_error_string(a_) : "write failed"));
  }
  WriteCtx ctx_;
  struct archive* a_;
};

// Streams the uncompressed layer tar of `diff_id` from its recorded blob.
Result<ReadFn> layer_tar_source(ImageStore& store, const std::string& diff_id,
                                std::shared_ptr<Decompressor>& keep) {
  if (store.content().exists(diff_id)) {
    BERTH_TRY(auto p, store.content().path(diff_id));
    return file_reader(p);
  }
  for (const auto& blob : store.layer_blobs(diff_id)) {
    auto p = store.content().path(blob.digest);
    if (!p) continue;
    BERTH_TRY(auto source, file_reader(p.value()));
    keep = std::make_shared<Decompressor>(source);
    auto dec = keep;
    return ReadFn([dec](void* buf, std::size_t cap) { return dec->read(buf, cap); });
  }
  return make_error(Errc::not_found, "no stored blob holds layer " + diff_id +
                                         "; it cannot be exported byte for byte");
}

}  // namespace

Result<void> save_archive(ImageStore& store, const std::vector<SaveItem>& items, const WriteFn& out) {
  TarWriter tar(out);
  json::array manifest;
  std::set<std::string> written;
  std::vector<char> buf(kChunk);
  for (const auto& item : items) {
    BERTH_TRY(auto info, store.get(item.id));
    std::string config_name = info.id.substr(7) + ".json";
    if (written.insert(config_name).second) {
      BERTH_TRY(tar.text(config_name, info.config));
    }
    json::array layers;
    for (const auto& layer : info.layers) {
      std::string dir = layer.diff_id.substr(7);
      std::string name = dir + "/layer.tar";
      layers.emplace_back(name);
      if (!written.insert(name).second) continue;
      // The tar header needs the size first: measure, then stream.
      std::int64_t size = 0;
      {
        std::shared_ptr<Decompressor> keep;
        BERTH_TRY(auto src, layer_tar_source(store, layer.diff_id, keep));
        Sha256 hash;
        for (;;) {
          std::int64_t n = src(buf.data(), buf.size());
          if (n < 0) return make_error(Errc::internal, "read layer " + layer.diff_id);
          if (n == 0) break;
          hash.update(buf.data(), static_cast<std::size_t>(n));
          size += n;
        }
        if (hash.finish() != layer.diff_id) {
          return make_error(Errc::internal, "stored blob of layer " + layer.diff_id + " does not match it");
        }
      }
      BERTH_TRY(tar.dir(dir));
      BERTH_TRY(tar.file(name, size, [&](const auto& write) -> Result<void> {
        std::shared_ptr<Decompressor> keep;
        BERTH_TRY(auto src, layer_tar_source(store, layer.diff_id, keep));
        for (;;) {
          std::int64_t n = src(buf.data(), buf.size());
          if (n < 0) return make_error(Errc::internal, "read layer " + layer.diff_id);
          if (n == 0) return ok();
          if (!write(buf.data(), static_cast<std::size_t>(n))) {
            return make_error(Errc::unavailable, "client went away");
          }
        }
      }));
    }
    json::array tags;
    for (const auto& t : item.tags) tags.emplace_back(t);
    manifest.emplace_back(json::object{{"Config", config_name},
                                       {"RepoTags", tags.empty() ? json::value(nullptr) : json::value(tags)},
                                       {"Layers", layers}});
  }
  BERTH_TRY(tar.text("manifest.json", json::serialize(manifest)));
  return tar.close();
}

}  // namespace berth::core::image
