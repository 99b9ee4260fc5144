// libarchive behind ReadFn/WriteFn: a tar reader (plain, gzip or zstd,
// detected) and an uncompressed PAX writer.
//
// Internal to berth::sdk-archive. A reader or writer is used by one thread,
// the one that made it: both switch that thread to the C.UTF-8 locale for
// their lifetime, so that libarchive's UTF-8 PAX names are neither mangled
// nor rejected under the "C" locale a daemon usually runs in.
#ifndef BERTH_SDK_ARCHIVE_TAR_IO_HPP
#define BERTH_SDK_ARCHIVE_TAR_IO_HPP

#include <locale.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string_view>
#include <vector>

#include "berth/sdk/layer_archive.hpp"

struct archive;
struct archive_entry;

namespace berth::sdk::archive::detail {

// Switches the calling thread to C.UTF-8 (LC_CTYPE) until destroyed; does
// nothing where that locale does not exist.
class Utf8Locale {
 public:
  Utf8Locale();
  ~Utf8Locale();
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;

 private:
  locale_t locale_ = nullptr;
  locale_t previous_ = nullptr;
};

class TarReader {
 public:
  // Reads through `read`, which must outlive the reader.
  explicit TarReader(const ReadFn& read);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next entry (owned by the reader, valid until the next call), or
  // nullptr at the end of the archive. Throws Error: a failure of `read`
  // keeps its class, a damaged archive is Errc::invalid_argument.
  archive_entry* next();

  // Hands the current entry's data to `sink` block by block (offset, for
  // sparse files, then bytes). Throws like next().
  void read_data(
      const std::function<void(std::int64_t offset, const void* data, std::size_t size)>& sink);

 private:
  static ssize_t read_callback(struct archive* a, void* self, const void** buffer);
  [[noreturn]] void fail(std::string_view context);

  Utf8Locale locale_;
  const ReadFn& read_;
  std::vector<char> buffer_;
  std::exception_ptr callback_error_;
  struct archive* archive_ = nullptr;
};

class TarWriter {
 public:
  // Writes through `write`, which must outlive the writer. Until close(),
  // nothing is complete; destroying an unclosed writer writes nothing more.
  explicit TarWriter(const WriteFn& write);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // Throws Error: a failure of `write` keeps its class; an entry libarchive
  // cannot represent is Errc::invalid_argument.
  void write_header(archive_entry* entry);
  void write_data(const void* data, std::size_t size);
  // Writes the end-of-archive blocks and flushes.
  void close();

 private:
  static ssize_t write_callback(struct archive* a, void* self, const void* buffer,
                                std::size_t size);
  [[noreturn]] void fail(std::string_view context);

  Utf8Locale locale_;
  const WriteFn& write_;
  std::exception_ptr callback_error_;
  bool abandoned_ = false;
  struct archive* archive_ = nullptr;
};

// An archive_entry owned by a unique_ptr-like holder.
class Entry {
 public:
  Entry();
  ~Entry();
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;
  archive_entry* get() const noexcept { return entry_; }

 private:
  archive_entry* entry_;
};

}  // namespace berth::sdk::archive::detail

#endif  // BERTH_SDK_ARCHIVE_TAR_IO_HPP
