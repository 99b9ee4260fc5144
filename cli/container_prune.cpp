// berth container prune: remove all stopped containers.
#include "command.hpp"

#include <boost/json.hpp>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct Opts {
  bool force = false;
  std::vector<std::string> filters;
};

void prune(Context& ctx, const Opts& o) {
  std::uint64_t reclaimed = 0;
  std::string output;
  std::string filters = filters_json(o.filters);
  if (o.force || confirm(ctx, "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?")) {
    std::string path = "/containers/prune";
    if (!filters.empty()) path += "?filters=" + query_escape(filters);
    Response r = ctx.client().request("POST", path);
    check_response(r);
    json::error_code ec;
    json::value report = json::parse(r.body, ec);
    if (ec || !report.is_object()) throw CliError("invalid answer from daemon for container prune");
    const auto& obj = report.as_object();
    if (const auto* deleted = obj.if_contains("ContainersDeleted");
        deleted != nullptr && deleted->is_array() && !deleted->as_array().empty()) {
      output = "Deleted Containers:\n";
      for (const auto& id : deleted->as_array()) {
        if (id.is_string()) output += std::string(id.as_string()) + "\n";
      }
    }
    if (const auto* s = obj.if_contains("SpaceReclaimed"); s != nullptr && s->is_number()) {
      reclaimed = static_cast<std::uint64_t>(std::max<std::int64_t>(s->to_number<std::int64_t>(), 0));
    }
  }
  // Docker prints the list with Println, hence the blank line after it.
  if (!output.empty()) ctx.out << output << "\n";
  ctx.out << "Total reclaimed space: " << human_size(static_cast<double>(reclaimed)) << "\n";
}

}  // namespace

void configure_container_prune(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_flag("-f,--force", o->force, "Do not prompt for confirmation");
  cmd.add_option("--filter", o->filters, "Provide filter values (e.g. \"until=<timestamp>\")")
      ->allow_extra_args(false);
  cmd.callback([&ctx, o] { prune(ctx, *o); });
}

}  // namespace berth::cli
