// berth images / berth image ls: the image list, one row per tag.
#include "command.hpp"
#include "reference.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <set>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct Opts {
  std::string reference;
  bool all = false, quiet = false, digests = false, no_trunc = false;
  std::vector<std::string> filters;
  std::string format;
};

std::int64_t integer(const json::object& o, std::string_view key, std::int64_t fallback = 0) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return fallback;
}

std::vector<std::string> strings(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* v = o.if_contains(key); v != nullptr && v->is_array()) {
    for (const auto& s : v->get_array()) {
      if (s.is_string()) out.emplace_back(s.get_string());
    }
  }
  return out;
}

}  // namespace

json::value image_row(const json::object& image, bool trunc, const std::string& repo,
                      const std::string& tag, const std::string& digest) {
  std::string id = image.contains("Id") && image.at("Id").is_string()
                       ? std::string(image.at("Id").get_string())
                       : "";
  std::int64_t created = integer(image, "Created");
  std::int64_t size = integer(image, "Size");
  std::int64_t shared = integer(image, "SharedSize", -1);
  std::int64_t containers = integer(image, "Containers", -1);
  std::int64_t virtual_size = integer(image, "VirtualSize", size);
  auto na_or = [](std::int64_t v, std::string text) { return v == -1 ? std::string("N/A") : text; };
  return json::object{
      {"Containers", na_or(containers, std::to_string(containers))},
      {"CreatedAt", go_time_string(created)},
      {"CreatedSince", human_since(created)},
      {"Digest", digest},
      {"ID", trunc ? short_id(id) : id},
      {"Repository", repo},
      {"SharedSize", na_or(shared, human_size(static_cast<double>(shared)))},
      {"Size", human_size(static_cast<double>(size), 3)},
      {"Tag", tag},
      {"UniqueSize", size == -1 || shared == -1 ? std::string("N/A")
                                                : human_size(static_cast<double>(size - shared))},
      {"VirtualSize", human_size(static_cast<double>(virtual_size))},
  };
}

namespace {

// Docker's imageFormatTaggedAndDigest: a row per repository and tag (per
// digest too with --digests), then rows for repositories known only by
// digest. Repositories keep the order the daemon listed them in.
void add_rows(std::vector<json::value>& rows, const json::object& image, const Opts& o) {
  auto tags = strings(image, "RepoTags");
  auto digests = strings(image, "RepoDigests");
  bool legacy_dangling = tags.size() == 1 && tags[0] == "<none>:<none>" && digests.size() == 1 &&
                         digests[0] == "<none>@<none>";
  if ((tags.empty() && digests.empty()) || legacy_dangling) {
    rows.push_back(image_row(image, !o.no_trunc, "<none>", "<none>", "<none>"));
    return;
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> repo_tags, repo_digests;
  auto slot = [](auto& list, const std::string& repo) -> std::vector<std::string>& {
    for (auto& [name, values] : list) {
      if (name == repo) return values;
    }
    return list.emplace_back(repo, std::vector<std::string>{}).second;
  };
  for (const auto& t : tags) {
    try {
      auto ref = parse_normalized_named(t);
      if (!ref.tag.empty()) slot(repo_tags, ref.familiar_name()).push_back(ref.tag);
    } catch (const CliError&) {
      // Docker skips what it cannot parse.
    }
  }
  for (const auto& d : digests) {
    try {
      auto ref = parse_normalized_named(d);
      if (!ref.digest.empty()) slot(repo_digests, ref.familiar_name()).push_back(ref.digest);
    } catch (const CliError&) {
    }
  }
  for (const auto& [repo, repo_tag_list] : repo_tags) {
    std::vector<std::string> dgsts;
    auto it = std::find_if(repo_digests.begin(), repo_digests.end(),
                           [&](const auto& p) { return p.first == repo; });
    if (it != repo_digests.end()) {
      // Docker's needDigest: asked for, or used by the format.
      if (o.digests || o.format.find("{{.Digest}}") != std::string::npos) dgsts = it->second;
      repo_digests.erase(it);
    }
    for (const auto& tag : repo_tag_list) {
      if (dgsts.empty()) rows.push_back(image_row(image, !o.no_trunc, repo, tag, "<none>"));
      for (const auto& d : dgsts) rows.push_back(image_row(image, !o.no_trunc, repo, tag, d));
    }
  }
  for (const auto& [repo, dgsts] : repo_digests) {
    if (o.digests) {
      for (const auto& d : dgsts) rows.push_back(image_row(image, !o.no_trunc, repo, "<none>", d));
    } else {
      rows.push_back(image_row(image, !o.no_trunc, repo, "<none>", ""));
    }
  }
}

void run(Context& ctx, const Opts& o) {
  std::vector<std::pair<std::string, std::string>> extra;
  if (!o.reference.empty()) extra.emplace_back("reference", o.reference);
  std::string filters = filters_json(o.filters, extra);
  std::string path = "/images/json";
  std::string query;
  if (o.all) query += "&all=1";
  if (!filters.empty()) query += "&filters=" + query_escape(filters);
  if (!query.empty()) path += "?" + query.substr(1);
  json::value list = ctx.client().get_json(path);
  if (!list.is_array())
    throw CliError("unexpected answer from daemon for " + path + ": not a list");

  std::vector<const json::object*> images;
  for (const auto& v : list.get_array()) {
    if (v.is_object()) images.push_back(&v.get_object());
  }
  // Newest first, as Docker's daemon sorts; stable for equal times.
  std::stable_sort(images.begin(), images.end(), [](const json::object* a, const json::object* b) {
    return integer(*a, "Created") > integer(*b, "Created");
  });
  std::vector<json::value> rows;
  for (const auto* image : images) add_rows(rows, *image, o);

  if (o.quiet) {
    // One line per image, not per tag, so `berth rmi $(berth images -q)`
    // names each image once.
    std::set<std::string> seen;
    for (const auto& r : rows) {
      std::string id(r.at("ID").get_string());
      if (seen.insert(id).second) ctx.out << id << "\n";
    }
    return;
  }
  std::string table =
      o.digests
          ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
          : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
  std::string format = o.format;
  if (o.digests && format.starts_with("table") && format.find("{{.Digest}}") == std::string::npos &&
      format.find_first_not_of(' ', 5) != std::string::npos) {
    format += "\t{{.Digest}}";
  }
  print_rows(ctx, format, table, rows, {{"ID", "IMAGE ID"}, {"CreatedSince", "CREATED"}});
}

}  // namespace

void configure_images(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("REPOSITORY", o->reference, "Show images of this repository (REPOSITORY[:TAG])");
  cmd.add_flag("-a,--all", o->all, "Show all images (default hides intermediate images)");
  cmd.add_flag("-q,--quiet", o->quiet, "Only show image IDs");
  cmd.add_flag("--digests", o->digests, "Show digests");
  cmd.add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
  cmd.add_option("-f,--filter", o->filters, "Filter output based on conditions provided")
      ->allow_extra_args(false);
  cmd.add_option("--format", o->format,
                 "Format output: \"table\", \"json\", \"table TEMPLATE\" or a Go template");
  cmd.callback([&ctx, o] { run(ctx, *o); });
}

}  // namespace berth::cli
