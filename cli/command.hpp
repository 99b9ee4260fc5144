// What every CLI command shares: the global options, a lazily made client,
// and output helpers. One file per command registers itself on the app.
#pragma once

#include "client.hpp"
#include "format/template.hpp"

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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
  std::istream& in = std::cin;

  // Whether `out` / `in` is a terminal: Docker refuses to write a tar to
  // one, and redraws progress lines only on one.
  bool out_is_terminal() const;
  bool in_is_terminal() const;

  // The client for the resolved host; made on first use.
  Client& client();
  // The host the CLI talks to (flag, BERTH_HOST, DOCKER_HOST, default).
  std::string host() const { return default_host(globals.host); }

 private:
  std::unique_ptr<Client> client_;
};

// Renders `rows` with a --format value: empty -> `default_table`,
// "table"/"table TEMPLATE", "json", or a Go template per row.
// header_overrides: column titles by field (see format::Template::render_all),
// e.g. {"ID", "IMAGE ID"}. methods: the rows' methods ({{.Label "k"}}).
void print_rows(Context& ctx, const std::string& format, const std::string& default_table,
                const std::vector<boost::json::value>& rows,
                const std::map<std::string, std::string>& header_overrides = {},
                const format::Methods& methods = {});

// Renders one value with a --format template (no table mode).
void print_formatted(Context& ctx, const std::string& format, const boost::json::value& value);

// Docker's human sizes: 1.5kB, 23.47GiB (binary for memory totals), with
// `precision` significant digits (go-units HumanSizeWithPrecision; Docker
// lists image sizes with 3: "4.26MB").
std::string human_size(double bytes, int precision = 4);
std::string binary_size(double bytes);

// go-units HumanDuration: "Less than a second", "About a minute",
// "3 hours", "2 weeks", ... (a negative duration counts as none).
std::string human_duration(std::chrono::nanoseconds d);
// "<HumanDuration(now - unix_seconds)> ago", as Docker's CREATED columns.
std::string human_since(std::int64_t unix_seconds);
// A Unix time in local time as Go's time.Time.String() prints it:
// "2026-01-01 00:00:00 +0000 UTC".
std::string go_time_string(std::int64_t unix_seconds);
// A Unix time as RFC 3339 in local time ("2026-01-01T00:00:00Z",
// "2026-01-01T01:00:00+01:00").
std::string rfc3339_local(std::int64_t unix_seconds);

// Docker's short image/container ID: without "sha256:", 12 characters.
std::string short_id(std::string_view id);

// Docker's formatter.Ellipsis: `s` cut to `max_width` characters, the last
// one replaced by "…" when it was cut. Counts code points, not display
// columns.
std::string ellipsis(std::string_view s, std::size_t max_width);

// fvbommel/sortorder NaturalLess, Docker's order for names and port
// lines: runs of digits compare as numbers ("net2" < "net10"), digits sort
// before other characters, and otherwise bytes compare as they are.
bool natural_less(std::string_view a, std::string_view b);

// Percent-encodes a query-string value.
std::string query_escape(std::string_view value);
// Escapes an object name for a URL path ("/images/<name>/json"): "/", ":"
// and "@" stay, as the daemon's routes take the name's slashes.
std::string path_escape(std::string_view name);

// --filter values ("name=value", repeatable) as the `filters` query value
// Docker sends: {"name":{"value":true}}. `extra` entries are added first.
// Throws CliError "bad format of filter (expected name=value)" (exit 125).
std::string filters_json(const std::vector<std::string>& filters,
                         const std::vector<std::pair<std::string, std::string>>& extra = {});

// Reads a yes/no answer after printing `message` + " [y/N] " (Docker's
// PromptForConfirmation): true only for "y" or "Y".
bool confirm(Context& ctx, const std::string& message);

// The command line as CLI11 should see it, in CLI11's reversed order for
// App::parse(std::vector<std::string>&&). Rewrites pflag's "-X=value"
// (which CLI11 reads as -X followed by the flags "-=value"): for a flag,
// to "--long=value" (history -H=false); for an option, to "-X value"
// (-H=unix:///run/x.sock); and "--opt=" to an empty value
// (--entrypoint=). Nothing is rewritten after the first argument of a
// command that takes a command line (`run IMAGE CMD...`, prefix_command).
std::vector<std::string> pflag_args(const CLI::App& app, int argc, const char* const* argv);

// One command of a management group (`image ls`) with its second name
// (`image list`) and Docker's top-level shortcut (`images`); nullptr where
// there is none.
struct GroupedCommand {
  const char* name;
  const char* alias;
  const char* top_level;
  const char* description;  // Docker's wording
  void (*configure)(CLI::App&, Context&);
};

// Adds each command's top-level shortcut to `app`, then the group `group`
// with every command under it (each configured twice, so both spellings
// share one definition). Returns the group.
CLI::App* add_command_group(CLI::App& app, Context& ctx, const char* group, const char* description,
                            std::span<const GroupedCommand> commands);

// Command registration, one per file.
void add_version_command(CLI::App& app, Context& ctx);
void add_info_command(CLI::App& app, Context& ctx);
void add_plugin_command(CLI::App& app, Context& ctx);
// berth login and berth logout (login.cpp).
void add_login_commands(CLI::App& app, Context& ctx);
// berth system df (system.cpp); berth events and system events.
void add_system_commands(CLI::App& app, Context& ctx);
// berth events on the subcommand it is given (events.cpp).
void configure_events(CLI::App& cmd, Context& ctx);

// One image as Docker's imageContext presents it (images.cpp), from an
// ImageSummary of the API: every field a string ("Repository", "Tag", "ID",
// "CreatedSince", "Size", "SharedSize", "UniqueSize", "Containers", ...),
// "N/A" for what the daemon did not compute; `trunc` shortens the ID.
boost::json::value image_row(const boost::json::object& image, bool trunc, const std::string& repo,
                             const std::string& tag, const std::string& digest);

// The image commands, at the top level (`images`, `rmi`, `tag`, `history`,
// `save`, `load`, `import`, `build`) and under `image` (image.cpp).
void add_image_commands(CLI::App& app, Context& ctx);

// Each image command configures the subcommand it is given, so that the
// top-level and the `image` forms share one definition.
void configure_images(CLI::App& cmd, Context& ctx);         // images.cpp
void configure_image_inspect(CLI::App& cmd, Context& ctx);  // image_inspect.cpp
void configure_rmi(CLI::App& cmd, Context& ctx);            // rmi.cpp
void configure_tag(CLI::App& cmd, Context& ctx);            // tag.cpp
void configure_history(CLI::App& cmd, Context& ctx);        // history.cpp
void configure_save(CLI::App& cmd, Context& ctx);           // save_load.cpp
void configure_load(CLI::App& cmd, Context& ctx);           // save_load.cpp
void configure_import(CLI::App& cmd, Context& ctx);         // save_load.cpp
void configure_image_prune(CLI::App& cmd, Context& ctx);    // image_prune.cpp
void configure_pull(CLI::App& cmd, Context& ctx);           // pull_push.cpp
void configure_push(CLI::App& cmd, Context& ctx);           // pull_push.cpp
void configure_build(CLI::App& cmd, Context& ctx);          // build.cpp

// The `builder` commands: `builder build` and `builder prune` (builder.cpp).
void add_builder_commands(CLI::App& app, Context& ctx);
void configure_builder_prune(CLI::App& cmd, Context& ctx);  // builder.cpp

// What `builder prune` prints for the daemon's BuildCachePruneReport:
// "Deleted build cache objects:" and the IDs, a blank line, then "Total
// reclaimed space: 1kB".
std::string builder_prune_output(const boost::json::object& report);

// Writes the tar the daemon answers GET `api_path` with to `output` (a
// file replaced only once complete) or, when empty, to stdout, which must
// not be a terminal (save, export). `failure` prefixes a bad path's error
// ("failed to save image"). save_load.cpp.
void download_tar(Context& ctx, const std::string& api_path, const std::string& output,
                  const std::string& failure);

// The container commands, at the top level (`run`, `ps`, `rm`, ...) and
// under `container` (container.cpp), plus the generic `inspect`.
void add_container_commands(CLI::App& app, Context& ctx);

void configure_run(CLI::App& cmd, Context& ctx);                  // run.cpp
void configure_create(CLI::App& cmd, Context& ctx);               // run.cpp
void configure_start(CLI::App& cmd, Context& ctx);                // start.cpp
void configure_attach(CLI::App& cmd, Context& ctx);               // attach.cpp
void configure_exec(CLI::App& cmd, Context& ctx);                 // exec.cpp
void configure_logs(CLI::App& cmd, Context& ctx);                 // logs.cpp
void configure_ps(CLI::App& cmd, Context& ctx);                   // ps.cpp
void configure_stop(CLI::App& cmd, Context& ctx);                 // stop.cpp
void configure_restart(CLI::App& cmd, Context& ctx);              // stop.cpp
void configure_kill(CLI::App& cmd, Context& ctx);                 // stop.cpp
void configure_pause(CLI::App& cmd, Context& ctx);                // stop.cpp
void configure_unpause(CLI::App& cmd, Context& ctx);              // stop.cpp
void configure_rm(CLI::App& cmd, Context& ctx);                   // rm.cpp
void configure_wait(CLI::App& cmd, Context& ctx);                 // wait.cpp
void configure_rename(CLI::App& cmd, Context& ctx);               // wait.cpp
void configure_top(CLI::App& cmd, Context& ctx);                  // wait.cpp
void configure_stats(CLI::App& cmd, Context& ctx);                // stats.cpp
void configure_container_prune(CLI::App& cmd, Context& ctx);      // container_prune.cpp
void configure_inspect(CLI::App& cmd, Context& ctx);              // inspect.cpp
void configure_container_inspect(CLI::App& cmd, Context& ctx);    // inspect.cpp
void configure_port(CLI::App& cmd, Context& ctx);                 // container_extra.cpp
void configure_diff(CLI::App& cmd, Context& ctx);                 // container_extra.cpp
void configure_export(CLI::App& cmd, Context& ctx);               // container_extra.cpp
void configure_update(CLI::App& cmd, Context& ctx);               // container_extra.cpp
void configure_commit(CLI::App& cmd, Context& ctx);               // container_extra.cpp
void configure_cp(CLI::App& cmd, Context& ctx);                   // cp.cpp

// The network commands under `network` (network.cpp).
void add_network_commands(CLI::App& app, Context& ctx);

void configure_network_create(CLI::App& cmd, Context& ctx);      // network_create.cpp
void configure_network_ls(CLI::App& cmd, Context& ctx);          // network_ls.cpp
void configure_network_inspect(CLI::App& cmd, Context& ctx);     // network.cpp
void configure_network_rm(CLI::App& cmd, Context& ctx);          // network.cpp
void configure_network_connect(CLI::App& cmd, Context& ctx);     // network.cpp
void configure_network_disconnect(CLI::App& cmd, Context& ctx);  // network.cpp
void configure_network_prune(CLI::App& cmd, Context& ctx);       // network.cpp

// The volume commands under `volume` (volume.cpp).
void add_volume_commands(CLI::App& app, Context& ctx);

void configure_volume_create(CLI::App& cmd, Context& ctx);   // volume_create.cpp
void configure_volume_ls(CLI::App& cmd, Context& ctx);       // volume_ls.cpp
void configure_volume_inspect(CLI::App& cmd, Context& ctx);  // volume.cpp
void configure_volume_rm(CLI::App& cmd, Context& ctx);       // volume.cpp
void configure_volume_prune(CLI::App& cmd, Context& ctx);    // volume.cpp

}  // namespace berth::cli
