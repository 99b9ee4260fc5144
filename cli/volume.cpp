// The `volume` management command and its short verbs: inspect, rm and
// prune (docker/cli command/volume). create and ls have their own files.
#include "volume.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>

#include "command.hpp"
#include "inspect.hpp"

namespace berth::cli {
namespace json = boost::json;

namespace {

constexpr GroupedCommand kCommands[] = {
    {"create", nullptr, nullptr, "Create a volume", configure_volume_create},
    {"inspect", nullptr, nullptr, "Display detailed information on one or more volumes",
     configure_volume_inspect},
    {"ls", "list", nullptr, "List volumes", configure_volume_ls},
    {"prune", nullptr, nullptr, "Remove unused local volumes", configure_volume_prune},
    {"rm", "remove", nullptr, "Remove one or more volumes", configure_volume_rm},
};

}  // namespace

void add_volume_commands(CLI::App& app, Context& ctx) {
  auto* group = add_command_group(app, ctx, "volume", "Manage volumes", kCommands);
  // Like Docker, `berth volume` alone shows its usage and succeeds.
  group->require_subcommand(0, 1);
  group->callback([group] {
    if (group->get_subcommands().empty()) throw CLI::CallForHelp();
  });
}

const std::map<std::string, std::string>& volume_headers() {
  static const std::map<std::string, std::string> headers{{"Name", "VOLUME NAME"}};
  return headers;
}

std::string volume_prune_filters(const std::vector<std::string>& filters, bool all) {
  std::string given = filters_json(filters);
  if (!all) return given;
  if (!given.empty() && json::parse(given).as_object().contains("all")) {
    throw CliError("conflicting options: cannot specify both --all and --filter all=1");
  }
  return filters_json(filters, {{"all", "true"}});
}

std::string volume_prune_output(const json::object& report) {
  std::string output;
  std::int64_t reclaimed = 0;
  if (const auto* deleted = report.if_contains("VolumesDeleted");
      deleted != nullptr && deleted->is_array() && !deleted->as_array().empty()) {
    output = "Deleted Volumes:\n";
    for (const auto& name : deleted->as_array()) {
      if (name.is_string()) output += std::string(name.as_string()) + "\n";
    }
    // Docker prints the list with Println, hence the blank line after it.
    output += "\n";
    if (const auto* s = report.if_contains("SpaceReclaimed"); s != nullptr && s->is_number()) {
      json::error_code ec;
      reclaimed = std::max<std::int64_t>(s->to_number<std::int64_t>(ec), 0);
    }
  }
  return output + "Total reclaimed space: " + human_size(static_cast<double>(reclaimed)) + "\n";
}

namespace {

std::string volume_path(const std::string& name) { return "/volumes/" + path_escape(name); }

struct InspectOpts {
  std::vector<std::string> names;
  std::string format;
};

struct RmOpts {
  std::vector<std::string> names;
  bool force = false;
};

void rm(Context& ctx, const RmOpts& o) {
  // Docker goes on after a failure and reports them all at the end.
  std::string errors;
  for (const auto& name : o.names) {
    Response r = ctx.client().request("DELETE", volume_path(name) + (o.force ? "?force=1" : ""));
    try {
      check_response(r);
    } catch (const CliError& e) {
      errors += (errors.empty() ? "" : "\n") + std::string(e.what());
      continue;
    }
    ctx.out << name << "\n";
  }
  ctx.out.flush();
  if (!errors.empty()) throw CliError(errors, 1);
}

struct PruneOpts {
  bool all = false, force = false;
  std::vector<std::string> filters;
};

void prune(Context& ctx, const PruneOpts& o) {
  std::string filters = volume_prune_filters(o.filters, o.all);
  std::string warning =
      o.all ? "WARNING! This will remove all local volumes not used by at least one container.\n"
              "Are you sure you want to continue?"
            : "WARNING! This will remove anonymous local volumes not used by at least one "
              "container.\n"
              "Are you sure you want to continue?";
  json::object report;
  if (o.force || confirm(ctx, warning)) {
    std::string path = "/volumes/prune";
    if (!filters.empty()) path += "?filters=" + query_escape(filters);
    Response r = ctx.client().request("POST", path);
    check_response(r);
    json::error_code ec;
    json::value answer = json::parse(r.body, ec);
    if (ec || !answer.is_object()) throw CliError("invalid answer from daemon for volume prune");
    report = std::move(answer.as_object());
  }
  ctx.out << volume_prune_output(report);
}

}  // namespace

void configure_volume_inspect(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<InspectOpts>();
  cmd.add_option("VOLUME", o->names, "Volumes to inspect")->required();
  cmd.add_option("-f,--format", o->format, "Format output using a custom template");
  cmd.callback([&ctx, o] {
    print_inspect(ctx, o->names, o->format, "volume",
                  [&](const std::string& name) { return fetch_object(ctx, volume_path(name)); });
  });
}

void configure_volume_rm(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<RmOpts>();
  cmd.add_option("VOLUME", o->names, "Volumes to remove")->required();
  cmd.add_flag("-f,--force", o->force, "Force the removal of one or more volumes");
  cmd.callback([&ctx, o] { rm(ctx, *o); });
}

void configure_volume_prune(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<PruneOpts>();
  cmd.add_flag("-a,--all", o->all, "Remove all unused volumes, not just anonymous ones");
  cmd.add_option("--filter", o->filters, "Provide filter values (e.g. \"label=<label>\")")
      ->allow_extra_args(false);
  cmd.add_flag("-f,--force", o->force, "Do not prompt for confirmation");
  cmd.callback([&ctx, o] { prune(ctx, *o); });
}

}  // namespace berth::cli
