#include "command.hpp"

#include "format/template.hpp"

#include <Poco/URI.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace berth::cli {

Client& Context::client() {
  if (!client_) {
    ClientOptions o;
    o.host = host();
    const char* env_verify = std::getenv("BERTH_TLS_VERIFY");
    o.tls_verify = globals.tls_verify || (env_verify != nullptr && *env_verify != '\0');
    o.tls = globals.tls || o.tls_verify;
    // Like Docker: certificates default to ca.pem, cert.pem and key.pem in
    // BERTH_CERT_PATH (or ~/.berth).
    std::string cert_dir;
    if (const char* p = std::getenv("BERTH_CERT_PATH"); p != nullptr && *p != '\0') {
      cert_dir = p;
    } else if (const char* home = std::getenv("HOME"); home != nullptr) {
      cert_dir = std::string(home) + "/.berth";
    }
    o.tls_ca = !globals.tls_ca.empty() ? globals.tls_ca : cert_dir + "/ca.pem";
    o.tls_cert = !globals.tls_cert.empty() ? globals.tls_cert : cert_dir + "/cert.pem";
    o.tls_key = !globals.tls_key.empty() ? globals.tls_key : cert_dir + "/key.pem";
    if (const char* v = std::getenv("BERTH_API_VERSION"); v != nullptr) o.api_version = v;
    client_ = std::make_unique<Client>(std::move(o));
  }
  return *client_;
}

bool Context::out_is_terminal() const { return &out == &std::cout && ::isatty(STDOUT_FILENO) == 1; }

bool Context::in_is_terminal() const { return &in == &std::cin && ::isatty(STDIN_FILENO) == 1; }

void print_rows(Context& ctx, const std::string& format, const std::string& default_table,
                const std::vector<boost::json::value>& rows,
                const std::map<std::string, std::string>& header_overrides,
                const format::Methods& methods) {
  try {
    auto t = format::Template::parse(format.empty() ? default_table : format);
    if (t.is_default_table()) t = format::Template::parse(default_table);
    ctx.out << t.render_all(rows, header_overrides, methods);
  } catch (const format::TemplateError& e) {
    throw CliError(std::string("template parsing error: ") + e.what(), 125);
  }
}

void print_formatted(Context& ctx, const std::string& format, const boost::json::value& value) {
  try {
    auto t = format::Template::parse(format);
    std::string text = t.render(value);
    ctx.out << text;
    if (text.empty() || text.back() != '\n') ctx.out << '\n';
  } catch (const format::TemplateError& e) {
    throw CliError(std::string("template parsing error: ") + e.what(), 125);
  }
}

namespace {
std::string scaled(double bytes, double base, const char* const* units, int count, int precision) {
  int i = 0;
  while (bytes >= base && i < count - 1) {
    bytes /= base;
    ++i;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g%s", precision, bytes, units[i]);
  return buf;
}

std::tm local_tm(std::int64_t unix_seconds) {
  auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  return tm;
}

// "+0100" as strftime's %z gives it.
std::string zone_offset(const std::tm& tm) {
  char buf[16];
  std::strftime(buf, sizeof buf, "%z", &tm);
  return buf;
}
}  // namespace

std::string human_size(double bytes, int precision) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  return scaled(bytes, 1000.0, kUnits, 9, precision);
}

std::string binary_size(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  return scaled(bytes, 1024.0, kUnits, 6, 4);
}

std::string human_duration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  // Go converts with truncation toward zero, and rounds hours half away
  // from zero (Duration.Round).
  auto seconds = duration_cast<std::chrono::seconds>(d).count();
  auto minutes = duration_cast<std::chrono::minutes>(d).count();
  auto hour_ns = duration_cast<nanoseconds>(hours(1)).count();
  auto rounded_hours = (d.count() + hour_ns / 2) / hour_ns;
  auto plain = [](long long n, const char* unit) { return std::to_string(n) + " " + unit; };
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return plain(seconds, "seconds");
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return plain(minutes, "minutes");
  if (rounded_hours == 1) return "About an hour";
  if (rounded_hours < 48) return plain(rounded_hours, "hours");
  if (rounded_hours < 24 * 7 * 2) return plain(rounded_hours / 24, "days");
  if (rounded_hours < 24 * 30 * 2) return plain(rounded_hours / 24 / 7, "weeks");
  if (rounded_hours < 24 * 365 * 2) return plain(rounded_hours / 24 / 30, "months");
  return plain(duration_cast<hours>(d).count() / 24 / 365, "years");
}

std::string human_since(std::int64_t unix_seconds) {
  auto then = std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
  auto d =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now() - then);
  return human_duration(d) + " ago";
}

std::string go_time_string(std::int64_t unix_seconds) {
  std::tm tm = local_tm(unix_seconds);
  char buf[96];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
  return buf;
}

std::string rfc3339_local(std::int64_t unix_seconds) {
  std::tm tm = local_tm(unix_seconds);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string zone = zone_offset(tm);
  if (zone == "+0000" || zone.size() != 5) return std::string(buf) + "Z";
  return std::string(buf) + zone.substr(0, 3) + ":" + zone.substr(3);
}

std::string short_id(std::string_view id) {
  if (auto colon = id.find(':'); colon != std::string_view::npos) id = id.substr(colon + 1);
  return std::string(id.substr(0, 12));
}

std::string ellipsis(std::string_view s, std::size_t max_width) {
  // Code point boundaries: bytes that are not UTF-8 continuation bytes.
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  if (starts.size() <= max_width) return std::string(s);
  if (max_width == 0) return {};
  return std::string(s.substr(0, starts[max_width - 1])) + "\xE2\x80\xA6";
}

bool natural_less(std::string_view a, std::string_view b) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    bool da = digit(a[i]), db = digit(b[j]);
    if (da != db) return da;
    if (!da) {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i;
      ++j;
      continue;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    std::size_t start_a = i, start_b = j;
    while (i < a.size() && digit(a[i])) ++i;
    while (j < b.size() && digit(b[j])) ++j;
    if (i - start_a != j - start_b) return i - start_a < j - start_b;
    auto na = a.substr(start_a, i - start_a), nb = b.substr(start_b, j - start_b);
    if (na != nb) return na < nb;
    // Equal numbers: the one with fewer leading zeros first.
    if (start_a != start_b) return start_a < start_b;
  }
  return a.size() < b.size();
}

std::string query_escape(std::string_view value) {
  std::string out;
  Poco::URI::encode(std::string(value), "!#$&'()*+,/:;=?@[]", out);
  return out;
}

std::string path_escape(std::string_view name) {
  std::string out;
  Poco::URI::encode(std::string(name), "?#", out);
  return out;
}

std::string filters_json(const std::vector<std::string>& filters,
                         const std::vector<std::pair<std::string, std::string>>& extra) {
  std::map<std::string, std::map<std::string, bool>> all;
  for (const auto& [name, value] : extra) all[name][value] = true;
  for (const auto& f : filters) {
    auto eq = f.find('=');
    if (eq == std::string::npos) {
      throw CliError("invalid argument \"" + f + "\" for \"-f, --filter\" flag: " +
                         "bad format of filter (expected name=value)",
                     125);
    }
    std::string name = f.substr(0, eq);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // Docker trims white space around the name and the value.
    auto trim = [](std::string t) {
      auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
      while (!t.empty() && space(t.front())) t.erase(t.begin());
      while (!t.empty() && space(t.back())) t.pop_back();
      return t;
    };
    all[trim(name)][trim(f.substr(eq + 1))] = true;
  }
  if (all.empty()) return {};
  boost::json::object o;
  for (const auto& [name, values] : all) {
    boost::json::object v;
    for (const auto& [value, on] : values) v[value] = on;
    o[name] = std::move(v);
  }
  return boost::json::serialize(o);
}

namespace {
// The option `name` ("-e", "--env") of `app` or of an app above it.
const CLI::Option* find_option(const CLI::App* app, const std::string& name) {
  const CLI::Option* opt = nullptr;
  for (const CLI::App* a = app; a != nullptr && opt == nullptr; a = a->get_parent()) {
    opt = a->get_option_no_throw(name);
  }
  return opt;
}
}  // namespace

std::vector<std::string> pflag_args(const CLI::App& app, int argc, const char* const* argv) {
  std::vector<std::string> out;
  const CLI::App* current = &app;
  bool rest = false;
  bool value_next = false;  // the token is the value of the option before it
  for (int i = 1; i < argc; ++i) {
    std::string token = argv[i];
    if (rest || token == "--") {
      rest = true;
      out.push_back(std::move(token));
      continue;
    }
    if (value_next) {
      value_next = false;
      out.push_back(std::move(token));
      continue;
    }
    if (token.size() > 3 && token[0] == '-' && token[1] != '-' && token[2] == '=') {
      const CLI::Option* opt = find_option(current, token.substr(0, 2));
      if (opt != nullptr && opt->get_expected_min() == 0 && !opt->get_lnames().empty()) {
        out.push_back("--" + opt->get_lnames().front() + token.substr(2));
        continue;
      }
      if (opt != nullptr) {
        out.push_back(token.substr(0, 2));
        out.push_back(token.substr(3));
        continue;
      }
    }
    if (token.starts_with("--") && token.size() > 2) {
      auto eq = token.find('=');
      const CLI::Option* opt = find_option(current, token.substr(0, eq));
      if (opt != nullptr && opt->get_expected_min() > 0) {
        if (eq == std::string::npos) {
          value_next = true;
        } else if (eq + 1 == token.size()) {
          // pflag's `--entrypoint=` is an empty value; CLI11 would take the
          // next argument instead.
          out.push_back(token.substr(0, eq));
          out.emplace_back();
          continue;
        }
      }
    } else if (token.size() > 1 && token[0] == '-') {
      // A cluster of short flags ("-it"); an option in it takes the rest of
      // the token, or the next one when it comes last ("-dp 80:80").
      for (std::size_t c = 1; c < token.size(); ++c) {
        const CLI::Option* opt = find_option(current, std::string("-") + token[c]);
        if (opt == nullptr) break;
        if (opt->get_expected_min() > 0) {
          value_next = c + 1 == token.size();
          break;
        }
      }
    } else if (!token.starts_with("-")) {
      bool subcommand = false;
      for (const CLI::App* sub : current->get_subcommands([](const CLI::App*) { return true; })) {
        if (sub->check_name(token)) {
          current = sub;
          subcommand = true;
          break;
        }
      }
      // After the first argument of `run IMAGE CMD...` and the like, the
      // rest is the container's command line, left as typed.
      if (!subcommand && current->get_prefix_command()) rest = true;
    }
    out.push_back(std::move(token));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

CLI::App* add_command_group(CLI::App& app, Context& ctx, const char* group, const char* description,
                            std::span<const GroupedCommand> commands) {
  for (const auto& c : commands) {
    if (c.top_level != nullptr) c.configure(*app.add_subcommand(c.top_level, c.description), ctx);
  }
  auto* parent = app.add_subcommand(group, description);
  parent->require_subcommand(1);
  for (const auto& c : commands) {
    auto* cmd = parent->add_subcommand(c.name, c.description);
    if (c.alias != nullptr) cmd->alias(c.alias);
    c.configure(*cmd, ctx);
  }
  return parent;
}

bool confirm(Context& ctx, const std::string& message) {
  ctx.out << message << " [y/N] " << std::flush;
  std::string answer;
  if (!(ctx.in >> answer)) return false;
  return answer == "y" || answer == "Y";
}

}  // namespace berth::cli
