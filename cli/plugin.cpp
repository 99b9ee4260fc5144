// berth plugin ls: the drivers berthd knows, with their status and errors.
#include "command.hpp"

#include <boost/json.hpp>

namespace berth::cli {
namespace json = boost::json;

void add_plugin_command(CLI::App& app, Context& ctx) {
  auto* plugin = app.add_subcommand("plugin", "Manage driver plugins");
  plugin->require_subcommand(1);
  auto* ls = plugin->add_subcommand("ls", "List driver plugins");
  ls->alias("list");
  struct Opts {
    std::string format;
    bool quiet = false;
  };
  auto opts = std::make_shared<Opts>();
  ls->add_option("--format", opts->format,
                 "Format output: \"table\", \"json\", \"table TEMPLATE\" or a Go template");
  ls->add_flag("-q,--quiet", opts->quiet, "Only display plugin names");
  ls->callback([&ctx, opts] {
    json::value drivers = ctx.client().get_json("/berth/drivers");
    std::vector<json::value> rows;
    if (drivers.is_array()) rows.assign(drivers.get_array().begin(), drivers.get_array().end());
    std::string format = opts->quiet ? "{{.Type}}/{{.Name}}" : opts->format;
    print_rows(ctx, format,
               "table {{.Type}}\t{{.Name}}\t{{.Version}}\t{{.Abi}}\t{{.Status}}\t{{.Source}}\t{{.Error}}",
               rows);
  });
}

}  // namespace berth::cli
