#include "berth/plugins/log_common/rotating_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

#include "berth/sdk/status.hpp"

namespace berth::plugins::log_common {

namespace {

using sdk::Errc;
using sdk::Error;

// The gzip extra field compress_rotated writes: "berth-log-source:<dev>:<ino>".
constexpr std::string_view source_tag = "berth-log-source:";

// Writes all of `data`; returns 0 or errno.
int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

bool file_exists(const std::filesystem::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::filesystem::path rotated_path(const std::filesystem::path& path, int n, bool compressed) {
  std::filesystem::path rotated = path;
  rotated += "." + std::to_string(n) + (compressed ? ".gz" : "");
  return rotated;
}

RotatingFile::RotatingFile(const LogInfo& info)
    : container_(info.short_id()), path_(info.log_path), rotation_(info.rotation) {
  open(0);
  // A writer that went away in the middle of compressing left the plain file.
  if (rotation_.compress && rotation_.max_file > 1) {
    const std::filesystem::path first = rotated_path(path_, 1);
    if (file_exists(first)) compress_in_background(first);
  }
}

RotatingFile::~RotatingFile() {
  if (compressor_.joinable()) compressor_.join();
}

void RotatingFile::open(int extra_flags) {
  const int fd =
      ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | extra_flags, 0640);
  if (fd < 0) {
    throw Error::from_errno(errno, "open log of container " + container_ + ": " + path_.string());
  }
  fd_.reset(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw Error::from_errno(errno, "stat log of container " + container_ + ": " + path_.string());
  }
  size_ = st.st_size;
}

void RotatingFile::write(std::string_view record) {
  if (rotation_.max_size > 0 && size_ >= rotation_.max_size) rotate();
  if (const int err = write_all(fd_.get(), record); err != 0) {
    throw Error::from_errno(err, "write log of container " + container_ + ": " + path_.string());
  }
  size_ += static_cast<std::int64_t>(record.size());
}

void RotatingFile::rotate() {
  const auto fail = [&](const std::filesystem::path& which) {
    return Error::from_errno(errno,
                             "rotate log of container " + container_ + ": " + which.string());
  };
  // The previous rotated file must be in its final place before it moves on.
  if (compressor_.joinable()) compressor_.join();
  if (rotation_.max_file > 1) {
    for (bool gz : {false, true}) {
      const std::filesystem::path oldest = rotated_path(path_, rotation_.max_file - 1, gz);
      if (::unlink(oldest.c_str()) != 0 && errno != ENOENT) throw fail(oldest);
    }
    for (int n = rotation_.max_file - 1; n > 1; --n) {
      for (bool gz : {false, true}) {
        const std::filesystem::path from = rotated_path(path_, n - 1, gz);
        if (std::rename(from.c_str(), rotated_path(path_, n, gz).c_str()) != 0 &&
            errno != ENOENT) {
          throw fail(from);
        }
      }
    }
    const std::filesystem::path first = rotated_path(path_, 1);
    if (std::rename(path_.c_str(), first.c_str()) != 0) throw fail(path_);
    if (rotation_.compress) compress_in_background(first);
  } else if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    // A new file rather than truncating in place: a reader following the old
    // one sees a new inode and switches, instead of reading from a stale offset.
    throw fail(path_);
  }
  open(O_TRUNC);
}

void RotatingFile::compress_in_background(const std::filesystem::path& plain) {
  if (compressor_.joinable()) compressor_.join();
  compressor_ = std::thread([plain] {
    try {
      compress_rotated(plain);
    } catch (const std::exception&) {
      // The plain file stays, and readers read it as well as a gzipped one;
      // the next rotation moves it on uncompressed.
    }
  });
}

void RotatingFile::close() {
  if (compressor_.joinable()) compressor_.join();
  if (const int err = fd_.close(); err != 0) {
    throw Error::from_errno(err, "close log of container " + container_ + ": " + path_.string());
  }
}

void compress_rotated(const std::filesystem::path& plain) {
  const auto fail = [&](int err, const std::filesystem::path& which) {
    return Error::from_errno(err, "compress rotated log " + which.string());
  };
  Fd in(::open(plain.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) throw fail(errno, plain);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) throw fail(errno, plain);
  std::filesystem::path gz = plain;
  gz += ".gz";
  std::filesystem::path tmp = gz;
  tmp += ".tmp";
  Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!out) throw fail(errno, tmp);

  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw Error(Errc::internal, "compress rotated log " + plain.string() + ": deflateInit2 failed");
  }
  std::string extra = std::string(source_tag) + std::to_string(st.st_dev) + ":" +
                      std::to_string(st.st_ino);
  gz_header header{};
  header.extra = reinterpret_cast<Bytef*>(extra.data());
  header.extra_len = static_cast<uInt>(extra.size());
  header.os = 3;  // Unix
  deflateSetHeader(&zs, &header);
  int err = 0;
  char input[64 * 1024];
  char output[64 * 1024];
  for (bool done = false; !done && err == 0;) {
    const ssize_t n = ::read(in.get(), input, sizeof input);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    zs.next_in = reinterpret_cast<Bytef*>(input);
    zs.avail_in = static_cast<uInt>(n);
    const int flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
    int rc = Z_OK;
    do {
      zs.next_out = reinterpret_cast<Bytef*>(output);
      zs.avail_out = sizeof output;
      rc = deflate(&zs, flush);
      err = write_all(out.get(), std::string_view(output, sizeof output - zs.avail_out));
    } while (err == 0 && zs.avail_out == 0);
    done = rc == Z_STREAM_END;
  }
  deflateEnd(&zs);
  if (err == 0) err = out.close();
  if (err != 0 || std::rename(tmp.c_str(), gz.c_str()) != 0) {
    if (err == 0) err = errno;
    ::unlink(tmp.c_str());
    throw fail(err, gz);
  }
  ::unlink(plain.c_str());
}

std::optional<FileId> gzip_source(int fd) {
  // RFC 1952: ID1 ID2 CM FLG MTIME(4) XFL OS, then with FLG.FEXTRA XLEN(2, LE) and the field.
  unsigned char head[12 + 64];
  const ssize_t n = ::pread(fd, head, sizeof head, 0);
  if (n < 12 || head[0] != 0x1f || head[1] != 0x8b || (head[3] & 0x04) == 0) return std::nullopt;
  const std::size_t xlen = head[10] | (static_cast<std::size_t>(head[11]) << 8);
  if (12 + xlen > static_cast<std::size_t>(n)) return std::nullopt;
  std::string_view extra(reinterpret_cast<const char*>(head + 12), xlen);
  if (!extra.starts_with(source_tag)) return std::nullopt;
  extra.remove_prefix(source_tag.size());
  const auto colon = extra.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  unsigned long long dev = 0;
  unsigned long long ino = 0;
  const auto [d, ec1] = std::from_chars(extra.data(), extra.data() + colon, dev);
  const auto [i, ec2] = std::from_chars(extra.data() + colon + 1, extra.data() + extra.size(), ino);
  if (ec1 != std::errc() || ec2 != std::errc() || d != extra.data() + colon ||
      i != extra.data() + extra.size()) {
    return std::nullopt;
  }
  return FileId{static_cast<dev_t>(dev), static_cast<ino_t>(ino)};
}

}  // namespace berth::plugins::log_common
