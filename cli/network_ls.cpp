// berth network ls (docker/cli network/list.go, network/formatter.go).
#include "json_fields.hpp"
#include <algorithm>
#include <boost/json.hpp>
#include <regex>

#include "command.hpp"
#include "network.hpp"

namespace berth::cli {
namespace json = boost::json;

namespace {

bool boolean(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

// Go's time.Time.String() of an RFC 3339 time as encoding/json decodes it:
// "2016-10-19 06:21:00.416543526 +0000 UTC" (a zone other than Z keeps its
// offset as its name: "+0100 +0100").
std::string go_time(const std::string& rfc3339) {
  static const std::regex time(
      R"(^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$)");
  std::smatch m;
  if (!std::regex_match(rfc3339, m, time)) return rfc3339;
  std::string fraction = m[3].str().substr(0, 9);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  std::string zone = m[4].str();
  if (zone == "Z" || zone == "z") {
    zone = "+0000 UTC";
  } else {
    zone.erase(3, 1);
    zone += " " + zone;
  }
  return m[1].str() + " " + m[2].str() + (fraction.empty() ? "" : "." + fraction) + " " + zone;
}

}  // namespace

json::object network_row(const json::object& n, bool trunc) {
  std::string id = str(n, "Id");
  std::vector<std::string> labels;
  if (const auto* l = n.if_contains("Labels"); l != nullptr && l->is_object()) {
    for (const auto& [k, v] : l->as_object()) {
      labels.push_back(std::string(k) + "=" + (v.is_string() ? std::string(v.as_string()) : ""));
    }
  }
  // Docker joins a Go map, in no fixed order; sorted here.
  std::sort(labels.begin(), labels.end());
  std::string label_text;
  for (const auto& l : labels) label_text += (label_text.empty() ? "" : ",") + l;
  return {
      {"CreatedAt", go_time(str(n, "Created"))},
      {"Driver", str(n, "Driver")},
      {"ID", trunc ? short_id(id) : id},
      {"IPv6", boolean(n, "EnableIPv6") ? "true" : "false"},
      {"Internal", boolean(n, "Internal") ? "true" : "false"},
      {"Labels", label_text},
      {"Name", str(n, "Name")},
      {"Scope", str(n, "Scope")},
  };
}

std::vector<json::value> network_rows(const json::array& networks, bool trunc) {
  std::vector<const json::object*> sorted;
  for (const auto& n : networks) {
    if (n.is_object()) sorted.push_back(&n.as_object());
  }
  std::stable_sort(sorted.begin(), sorted.end(), [](const json::object* a, const json::object* b) {
    return natural_less(str(*a, "Name"), str(*b, "Name"));
  });
  std::vector<json::value> rows;
  for (const auto* n : sorted) rows.emplace_back(network_row(*n, trunc));
  return rows;
}

namespace {

struct Opts {
  bool quiet = false, no_trunc = false;
  std::vector<std::string> filters;
  std::string format;
};

void ls(Context& ctx, const Opts& o) {
  std::string path = "/networks";
  if (std::string f = filters_json(o.filters); !f.empty()) path += "?filters=" + query_escape(f);
  json::value list = ctx.client().get_json(path);
  if (!list.is_array())
    throw CliError("unexpected answer from daemon for " + path + ": not a list");
  auto rows = network_rows(list.as_array(), !o.no_trunc);
  // Docker's NewFormat: -q only replaces the default table.
  if (o.quiet && (o.format.empty() || o.format == "table")) {
    for (const auto& r : rows)
      ctx.out << std::string_view(r.as_object().at("ID").as_string()) << "\n";
    return;
  }
  print_rows(ctx, o.format, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", rows,
             {{"ID", "NETWORK ID"}, {"IPv6", "IPV6"}});
}

}  // namespace

void configure_network_ls(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("-f,--filter", o->filters, "Provide filter values (e.g. \"driver=bridge\")")
      ->allow_extra_args(false);
  cmd.add_option("--format", o->format,
                 "Format output: \"table\", \"json\", \"table TEMPLATE\" or a Go template");
  cmd.add_flag("--no-trunc", o->no_trunc, "Do not truncate the output");
  cmd.add_flag("-q,--quiet", o->quiet, "Only display network IDs");
  cmd.callback([&ctx, o] { ls(ctx, *o); });
}

}  // namespace berth::cli
