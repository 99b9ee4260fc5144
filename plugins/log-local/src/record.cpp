#include "record.hpp"

namespace berth::plugins::log_local {

namespace {

void put_u32(std::uint32_t v, std::string& out) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

std::uint64_t get_be(std::string_view bytes, std::size_t at, std::size_t count) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < count; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

}  // namespace

void encode_record(const sdk::LogMessage& message, std::string& out) {
  const auto size = static_cast<std::uint32_t>(kRecordHeader + message.line.size());
  put_u32(size, out);
  out += static_cast<char>(message.stream == sdk::StdStream::err ? 2 : 1);
  out += static_cast<char>(message.partial ? 1 : 0);
  const auto time = static_cast<std::uint64_t>(message.time_unix_nano);
  put_u32(static_cast<std::uint32_t>(time >> 32), out);
  put_u32(static_cast<std::uint32_t>(time & 0xffffffffu), out);
  out += message.line;
  put_u32(size, out);
}

std::size_t decode_record(std::string_view bytes, log_common::Record& record, bool& valid) {
  valid = false;
  if (bytes.size() < 4) return 0;
  const auto size = static_cast<std::uint32_t>(get_be(bytes, 0, 4));
  if (size < kRecordHeader || size > kMaxRecordSize) return 1;
  const std::size_t total = 4 + std::size_t{size} + 4;
  if (bytes.size() < total) return 0;
  const auto stream = static_cast<unsigned char>(bytes[4]);
  const auto flags = static_cast<unsigned char>(bytes[5]);
  if (get_be(bytes, total - 4, 4) != size || (stream != 1 && stream != 2) || (flags & ~1u) != 0) {
    return 1;
  }
  record.stream = stream == 2 ? sdk::StdStream::err : sdk::StdStream::out;
  record.partial = (flags & 1u) != 0;
  record.time_unix_nano = static_cast<std::int64_t>(get_be(bytes, 6, 8));
  record.line.assign(bytes.substr(4 + kRecordHeader, size - kRecordHeader));
  valid = true;
  return total;
}

}  // namespace berth::plugins::log_local
