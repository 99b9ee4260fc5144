// berth image prune: remove dangling (or, with -a, all unused) images.
#include "command.hpp"

#include <boost/json.hpp>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct Opts {
  bool all = false, force = false;
  std::vector<std::string> filters;
};

void run(Context& ctx, const Opts& o) {
  std::string filters = filters_json(o.filters, {{"dangling", o.all ? "false" : "true"}});
  std::string warning = o.all ? "WARNING! This will remove all images without at least one "
                                "container associated to them.\n"
                                "Are you sure you want to continue?"
                              : "WARNING! This will remove all dangling images.\n"
                                "Are you sure you want to continue?";
  std::uint64_t reclaimed = 0;
  std::string output;
  if (o.force || confirm(ctx, warning)) {
    Response r = ctx.client().request("POST", "/images/prune?filters=" + query_escape(filters));
    check_response(r);
    json::error_code ec;
    json::value report = json::parse(r.body, ec);
    if (ec || !report.is_object()) throw CliError("invalid answer from daemon for image prune");
    const auto& obj = report.get_object();
    if (const auto* deleted = obj.if_contains("ImagesDeleted");
        deleted != nullptr && deleted->is_array() && !deleted->get_array().empty()) {
      output = "Deleted Images:\n";
      for (const auto& entry : deleted->get_array()) {
        if (!entry.is_object()) continue;
        const auto& e = entry.get_object();
        const auto* u = e.if_contains("Untagged");
        if (u != nullptr && u->is_string() && !u->get_string().empty()) {
          output += "untagged: " + std::string(u->get_string()) + "\n";
        } else if (const auto* d = e.if_contains("Deleted"); d != nullptr && d->is_string()) {
          output += "deleted: " + std::string(d->get_string()) + "\n";
        }
      }
    }
    if (const auto* s = obj.if_contains("SpaceReclaimed"); s != nullptr && s->is_number()) {
      reclaimed = s->is_uint64() ? s->get_uint64()
                  : s->is_int64()
                      ? static_cast<std::uint64_t>(std::max<std::int64_t>(s->get_int64(), 0))
                      : static_cast<std::uint64_t>(std::max(s->get_double(), 0.0));
    }
  }
  // Docker prints the list with Println, hence the blank line after it.
  if (!output.empty()) ctx.out << output << "\n";
  ctx.out << "Total reclaimed space: " << human_size(static_cast<double>(reclaimed)) << "\n";
}

}  // namespace

void configure_image_prune(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_flag("-a,--all", o->all, "Remove all unused images, not just dangling ones");
  cmd.add_flag("-f,--force", o->force, "Do not prompt for confirmation");
  cmd.add_option("--filter", o->filters, "Provide filter values (e.g. \"until=<timestamp>\")")
      ->allow_extra_args(false);
  cmd.callback([&ctx, o] { run(ctx, *o); });
}

}  // namespace berth::cli
