// berth history / berth image history: the layers of an image, newest first.
#include "command.hpp"

#include <boost/json.hpp>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct Opts {
  std::string image;
  bool human = true, no_trunc = false, quiet = false;
  std::string format;
};

std::int64_t integer(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return 0;
}

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// One row as Docker's historyContext marshals it: strings, keys sorted.
json::value row(const json::object& h, const Opts& o) {
  std::int64_t created = integer(h, "Created");
  std::int64_t size = integer(h, "Size");
  std::string created_by = str(h, "CreatedBy");
  for (auto& c : created_by) {
    if (c == '\t') c = ' ';
  }
  std::string id = str(h, "Id");
  std::string created_at = rfc3339_local(created);
  return json::object{
      {"Comment", str(h, "Comment")},
      {"CreatedAt", created_at},
      {"CreatedBy", o.no_trunc ? created_by : ellipsis(created_by, 45)},
      {"CreatedSince", o.human ? human_since(created) : created_at},
      {"ID", o.no_trunc ? id : short_id(id)},
      {"Size", o.human ? human_size(static_cast<double>(size), 3) : std::to_string(size)},
  };
}

void run(Context& ctx, const Opts& o) {
  std::string path = "/images/" + path_escape(o.image) + "/history";
  json::value history = ctx.client().get_json(path);
  if (!history.is_array())
    throw CliError("unexpected answer from daemon for " + path + ": not a list");
  std::vector<json::value> rows;
  for (const auto& h : history.get_array()) {
    if (h.is_object()) rows.push_back(row(h.get_object(), o));
  }
  std::string table =
      o.human ? "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
              : "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
  std::string format = o.quiet ? std::string("{{.ID}}") : o.format;
  print_rows(ctx, format, table, rows,
             {{"ID", "IMAGE"},
              {"CreatedSince", "CREATED"},
              {"CreatedAt", "CREATED AT"},
              {"CreatedBy", "CREATED BY"}});
}

}  // namespace

void configure_history(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("IMAGE", o->image, "The image")->required();
  // Docker's -H means --human here, not the global --host, and takes its
  // value as pflag does: -H, -H=false, --human=false.
  cmd.add_flag("-H,--human{true}", o->human,
               "Print sizes and dates in human readable format (default true)")
      ->transform([](std::string v) { return v.starts_with("=") ? v.substr(1) : v; });
  cmd.add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
  cmd.add_flag("-q,--quiet", o->quiet, "Only show image IDs");
  cmd.add_option("--format", o->format,
                 "Format output: \"table\", \"json\", \"table TEMPLATE\" or a Go template");
  cmd.callback([&ctx, o] { run(ctx, *o); });
}

}  // namespace berth::cli
