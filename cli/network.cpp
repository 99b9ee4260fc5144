// The `network` management command and its short verbs: inspect, rm,
// connect, disconnect and prune (docker/cli command/network). create and
// ls have their own files.
#include "network.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <stdexcept>

#include "command.hpp"
#include "container_opts.hpp"
#include "inspect.hpp"

namespace berth::cli {
namespace json = boost::json;

namespace {

constexpr GroupedCommand kCommands[] = {
    {"connect", nullptr, nullptr, "Connect a container to a network", configure_network_connect},
    {"create", nullptr, nullptr, "Create a network", configure_network_create},
    {"disconnect", nullptr, nullptr, "Disconnect a container from a network",
     configure_network_disconnect},
    {"inspect", nullptr, nullptr, "Display detailed information on one or more networks",
     configure_network_inspect},
    {"ls", "list", nullptr, "List networks", configure_network_ls},
    {"prune", nullptr, nullptr, "Remove all unused networks", configure_network_prune},
    {"rm", "remove", nullptr, "Remove one or more networks", configure_network_rm},
};

}  // namespace

void add_network_commands(CLI::App& app, Context& ctx) {
  auto* group = add_command_group(app, ctx, "network", "Manage networks", kCommands);
  // Like Docker, `berth network` alone shows its usage and succeeds.
  group->require_subcommand(0, 1);
  group->callback([group] {
    if (group->get_subcommands().empty()) throw CLI::CallForHelp();
  });
}

json::object network_connect_body(const std::string& container, const NetworkConnectFlags& f) {
  for (const auto& link : f.links) {
    try {
      validate_link(link);
    } catch (const std::invalid_argument& e) {
      throw FlagError("invalid argument \"" + link + "\" for \"--link\" flag: " + e.what(), 125);
    }
  }
  // convertDriverOpt: keys and values trimmed of white space.
  auto trim = [](std::string s) {
    s.erase(0, std::min(s.find_first_not_of(" \t\r\n\v\f"), s.size()));
    s.erase(s.find_last_not_of(" \t\r\n\v\f") + 1);
    return s;
  };
  json::object driver_opts;
  for (const auto& opt : f.driver_opts) {
    auto eq = opt.find('=');
    std::string key = trim(opt.substr(0, eq));
    if (eq == std::string::npos || key.empty()) {
      throw CliError("invalid key/value pair format in driver options");
    }
    driver_opts[key] = trim(opt.substr(eq + 1));
  }
  auto strings = [](const std::vector<std::string>& values) {
    json::array out;
    for (const auto& v : values) out.emplace_back(v);
    return out;
  };
  // network.EndpointIPAMConfig: its members are omitted when empty.
  json::object ipam;
  if (!f.ip.empty()) ipam["IPv4Address"] = f.ip;
  if (!f.ip6.empty()) ipam["IPv6Address"] = f.ip6;
  if (!f.link_local_ips.empty()) ipam["LinkLocalIPs"] = strings(f.link_local_ips);
  json::object endpoint{
      {"IPAMConfig", ipam},
      {"Links", f.links.empty() ? json::value(nullptr) : json::value(strings(f.links))},
      {"Aliases", strings(f.aliases)},
      {"DriverOpts", driver_opts},
  };
  return {{"Container", container}, {"EndpointConfig", endpoint}};
}

namespace {

std::string network_path(const std::string& name) { return "/networks/" + path_escape(name); }

struct InspectOpts {
  std::vector<std::string> names;
  std::string format;
  bool verbose = false;
};

struct RmOpts {
  std::vector<std::string> names;
  bool force = false;
};

void rm(Context& ctx, const RmOpts& o) {
  bool failed = false;
  for (const auto& name : o.names) {
    Response r = ctx.client().request("DELETE", network_path(name));
    if (r.status == 404 && o.force) continue;
    try {
      check_response(r);
    } catch (const CliError& e) {
      // Each failure is reported as it happens; the others still go.
      ctx.out.flush();
      ctx.err << e.what() << "\n";
      failed = true;
      continue;
    }
    ctx.out << name << "\n";
  }
  ctx.out.flush();
  if (failed) throw CliError("", 1);
}

struct ConnectOpts {
  std::string network, container;
  NetworkConnectFlags flags;
};

void connect(Context& ctx, const ConnectOpts& o) {
  json::object body;
  try {
    body = network_connect_body(o.container, o.flags);
  } catch (const FlagError& e) {
    throw CliError(std::string("berth: ") + e.what() + "\nSee 'berth network connect --help'.",
                   125);
  }
  Response r = ctx.client().request("POST", network_path(o.network) + "/connect",
                                    json::serialize(body), "application/json");
  check_response(r);
}

struct DisconnectOpts {
  std::string network, container;
  bool force = false;
};

void disconnect(Context& ctx, const DisconnectOpts& o) {
  json::object body{{"Container", o.container}, {"Force", o.force}};
  Response r = ctx.client().request("POST", network_path(o.network) + "/disconnect",
                                    json::serialize(body), "application/json");
  check_response(r);
}

struct PruneOpts {
  bool force = false;
  std::vector<std::string> filters;
};

void prune(Context& ctx, const PruneOpts& o) {
  std::string filters = filters_json(o.filters);
  if (!o.force &&
      !confirm(ctx,
               "WARNING! This will remove all custom networks not used by at least one container.\n"
               "Are you sure you want to continue?")) {
    return;
  }
  std::string path = "/networks/prune";
  if (!filters.empty()) path += "?filters=" + query_escape(filters);
  Response r = ctx.client().request("POST", path);
  check_response(r);
  json::error_code ec;
  json::value report = json::parse(r.body, ec);
  if (ec || !report.is_object()) throw CliError("invalid answer from daemon for network prune");
  const auto* deleted = report.as_object().if_contains("NetworksDeleted");
  if (deleted == nullptr || !deleted->is_array() || deleted->as_array().empty()) return;
  std::string output = "Deleted Networks:\n";
  for (const auto& name : deleted->as_array()) {
    if (name.is_string()) output += std::string(name.as_string()) + "\n";
  }
  // Docker prints the list with Println, hence the blank line after it.
  ctx.out << output << "\n";
}

}  // namespace

void configure_network_inspect(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<InspectOpts>();
  cmd.add_option("NETWORK", o->names, "Networks to inspect")->required();
  cmd.add_option("-f,--format", o->format, "Format output using a custom template");
  cmd.add_flag("-v,--verbose", o->verbose, "Verbose output for diagnostics");
  cmd.callback([&ctx, o] {
    print_inspect(ctx, o->names, o->format, "network", [&](const std::string& name) {
      return fetch_object(ctx, network_path(name) + (o->verbose ? "?verbose=true" : ""));
    });
  });
}

void configure_network_rm(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<RmOpts>();
  cmd.add_option("NETWORK", o->names, "Networks to remove")->required();
  cmd.add_flag("-f,--force", o->force, "Do not error if the network does not exist");
  cmd.callback([&ctx, o] { rm(ctx, *o); });
}

void configure_network_connect(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<ConnectOpts>();
  auto& f = o->flags;
  cmd.add_option("NETWORK", o->network, "Network")->required();
  cmd.add_option("CONTAINER", o->container, "Container")->required();
  cmd.add_option("--alias", f.aliases, "Add network-scoped alias for the container")
      ->allow_extra_args(false)
      ->take_all()
      ->delimiter(',');
  cmd.add_option("--driver-opt", f.driver_opts, "driver options for the network")
      ->allow_extra_args(false)
      ->take_all()
      ->delimiter(',');
  cmd.add_option("--ip", f.ip, "IPv4 address (e.g., \"172.30.100.104\")");
  cmd.add_option("--ip6", f.ip6, "IPv6 address (e.g., \"2001:db8::33\")");
  cmd.add_option("--link", f.links, "Add link to another container")
      ->allow_extra_args(false)
      ->take_all();
  cmd.add_option("--link-local-ip", f.link_local_ips, "Add a link-local address for the container")
      ->allow_extra_args(false)
      ->take_all()
      ->delimiter(',');
  cmd.callback([&ctx, o] { connect(ctx, *o); });
}

void configure_network_disconnect(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<DisconnectOpts>();
  cmd.add_option("NETWORK", o->network, "Network")->required();
  cmd.add_option("CONTAINER", o->container, "Container")->required();
  cmd.add_flag("-f,--force", o->force, "Force the container to disconnect from a network");
  cmd.callback([&ctx, o] { disconnect(ctx, *o); });
}

void configure_network_prune(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<PruneOpts>();
  cmd.add_option("--filter", o->filters, "Provide filter values (e.g. \"until=<timestamp>\")")
      ->allow_extra_args(false);
  cmd.add_flag("-f,--force", o->force, "Do not prompt for confirmation");
  cmd.callback([&ctx, o] { prune(ctx, *o); });
}

}  // namespace berth::cli
