// What every CLI command shares: the global options, a lazily made client,
// and output helpers. One file per command registers itself on the app.
#pragma once

#include "client.hpp"

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace berth::cli {

struct Globals {
  std::string host;
  bool tls = false, tls_verify = false, debug = false;
  std::string tls_ca, tls_cert, tls_key;
  std::string log_level = "info";
};

class Context {
 public:
  Globals globals;
  std::ostream& out = std::cout;
  std::ostream& err = std::cerr;

  // The client for the resolved host; made on first use.
  Client& client();
  // The host the CLI talks to (flag, BERTH_HOST, DOCKER_HOST, default).
  std::string host() const { return default_host(globals.host); }

 private:
  std::unique_ptr<Client> client_;
};

// Renders `rows` with a --format value: empty -> `default_table`,
// "table"/"table TEMPLATE", "json", or a Go template per row.
void print_rows(Context& ctx, const std::string& format, const std::string& default_table,
                const std::vector<boost::json::value>& rows);

// Renders one value with a --format template (no table mode).
void print_formatted(Context& ctx, const std::string& format, const boost::json::value& value);

// Docker's human sizes: 1.5kB, 23.47GiB (binary for memory totals).
std::string human_size(double bytes);
std::string binary_size(double bytes);

// Command registration, one per file.
void add_version_command(CLI::App& app, Context& ctx);
void add_info_command(CLI::App& app, Context& ctx);
void add_plugin_command(CLI::App& app, Context& ctx);

}  // namespace berth::cli
