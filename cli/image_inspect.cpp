// berth image inspect: the daemon's image objects, as an indented JSON
// array or through a --format template.
#include "command.hpp"
#include "format/template.hpp"
#include "pretty_json.hpp"

#include <boost/json.hpp>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct Opts {
  std::vector<std::string> images;
  std::string format;
};

void run(Context& ctx, const Opts& o) {
  std::optional<format::Template> tmpl;
  if (!o.format.empty() && o.format != "json") {
    try {
      tmpl = format::Template::parse(o.format);
    } catch (const format::TemplateError& e) {
      throw CliError(std::string("template parsing error: ") + e.what(), 125);
    }
  }
  std::vector<std::string> raws;
  std::string rendered;
  std::vector<std::string> errors;
  for (const auto& name : o.images) {
    Response r = ctx.client().request("GET", "/images/" + path_escape(name) + "/json");
    if (r.status == 404) {
      // Docker's client words a missing object this way.
      errors.push_back("Error: No such image: " + name);
      continue;
    }
    try {
      check_response(r);
    } catch (const CliError& e) {
      errors.emplace_back(e.what());
      continue;
    }
    json::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec) {
      errors.push_back("invalid JSON from daemon for image " + name + ": " + ec.message());
      continue;
    }
    if (tmpl) {
      try {
        rendered += tmpl->render(v) + "\n";
      } catch (const format::TemplateError& e) {
        throw CliError(std::string("template parsing error: ") + e.what(), 125);
      }
    } else {
      raws.push_back(std::move(r.body));
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

}  // namespace

void configure_image_inspect(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("IMAGE", o->images, "Images to inspect")->required();
  cmd.add_option("-f,--format", o->format, "Format output using a custom template");
  cmd.callback([&ctx, o] { run(ctx, *o); });
}

}  // namespace berth::cli
