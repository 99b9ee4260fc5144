// berth ps / berth container ls: the container list in Docker's columns
// (docker/cli list.go, formatter/container.go).
#include "json_fields.hpp"
#include "container_common.hpp"
#include "format/template.hpp"
#include "reference.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace berth::cli {
namespace json = boost::json;

namespace {

// Go's strconv.Quote, as the template engine's printf "%q" has it.
std::string go_quoted(const std::string& s) {
  static const format::Template quote = format::Template::parse("{{printf \"%q\" .}}");
  return quote.render(json::value(s));
}

// Docker's ContainerContext.Image.
std::string image_column(const json::object& c, bool trunc) {
  std::string image = str(c, "Image");
  if (image.empty()) return "<no image>";
  if (!trunc) return image;
  if (short_id(str(c, "ImageID")) == short_id(image)) return short_id(image);
  try {
    ImageReference ref = parse_normalized_named(image);
    std::string out = ref.familiar_name();
    if (!ref.tag.empty()) out += ":" + ref.tag;
    return out;
  } catch (const CliError&) {
    return image;
  }
}

}  // namespace

json::object container_row(const json::object& c, bool trunc) {
  std::string id = str(c, "Id");
  std::string names;
  if (const auto* list = c.if_contains("Names"); list != nullptr && list->is_array()) {
    for (const auto& n : list->as_array()) {
      if (!n.is_string()) continue;
      std::string name(n.as_string());
      if (name.starts_with("/")) name.erase(0, 1);
      if (trunc) {
        // One name: the first that is not a legacy link ("/other/alias").
        if (name.find('/') == std::string::npos) {
          names = name;
          break;
        }
        continue;
      }
      names += (names.empty() ? "" : ",") + name;
    }
  }
  std::string command = str(c, "Command");
  std::int64_t created = num(c, "Created");
  std::string size = human_size(static_cast<double>(num(c, "SizeRw")), 3);
  if (num(c, "SizeRootFs") > 0) size += " (virtual " + human_size(static_cast<double>(num(c, "SizeRootFs")), 3) + ")";
  std::vector<std::string> labels;
  if (const auto* l = c.if_contains("Labels"); l != nullptr && l->is_object()) {
    for (const auto& [k, v] : l->as_object()) {
      labels.push_back(std::string(k) + "=" + (v.is_string() ? std::string(v.as_string()) : ""));
    }
  }
  std::sort(labels.begin(), labels.end());
  std::string label_text, mounts, networks;
  for (const auto& l : labels) label_text += (label_text.empty() ? "" : ",") + l;
  int local_volumes = 0;
  if (const auto* m = c.if_contains("Mounts"); m != nullptr && m->is_array()) {
    for (const auto& v : m->as_array()) {
      if (!v.is_object()) continue;
      std::string name = str(v.as_object(), "Name");
      if (name.empty()) name = str(v.as_object(), "Source");
      if (trunc) name = ellipsis(name, 15);
      mounts += (mounts.empty() ? "" : ",") + name;
      if (str(v.as_object(), "Driver") == "local") ++local_volumes;
    }
  }
  if (const auto* ns = c.if_contains("NetworkSettings"); ns != nullptr && ns->is_object()) {
    if (const auto* nets = ns->as_object().if_contains("Networks"); nets != nullptr && nets->is_object()) {
      for (const auto& [k, v] : nets->as_object()) networks += (networks.empty() ? "" : ",") + std::string(k);
    }
  }
  const auto* ports = c.if_contains("Ports");
  return {
      {"Command", go_quoted(trunc ? ellipsis(command, 20) : command)},
      {"CreatedAt", go_time_string(created)},
      {"ID", trunc ? short_id(id) : id},
      {"Image", image_column(c, trunc)},
      {"Labels", label_text},
      {"LocalVolumes", std::to_string(local_volumes)},
      {"Mounts", mounts},
      {"Names", names},
      {"Networks", networks},
      {"Ports", ports != nullptr && ports->is_array() ? displayable_ports(ports->as_array()) : ""},
      {"RunningFor", human_since(created)},
      {"Size", size},
      {"State", str(c, "State")},
      {"Status", str(c, "Status")},
  };
}

namespace {

struct Opts {
  bool all = false, quiet = false, size = false, latest = false, no_trunc = false;
  int last = -1;
  std::vector<std::string> filters;
  std::string format;
};

void ps(Context& ctx, const Opts& o) {
  std::string path = "/containers/json";
  std::string query;
  int limit = o.latest && o.last == -1 ? 1 : o.last;
  bool size = o.size || (!o.quiet && o.format.find(".Size") != std::string::npos);
  if (o.all) query += "&all=1";
  if (limit > 0) query += "&limit=" + std::to_string(limit);
  if (size) query += "&size=1";
  if (std::string f = filters_json(o.filters); !f.empty()) query += "&filters=" + query_escape(f);
  if (!query.empty()) path += "?" + query.substr(1);
  json::value list = ctx.client().get_json(path);
  if (!list.is_array()) throw CliError("unexpected answer from daemon for " + path + ": not a list");
  std::vector<json::value> rows;
  for (const auto& c : list.as_array()) {
    if (c.is_object()) rows.emplace_back(container_row(c.as_object(), !o.no_trunc));
  }
  if (o.quiet) {
    for (const auto& r : rows) ctx.out << std::string_view(r.as_object().at("ID").as_string()) << "\n";
    return;
  }
  std::string table =
      "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
  if (o.size) table += "\t{{.Size}}";
  print_rows(ctx, o.format, table, rows, {{"ID", "CONTAINER ID"}, {"RunningFor", "CREATED"}});
}

}  // namespace

void configure_ps(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_flag("-a,--all", o->all, "Show all containers (default shows just running)");
  cmd.add_option("-f,--filter", o->filters, "Filter output based on conditions provided")->allow_extra_args(false);
  cmd.add_option("--format", o->format,
                 "Format output: \"table\", \"json\", \"table TEMPLATE\" or a Go template");
  cmd.add_option("-n,--last", o->last, "Show n last created containers (includes all states) (default -1)");
  cmd.add_flag("-l,--latest", o->latest, "Show the latest created container (includes all states)");
  cmd.add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
  cmd.add_flag("-q,--quiet", o->quiet, "Only display container IDs");
  cmd.add_flag("-s,--size", o->size, "Display total file sizes");
  cmd.callback([&ctx, o] { ps(ctx, *o); });
}

}  // namespace berth::cli
