// berth volume ls (docker/cli volume/list.go, formatter/volume.go).
#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <memory>

#include "command.hpp"
#include "json_fields.hpp"
#include "volume.hpp"

namespace berth::cli {
namespace json = boost::json;

json::object volume_row(const json::object& v) {
  std::vector<std::string> labels;
  if (const auto* l = v.if_contains("Labels"); l != nullptr && l->is_object()) {
    for (const auto& [k, value] : l->as_object()) {
      labels.push_back(std::string(k) + "=" +
                       (value.is_string() ? std::string(value.as_string()) : ""));
    }
  }
  // Docker joins a Go map, in no fixed order; sorted here.
  std::sort(labels.begin(), labels.end());
  std::string label_text;
  for (const auto& l : labels) label_text += (label_text.empty() ? "" : ",") + l;
  std::string links = "N/A", size = "N/A";
  if (const auto* u = v.if_contains("UsageData"); u != nullptr && u->is_object()) {
    links = std::to_string(num(u->as_object(), "RefCount"));
    size = human_size(static_cast<double>(num(u->as_object(), "Size")));
  }
  return {
      {"Availability", "N/A"},  {"Driver", str(v, "Driver")},
      {"Group", "N/A"},         {"Labels", label_text},
      {"Links", links},         {"Mountpoint", str(v, "Mountpoint")},
      {"Name", str(v, "Name")}, {"Scope", str(v, "Scope")},
      {"Size", size},           {"Status", "N/A"},
  };
}

std::vector<json::value> volume_rows(const json::array& volumes) {
  std::vector<const json::object*> sorted;
  for (const auto& v : volumes) {
    if (v.is_object()) sorted.push_back(&v.as_object());
  }
  std::stable_sort(sorted.begin(), sorted.end(), [](const json::object* a, const json::object* b) {
    return natural_less(str(*a, "Name"), str(*b, "Name"));
  });
  std::vector<json::value> rows;
  for (const auto* v : sorted) rows.emplace_back(volume_row(*v));
  return rows;
}

format::Methods volume_methods(const json::array& volumes) {
  auto labels = std::make_shared<std::map<std::string, json::object, std::less<>>>();
  for (const auto& v : volumes) {
    if (!v.is_object()) continue;
    const auto* l = v.as_object().if_contains("Labels");
    if (l != nullptr && l->is_object()) (*labels)[str(v.as_object(), "Name")] = l->as_object();
  }
  format::Method label{1, [labels](const json::value& row, const std::vector<std::string>& args) {
                         const auto it = labels->find(str(row.as_object(), "Name"));
                         if (it == labels->end()) return json::value("");
                         const auto* value = it->second.if_contains(args[0]);
                         return value != nullptr && value->is_string() ? *value : json::value("");
                       }};
  return {{"Label", std::move(label)}};
}

namespace {

struct Opts {
  bool quiet = false;
  std::vector<std::string> filters;
  std::string format;
};

void ls(Context& ctx, const Opts& o) {
  std::string path = "/volumes";
  if (std::string f = filters_json(o.filters); !f.empty()) path += "?filters=" + query_escape(f);
  json::value answer = ctx.client().get_json(path);
  if (!answer.is_object())
    throw CliError("unexpected answer from daemon for " + path + ": not an object");
  // A Go nil slice arrives as null.
  json::array volumes;
  if (const auto* v = answer.as_object().if_contains("Volumes"); v != nullptr && v->is_array()) {
    volumes = v->as_array();
  }
  auto rows = volume_rows(volumes);
  // Docker's NewVolumeFormat: -q only replaces the default table.
  if (o.quiet && (o.format.empty() || o.format == "table")) {
    for (const auto& r : rows)
      ctx.out << std::string_view(r.as_object().at("Name").as_string()) << "\n";
    return;
  }
  print_rows(ctx, o.format, "table {{.Driver}}\t{{.Name}}", rows, volume_headers(),
             volume_methods(volumes));
}

}  // namespace

void configure_volume_ls(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("-f,--filter", o->filters, "Provide filter values (e.g. \"dangling=true\")")
      ->allow_extra_args(false);
  cmd.add_option("--format", o->format,
                 "Format output: \"table\", \"json\", \"table TEMPLATE\" or a Go template");
  cmd.add_flag("-q,--quiet", o->quiet, "Only display volume names");
  cmd.callback([&ctx, o] { ls(ctx, *o); });
}

}  // namespace berth::cli
