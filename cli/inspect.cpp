// berth inspect (any object: containers first, then images, as Docker
// tries them) and berth container inspect.
#include "inspect.hpp"

#include "format/template.hpp"
#include "pretty_json.hpp"

#include <boost/json.hpp>

namespace berth::cli {
namespace json = boost::json;

std::optional<std::string> fetch_object(Context& ctx, const std::string& path) {
  Response r = ctx.client().request("GET", path);
  if (r.status == 404) return std::nullopt;
  check_response(r);
  return std::move(r.body);
}

void print_inspect(Context& ctx, const std::vector<std::string>& names, const std::string& format,
                   const std::string& kind, const InspectFetch& fetch) {
  std::optional<format::Template> tmpl;
  if (!format.empty() && format != "json") {
    try {
      tmpl = format::Template::parse(format);
    } catch (const format::TemplateError& e) {
      throw CliError(std::string("template parsing error: ") + e.what(), 125);
    }
  }
  std::vector<std::string> raws, errors;
  std::string rendered;
  for (const auto& name : names) {
    std::optional<std::string> body;
    try {
      body = fetch(name);
    } catch (const CliError& e) {
      errors.emplace_back(e.what());
      continue;
    }
    if (!body) {
      // Docker's client words a missing object this way.
      errors.push_back("Error: No such " + kind + ": " + name);
      continue;
    }
    json::error_code ec;
    json::value v = json::parse(*body, ec);
    if (ec) {
      errors.push_back("invalid JSON from daemon for " + kind + " " + name + ": " + ec.message());
      continue;
    }
    if (tmpl) {
      try {
        rendered += tmpl->render(v) + "\n";
      } catch (const format::TemplateError& e) {
        throw CliError(std::string("template parsing error: ") + e.what(), 125);
      }
    } else {
      raws.push_back(std::move(*body));
    }
  }
  // Like Docker: what was found is printed (an empty array when nothing
  // was), then the errors.
  if (tmpl) {
    ctx.out << rendered;
  } else {
    ctx.out << indented_array(raws) << "\n";
  }
  ctx.out.flush();
  if (!errors.empty()) {
    std::string message;
    for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
    throw CliError(message);
  }
}

namespace {

struct Opts {
  std::vector<std::string> names;
  std::string format, type;
  bool size = false;
};

std::string container_path(const std::string& name, bool size) {
  return "/containers/" + path_escape(name) + "/json" + (size ? "?size=1" : "");
}

void inspect_any(Context& ctx, const Opts& o) {
  // The types Docker's inspect knows; those berthd has no endpoint for
  // yet are simply not found.
  static const std::vector<std::pair<std::string, std::string>> kTypes = {
      {"config", "/configs/"},   {"container", "/containers/"}, {"image", "/images/"},
      {"network", "/networks/"}, {"node", "/nodes/"},           {"plugin", "/plugins/"},
      {"secret", "/secrets/"},   {"service", "/services/"},     {"task", "/tasks/"},
      {"volume", "/volumes/"}};
  auto path_for = [&](const std::string& type, const std::string& name) {
    if (type == "container") return container_path(name, o.size);
    if (type == "image" || type == "plugin") {
      return (type == "image" ? "/images/" : "/plugins/") + path_escape(name) + "/json";
    }
    for (const auto& [t, prefix] : kTypes) {
      if (t == type) return prefix + path_escape(name);
    }
    return std::string();
  };
  if (!o.type.empty()) {
    bool known = false;
    for (const auto& [t, prefix] : kTypes) known = known || t == o.type;
    if (!known) throw CliError("\"" + o.type + "\" is not a valid value for --type", 125);
    print_inspect(ctx, o.names, o.format, o.type,
                  [&](const std::string& name) { return fetch_object(ctx, path_for(o.type, name)); });
    return;
  }
  // Without --type, as Docker: a container, else an image (the others
  // need a swarm or endpoints berthd does not serve yet).
  print_inspect(ctx, o.names, o.format, "object", [&](const std::string& name) {
    for (const char* type : {"container", "image", "network", "volume", "plugin"}) {
      if (auto body = fetch_object(ctx, path_for(type, name))) return body;
    }
    return std::optional<std::string>();
  });
}

}  // namespace

void configure_inspect(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("NAME", o->names, "Names or IDs of objects")->required();
  cmd.add_option("-f,--format", o->format, "Format output using a custom template");
  cmd.add_flag("-s,--size", o->size, "Display total file sizes if the type is container");
  cmd.add_option("--type", o->type, "Only inspect objects of the given type");
  cmd.callback([&ctx, o] { inspect_any(ctx, *o); });
}

void configure_container_inspect(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("CONTAINER", o->names, "Containers to inspect")->required();
  cmd.add_option("-f,--format", o->format, "Format output using a custom template");
  cmd.add_flag("-s,--size", o->size, "Display total file sizes");
  cmd.callback([&ctx, o] {
    print_inspect(ctx, o->names, o->format, "container",
                  [&](const std::string& name) { return fetch_object(ctx, container_path(name, o->size)); });
  });
}

}  // namespace berth::cli
