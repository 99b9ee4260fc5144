#include "command.hpp"

#include "format/template.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

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

void print_rows(Context& ctx, const std::string& format, const std::string& default_table,
                const std::vector<boost::json::value>& rows) {
  try {
    auto t = format::Template::parse(format.empty() ? default_table : format);
    if (t.is_default_table()) t = format::Template::parse(default_table);
    ctx.out << t.render_all(rows);
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
std::string scaled(double bytes, double base, const char* const* units, int count) {
  int i = 0;
  while (bytes >= base && i < count - 1) {
    bytes /= base;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%s", bytes, units[i]);
  return buf;
}
}  // namespace

std::string human_size(double bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  return scaled(bytes, 1000.0, kUnits, 6);
}

std::string binary_size(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  return scaled(bytes, 1024.0, kUnits, 6);
}

}  // namespace berth::cli
