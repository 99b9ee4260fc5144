// berth system df: the daemon's disk usage (GET /system/df) as Docker's
// summary table, or with -v one table per kind of object.
#include "command.hpp"
#include "reference.hpp"
#include "volume.hpp"

#include <boost/json.hpp>

#include <optional>
#include <utility>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct DfOpts {
  bool verbose = false;
  std::string format;
};

std::int64_t number(const json::value* v, std::int64_t fallback = 0) {
  if (v == nullptr || !v->is_number()) return fallback;
  json::error_code ec;
  auto n = v->to_number<std::int64_t>(ec);
  return ec ? fallback : n;
}

std::int64_t number(const json::object& o, std::string_view key, std::int64_t fallback = 0) {
  return number(o.if_contains(key), fallback);
}

std::vector<const json::object*> objects(const json::object& o, std::string_view key) {
  std::vector<const json::object*> out;
  if (const auto* v = o.if_contains(key); v != nullptr && v->is_array()) {
    for (const auto& item : v->get_array()) {
      if (item.is_object()) out.push_back(&item.get_object());
    }
  }
  return out;
}

std::string size_text(std::int64_t bytes) { return human_size(static_cast<double>(bytes)); }

// "1.2MB (50%)" as Docker's Reclaimable columns, the share only when there
// is a total to divide by.
std::string reclaimable_text(std::int64_t reclaimable, std::int64_t total) {
  if (total <= 0) return size_text(reclaimable);
  return size_text(reclaimable) + " (" + std::to_string(reclaimable * 100 / total) + "%)";
}

json::value summary_row(std::string type, std::size_t total, int active, std::string size,
                        std::string reclaimable) {
  return json::object{{"Active", std::to_string(active)},
                      {"Reclaimable", std::move(reclaimable)},
                      {"Size", std::move(size)},
                      {"TotalCount", std::to_string(total)},
                      {"Type", std::move(type)}};
}

bool flag(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

// One kind of object as the summary counts it: how many are in use, their
// size, and the size of those not in use (what a prune would free).
struct Tally {
  std::size_t total = 0;
  int active = 0;
  std::int64_t size = 0, idle = 0;
};

// `item` tells for each object whether it is in use and its size (nullopt:
// it does not count towards the size).
template <typename Item>
Tally tally(const std::vector<const json::object*>& objects, Item item) {
  Tally t;
  t.total = objects.size();
  for (const auto* o : objects) {
    auto [active, size] = item(*o);
    if (active) ++t.active;
    if (!size) continue;
    t.size += *size;
    if (!active) t.idle += *size;
  }
  return t;
}

// The four rows of Docker's DiskUsageContext (formatter/disk_usage.go).
std::vector<json::value> summary_rows(const json::object& du) {
  using Item = std::pair<bool, std::optional<std::int64_t>>;
  std::vector<json::value> rows;

  // Images: the layers of images no container uses are reclaimable;
  // LayersSize counts a shared layer once.
  std::int64_t layers = number(du, "LayersSize"), used = 0;
  Tally images = tally(objects(du, "Images"), [&](const json::object& i) {
    bool active = number(i, "Containers", -1) > 0;
    std::int64_t size = number(i, "VirtualSize", -1), shared = number(i, "SharedSize", -1);
    if (active && size != -1 && shared != -1) used += size - shared;
    return Item{active, std::nullopt};
  });
  rows.push_back(summary_row("Images", images.total, images.active, size_text(layers),
                             reclaimable_text(layers - used, layers)));

  // Containers: their writable layers; a stopped container's is reclaimable.
  Tally containers = tally(objects(du, "Containers"), [](const json::object& c) {
    const auto* state = c.if_contains("State");
    std::string s = state != nullptr && state->is_string() ? std::string(state->get_string()) : "";
    return Item{s == "running" || s == "paused" || s == "restarting", number(c, "SizeRw")};
  });
  rows.push_back(summary_row("Containers", containers.total, containers.active,
                             size_text(containers.size),
                             reclaimable_text(containers.idle, containers.size)));

  // Local volumes: those no container references are reclaimable; an
  // unknown size (-1) is left out.
  Tally volumes = tally(objects(du, "Volumes"), [](const json::object& v) {
    const auto* usage = v.if_contains("UsageData");
    if (usage == nullptr || !usage->is_object()) return Item{false, std::nullopt};
    std::int64_t size = number(usage->get_object(), "Size", -1);
    return Item{number(usage->get_object(), "RefCount") > 0,
                size == -1 ? std::nullopt : std::optional<std::int64_t>(size)};
  });
  rows.push_back(summary_row("Local Volumes", volumes.total, volumes.active,
                             size_text(volumes.size),
                             reclaimable_text(volumes.idle, volumes.size)));

  // Build cache: records shared with others do not count; those in use are
  // not reclaimable (and Docker shows no share here).
  Tally cache = tally(objects(du, "BuildCache"), [](const json::object& b) {
    return Item{flag(b, "InUse"),
                flag(b, "Shared") ? std::nullopt : std::optional<std::int64_t>(number(b, "Size"))};
  });
  rows.push_back(summary_row("Build Cache", cache.total, cache.active, size_text(cache.size),
                             size_text(cache.idle)));
  return rows;
}

// Docker's verbose image rows: the first tag split into repository and tag,
// "<none>" for an untagged image.
std::vector<json::value> image_rows(const json::object& du, bool trunc) {
  std::vector<json::value> rows;
  for (const auto* i : objects(du, "Images")) {
    std::string repo = "<none>", tag = "<none>";
    const auto* tags = i->if_contains("RepoTags");
    if (tags != nullptr && tags->is_array() && !tags->get_array().empty() &&
        tags->get_array()[0].is_string() && tags->get_array()[0].get_string() != "<none>:<none>") {
      try {
        auto ref = parse_normalized_named(std::string(tags->get_array()[0].get_string()));
        if (!ref.tag.empty()) {
          repo = ref.familiar_name();
          tag = ref.tag;
        }
      } catch (const CliError&) {
        continue;  // Docker skips what it cannot parse
      }
    }
    rows.push_back(image_row(*i, trunc, repo, tag, ""));
  }
  return rows;
}

// The volumes as Docker lists them here: in the daemon's order.
std::vector<json::value> volume_du_rows(const json::object& du) {
  std::vector<json::value> rows;
  for (const auto* v : objects(du, "Volumes")) rows.emplace_back(volume_row(*v));
  return rows;
}

void print_verbose(Context& ctx, const json::object& du) {
  ctx.out << "Images space usage:\n\n";
  print_rows(ctx, "",
             "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t"
             "{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
             image_rows(du, true), {{"ID", "IMAGE ID"}, {"CreatedSince", "CREATED"}});
  // The containers and build cache tables are only headed: the CLI has no
  // rows for them yet.
  ctx.out << "\nContainers space usage:\n\n";
  print_rows(ctx, "",
             "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t"
             "{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
             {}, {{"ID", "CONTAINER ID"}, {"RunningFor", "CREATED"}});
  ctx.out << "\nLocal Volumes space usage:\n\n";
  print_rows(ctx, "", "table {{.Name}}\t{{.Links}}\t{{.Size}}", volume_du_rows(du),
             volume_headers());
  auto summary = summary_rows(du);
  ctx.out << "\nBuild cache usage: " << std::string(summary.back().at("Size").get_string())
          << "\n\n";
  print_rows(ctx, "",
             "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t"
             "{{.UsageCount}}\t{{.Shared}}",
             {},
             {{"ID", "CACHE ID"},
              {"CacheType", "CACHE TYPE"},
              {"CreatedSince", "CREATED"},
              {"LastUsedSince", "LAST USED"},
              {"UsageCount", "USAGE"}});
}

void df(Context& ctx, const DfOpts& o) {
  json::value du = ctx.client().get_json("/system/df");
  if (!du.is_object()) throw CliError("unexpected answer from daemon for /system/df");
  const json::object& d = du.get_object();
  if (!o.verbose) {
    print_rows(ctx, o.format,
               "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
               summary_rows(d), {{"TotalCount", "TOTAL"}});
    return;
  }
  if (o.format.empty() || o.format == "table") return print_verbose(ctx, d);
  // Like Docker, a custom format with -v sees all four lists at once.
  auto list = [](std::vector<json::value> rows) {
    return json::array(std::make_move_iterator(rows.begin()), std::make_move_iterator(rows.end()));
  };
  print_formatted(ctx, o.format,
                  json::object{{"Images", list(image_rows(d, false))},
                               {"Containers", json::array{}},
                               {"Volumes", list(volume_du_rows(d))},
                               {"BuildCache", json::array{}}});
}

}  // namespace

void add_system_commands(CLI::App& app, Context& ctx) {
  auto* system = app.add_subcommand("system", "Manage berth");
  system->require_subcommand(1);
  auto o = std::make_shared<DfOpts>();
  auto* df_cmd = system->add_subcommand("df", "Show berth disk usage");
  df_cmd->add_flag("-v,--verbose", o->verbose, "Show detailed information on space usage");
  df_cmd->add_option("--format", o->format,
                     "Format output: \"table\", \"json\", \"table TEMPLATE\" or a Go template");
  df_cmd->callback([&ctx, o] { df(ctx, *o); });
  configure_events(*system->add_subcommand("events", "Get real time events from the server"), ctx);
  configure_events(*app.add_subcommand("events", "Get real time events from the server"), ctx);
}

}  // namespace berth::cli
