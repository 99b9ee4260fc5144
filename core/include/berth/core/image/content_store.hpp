// Content-addressed blobs (manifests, image configs, layer tars) under
// <data-root>/image/blobs/sha256/<hex>.
//
// A blob is written to a temporary name under ingest/, hashed while it
// streams, fsynced, checked against the expected digest and size, and only
// then renamed into place (and the directory fsynced). A wrong digest or a
// truncated stream is an error and leaves the store unchanged; a crash
// leaves at most a file in ingest/, which open() sweeps.
#pragma once

#include "berth/core/error.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace berth::core::image {

class ContentStore;

// One blob being written. Not thread-safe. Abandoned (destroyed without
// commit) it removes its temporary file.
class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  Result<void> write(const void* data, std::size_t len);
  std::int64_t written() const { return written_; }

  // Verifies and publishes the blob. `expected_digest`/`expected_size`, when
  // given, must match what was written. Returns the blob's digest.
  Result<std::string> commit(const std::string& expected_digest = {},
                             std::optional<std::int64_t> expected_size = std::nullopt);

 private:
  friend class ContentStore;
  BlobWriter(ContentStore& store, int fd, std::string temp_path);
  struct Hash;
  ContentStore& store_;
  int fd_;
  std::string temp_path_;
  std::unique_ptr<Hash> hash_;
  std::int64_t written_ = 0;
  bool done_ = false;
};

class ContentStore {
 public:
  // Uses (creating) <root>/blobs and <root>/ingest; removes leftovers of
  // interrupted writes.
  static Result<std::unique_ptr<ContentStore>> open(const std::string& root);

  Result<std::unique_ptr<BlobWriter>> writer();

  // Writes a whole blob from memory; returns its digest.
  Result<std::string> put(std::string_view data, const std::string& expected_digest = {});

  bool exists(const std::string& digest) const;
  Result<std::int64_t> size(const std::string& digest) const;
  // Path of a committed blob (for streaming readers).
  Result<std::string> path(const std::string& digest) const;
  Result<std::string> read(const std::string& digest, std::size_t limit = 64u << 20) const;
  Result<void> remove(const std::string& digest);
  // Every committed blob's digest.
  std::vector<std::string> list() const;

 private:
  friend class BlobWriter;
  explicit ContentStore(std::string root) : root_(std::move(root)) {}
  std::string blob_path(const std::string& hex) const { return root_ + "/blobs/sha256/" + hex; }
  std::string root_;
};

}  // namespace berth::core::image
