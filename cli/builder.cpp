// The `builder` management command (docker/cli command/builder): `builder
// build`, the third spelling of `build`, and `builder prune`, which removes
// the build cache through POST /build/prune.
#include <boost/json.hpp>
#include <stdexcept>

#include "command.hpp"
#include "container_opts.hpp"

namespace berth::cli {
namespace json = boost::json;

namespace {

constexpr GroupedCommand kCommands[] = {
    {"build", nullptr, nullptr, "Build an image from a Dockerfile", configure_build},
    {"prune", nullptr, nullptr, "Remove build cache", configure_builder_prune},
};

struct PruneOpts {
  bool all = false, force = false;
  std::vector<std::string> filters;
  std::string keep_storage;
};

void prune(Context& ctx, const PruneOpts& o) {
  std::int64_t keep_storage = 0;
  if (!o.keep_storage.empty()) {
    try {
      keep_storage = ram_in_bytes(o.keep_storage);
    } catch (const std::invalid_argument& e) {
      throw CliError("berth: invalid argument \"" + o.keep_storage +
                         "\" for \"--keep-storage\" flag: " + e.what() +
                         "\nSee 'berth builder prune --help'.",
                     125);
    }
  }
  std::string filters = filters_json(o.filters);
  std::string warning = o.all ? "WARNING! This will remove all build cache. Are you sure you want "
                                "to continue?"
                              : "WARNING! This will remove all dangling build cache. Are you sure "
                                "you want to continue?";
  std::string output = "Total reclaimed space: " + human_size(0) + "\n";
  if (o.force || confirm(ctx, warning)) {
    // Docker's client: all and keep-storage only when set, filters always
    // (empty without --filter); sorted by name as url.Values encodes them.
    std::string path = "/build/prune?";
    if (o.all) path += "all=1&";
    path += "filters=" + query_escape(filters);
    if (keep_storage != 0) path += "&keep-storage=" + std::to_string(keep_storage);
    Response r = ctx.client().request("POST", path);
    check_response(r);
    json::error_code ec;
    json::value report = json::parse(r.body, ec);
    if (ec || !report.is_object()) throw CliError("invalid answer from daemon for builder prune");
    output = builder_prune_output(report.get_object());
  }
  ctx.out << output;
}

}  // namespace

std::string builder_prune_output(const json::object& report) {
  std::string output;
  if (const auto* deleted = report.if_contains("CachesDeleted");
      deleted != nullptr && deleted->is_array() && !deleted->get_array().empty()) {
    output = "Deleted build cache objects:\n";
    for (const auto& id : deleted->get_array()) {
      if (id.is_string()) output += std::string(id.get_string()) + "\n";
    }
    // Docker prints the list with Println, hence the blank line after it.
    output += "\n";
  }
  double reclaimed = 0;
  if (const auto* s = report.if_contains("SpaceReclaimed"); s != nullptr && s->is_number()) {
    json::error_code ec;
    reclaimed = std::max(s->to_number<double>(ec), 0.0);
  }
  return output + "Total reclaimed space: " + human_size(reclaimed) + "\n";
}

void add_builder_commands(CLI::App& app, Context& ctx) {
  add_command_group(app, ctx, "builder", "Manage builds", kCommands);
}

void configure_builder_prune(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<PruneOpts>();
  cmd.add_flag("-a,--all", o->all, "Remove all unused build cache, not just dangling ones");
  cmd.add_option("--filter", o->filters, "Provide filter values (e.g. \"until=24h\")")
      ->allow_extra_args(false);
  cmd.add_flag("-f,--force", o->force, "Do not prompt for confirmation");
  cmd.add_option("--keep-storage", o->keep_storage, "Amount of disk space to keep for cache");
  cmd.callback([&ctx, o] { prune(ctx, *o); });
}

}  // namespace berth::cli
