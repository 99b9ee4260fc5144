#include "record.hpp"

#include <boost/json.hpp>
#include <boost/locale/utf.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>

namespace berth::plugins::log_json_file {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Docker's string escaping (ffjsonWriteJSONBytesAsString in moby's
// daemon/logger/jsonfilelog/jsonlog/jsonlogbytes.go), byte for byte, so our
// files match Docker's for tools that read them: <, > and & become \u003c
// \u003e \u0026, control bytes other than \n and \r \u00XX (a tab too), each
// byte of invalid UTF-8 \ufffd, and U+2028/U+2029 their \u escapes.
void append_json_string(std::string_view s, bool newline, std::string& out) {
  namespace utf = boost::locale::utf;
  out += '"';
  std::size_t start = 0;
  std::size_t i = 0;
  const auto flush = [&](std::size_t end) { out.append(s, start, end - start); };
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&') {
        ++i;
        continue;
      }
      flush(i);
      switch (b) {
        case '\\':
        case '"':
          out += '\\';
          out += static_cast<char>(b);
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        default:
          out += "\\u00";
          out += hex_digits[b >> 4];
          out += hex_digits[b & 0xf];
      }
      start = ++i;
      continue;
    }
    auto p = s.begin() + static_cast<std::ptrdiff_t>(i);
    const utf::code_point c = utf::utf_traits<char>::decode(p, s.end());
    if (c == utf::illegal || c == utf::incomplete) {
      flush(i);
      out += "\\ufffd";
      start = ++i;
      continue;
    }
    const auto size = static_cast<std::size_t>(p - s.begin()) - i;
    if (c == 0x2028 || c == 0x2029) {
      flush(i);
      out += "\\u202";
      out += hex_digits[c & 0xf];
      start = i + size;
    }
    i += size;
  }
  flush(s.size());
  if (newline) out += "\\n";
  out += '"';
}

template <class Int>
bool parse_digits(std::string_view text, std::size_t at, std::size_t count, Int& value) {
  if (at + count > text.size()) return false;
  const char* first = text.data() + at;
  const char* last = first + count;
  const auto [end, ec] = std::from_chars(first, last, value);
  return ec == std::errc() && end == last;
}

}  // namespace

void encode_record(const sdk::LogMessage& message, std::string& out) {
  out += '{';
  // Docker leaves "log" out when it is empty: an empty partial record.
  if (!message.partial || !message.line.empty()) {
    out += "\"log\":";
    append_json_string(message.line, !message.partial, out);
    out += ',';
  }
  out += message.stream == sdk::StdStream::err ? R"("stream":"stderr",)" : R"("stream":"stdout",)";
  out += "\"time\":\"";
  out += format_time(message.time_unix_nano);
  out += "\"}\n";
}

std::optional<Record> decode_record(std::string_view json_line) {
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(json_line, ec);
  if (ec) return std::nullopt;
  const boost::json::object* object = value.if_object();
  if (object == nullptr) return std::nullopt;

  Record record;
  const boost::json::value* stream = object->if_contains("stream");
  if (stream == nullptr || !stream->is_string()) return std::nullopt;
  if (stream->get_string() == "stdout") {
    record.stream = sdk::StdStream::out;
  } else if (stream->get_string() == "stderr") {
    record.stream = sdk::StdStream::err;
  } else {
    return std::nullopt;
  }

  const boost::json::value* time = object->if_contains("time");
  if (time == nullptr || !time->is_string()) return std::nullopt;
  const std::optional<std::int64_t> when = parse_time(time->get_string());
  if (!when) return std::nullopt;
  record.time_unix_nano = *when;

  std::string_view log;
  if (const boost::json::value* text = object->if_contains("log")) {
    if (!text->is_string()) return std::nullopt;
    log = text->get_string();
  }
  record.partial = !log.ends_with('\n');
  if (!record.partial) log.remove_suffix(1);
  record.line = log;
  return record;
}

std::string format_time(std::int64_t unix_nano) {
  using namespace std::chrono;
  const sys_time<nanoseconds> when{nanoseconds{unix_nano}};
  const sys_days day = floor<days>(when);
  const year_month_day date{day};
  const hh_mm_ss clock{when - day};
  char text[48];
  int n = std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02lld",
                        static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                        static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                        static_cast<int>(clock.minutes().count()),
                        static_cast<long long>(clock.seconds().count()));
  std::string out(text, static_cast<std::size_t>(n));
  if (const auto nanos = clock.subseconds().count(); nanos != 0) {
    n = std::snprintf(text, sizeof text, ".%09lld", static_cast<long long>(nanos));
    std::string_view fraction(text, static_cast<std::size_t>(n));
    while (fraction.ends_with('0')) fraction.remove_suffix(1);
    out += fraction;
  }
  out += 'Z';
  return out;
}

std::optional<std::int64_t> parse_time(std::string_view text) {
  using namespace std::chrono;
  // 2006-01-02T15:04:05[.999999999](Z|±07:00)
  int y = 0;
  unsigned mo = 0;
  unsigned d = 0;
  int h = 0;
  int mi = 0;
  int s = 0;
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':' ||
      !parse_digits(text, 0, 4, y) || !parse_digits(text, 5, 2, mo) ||
      !parse_digits(text, 8, 2, d) || !parse_digits(text, 11, 2, h) ||
      !parse_digits(text, 14, 2, mi) || !parse_digits(text, 17, 2, s)) {
    return std::nullopt;
  }
  const year_month_day date{year{y}, month{mo}, day{d}};
  if (!date.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;

  std::size_t at = 19;
  std::int64_t nanos = 0;
  if (text[at] == '.') {
    std::size_t digits = 0;
    ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      if (++digits > 9) return std::nullopt;
      nanos = nanos * 10 + (text[at] - '0');
      ++at;
    }
    if (digits == 0) return std::nullopt;
    for (std::size_t i = digits; i < 9; ++i) nanos *= 10;
  }

  minutes offset{0};
  const std::string_view zone = text.substr(at);
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int oh = 0;
    int om = 0;
    if (!parse_digits(zone, 1, 2, oh) || !parse_digits(zone, 4, 2, om)) return std::nullopt;
    offset = hours{oh} + minutes{om};
    if (zone[0] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }

  const sys_time<nanoseconds> when =
      sys_days{date} + hours{h} + minutes{mi} + seconds{s} + nanoseconds{nanos} - offset;
  return when.time_since_epoch().count();
}

}  // namespace berth::plugins::log_json_file
