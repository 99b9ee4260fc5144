// berth rmi / berth image rm: untag and delete images, one after another.
#include "command.hpp"

#include <boost/json.hpp>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct Opts {
  std::vector<std::string> images;
  bool force = false, no_prune = false;
};

void run(Context& ctx, const Opts& o) {
  std::string query;
  if (o.force) query += "&force=1";
  if (o.no_prune) query += "&noprune=1";
  if (!query.empty()) query = "?" + query.substr(1);
  std::vector<std::string> errors;
  bool fatal = false;
  for (const auto& name : o.images) {
    Response r = ctx.client().request("DELETE", "/images/" + path_escape(name) + query);
    try {
      check_response(r);
    } catch (const CliError& e) {
      // Docker: with --force, a missing image is reported but not a failure.
      if (r.status != 404) fatal = true;
      errors.emplace_back(e.what());
      continue;
    }
    json::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_array()) {
      errors.push_back("invalid answer from daemon for image " + name);
      fatal = true;
      continue;
    }
    for (const auto& entry : v.get_array()) {
      if (!entry.is_object()) continue;
      const auto& e = entry.get_object();
      if (const auto* d = e.if_contains("Deleted");
          d != nullptr && d->is_string() && !d->get_string().empty()) {
        ctx.out << "Deleted: " << d->get_string().c_str() << "\n";
      } else if (const auto* u = e.if_contains("Untagged"); u != nullptr && u->is_string()) {
        ctx.out << "Untagged: " << u->get_string().c_str() << "\n";
      }
    }
    ctx.out.flush();
  }
  if (errors.empty()) return;
  std::string message;
  for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
  if (!o.force || fatal) throw CliError(message);
  ctx.err << message << "\n";
}

}  // namespace

void configure_rmi(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("IMAGE", o->images, "Images to remove")->required();
  cmd.add_flag("-f,--force", o->force, "Force removal of the image");
  cmd.add_flag("--no-prune", o->no_prune, "Do not delete untagged parents");
  cmd.callback([&ctx, o] { run(ctx, *o); });
}

}  // namespace berth::cli
