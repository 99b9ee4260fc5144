// Image archives: `docker load` input (docker-archive, with or without
// Docker 25's OCI layout inside, and plain OCI layout tars) and `docker save`
// output (docker-archive), plus layer decompression for pulls and loads.
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/image/image_store.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace berth::core::image {

// Returns bytes read into buf (0 at the end, -1 on error).
using ReadFn = std::function<std::int64_t(void* buf, std::size_t cap)>;
// Returns false when the consumer went away.
using WriteFn = std::function<bool(const void* buf, std::size_t len)>;

// Streams the decompressed content of a gzip, zstd or uncompressed stream.
class Decompressor {
 public:
  explicit Decompressor(ReadFn source);
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
  // Bytes read (0 at the end, -1 on error; error() says why).
  std::int64_t read(void* buf, std::size_t cap);
  const std::string& error() const { return error_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string error_;
};

// Gzip-compresses what is written to it into `sink` (zlib's default level),
// as Docker compresses the uncompressed layers it pushes.
class GzipWriter {
 public:
  explicit GzipWriter(WriteFn sink);
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;
  // False when zlib or the sink failed; the stream is unusable then.
  bool write(const void* buf, std::size_t len);
  // Flushes the gzip trailer.
  bool finish();

 private:
  bool pump(int flush);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A ReadFn over a file (a committed blob).
Result<ReadFn> file_reader(const std::string& path);

struct LoadedImage {
  std::string id;
  std::vector<std::string> tags;  // familiar names as the archive gave them
};

// Loads every image of the archive read from `body`: its blobs go to the
// content store, its layers to the storage driver, its tags to the store.
// `progress` receives Docker-style lines ("Loading layer ...").
Result<std::vector<LoadedImage>> load_archive(ImageStore& store, const ReadFn& body,
                                              const std::function<void(const std::string&)>& progress);

struct SaveItem {
  std::string id;                 // image ID
  std::vector<std::string> tags;  // familiar "name:tag" to record in the archive
};

// Writes a docker-archive holding `items` to `out`.
Result<void> save_archive(ImageStore& store, const std::vector<SaveItem>& items, const WriteFn& out);

}  // namespace berth::core::image
