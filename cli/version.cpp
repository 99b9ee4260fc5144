// berth version: the client's and the daemon's versions.
#include "command.hpp"
#include "cli_version.hpp"

#include <boost/json.hpp>

namespace berth::cli {
namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

void print_client(std::ostream& out, const json::object& c) {
  out << "Client:\n"
      << " Version:           " << str(c, "Version") << "\n"
      << " API version:       " << str(c, "ApiVersion") << "\n"
      << " Git commit:        " << str(c, "GitCommit") << "\n"
      << " Built:             " << str(c, "BuildTime") << "\n"
      << " OS/Arch:           " << str(c, "Os") << "/" << str(c, "Arch") << "\n";
}

void print_server(std::ostream& out, const json::object& s) {
  std::string platform;
  if (const auto* p = s.if_contains("Platform"); p != nullptr && p->is_object()) {
    platform = str(p->get_object(), "Name");
  }
  out << "\nServer: " << platform << "\n";
  const auto* components = s.if_contains("Components");
  if (components == nullptr || !components->is_array()) return;
  for (const auto& cv : components->get_array()) {
    if (!cv.is_object()) continue;
    const auto& c = cv.get_object();
    out << " " << str(c, "Name") << ":\n"
        << "  Version:          " << str(c, "Version") << "\n";
    const auto* dv = c.if_contains("Details");
    if (dv == nullptr || !dv->is_object()) continue;
    const auto& d = dv->get_object();
    if (!str(d, "ApiVersion").empty()) {
      out << "  API version:      " << str(d, "ApiVersion") << " (minimum version "
          << str(d, "MinAPIVersion") << ")\n";
    }
    if (!str(d, "GitCommit").empty()) out << "  Git commit:       " << str(d, "GitCommit") << "\n";
    if (!str(d, "BuildTime").empty()) out << "  Built:            " << str(d, "BuildTime") << "\n";
    if (!str(d, "Os").empty()) {
      out << "  OS/Arch:          " << str(d, "Os") << "/" << str(d, "Arch") << "\n";
    }
    if (!str(d, "Experimental").empty()) {
      out << "  Experimental:     " << str(d, "Experimental") << "\n";
    }
  }
}

}  // namespace

void add_version_command(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("version", "Show the berth version information");
  auto format = std::make_shared<std::string>();
  cmd->add_option("-f,--format", *format, "Format output using a custom template");
  cmd->callback([&ctx, format] {
    json::object client{{"Version", kCliVersion},
                        {"ApiVersion", Client::kMaxApiVersion},
                        {"DefaultAPIVersion", Client::kMaxApiVersion},
                        {"GitCommit", kCliGitCommit},
                        {"BuildTime", kCliBuildTime},
                        {"Os", "linux"},
                        {"Arch", kCliArch}};
    json::value server;
    std::string failure;
    try {
      client["ApiVersion"] = ctx.client().api_version();
      server = ctx.client().get_json("/version");
    } catch (const CliError& e) {
      failure = e.what();
    }
    if (!format->empty()) {
      print_formatted(ctx, *format, json::object{{"Client", client}, {"Server", server}});
    } else {
      print_client(ctx.out, client);
      if (server.is_object()) print_server(ctx.out, server.get_object());
    }
    if (!failure.empty()) throw CliError(failure);
  });
}

}  // namespace berth::cli
