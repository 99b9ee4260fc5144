// berth wait, rename and top: small one-request commands (docker/cli
// wait.go, rename.go, top.go).
#include "container_common.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace berth::cli {
namespace json = boost::json;

namespace {

void wait(Context& ctx, const std::vector<std::string>& containers) {
  std::string errors;
  for (const auto& name : containers) {
    try {
      Response r = container_request(ctx, "POST", "/containers/" + path_escape(name) + "/wait");
      json::error_code ec;
      json::value v = json::parse(r.body, ec);
      const json::value* code = !ec && v.is_object() ? v.as_object().if_contains("StatusCode") : nullptr;
      if (code == nullptr || !code->is_number()) throw CliError("invalid answer from daemon: " + r.body);
      ctx.out << code->to_number<std::int64_t>() << "\n";
      ctx.out.flush();
    } catch (const CliError& e) {
      errors += (errors.empty() ? "" : "\n") + std::string(e.what());
    }
  }
  if (!errors.empty()) throw CliError(errors);
}

void rename(Context& ctx, const std::string& old_name, const std::string& new_name) {
  auto trim = [](std::string s) {
    s.erase(0, std::min(s.find_first_not_of(" \t\r\n"), s.size()));
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.pop_back();
    return s;
  };
  std::string from = trim(old_name), to = trim(new_name);
  if (from.empty() || to.empty()) throw CliError("Error: Neither old nor new names may be empty");
  try {
    container_request(ctx, "POST", "/containers/" + path_escape(from) + "/rename?name=" + query_escape(to));
  } catch (const CliError& e) {
    ctx.err << e.what() << "\n";
    throw CliError("Error: failed to rename container named " + from);
  }
}

// Go's tabwriter with min width 20, padding 3, as `docker top` prints.
void print_columns(Context& ctx, const std::vector<std::vector<std::string>>& lines) {
  std::vector<std::size_t> widths;
  for (const auto& cells : lines) {
    for (std::size_t i = 0; i + 1 < cells.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max({widths[i], cells[i].size() + 3, std::size_t{20}});
    }
  }
  for (const auto& cells : lines) {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      line += cells[i];
      if (i + 1 < cells.size()) line.append(widths[i] - cells[i].size(), ' ');
    }
    ctx.out << line << "\n";
  }
}

void top(Context& ctx, CLI::App& cmd) {
  auto rest = cmd.remaining();
  if (rest.empty()) {
    throw CliError(
        "\"berth top\" requires at least 1 argument.\nSee 'berth top --help'.\n\n"
        "Usage:  berth top CONTAINER [ps OPTIONS]\n\nDisplay the running processes of a container",
        125);
  }
  std::string path = "/containers/" + path_escape(rest.front()) + "/top";
  std::string ps_args;
  for (std::size_t i = 1; i < rest.size(); ++i) ps_args += (i > 1 ? " " : "") + rest[i];
  if (!ps_args.empty()) path += "?ps_args=" + query_escape(ps_args);
  json::value v = ctx.client().get_json(path);
  std::vector<std::vector<std::string>> lines;
  auto row = [](const json::value& cells) {
    std::vector<std::string> out;
    if (cells.is_array()) {
      for (const auto& c : cells.as_array()) out.emplace_back(c.is_string() ? std::string(c.as_string()) : "");
    }
    return out;
  };
  if (v.is_object()) {
    const auto& o = v.as_object();
    if (const auto* t = o.if_contains("Titles")) lines.push_back(row(*t));
    if (const auto* p = o.if_contains("Processes"); p != nullptr && p->is_array()) {
      for (const auto& proc : p->as_array()) lines.push_back(row(proc));
    }
  }
  print_columns(ctx, lines);
}

}  // namespace

void configure_wait(CLI::App& cmd, Context& ctx) {
  auto containers = std::make_shared<std::vector<std::string>>();
  cmd.add_option("CONTAINER", *containers, "Containers to wait for")->required();
  cmd.callback([&ctx, containers] { wait(ctx, *containers); });
}

void configure_rename(CLI::App& cmd, Context& ctx) {
  auto names = std::make_shared<std::pair<std::string, std::string>>();
  cmd.add_option("CONTAINER", names->first, "Container to rename")->required();
  cmd.add_option("NEW_NAME", names->second, "Its new name")->required();
  cmd.callback([&ctx, names] { rename(ctx, names->first, names->second); });
}

void configure_top(CLI::App& cmd, Context& ctx) {
  // The ps options follow the container and go to ps as they are.
  cmd.prefix_command();
  cmd.callback([&ctx, &cmd] { top(ctx, cmd); });
}

}  // namespace berth::cli
