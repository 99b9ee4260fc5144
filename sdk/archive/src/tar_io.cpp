#include "tar_io.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <cerrno>
#include <new>
#include <string>

#include "berth/sdk/status.hpp"
#include "fs.hpp"

namespace berth::sdk::archive::detail {

namespace {

constexpr std::size_t kReadBlock = 128 * 1024;

// libarchive reports its own failures with a message and an errno-like code;
// anything but memory exhaustion means the archive itself is bad.
Error archive_error(struct archive* a, std::string_view context) {
  std::string message(context);
  message += ": ";
  const char* text = archive_error_string(a);
  message += text != nullptr ? text : "unknown libarchive error";
  return Error(archive_errno(a) == ENOMEM ? Errc::internal : Errc::invalid_argument, message);
}

[[noreturn]] void rethrow_callback_error(const std::exception_ptr& error,
                                         std::string_view context) {
  try {
    std::rethrow_exception(error);
  } catch (...) {
    rethrow_with_context(context);
  }
}

}  // namespace

Utf8Locale::Utf8Locale() : locale_(::newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr)) {
  if (locale_ != nullptr) previous_ = ::uselocale(locale_);
}

Utf8Locale::~Utf8Locale() {
  if (locale_ != nullptr) {
    ::uselocale(previous_);
    ::freelocale(locale_);
  }
}

Entry::Entry() : entry_(archive_entry_new()) {
  if (entry_ == nullptr) throw std::bad_alloc();
}

Entry::~Entry() { archive_entry_free(entry_); }

TarReader::TarReader(const ReadFn& read) : read_(read), buffer_(kReadBlock) {
  archive_ = archive_read_new();
  if (archive_ == nullptr) throw std::bad_alloc();
  // Tar (ustar, pax, gnu) only, plain or gzip/zstd; a zero-byte stream is an
  // empty layer.
  if (archive_read_support_format_tar(archive_) != ARCHIVE_OK ||
      archive_read_support_format_empty(archive_) != ARCHIVE_OK ||
      archive_read_support_filter_gzip(archive_) < ARCHIVE_WARN ||
      archive_read_support_filter_zstd(archive_) < ARCHIVE_WARN) {
    Error error = archive_error(archive_, "set up tar reader");
    archive_read_free(archive_);
    throw error;
  }
  if (archive_read_open(archive_, this, nullptr, &TarReader::read_callback, nullptr) !=
      ARCHIVE_OK) {
    try {
      fail("read layer tar");
    } catch (...) {
      archive_read_free(archive_);
      throw;
    }
  }
}

TarReader::~TarReader() { archive_read_free(archive_); }

ssize_t TarReader::read_callback(struct archive* a, void* self, const void** buffer) {
  auto* reader = static_cast<TarReader*>(self);
  try {
    const std::size_t got = reader->read_(reader->buffer_.data(), reader->buffer_.size());
    if (got > reader->buffer_.size()) {
      throw Error(Errc::internal, "read function returned more bytes than asked for");
    }
    *buffer = reader->buffer_.data();
    return static_cast<ssize_t>(got);
  } catch (...) {
    // Exceptions must not unwind through libarchive's C frames.
    reader->callback_error_ = std::current_exception();
    archive_set_error(a, EIO, "read failed");
    return -1;
  }
}

void TarReader::fail(std::string_view context) {
  if (callback_error_) rethrow_callback_error(callback_error_, context);
  throw archive_error(archive_, context);
}

archive_entry* TarReader::next() {
  archive_entry* entry = nullptr;
  const int r = archive_read_next_header(archive_, &entry);
  if (r == ARCHIVE_EOF) return nullptr;
  if (r < ARCHIVE_WARN) fail("read layer tar");
  return entry;
}

void TarReader::read_data(
    const std::function<void(std::int64_t offset, const void* data, std::size_t size)>& sink) {
  while (true) {
    const void* data = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    const int r = archive_read_data_block(archive_, &data, &size, &offset);
    if (r == ARCHIVE_EOF) return;
    if (r < ARCHIVE_WARN) fail("read data");
    if (size != 0) sink(offset, data, size);
  }
}

TarWriter::TarWriter(const WriteFn& write) : write_(write) {
  archive_ = archive_write_new();
  if (archive_ == nullptr) throw std::bad_alloc();
  // PAX with Go's and GNU tar's spelling of xattrs only (SCHILY.xattr.*);
  // the final block is not padded to 10 KiB.
  if (archive_write_set_format_pax(archive_) != ARCHIVE_OK ||
      archive_write_add_filter_none(archive_) != ARCHIVE_OK ||
      archive_write_set_format_option(archive_, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(archive_, 1) != ARCHIVE_OK ||
      archive_write_open(archive_, this, nullptr, &TarWriter::write_callback, nullptr) !=
          ARCHIVE_OK) {
    Error error = archive_error(archive_, "set up tar writer");
    archive_write_free(archive_);
    throw error;
  }
}

TarWriter::~TarWriter() {
  if (archive_ != nullptr) {
    // Closing (not archive_write_fail()) frees libarchive's output buffer,
    // also after a failed write; abandoned_ keeps it from reaching write_.
    abandoned_ = true;
    archive_write_close(archive_);
    archive_write_free(archive_);
  }
}

ssize_t TarWriter::write_callback(struct archive* a, void* self, const void* buffer,
                                  std::size_t size) {
  auto* writer = static_cast<TarWriter*>(self);
  if (writer->abandoned_) return -1;
  try {
    writer->write_(buffer, size);
    return static_cast<ssize_t>(size);
  } catch (...) {
    writer->callback_error_ = std::current_exception();
    archive_set_error(a, EIO, "write failed");
    return -1;
  }
}

void TarWriter::fail(std::string_view context) {
  if (callback_error_) rethrow_callback_error(callback_error_, context);
  throw archive_error(archive_, context);
}

void TarWriter::write_header(archive_entry* entry) {
  if (archive_write_header(archive_, entry) < ARCHIVE_WARN) fail("write header");
}

void TarWriter::write_data(const void* data, std::size_t size) {
  const auto* bytes = static_cast<const char*>(data);
  while (size != 0) {
    const la_ssize_t n = archive_write_data(archive_, bytes, size);
    if (n <= 0) fail("write data");
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
}

void TarWriter::close() {
  const int r = archive_write_close(archive_);
  if (r != ARCHIVE_OK) fail("finish tar");
  archive_write_free(archive_);
  archive_ = nullptr;
}

}  // namespace berth::sdk::archive::detail
