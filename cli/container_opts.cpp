#include "container_opts.hpp"

#include <arpa/inet.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace berth::cli {
namespace json = boost::json;

namespace {

using Invalid = std::invalid_argument;

constexpr std::string_view kWhiteSpaces = " \t";

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s, std::string_view chars = " \t\r\n\v\f") {
  auto b = s.find_first_not_of(chars);
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(chars);
  return std::string(s.substr(b, e - b + 1));
}

// strings.Cut: before and after the first `sep`, and whether it was there.
struct Cut {
  std::string before, after;
  bool found = false;
};
Cut cut(std::string_view s, char sep) {
  auto at = s.find(sep);
  if (at == std::string_view::npos) return {std::string(s), {}, false};
  return {std::string(s.substr(0, at)), std::string(s.substr(at + 1)), true};
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    auto at = s.find(sep, start);
    out.emplace_back(s.substr(start, at == std::string_view::npos ? s.npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

// Go's %q for the ASCII text flags carry.
std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// strconv.ParseInt / ParseUint with pflag's base 0 ("0x10", "010").
std::int64_t parse_int(std::string_view text, int bits, bool is_unsigned = false) {
  std::string fn = is_unsigned ? "strconv.ParseUint" : "strconv.ParseInt";
  auto syntax = [&] { return Invalid(fn + ": parsing " + go_quote(text) + ": invalid syntax"); };
  auto range = [&] { return Invalid(fn + ": parsing " + go_quote(text) + ": value out of range"); };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    if (is_unsigned) throw syntax();
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 1 && s[0] == '0') {
    char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s[1])));
    if (p == 'x') {
      base = 16;
      s.remove_prefix(2);
    } else if (p == 'b') {
      base = 2;
      s.remove_prefix(2);
    } else if (p == 'o') {
      base = 8;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  std::string digits;
  for (char c : s) {
    if (c != '_') digits += c;
  }
  if (digits.empty()) throw syntax();
  unsigned long long magnitude = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec == std::errc::result_out_of_range) throw range();
  if (ec != std::errc() || end != digits.data() + digits.size()) throw syntax();
  if (is_unsigned) {
    if (bits < 64 && magnitude >= (1ULL << bits)) throw range();
    return static_cast<std::int64_t>(magnitude);
  }
  unsigned long long limit = 1ULL << (bits - 1);
  if (negative ? magnitude > limit : magnitude >= limit) throw range();
  return negative ? -static_cast<std::int64_t>(magnitude - 1) - 1 : static_cast<std::int64_t>(magnitude);
}

// strconv.ParseBool.
bool parse_bool(std::string_view s, bool& ok) {
  ok = true;
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return false;
  ok = false;
  return false;
}

bool valid_ip(std::string_view text) {
  std::string s = trim(text);
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// net.IP.String() of a valid address (IPv6 canonical form).
std::string normal_ip(std::string_view text) {
  std::string s = trim(text);
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  if (::inet_pton(AF_INET, s.c_str(), buf) == 1) return ::inet_ntop(AF_INET, buf, out, sizeof out);
  if (::inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    // An IPv4-mapped address prints as IPv4 in Go.
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(buf, mapped, 12) == 0) return ::inet_ntop(AF_INET, buf + 12, out, sizeof out);
    return ::inet_ntop(AF_INET6, buf, out, sizeof out);
  }
  return s;
}

std::string validate_ip(std::string_view text) {
  if (!valid_ip(text)) throw Invalid("IP address is not correctly formatted: " + std::string(text));
  return normal_ip(text);
}

std::string validate_dns_search(std::string_view text) {
  std::string v = trim(text, " ");
  if (v == ".") return v;
  static const std::regex domain(
      R"(^((([a-zA-Z0-9])|([a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]))(\.(([a-zA-Z0-9])|([a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])))*)\.?\s*$)");
  std::smatch m;
  bool has_alpha = std::any_of(v.begin(), v.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; });
  if (has_alpha && std::regex_match(v, m, domain) && m[1].length() < 255) return m[1].str();
  throw Invalid(v + " is not a valid domain");
}

std::string validate_sysctl(std::string_view value) {
  static const std::set<std::string, std::less<>> names = {
      "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  Cut kv = cut(value, '=');
  if (kv.found && !kv.before.empty() &&
      (names.contains(kv.before) || kv.before.starts_with("net.") || kv.before.starts_with("fs.mqueue."))) {
    return std::string(value);
  }
  throw Invalid("sysctl '" + std::string(value) + "' is not allowed");
}

std::string validate_attach(std::string_view value) {
  std::string s = lower(value);
  if (s == "stdin" || s == "stdout" || s == "stderr") return s;
  throw Invalid("valid streams are STDIN, STDOUT and STDERR");
}

std::string validate_device_cgroup_rule(std::string_view value) {
  static const std::regex rule(R"(^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$)");
  if (std::regex_match(value.begin(), value.end(), rule)) return std::string(value);
  throw Invalid("invalid device cgroup format '" + std::string(value) + "'");
}

bool valid_mac(std::string_view text) {
  std::string s = trim(text);
  static const std::regex mac(R"(^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$)");
  return std::regex_match(s, mac);
}

}  // namespace

// --- value parsers ----------------------------------------------------------

std::string validate_label(std::string_view value) {
  Cut kv = cut(value, '=');
  std::string key = kv.before;
  key.erase(0, key.find_first_not_of(kWhiteSpaces) == std::string::npos ? key.size()
                                                                          : key.find_first_not_of(kWhiteSpaces));
  if (key.empty()) throw Invalid("invalid label '" + std::string(value) + "': empty name");
  if (key.find_first_of(kWhiteSpaces) != std::string::npos) {
    throw Invalid("label '" + key + "' contains whitespaces");
  }
  return std::string(value);
}

std::string validate_link(std::string_view value) {
  if (value.empty()) throw Invalid("empty string specified for links");
  if (split(value, ':').size() > 2) throw Invalid("bad format for links: " + std::string(value));
  return std::string(value);
}

std::int64_t ram_in_bytes(std::string_view text) {
  auto invalid = [&] { return Invalid("invalid size: '" + std::string(text) + "'"); };
  auto sep = text.find_last_of("01234567890. ");
  if (sep == std::string_view::npos) throw invalid();
  std::string_view num, sfx;
  if (text[sep] != ' ') {
    num = text.substr(0, sep + 1);
    sfx = text.substr(sep + 1);
  } else {
    num = text.substr(0, sep);
    sfx = text.substr(sep + 1);
  }
  std::string_view digits = num;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  double size = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    throw Invalid("strconv.ParseFloat: parsing " + go_quote(num) + ": invalid syntax");
  }
  if (size < 0) throw invalid();
  if (sfx.empty()) return static_cast<std::int64_t>(size);
  auto bad_suffix = [&] { return Invalid("invalid suffix: '" + std::string(sfx) + "'"); };
  if (sfx.size() > 3) throw bad_suffix();
  std::string s = lower(sfx);
  if (s[0] == 'b') {
    if (s.size() > 1) throw bad_suffix();
    return static_cast<std::int64_t>(size);
  }
  static const std::string units = "kmgtp";
  auto unit = units.find(s[0]);
  if (unit == std::string::npos) throw bad_suffix();
  size *= std::pow(1024.0, static_cast<double>(unit + 1));
  if ((s.size() == 2 && s[1] != 'b') || (s.size() == 3 && s.substr(1) != "ib")) throw bad_suffix();
  return static_cast<std::int64_t>(size);
}

std::int64_t parse_nano_cpus(std::string_view text) {
  // big.Rat.SetString: "a/b", or a decimal with an optional exponent.
  auto not_rational = [&] {
    return Invalid("failed to parse " + std::string(text) + " as a rational number");
  };
  static const std::regex decimal(R"(^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$)");
  static const std::regex fraction(R"(^([+-]?\d+)/(\d+)$)");
  std::string s(text);
  std::cmatch m;
  // Work in nano-units with a 128-bit integer: exact for any value Docker
  // accepts (its result must fit an int64 anyway).
  __extension__ typedef __int128 i128;
  if (std::regex_match(s.c_str(), m, fraction)) {
    i128 num = 0, den = 0;
    for (char c : m[1].str()) {
      if (std::isdigit(static_cast<unsigned char>(c)) != 0) num = num * 10 + (c - '0');
      if (num > (i128{1} << 100)) throw Invalid("value is too precise");
    }
    for (char c : m[2].str()) {
      den = den * 10 + (c - '0');
      if (den > (i128{1} << 100)) throw Invalid("value is too precise");
    }
    if (den == 0) throw not_rational();
    num *= 1'000'000'000;
    if (num % den != 0) throw Invalid("value is too precise");
    auto v = static_cast<std::int64_t>(num / den);
    return m[1].str().starts_with("-") ? -v : v;
  }
  if (!std::regex_match(s.c_str(), m, decimal) || (m[2].length() == 0 && m[3].length() == 0)) {
    throw not_rational();
  }
  std::string digits = m[2].str() + m[3].str();
  long exponent = 9 - static_cast<long>(m[3].length());
  if (m[4].matched) exponent += std::strtol(m[4].str().c_str(), nullptr, 10);
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
  while (exponent < 0 && !digits.empty() && digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  if (digits.empty()) return 0;
  if (exponent < 0) throw Invalid("value is too precise");
  if (digits.size() + static_cast<std::size_t>(exponent) > 30) return m[1] == "-" ? INT64_MIN : INT64_MAX;
  i128 value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  for (long i = 0; i < exponent; ++i) value *= 10;
  auto v = static_cast<std::int64_t>(value);
  return m[1] == "-" ? -v : v;
}

json::object parse_ulimit(std::string_view text) {
  static const std::set<std::string, std::less<>> names = {
      "core",   "cpu",  "data", "fsize", "locks",  "memlock",    "msgqueue", "nice",
      "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"};
  Cut kv = cut(text, '=');
  if (!kv.found) throw Invalid("invalid ulimit argument: " + std::string(text));
  if (!names.contains(kv.before)) throw Invalid("invalid ulimit type: " + kv.before);
  auto values = split(kv.after, ':');
  if (values.size() > 2) {
    throw Invalid("too many limit value arguments - " + kv.after +
                  ", can only have up to two, `soft[:hard]`");
  }
  auto number = [](const std::string& s) {
    // strconv.ParseInt(s, 10, 64): no base prefixes.
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) {
      throw Invalid("strconv.ParseInt: parsing " + go_quote(s) + ": value out of range");
    }
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
      throw Invalid("strconv.ParseInt: parsing " + go_quote(s) + ": invalid syntax");
    }
    return v;
  };
  std::int64_t hard = values.size() == 2 ? number(values[1]) : 0;
  std::int64_t soft = number(values[0]);
  if (values.size() == 1) hard = soft;
  if (hard != -1 && soft > hard) {
    throw Invalid("ulimit soft limit must be less than or equal to hard limit: " +
                  std::to_string(soft) + " > " + std::to_string(hard));
  }
  return {{"Name", kv.before}, {"Hard", hard}, {"Soft", soft}};
}

json::object parse_restart_policy(std::string_view text) {
  if (text.empty()) return {{"Name", ""}, {"MaximumRetryCount", 0}};
  Cut kv = cut(text, ':');
  if (kv.found && kv.before.empty()) {
    throw Invalid("invalid restart policy format: no policy provided before colon");
  }
  std::int64_t count = 0;
  if (!kv.after.empty()) {
    try {
      count = parse_int(kv.after, 64);
      if (kv.after.find_first_not_of("+-0123456789") != std::string::npos) throw Invalid("");
    } catch (const Invalid&) {
      throw Invalid("invalid restart policy format: maximum retry count must be an integer");
    }
  }
  // The daemon's checks, made before anything is created.
  const std::string& name = kv.before;
  if (name == "no" || name == "always" || name == "unless-stopped") {
    if (count != 0) {
      throw Invalid(std::string("invalid restart policy: maximum retry count can only be used with "
                                "'on-failure'") +
                    (count < 0 ? " and cannot be negative" : ""));
    }
  } else if (name == "on-failure") {
    if (count < 0) throw Invalid("invalid restart policy: maximum retry count cannot be negative");
  } else {
    throw Invalid("invalid restart policy: unknown policy '" + name +
                  "'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
  }
  return {{"Name", name}, {"MaximumRetryCount", count}};
}

std::int64_t parse_go_duration(std::string_view text) {
  auto invalid = [&] { return Invalid("time: invalid duration " + go_quote(text)); };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) throw invalid();
  long double total = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) != 0 || s[i] == '.')) ++i;
    std::string number(s.substr(0, i));
    if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1) {
      throw invalid();
    }
    s.remove_prefix(i);
    std::size_t j = 0;
    while (j < s.size() && s[j] != '.' && std::isdigit(static_cast<unsigned char>(s[j])) == 0) ++j;
    std::string unit(s.substr(0, j));
    s.remove_prefix(j);
    if (unit.empty()) throw Invalid("time: missing unit in duration " + go_quote(text));
    static const std::map<std::string, long double> units = {
        {"ns", 1.0L},           {"us", 1e3L},           {"\xC2\xB5s", 1e3L}, {"\xCE\xBCs", 1e3L},
        {"ms", 1e6L},           {"s", 1e9L},            {"m", 60e9L},        {"h", 3600e9L}};
    auto u = units.find(unit);
    if (u == units.end()) {
      throw Invalid("time: unknown unit " + go_quote(unit) + " in duration " + go_quote(text));
    }
    total += std::strtold(number.c_str(), nullptr) * u->second;
  }
  if (total > static_cast<long double>(INT64_MAX)) throw invalid();
  auto ns = static_cast<std::int64_t>(total);
  return negative ? -ns : ns;
}

std::string api_timestamp(std::string_view value, std::int64_t now) {
  if (value != "0") {
    try {
      std::int64_t d = parse_go_duration(value);
      // time.Time.Add(-d).Unix(): floor division of the nanoseconds.
      std::int64_t ns = now * 1'000'000'000 - d;
      std::int64_t seconds = ns / 1'000'000'000;
      if (ns % 1'000'000'000 < 0) --seconds;
      return std::to_string(seconds);
    } catch (const Invalid&) {
    }
  }
  static const std::regex date(
      R"(^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$)");
  std::string s(value);
  std::smatch m;
  if (std::regex_match(s, m, date)) {
    std::tm tm{};
    tm.tm_year = std::stoi(m[1]) - 1900;
    tm.tm_mon = std::stoi(m[2]) - 1;
    tm.tm_mday = std::stoi(m[3]);
    tm.tm_hour = m[4].matched ? std::stoi(m[4]) : 0;
    tm.tm_min = m[5].matched ? std::stoi(m[5]) : 0;
    tm.tm_sec = m[6].matched ? std::stoi(m[6]) : 0;
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 59) {
      throw Invalid("parsing time " + go_quote(value) + ": value out of range");
    }
    std::string frac = m[7].matched ? m[7].str() : "";
    frac.resize(9, '0');
    std::int64_t seconds = 0;
    if (m[8].matched) {
      seconds = static_cast<std::int64_t>(::timegm(&tm));
      std::string zone = m[8].str();
      if (zone != "Z" && zone != "z") {
        int offset = std::stoi(zone.substr(1, 2)) * 3600 + std::stoi(zone.substr(4, 2)) * 60;
        seconds -= zone[0] == '-' ? -offset : offset;
      }
    } else {
      tm.tm_isdst = -1;
      seconds = static_cast<std::int64_t>(std::mktime(&tm));
    }
    return std::to_string(seconds) + "." + frac;
  }
  // Already the API's form: seconds, optionally with nanoseconds.
  static const std::regex unix_time(R"(^-?\d+(\.\d{1,9})?$)");
  if (std::regex_match(s, unix_time)) return s;
  if (s.find('-') != std::string::npos) {
    throw Invalid("parsing time " + go_quote(value) + " as \"2006-01-02T15:04:05Z07:00\": cannot parse");
  }
  throw Invalid("failed to parse value as time or duration: " + go_quote(value));
}

std::string validate_env(std::string_view text) {
  Cut kv = cut(text, '=');
  if (kv.before.empty()) throw Invalid("invalid environment variable: " + std::string(text));
  if (kv.found) return std::string(text);
  if (const char* v = std::getenv(kv.before.c_str()); v != nullptr) return kv.before + "=" + v;
  return std::string(text);
}

std::vector<std::string> read_kv_file(const std::string& path, bool env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Invalid("open " + path + ": " + std::strerror(errno));
  std::vector<std::string> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 0 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    ++number;
    line.erase(0, std::min(line.find_first_not_of(" \t\r\n\v\f"), line.size()));
    if (line.empty() || line[0] == '#') continue;
    Cut kv = cut(line, '=');
    std::string name = kv.before;
    name.erase(0, std::min(name.find_first_not_of(kWhiteSpaces), name.size()));
    if (name.find_first_of(kWhiteSpaces) != std::string::npos) {
      throw Invalid("poorly formatted environment: variable '" + name + "' contains whitespaces");
    }
    if (name.empty()) {
      throw Invalid("poorly formatted environment: no variable name on line '" + line + "'");
    }
    if (kv.found) {
      out.push_back(name + "=" + kv.after);
    } else if (const char* v = env ? std::getenv(line.c_str()) : nullptr; v != nullptr) {
      out.push_back(trim(name) + "=" + v);
    } else {
      out.push_back(line);
    }
  }
  return out;
}

namespace {

// filepath.Abs: `path` joined to the working directory and cleaned (no
// trailing slash); as given when there is no working directory.
std::string go_abs(const std::string& path) {
  std::error_code ec;
  auto cwd = std::filesystem::current_path(ec);
  if (ec) return path;
  std::string abs = (cwd / path).lexically_normal().string();
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  return abs;
}

// The first record of `text` as encoding/csv reads it (MountOpt.Set):
// fields split at commas; a field that starts with '"' is quoted, `""`
// standing for a quote inside it. Throws Invalid with csv's ParseError
// text ("parse error on line 1, column 5: bare \" in non-quoted-field"),
// or "EOF" for an empty value. Columns count bytes from 1; a record that
// spans lines is not told apart.
std::vector<std::string> csv_record(std::string_view text) {
  auto parse_error = [](std::size_t column, const char* why) {
    return Invalid("parse error on line 1, column " + std::to_string(column) + ": " + why);
  };
  constexpr const char* kBareQuote = "bare \" in non-quoted-field";
  constexpr const char* kQuote = "extraneous or missing \" in quoted-field";
  while (text.starts_with('\n')) text.remove_prefix(1);  // csv skips empty lines
  if (text.empty()) throw Invalid("EOF");
  std::vector<std::string> fields;
  std::size_t i = 0;
  while (true) {
    if (i >= text.size() || text[i] != '"') {
      std::size_t end = text.find_first_of(",\n", i);
      std::string_view field = text.substr(i, end == std::string_view::npos ? end : end - i);
      if (auto quote = field.find('"'); quote != std::string_view::npos) {
        throw parse_error(i + quote + 1, kBareQuote);
      }
      fields.emplace_back(field);
      if (end == std::string_view::npos || text[end] == '\n') return fields;
      i = end + 1;
      continue;
    }
    std::string field;
    ++i;
    while (true) {
      std::size_t quote = text.find('"', i);
      if (quote == std::string_view::npos) throw parse_error(text.size() + 1, kQuote);
      field += text.substr(i, quote - i);
      i = quote + 1;
      if (i < text.size() && text[i] == '"') {
        field += '"';
        ++i;
      } else if (i >= text.size() || text[i] == '\n') {
        fields.push_back(std::move(field));
        return fields;
      } else if (text[i] == ',') {
        ++i;
        break;
      } else {
        throw parse_error(i, kQuote);
      }
    }
    fields.push_back(std::move(field));
  }
}

}  // namespace

json::object parse_mount(std::string_view text) {
  std::vector<std::string> fields = csv_record(text);
  // mount.Mount and its option structs: what is set, in their members'
  // order; every member is omitempty, but an options struct once made is
  // sent even when all of it is empty (and VolumeOptions always brings a
  // DriverConfig).
  struct VolumeOptions {
    bool no_copy = false;
    json::object labels;
    std::string driver;
    json::object driver_options;
  };
  struct BindOptions {
    std::string propagation;
    bool non_recursive = false;
  };
  struct TmpfsOptions {
    std::int64_t size = 0, mode = 0;
  };
  std::string type = "volume", source, target, consistency;
  bool read_only = false;
  std::optional<VolumeOptions> volume;
  std::optional<BindOptions> bind;
  std::optional<TmpfsOptions> tmpfs;
  auto volume_options = [&]() -> VolumeOptions& { return volume ? *volume : volume.emplace(); };
  auto bind_options = [&]() -> BindOptions& { return bind ? *bind : bind.emplace(); };
  auto tmpfs_options = [&]() -> TmpfsOptions& { return tmpfs ? *tmpfs : tmpfs.emplace(); };
  auto boolean = [](const std::string& key, const std::string& val) {
    bool ok = false;
    bool v = parse_bool(val, ok);
    if (!ok) throw Invalid("invalid value for " + key + ": " + val);
    return v;
  };
  auto set_value_on_map = [](json::object& target_map, const std::string& value) {
    Cut kv = cut(value, '=');
    if (!kv.before.empty()) target_map[kv.before] = kv.after;
  };
  for (const auto& f : fields) {
    Cut kv = cut(f, '=');
    const std::string& key = kv.before;
    const std::string& val = kv.after;
    if (!kv.found) {
      if (key == "readonly" || key == "ro") {
        read_only = true;
      } else if (key == "volume-nocopy") {
        volume_options().no_copy = true;
      } else if (key == "bind-nonrecursive") {
        bind_options().non_recursive = true;
      } else {
        throw Invalid("invalid field '" + f + "' must be a key=value pair");
      }
      continue;
    }
    if (key == "type") {
      type = lower(val);
    } else if (key == "source" || key == "src") {
      source = val == "." || val.starts_with("./") ? go_abs(val) : val;
    } else if (key == "target" || key == "dst" || key == "destination") {
      target = val;
    } else if (key == "readonly" || key == "ro") {
      read_only = boolean(key, val);
    } else if (key == "consistency") {
      consistency = lower(val);
    } else if (key == "bind-propagation") {
      bind_options().propagation = lower(val);
    } else if (key == "bind-nonrecursive") {
      bind_options().non_recursive = boolean(key, val);
    } else if (key == "volume-nocopy") {
      volume_options().no_copy = boolean(key, val);
    } else if (key == "volume-label") {
      set_value_on_map(volume_options().labels, val);
    } else if (key == "volume-driver") {
      volume_options().driver = val;
    } else if (key == "volume-opt") {
      set_value_on_map(volume_options().driver_options, val);
    } else if (key == "tmpfs-size") {
      try {
        tmpfs_options().size = ram_in_bytes(val);
      } catch (const Invalid&) {
        throw Invalid("invalid value for " + key + ": " + val);
      }
    } else if (key == "tmpfs-mode") {
      // strconv.ParseUint(val, 8, 32): octal digits only, no prefix.
      try {
        if (val.empty() || val.find_first_not_of("01234567") != std::string::npos) throw Invalid("");
        tmpfs_options().mode = parse_int("0" + val, 32, true);
      } catch (const Invalid&) {
        throw Invalid("invalid value for " + key + ": " + val);
      }
    } else {
      throw Invalid("unexpected key '" + key + "' in '" + f + "'");
    }
  }
  if (type.empty()) throw Invalid("type is required");
  if (target.empty()) throw Invalid("target is required");
  if (volume && type != "volume") throw Invalid("cannot mix 'volume-*' options with mount type '" + type + "'");
  if (bind && type != "bind") throw Invalid("cannot mix 'bind-*' options with mount type '" + type + "'");
  if (tmpfs && type != "tmpfs") throw Invalid("cannot mix 'tmpfs-*' options with mount type '" + type + "'");

  json::object mount{{"Type", type}};
  if (!source.empty()) mount["Source"] = source;
  mount["Target"] = target;
  if (read_only) mount["ReadOnly"] = true;
  if (!consistency.empty()) mount["Consistency"] = consistency;
  if (bind) {
    json::object b;
    if (!bind->propagation.empty()) b["Propagation"] = bind->propagation;
    if (bind->non_recursive) b["NonRecursive"] = true;
    mount["BindOptions"] = std::move(b);
  }
  if (volume) {
    json::object v;
    if (volume->no_copy) v["NoCopy"] = true;
    if (!volume->labels.empty()) v["Labels"] = volume->labels;
    json::object driver;
    if (!volume->driver.empty()) driver["Name"] = volume->driver;
    if (!volume->driver_options.empty()) driver["Options"] = volume->driver_options;
    v["DriverConfig"] = std::move(driver);
    mount["VolumeOptions"] = std::move(v);
  }
  if (tmpfs) {
    json::object t;
    if (tmpfs->size != 0) t["SizeBytes"] = tmpfs->size;
    if (tmpfs->mode != 0) t["Mode"] = tmpfs->mode;
    mount["TmpfsOptions"] = std::move(t);
  }
  return mount;
}

std::optional<std::string> volume_bind(std::string_view spec) {
  if (spec.empty()) throw Invalid("invalid empty volume spec");
  if (spec.size() <= 2) return std::nullopt;
  // loader.ParseVolume: sections between colons fill Source, Target, then
  // the mode; a lone letter before a colon is a Windows drive, kept in
  // its section. A single section is the target of an anonymous volume.
  std::string source, target, buffer;
  auto fail = [&](const std::string& why) {
    return Invalid("invalid spec: " + std::string(spec) + ": " + why);
  };
  auto flush = [&](bool at_end) {
    if (buffer.empty()) throw fail("empty section between colons");
    if (source.empty() && at_end) {
      target = buffer;
    } else if (source.empty()) {
      source = buffer;
    } else if (target.empty()) {
      target = buffer;
    } else if (!at_end) {
      throw fail("too many colons");
    }
    buffer.clear();
  };
  for (char c : spec) {
    if (c == ':' && buffer.size() == 1 && std::isalpha(static_cast<unsigned char>(buffer[0])) != 0) {
      buffer += c;
    } else if (c == ':') {
      flush(false);
    } else {
      buffer += c;
    }
  }
  flush(true);
  if (source.empty()) return std::nullopt;
  // A relative host path of a bind goes absolute ("./data", ".").
  Cut host = cut(spec, ':');
  if (host.before == "." || host.before.starts_with("./")) {
    return go_abs(host.before) + ":" + host.after;
  }
  return std::string(spec);
}

std::string validate_extra_host(std::string_view text) {
  Cut kv = cut(text, '=');
  if (!kv.found) kv = cut(text, ':');
  if (!kv.found || kv.before.empty() || kv.before.find(':') != std::string::npos) {
    throw Invalid("bad format for add-host: " + go_quote(text));
  }
  std::string ip = kv.after;
  if (ip != "host-gateway") {
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    if (!valid_ip(ip)) throw Invalid("invalid IP address in add-host: " + go_quote(ip));
  }
  return kv.before + ":" + ip;
}

namespace {

// nat.ParsePortRange.
std::pair<std::uint64_t, std::uint64_t> port_range(const std::string& ports) {
  if (ports.empty()) throw Invalid("empty string specified for ports");
  // strconv.ParseUint(s, 10, 16).
  auto number = [](const std::string& s) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
      throw Invalid("strconv.ParseUint: parsing " + go_quote(s) + ": invalid syntax");
    }
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || v > 65535) {
      throw Invalid("strconv.ParseUint: parsing " + go_quote(s) + ": value out of range");
    }
    return v;
  };
  auto parts = split(ports, '-');
  if (parts.size() == 1) {
    auto p = number(ports);
    return {p, p};
  }
  // Like Go's, anything after a second dash is ignored.
  auto start = number(parts[0]);
  auto end = number(parts[1]);
  if (end < start) throw Invalid("invalid range specified for port: " + ports);
  return {start, end};
}

// nat.SplitProtoPort: ("tcp", "80") for "80", ("udp", "53") for "53/udp".
std::pair<std::string, std::string> split_proto_port(const std::string& raw) {
  auto parts = split(raw, '/');
  if (raw.empty() || parts[0].empty()) return {"", ""};
  if (parts.size() == 1) return {"tcp", raw};
  if (parts[1].empty()) return {"tcp", parts[0]};
  return {parts[1], parts[0]};
}

}  // namespace

void parse_port_specs(const std::vector<std::string>& specs, json::object& exposed,
                      json::object& bindings) {
  for (const auto& raw : specs) {
    // The long syntax "published=8080,target=80,protocol=udp".
    std::string spec = raw;
    if (raw.find('=') != std::string::npos) {
      std::map<std::string, std::string> params{{"protocol", "tcp"}};
      for (const auto& param : split(raw, ',')) {
        Cut kv = cut(param, '=');
        if (!kv.found || kv.before.empty()) {
          throw Invalid("invalid publish opts format (should be name=value but got '" + param + "')");
        }
        params[kv.before] = kv.after;
      }
      spec = params["published"] + ":" + params["target"] + "/" + params["protocol"];
    }
    auto parts = split(spec, ':');
    std::string ip, host_port, container_port = parts.back();
    if (parts.size() == 2) {
      host_port = parts[0];
    } else if (parts.size() == 3) {
      ip = parts[0];
      host_port = parts[1];
    } else if (parts.size() > 3) {
      for (std::size_t i = 0; i + 2 < parts.size(); ++i) ip += (i ? ":" : "") + parts[i];
      host_port = parts[parts.size() - 2];
    }
    auto [proto, port] = split_proto_port(container_port);
    if (!ip.empty() && ip.front() == '[') {
      // net.SplitHostPort(ip + ":") strips the brackets.
      auto close = ip.find(']');
      std::string why = close == std::string::npos ? "missing ']' in address"
                        : close + 1 != ip.size()   ? (ip[close + 1] == ':' ? "too many colons in address"
                                                                            : "missing port in address")
                        : ip.find('[', 1) != std::string::npos ? "unexpected '[' in address"
                                                                : "";
      if (!why.empty()) throw Invalid("invalid IP address " + ip + ": address " + ip + ":: " + why);
      ip = ip.substr(1, close - 1);
    }
    if (!ip.empty() && !valid_ip(ip)) throw Invalid("invalid IP address: " + ip);
    if (port.empty()) throw Invalid("no port specified: " + spec + "<empty>");
    std::pair<std::uint64_t, std::uint64_t> cport, hport{0, 0};
    try {
      cport = port_range(port);
    } catch (const Invalid&) {
      throw Invalid("invalid containerPort: " + port);
    }
    if (!host_port.empty()) {
      try {
        hport = port_range(host_port);
      } catch (const Invalid&) {
        throw Invalid("invalid hostPort: " + host_port);
      }
    }
    if (!host_port.empty() && cport.second - cport.first != hport.second - hport.first &&
        cport.second != cport.first) {
      throw Invalid("invalid ranges specified for container and host Ports: " + port + " and " +
                    host_port);
    }
    std::string p = lower(proto);
    if (p != "tcp" && p != "udp" && p != "sctp") throw Invalid("invalid proto: " + proto);
    for (std::uint64_t i = 0; i <= cport.second - cport.first; ++i) {
      std::string key = std::to_string(cport.first + i) + "/" + p;
      std::string binding_port = host_port.empty() ? "" : std::to_string(hport.first + i);
      if (cport.first == cport.second && hport.first != hport.second) {
        binding_port += "-" + std::to_string(hport.second);
      }
      exposed[key] = json::object{};
      // Docker's ParsePortSpecs records a binding for every published port,
      // even one with no host side ("-p 80" publishes to a random port).
      auto& list = bindings[key];
      if (!list.is_array()) list = json::array{};
      list.as_array().push_back(json::object{{"HostIp", ip}, {"HostPort", binding_port}});
    }
  }
}

// --- flags --------------------------------------------------------------------

namespace {

CLI::Option* list(CLI::App& cmd, const std::string& names, std::vector<std::string>& values,
                  const std::string& help) {
  return cmd.add_option(names, values, help)->allow_extra_args(false)->take_all();
}

}  // namespace

void add_container_flags(CLI::App& cmd, ContainerFlags& f) {
  cmd.set_help_flag("--help", "Print usage");
  // General
  list(cmd, "-a,--attach", f.attach, "Attach to STDIN, STDOUT or STDERR");
  list(cmd, "-e,--env", f.env, "Set environment variables");
  list(cmd, "--env-file", f.env_file, "Read in a file of environment variables");
  cmd.add_option("--entrypoint", f.entrypoint, "Overwrite the default ENTRYPOINT of the image");
  list(cmd, "--group-add", f.group_add, "Add additional groups to join");
  cmd.add_option("-h,--hostname", f.hostname, "Container host name");
  cmd.add_option("--domainname", f.domainname, "Container NIS domain name");
  cmd.add_flag("-i,--interactive", f.interactive, "Keep STDIN open even if not attached");
  list(cmd, "-l,--label", f.labels, "Set meta data on a container");
  list(cmd, "--label-file", f.label_file, "Read in a line delimited file of labels");
  list(cmd, "--annotation", f.annotations, "Add an annotation to the container (passed through to the OCI runtime)");
  cmd.add_flag("--read-only", f.read_only, "Mount the container's root filesystem as read only");
  cmd.add_option("--restart", f.restart, "Restart policy to apply when a container exits");
  cmd.add_option("--stop-signal", f.stop_signal, "Signal to stop the container");
  cmd.add_option("--stop-timeout", f.stop_timeout, "Timeout (in seconds) to stop a container");
  list(cmd, "--sysctl", f.sysctls, "Sysctl options");
  cmd.add_flag("-t,--tty", f.tty, "Allocate a pseudo-TTY");
  list(cmd, "--ulimit", f.ulimits, "Ulimit options");
  cmd.add_option("-u,--user", f.user, "Username or UID (format: <name|uid>[:<group|gid>])");
  cmd.add_option("-w,--workdir", f.workdir, "Working directory inside the container");
  cmd.add_flag("--rm", f.auto_remove, "Automatically remove the container and its associated anonymous volumes when it exits");
  // Security
  list(cmd, "--cap-add", f.cap_add, "Add Linux capabilities");
  list(cmd, "--cap-drop", f.cap_drop, "Drop Linux capabilities");
  cmd.add_flag("--privileged", f.privileged, "Give extended privileges to this container");
  list(cmd, "--security-opt", f.security_opt, "Security Options");
  cmd.add_option("--userns", f.userns, "User namespace to use");
  cmd.add_option("--cgroupns", f.cgroupns, "Cgroup namespace to use (host|private)");
  // Network
  list(cmd, "--add-host", f.extra_hosts, "Add a custom host-to-IP mapping (host:ip)");
  list(cmd, "--dns", f.dns, "Set custom DNS servers");
  list(cmd, "--dns-option,--dns-opt", f.dns_options, "Set DNS options");
  list(cmd, "--dns-search", f.dns_search, "Set custom DNS search domains");
  list(cmd, "--expose", f.expose, "Expose a port or a range of ports");
  cmd.add_option("--ip", f.ip, "IPv4 address (e.g., 172.30.100.104)");
  cmd.add_option("--ip6", f.ip6, "IPv6 address (e.g., 2001:db8::33)");
  list(cmd, "--link", f.links, "Add link to another container");
  list(cmd, "--link-local-ip", f.link_local_ips, "Container IPv4/IPv6 link-local addresses");
  cmd.add_option("--mac-address", f.mac_address, "Container MAC address (e.g., 92:d0:c6:0a:29:33)");
  list(cmd, "-p,--publish", f.publish, "Publish a container's port(s) to the host");
  cmd.add_flag("-P,--publish-all", f.publish_all, "Publish all exposed ports to random ports");
  list(cmd, "--network,--net", f.networks, "Connect a container to a network");
  list(cmd, "--network-alias,--net-alias", f.aliases, "Add network-scoped alias for the container");
  // Logging and storage
  cmd.add_option("--log-driver", f.log_driver, "Logging driver for the container");
  cmd.add_option("--volume-driver", f.volume_driver, "Optional volume driver for the container");
  list(cmd, "--log-opt", f.log_opts, "Log driver options");
  list(cmd, "--storage-opt", f.storage_opt, "Storage driver options for the container");
  list(cmd, "--tmpfs", f.tmpfs, "Mount a tmpfs directory");
  list(cmd, "--volumes-from", f.volumes_from, "Mount volumes from the specified container(s)");
  list(cmd, "-v,--volume", f.volumes, "Bind mount a volume");
  list(cmd, "--mount", f.mounts, "Attach a filesystem mount to the container");
  // Health
  cmd.add_option("--health-cmd", f.health_cmd, "Command to run to check health");
  cmd.add_option("--health-interval", f.health_interval, "Time between running the check (ms|s|m|h) (default 0s)");
  cmd.add_option("--health-retries", f.health_retries, "Consecutive failures needed to report unhealthy");
  cmd.add_option("--health-timeout", f.health_timeout, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)");
  cmd.add_option("--health-start-period", f.health_start_period,
                 "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)");
  cmd.add_flag("--no-healthcheck", f.no_healthcheck, "Disable any container-specified HEALTHCHECK");
  // Resources
  cmd.add_option("--blkio-weight", f.blkio_weight, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)");
  cmd.add_option("--cidfile", f.cidfile, "Write the container ID to the file");
  cmd.add_option("--cpuset-cpus", f.cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)");
  cmd.add_option("--cpuset-mems", f.cpuset_mems, "MEMs in which to allow execution (0-3, 0,1)");
  cmd.add_option("--cpu-period", f.cpu_period, "Limit CPU CFS (Completely Fair Scheduler) period");
  cmd.add_option("--cpu-quota", f.cpu_quota, "Limit CPU CFS (Completely Fair Scheduler) quota");
  cmd.add_option("--cpu-rt-period", f.cpu_rt_period, "Limit CPU real-time period in microseconds");
  cmd.add_option("--cpu-rt-runtime", f.cpu_rt_runtime, "Limit CPU real-time runtime in microseconds");
  cmd.add_option("-c,--cpu-shares", f.cpu_shares, "CPU shares (relative weight)");
  cmd.add_option("--cpus", f.cpus, "Number of CPUs");
  list(cmd, "--device", f.devices, "Add a host device to the container");
  list(cmd, "--device-cgroup-rule", f.device_cgroup_rules, "Add a rule to the cgroup allowed devices list");
  cmd.add_option("--kernel-memory", f.kernel_memory, "Kernel memory limit");
  cmd.add_option("-m,--memory", f.memory, "Memory limit");
  cmd.add_option("--memory-reservation", f.memory_reservation, "Memory soft limit");
  cmd.add_option("--memory-swap", f.memory_swap, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap");
  cmd.add_option("--memory-swappiness", f.memory_swappiness, "Tune container memory swappiness (0 to 100) (default -1)");
  cmd.add_flag("--oom-kill-disable", f.oom_kill_disable, "Disable OOM Killer");
  cmd.add_option("--oom-score-adj", f.oom_score_adj, "Tune host's OOM preferences (-1000 to 1000)");
  cmd.add_option("--pids-limit", f.pids_limit, "Tune container pids limit (set -1 for unlimited)");
  // Low-level execution
  cmd.add_option("--cgroup-parent", f.cgroup_parent, "Optional parent cgroup for the container");
  cmd.add_option("--ipc", f.ipc, "IPC mode to use");
  cmd.add_option("--isolation", f.isolation, "Container isolation technology");
  cmd.add_option("--pid", f.pid, "PID namespace to use");
  cmd.add_option("--shm-size", f.shm_size, "Size of /dev/shm");
  cmd.add_option("--uts", f.uts, "UTS namespace to use");
  cmd.add_option("--runtime", f.runtime, "Runtime to use for this container");
  cmd.add_flag("--init", f.init, "Run an init inside the container that forwards signals and reaps processes");
}

void record_changed_flags(const CLI::App& cmd, ContainerFlags& f) {
  for (const CLI::Option* opt : cmd.get_options()) {
    if (opt->count() > 0 && !opt->get_lnames().empty()) f.changed.insert(opt->get_lnames().front());
  }
}

namespace {

// A flag value that does not parse, worded as pflag words it.
[[noreturn]] void flag_error(const std::string& flag, const std::string& value, const std::string& why) {
  throw FlagError("invalid argument " + go_quote(value) + " for " + go_quote(flag) + " flag: " + why, 125);
}

// Runs a parser over a flag's value, turning its error into flag_error.
template <class F>
auto flag_value(const std::string& flag, const std::string& value, F&& parse) {
  try {
    return parse(value);
  } catch (const Invalid& e) {
    flag_error(flag, value, e.what());
  }
}

// A list flag's values through a validator.
std::vector<std::string> validated(const std::string& flag, const std::vector<std::string>& values,
                                   std::string (*validate)(std::string_view)) {
  std::vector<std::string> out;
  for (const auto& v : values) out.push_back(flag_value(flag, v, [&](const std::string& s) { return validate(s); }));
  return out;
}

std::int64_t int_flag(const std::string& flag, const std::string& value, std::int64_t fallback,
                      int bits = 64) {
  if (value.empty()) return fallback;
  return flag_value(flag, value, [&](const std::string& s) { return parse_int(s, bits); });
}

std::int64_t size_flag(const std::string& flag, const std::string& value) {
  if (value.empty()) return 0;
  return flag_value(flag, value, [](const std::string& s) { return ram_in_bytes(s); });
}

json::array strings(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& v : values) out.emplace_back(v);
  return out;
}

json::object kv_map(const std::vector<std::string>& values) {
  json::object out;
  for (const auto& v : values) {
    Cut kv = cut(v, '=');
    out[kv.before] = kv.after;
  }
  return out;
}

// A parse() error: the message alone (the caller adds Docker's framing).
[[noreturn]] void invalid(const std::string& message) { throw CliError(message, 125); }

bool user_defined_network(const std::string& n) {
  return n != "default" && n != "bridge" && n != "host" && n != "none" && !n.starts_with("container:");
}

// One --network value: a name, or the advanced "name=x,alias=y,..." form.
struct NetworkAttachment {
  std::string target;
  std::vector<std::string> aliases, links, link_local_ips;
  std::string ipv4, ipv6, mac;
  json::object driver_opts;
};

NetworkAttachment parse_network(const std::string& value) {
  NetworkAttachment n;
  if (value.find('=') == std::string::npos) {
    n.target = value;
    return n;
  }
  for (const auto& field : split(value, ',')) {
    Cut kv = cut(field, '=');
    std::string key = lower(trim(kv.before));
    if (!kv.found) flag_error("--network", value, "invalid field '" + field + "' must be a key=value pair");
    if (key == "name") {
      n.target = kv.after;
    } else if (key == "alias") {
      n.aliases.push_back(kv.after);
    } else if (key == "ip") {
      n.ipv4 = kv.after;
    } else if (key == "ip6") {
      n.ipv6 = kv.after;
    } else if (key == "mac-address") {
      n.mac = kv.after;
    } else if (key == "link-local-ip") {
      n.link_local_ips.push_back(kv.after);
    } else if (key == "driver-opt") {
      Cut opt = cut(kv.after, '=');
      n.driver_opts[opt.before] = opt.after;
    } else {
      flag_error("--network", value, "invalid field key " + key);
    }
  }
  return n;
}

json::object parse_networking(const ContainerFlags& f, std::string& network_mode) {
  std::vector<NetworkAttachment> nets;
  for (const auto& v : f.networks) nets.push_back(parse_network(v));
  network_mode = nets.empty() ? "default" : nets.front().target;
  json::object endpoints;
  bool has_user_defined = false, has_builtin = false;
  for (std::size_t i = 0; i < nets.size(); ++i) {
    NetworkAttachment& n = nets[i];
    (user_defined_network(n.target) ? has_user_defined : has_builtin) = true;
    if (i == 0) {
      // The old flags apply to the first network.
      if (!n.aliases.empty() && !f.aliases.empty()) {
        invalid("conflicting options: cannot specify both --network-alias and per-network alias");
      }
      if (!n.links.empty() && !f.links.empty()) {
        invalid("conflicting options: cannot specify both --link and per-network links");
      }
      if (!n.ipv4.empty() && !f.ip.empty()) {
        invalid("conflicting options: cannot specify both --ip and per-network IPv4 address");
      }
      if (!n.ipv6.empty() && !f.ip6.empty()) {
        invalid("conflicting options: cannot specify both --ip6 and per-network IPv6 address");
      }
      if (!f.aliases.empty()) n.aliases = f.aliases;
      if (!f.links.empty()) n.links = f.links;
      if (!f.ip.empty()) n.ipv4 = f.ip;
      if (!f.ip6.empty()) n.ipv6 = f.ip6;
      if (!f.link_local_ips.empty()) n.link_local_ips = f.link_local_ips;
    }
    if (trim(n.target).empty()) invalid("no name set for network");
    if (!user_defined_network(n.target)) {
      if (!n.aliases.empty()) invalid("network-scoped aliases are only supported for user-defined networks");
      if (!n.links.empty()) invalid("links are only supported for user-defined networks");
    }
    if (endpoints.contains(n.target)) {
      invalid("network " + go_quote(n.target) + " is specified multiple times");
    }
    json::object ep;
    if (!n.aliases.empty()) ep["Aliases"] = strings(n.aliases);
    if (!n.links.empty()) ep["Links"] = strings(n.links);
    if (!n.driver_opts.empty()) ep["DriverOpts"] = n.driver_opts;
    if (!n.mac.empty()) ep["MacAddress"] = n.mac;
    if (!n.ipv4.empty() || !n.ipv6.empty() || !n.link_local_ips.empty()) {
      json::object ipam{{"IPv4Address", n.ipv4}, {"IPv6Address", n.ipv6}};
      if (!n.link_local_ips.empty()) ipam["LinkLocalIPs"] = strings(n.link_local_ips);
      ep["IPAMConfig"] = ipam;
    }
    // A single network without settings needs no endpoint configuration.
    if (i == 0 && nets.size() == 1 && ep.empty()) continue;
    endpoints[n.target] = ep;
  }
  if (has_user_defined && has_builtin) {
    invalid("conflicting options: cannot attach both user-defined and non-user-defined network-modes");
  }
  return {{"EndpointsConfig", endpoints}};
}

std::vector<std::string> parse_security_opts(const std::vector<std::string>& opts) {
  std::vector<std::string> out;
  for (const auto& opt : opts) {
    Cut kv = cut(opt, '=');
    if (!kv.found && kv.before != "no-new-privileges") {
      kv = cut(opt, ':');
      if (!kv.found) invalid("Invalid --security-opt: " + go_quote(opt));
    }
    if (kv.before == "seccomp" && kv.after != "unconfined" && kv.after != "builtin") {
      std::ifstream in(kv.after, std::ios::binary);
      if (!in) {
        invalid("opening seccomp profile (" + kv.after + ") failed: open " + kv.after + ": " +
                std::strerror(errno));
      }
      std::stringstream text;
      text << in.rdbuf();
      json::error_code ec;
      json::value profile = json::parse(text.str(), ec);
      if (ec) {
        invalid("compacting json for seccomp profile (" + kv.after + ") failed: " + ec.message());
      }
      out.push_back("seccomp=" + json::serialize(profile));
      continue;
    }
    out.push_back(opt);
  }
  return out;
}

bool valid_device_mode(const std::string& mode) {
  if (mode.empty()) return false;
  std::string seen;
  for (char c : mode) {
    if ((c != 'r' && c != 'w' && c != 'm') || seen.find(c) != std::string::npos) return false;
    seen += c;
  }
  return true;
}

json::object parse_device(const std::string& device) {
  auto fail = [&](const std::string& why) { invalid(why); };
  // validateLinuxPath
  if (std::count(device.begin(), device.end(), ':') > 2) fail("bad format for path: " + device);
  auto parts = split(device, ':');
  if (parts[0].empty()) fail("bad format for path: " + device);
  std::string src = parts[0], dst, perms = "rwm";
  if (parts.size() == 2) {
    if (valid_device_mode(parts[1])) {
      perms = parts[1];
    } else {
      dst = parts[1];
    }
  } else if (parts.size() == 3) {
    if (!valid_device_mode(parts[2])) fail("bad mode specified: " + parts[2]);
    dst = parts[1];
    perms = parts[2];
  }
  std::string container_path = dst.empty() ? src : dst;
  if (container_path.empty() || container_path[0] != '/') fail(container_path + " is not an absolute path");
  return {{"PathOnHost", src}, {"PathInContainer", dst.empty() ? src : dst}, {"CgroupPermissions", perms}};
}

}  // namespace

ContainerConfig parse_container_flags(const ContainerFlags& f) {
  auto changed = [&](const char* name) { return f.changed.contains(name); };
  // Values each flag validates as it is parsed.
  auto attach = validated("-a, --attach", f.attach, validate_attach);
  auto env_all = read_env(f.env_file, f.env);
  auto labels = validated("-l, --label", f.labels, validate_label);
  auto dns = validated("--dns", f.dns, [](std::string_view s) { return validate_ip(s); });
  auto dns_search = validated("--dns-search", f.dns_search, [](std::string_view s) { return validate_dns_search(s); });
  auto extra_hosts = validated("--add-host", f.extra_hosts, validate_extra_host);
  auto sysctls = validated("--sysctl", f.sysctls, [](std::string_view s) { return validate_sysctl(s); });
  auto links = validated("--link", f.links, [](std::string_view s) { return validate_link(s); });
  auto cgroup_rules = validated("--device-cgroup-rule", f.device_cgroup_rules,
                                [](std::string_view s) { return validate_device_cgroup_rule(s); });
  std::map<std::string, json::object> ulimits;
  for (const auto& u : f.ulimits) {
    json::object l = flag_value("--ulimit", u, [](const std::string& s) { return parse_ulimit(s); });
    ulimits[std::string(l["Name"].as_string())] = l;
  }
  json::array mounts;
  for (const auto& m : f.mounts) mounts.push_back(flag_value("--mount", m, [](const std::string& s) { return parse_mount(s); }));
  std::int64_t memory = size_flag("-m, --memory", f.memory);
  std::int64_t memory_reservation = size_flag("--memory-reservation", f.memory_reservation);
  std::int64_t kernel_memory = size_flag("--kernel-memory", f.kernel_memory);
  std::int64_t shm_size = size_flag("--shm-size", f.shm_size);
  std::int64_t memory_swap = f.memory_swap == "-1" ? -1 : size_flag("--memory-swap", f.memory_swap);
  std::int64_t nano_cpus =
      f.cpus.empty() ? 0 : flag_value("--cpus", f.cpus, [](const std::string& s) { return parse_nano_cpus(s); });
  std::int64_t cpu_shares = int_flag("-c, --cpu-shares", f.cpu_shares, 0);
  std::int64_t cpu_period = int_flag("--cpu-period", f.cpu_period, 0);
  std::int64_t cpu_quota = int_flag("--cpu-quota", f.cpu_quota, 0);
  std::int64_t cpu_rt_period = int_flag("--cpu-rt-period", f.cpu_rt_period, 0);
  std::int64_t cpu_rt_runtime = int_flag("--cpu-rt-runtime", f.cpu_rt_runtime, 0);
  std::int64_t pids_limit = int_flag("--pids-limit", f.pids_limit, 0);
  std::int64_t swappiness = int_flag("--memory-swappiness", f.memory_swappiness, -1);
  std::int64_t oom_score_adj = int_flag("--oom-score-adj", f.oom_score_adj, 0);
  std::int64_t stop_timeout = int_flag("--stop-timeout", f.stop_timeout, 0);
  std::int64_t health_retries = int_flag("--health-retries", f.health_retries, 0);
  std::int64_t blkio_weight =
      f.blkio_weight.empty()
          ? 0
          : flag_value("--blkio-weight", f.blkio_weight, [](const std::string& s) { return parse_int(s, 16, true); });
  auto duration = [](const std::string& flag, const std::string& v) -> std::int64_t {
    return v.empty() ? 0 : flag_value(flag, v, [](const std::string& s) { return parse_go_duration(s); });
  };
  std::int64_t health_interval = duration("--health-interval", f.health_interval);
  std::int64_t health_timeout = duration("--health-timeout", f.health_timeout);
  std::int64_t health_start = duration("--health-start-period", f.health_start_period);

  // parse(): checks across flags, in Docker's order.
  bool attach_stdin = std::find(attach.begin(), attach.end(), "stdin") != attach.end();
  bool attach_stdout = std::find(attach.begin(), attach.end(), "stdout") != attach.end();
  bool attach_stderr = std::find(attach.begin(), attach.end(), "stderr") != attach.end();
  if (!f.mac_address.empty() && !valid_mac(f.mac_address)) invalid(f.mac_address + " is not a valid mac address");
  if (f.interactive) attach_stdin = true;
  if (attach.empty()) attach_stdout = attach_stderr = true;
  if (swappiness != -1 && (swappiness < 0 || swappiness > 100)) {
    invalid("invalid value: " + std::to_string(swappiness) + ". Valid memory swappiness range is 0-100");
  }

  // Docker keeps the -v values in a map: a repeated one counts once. Those
  // with a source (a host path or a volume name) are binds, the others
  // anonymous volumes of the container's config.
  json::object volumes;
  json::array binds;
  std::set<std::string> seen_volumes;
  for (const auto& v : f.volumes) {
    if (!seen_volumes.insert(v).second) continue;
    std::optional<std::string> bind;
    try {
      bind = volume_bind(v);
    } catch (const Invalid& e) {
      invalid(e.what());
    }
    if (bind) {
      binds.emplace_back(*bind);
    } else {
      volumes[v] = json::object{};
    }
  }
  json::object tmpfs;
  for (const auto& t : f.tmpfs) {
    Cut kv = cut(t, ':');
    tmpfs[kv.before] = kv.after;
  }

  json::object exposed, port_bindings;
  try {
    parse_port_specs(f.publish, exposed, port_bindings);
  } catch (const Invalid& e) {
    invalid(e.what());
  }
  for (const auto& e : f.expose) {
    if (e.find(':') != std::string::npos) invalid("invalid port format for --expose: " + e);
    auto [proto, port] = split_proto_port(e);
    std::pair<std::uint64_t, std::uint64_t> range;
    try {
      range = port_range(port);
    } catch (const Invalid& err) {
      invalid("invalid range format for --expose: " + e + ", error: " + err.what());
    }
    for (auto p = range.first; p <= range.second; ++p) {
      std::string key = std::to_string(p) + "/" + proto;
      if (!exposed.contains(key)) exposed[key] = json::object{};
    }
  }

  json::array devices;
  for (const auto& d : f.devices) devices.push_back(parse_device(d));

  std::vector<std::string> label_all;
  try {
    for (const auto& file : f.label_file) {
      auto lines = read_kv_file(file, false);
      label_all.insert(label_all.end(), lines.begin(), lines.end());
    }
  } catch (const Invalid& e) {
    invalid(e.what());
  }
  label_all.insert(label_all.end(), labels.begin(), labels.end());

  if (!(f.pid.empty() || f.pid == "host" ||
        (f.pid.starts_with("container:") && f.pid.size() > std::strlen("container:")))) {
    invalid("--pid: invalid PID mode");
  }
  if (!(f.uts.empty() || f.uts == "host")) invalid("--uts: invalid UTS mode");
  if (!(f.userns.empty() || f.userns == "host")) invalid("--userns: invalid USER mode");
  if (!(f.cgroupns.empty() || f.cgroupns == "host" || f.cgroupns == "private")) {
    invalid("--cgroupns: invalid CGROUP mode");
  }
  json::object restart;
  try {
    restart = parse_restart_policy(f.restart);
  } catch (const Invalid& e) {
    invalid(e.what());
  }
  if (f.log_driver == "none" && !f.log_opts.empty()) invalid("invalid logging opts for driver none");
  auto security_opts = parse_security_opts(f.security_opt);
  bool unconfined_paths = false;
  std::erase_if(security_opts, [&](const std::string& o) {
    bool match = o == "systempaths=unconfined";
    unconfined_paths = unconfined_paths || match;
    return match;
  });
  json::object storage_opts;
  for (const auto& o : f.storage_opt) {
    Cut kv = cut(o, '=');
    if (!kv.found) invalid("invalid storage option");
    storage_opts[kv.before] = kv.after;
  }

  json::value healthcheck = nullptr;
  bool health_settings = !f.health_cmd.empty() || health_interval != 0 || health_timeout != 0 ||
                         health_start != 0 || health_retries != 0;
  if (f.no_healthcheck) {
    if (health_settings) invalid("--no-healthcheck conflicts with --health-* options");
    healthcheck = json::object{{"Test", json::array{"NONE"}}};
  } else if (health_settings) {
    if (health_interval < 0) invalid("--health-interval cannot be negative");
    if (health_timeout < 0) invalid("--health-timeout cannot be negative");
    if (health_retries < 0) invalid("--health-retries cannot be negative");
    if (health_start < 0) invalid("--health-start-period cannot be negative");
    json::object h{{"Interval", health_interval},
                   {"Timeout", health_timeout},
                   {"StartPeriod", health_start},
                   {"Retries", health_retries}};
    if (!f.health_cmd.empty()) h["Test"] = json::array{"CMD-SHELL", f.health_cmd};
    healthcheck = h;
  }

  ContainerConfig out;
  json::object& c = out.config;
  c["Hostname"] = f.hostname;
  c["Domainname"] = f.domainname;
  c["User"] = f.user;
  c["AttachStdin"] = attach_stdin;
  c["AttachStdout"] = attach_stdout;
  c["AttachStderr"] = attach_stderr;
  if (!exposed.empty()) c["ExposedPorts"] = exposed;
  c["Tty"] = f.tty;
  c["OpenStdin"] = f.interactive;
  // Attached with stdin open: the container's stdin closes when the
  // client's does.
  c["StdinOnce"] = f.interactive && attach_stdin;
  c["Env"] = strings(env_all);
  c["Cmd"] = f.args.empty() ? json::value(nullptr) : json::value(strings(f.args));
  if (!healthcheck.is_null()) c["Healthcheck"] = healthcheck;
  c["Image"] = f.image;
  c["Volumes"] = volumes;
  c["WorkingDir"] = f.workdir;
  if (!f.entrypoint.empty()) {
    c["Entrypoint"] = json::array{f.entrypoint};
  } else if (changed("entrypoint")) {
    // `--entrypoint=""` resets the image's entrypoint.
    c["Entrypoint"] = json::array{""};
  } else {
    c["Entrypoint"] = nullptr;
  }
  if (!f.mac_address.empty()) c["MacAddress"] = f.mac_address;
  c["OnBuild"] = nullptr;
  c["Labels"] = kv_map(label_all);
  if (changed("stop-signal")) c["StopSignal"] = f.stop_signal;
  if (changed("stop-timeout")) c["StopTimeout"] = stop_timeout;

  json::object& h = out.host_config;
  h["Binds"] = binds.empty() ? json::value(nullptr) : json::value(binds);
  h["ContainerIDFile"] = f.cidfile;
  h["LogConfig"] = json::object{{"Type", f.log_driver}, {"Config", kv_map(f.log_opts)}};
  h["PortBindings"] = port_bindings;
  h["RestartPolicy"] = restart;
  h["AutoRemove"] = f.auto_remove;
  h["VolumeDriver"] = f.volume_driver;
  h["VolumesFrom"] = f.volumes_from.empty() ? json::value(nullptr) : json::value(strings(f.volumes_from));
  h["ConsoleSize"] = json::array{0, 0};
  if (!f.annotations.empty()) h["Annotations"] = kv_map(f.annotations);
  h["CapAdd"] = f.cap_add.empty() ? json::value(nullptr) : json::value(strings(f.cap_add));
  h["CapDrop"] = f.cap_drop.empty() ? json::value(nullptr) : json::value(strings(f.cap_drop));
  h["CgroupnsMode"] = f.cgroupns;
  h["Dns"] = strings(dns);
  h["DnsOptions"] = strings(f.dns_options);
  h["DnsSearch"] = strings(dns_search);
  h["ExtraHosts"] = extra_hosts.empty() ? json::value(nullptr) : json::value(strings(extra_hosts));
  h["GroupAdd"] = f.group_add.empty() ? json::value(nullptr) : json::value(strings(f.group_add));
  h["IpcMode"] = f.ipc;
  h["Cgroup"] = "";
  h["Links"] = links.empty() ? json::value(nullptr) : json::value(strings(links));
  h["OomScoreAdj"] = oom_score_adj;
  h["PidMode"] = f.pid;
  h["Privileged"] = f.privileged;
  h["PublishAllPorts"] = f.publish_all;
  h["ReadonlyRootfs"] = f.read_only;
  h["SecurityOpt"] = security_opts.empty() ? json::value(nullptr) : json::value(strings(security_opts));
  if (!storage_opts.empty()) h["StorageOpt"] = storage_opts;
  if (!tmpfs.empty()) h["Tmpfs"] = tmpfs;
  h["UTSMode"] = f.uts;
  h["UsernsMode"] = f.userns;
  h["ShmSize"] = shm_size;
  if (!sysctls.empty()) h["Sysctls"] = kv_map(sysctls);
  if (!f.runtime.empty()) h["Runtime"] = f.runtime;
  h["Isolation"] = f.isolation;
  // Resources
  h["CpuShares"] = cpu_shares;
  h["Memory"] = memory;
  h["NanoCpus"] = nano_cpus;
  h["CgroupParent"] = f.cgroup_parent;
  h["BlkioWeight"] = blkio_weight;
  h["CpuPeriod"] = cpu_period;
  h["CpuQuota"] = cpu_quota;
  h["CpuRealtimePeriod"] = cpu_rt_period;
  h["CpuRealtimeRuntime"] = cpu_rt_runtime;
  h["CpusetCpus"] = f.cpuset_cpus;
  h["CpusetMems"] = f.cpuset_mems;
  h["Devices"] = devices;
  h["DeviceCgroupRules"] = cgroup_rules.empty() ? json::value(nullptr) : json::value(strings(cgroup_rules));
  if (kernel_memory != 0) h["KernelMemory"] = kernel_memory;
  h["MemoryReservation"] = memory_reservation;
  h["MemorySwap"] = memory_swap;
  h["MemorySwappiness"] = swappiness;
  h["OomKillDisable"] = f.oom_kill_disable;
  if (changed("pids-limit")) h["PidsLimit"] = pids_limit;
  json::array ulimit_list;
  for (auto& [name, l] : ulimits) ulimit_list.push_back(l);
  h["Ulimits"] = ulimit_list.empty() ? json::value(nullptr) : json::value(ulimit_list);
  if (!mounts.empty()) h["Mounts"] = mounts;
  if (unconfined_paths) {
    h["MaskedPaths"] = json::array{};
    h["ReadonlyPaths"] = json::array{};
  }
  if (f.auto_remove && restart["Name"] != "no" && restart["Name"] != "") {
    invalid("Conflicting options: --restart and --rm");
  }
  if (changed("init")) h["Init"] = f.init;

  std::string network_mode;
  out.networking_config = parse_networking(f, network_mode);
  h["NetworkMode"] = network_mode;
  return out;
}

void add_update_flags(CLI::App& cmd, ContainerFlags& f) {
  cmd.add_option("--blkio-weight", f.blkio_weight, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)");
  cmd.add_option("--cpu-period", f.cpu_period, "Limit CPU CFS (Completely Fair Scheduler) period");
  cmd.add_option("--cpu-quota", f.cpu_quota, "Limit CPU CFS (Completely Fair Scheduler) quota");
  cmd.add_option("--cpu-rt-period", f.cpu_rt_period, "Limit the CPU real-time period in microseconds");
  cmd.add_option("--cpu-rt-runtime", f.cpu_rt_runtime, "Limit the CPU real-time runtime in microseconds");
  cmd.add_option("-c,--cpu-shares", f.cpu_shares, "CPU shares (relative weight)");
  cmd.add_option("--cpus", f.cpus, "Number of CPUs");
  cmd.add_option("--cpuset-cpus", f.cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)");
  cmd.add_option("--cpuset-mems", f.cpuset_mems, "MEMs in which to allow execution (0-3, 0,1)");
  cmd.add_option("-m,--memory", f.memory, "Memory limit");
  cmd.add_option("--memory-reservation", f.memory_reservation, "Memory soft limit");
  cmd.add_option("--memory-swap", f.memory_swap, "Swap limit equal to memory plus swap: -1 to enable unlimited swap");
  cmd.add_option("--pids-limit", f.pids_limit, "Tune container pids limit (set -1 for unlimited)");
  cmd.add_option("--restart", f.restart, "Restart policy to apply when a container exits");
}

json::object update_body(const ContainerFlags& f) {
  auto changed = [&](const char* name) { return f.changed.contains(name); };
  json::object body;
  if (changed("blkio-weight")) {
    body["BlkioWeight"] = flag_value("--blkio-weight", f.blkio_weight, [](const std::string& s) { return parse_int(s, 16, true); });
  }
  if (changed("cpu-period")) body["CpuPeriod"] = int_flag("--cpu-period", f.cpu_period, 0);
  if (changed("cpu-quota")) body["CpuQuota"] = int_flag("--cpu-quota", f.cpu_quota, 0);
  if (changed("cpu-rt-period")) body["CpuRealtimePeriod"] = int_flag("--cpu-rt-period", f.cpu_rt_period, 0);
  if (changed("cpu-rt-runtime")) body["CpuRealtimeRuntime"] = int_flag("--cpu-rt-runtime", f.cpu_rt_runtime, 0);
  if (changed("cpu-shares")) body["CpuShares"] = int_flag("-c, --cpu-shares", f.cpu_shares, 0);
  if (changed("cpus")) body["NanoCpus"] = flag_value("--cpus", f.cpus, [](const std::string& s) { return parse_nano_cpus(s); });
  if (changed("cpuset-cpus")) body["CpusetCpus"] = f.cpuset_cpus;
  if (changed("cpuset-mems")) body["CpusetMems"] = f.cpuset_mems;
  if (changed("memory")) body["Memory"] = size_flag("-m, --memory", f.memory);
  if (changed("memory-reservation")) body["MemoryReservation"] = size_flag("--memory-reservation", f.memory_reservation);
  if (changed("memory-swap")) {
    body["MemorySwap"] = f.memory_swap == "-1" ? -1 : size_flag("--memory-swap", f.memory_swap);
  }
  if (changed("pids-limit")) body["PidsLimit"] = int_flag("--pids-limit", f.pids_limit, 0);
  if (changed("restart")) {
    try {
      body["RestartPolicy"] = parse_restart_policy(f.restart);
    } catch (const Invalid& e) {
      invalid(e.what());
    }
  }
  return body;
}

std::vector<std::string> read_env(const std::vector<std::string>& files,
                                  const std::vector<std::string>& values) {
  auto env = validated("-e, --env", values, validate_env);
  std::vector<std::string> out;
  try {
    for (const auto& file : files) {
      auto lines = read_kv_file(file, true);
      out.insert(out.end(), lines.begin(), lines.end());
    }
  } catch (const Invalid& e) {
    invalid(e.what());
  }
  out.insert(out.end(), env.begin(), env.end());
  return out;
}

json::object create_body(const ContainerConfig& config) {
  json::object body = config.config;
  body["HostConfig"] = config.host_config;
  body["NetworkingConfig"] = config.networking_config;
  return body;
}

}  // namespace berth::cli
