// berth port, diff, export, update and commit: the container commands that
// read or change one aspect of a container (docker/cli port.go, diff.go,
// export.go, update.go, commit.go).
#include "container_common.hpp"
#include "container_opts.hpp"
#include "reference.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace berth::cli {
namespace json = boost::json;

namespace {

void port(Context& ctx, const std::string& container, const std::string& private_port) {
  json::object c = inspect_container(ctx, container);
  json::object ports;
  if (const auto* ns = c.if_contains("NetworkSettings"); ns != nullptr && ns->is_object()) {
    if (const auto* p = ns->as_object().if_contains("Ports"); p != nullptr && p->is_object()) ports = p->as_object();
  }
  for (const auto& line : port_lines(ports, private_port, container)) ctx.out << line << "\n";
}

void diff(Context& ctx, const std::string& container) {
  json::value changes = ctx.client().get_json("/containers/" + path_escape(container) + "/changes");
  if (!changes.is_array()) return;
  for (const auto& change : changes.as_array()) {
    if (!change.is_object()) continue;
    const auto& o = change.as_object();
    const auto* kind = o.if_contains("Kind");
    const auto* path = o.if_contains("Path");
    if (kind == nullptr || !kind->is_number() || path == nullptr || !path->is_string()) continue;
    static const char* const kKinds[] = {"C", "A", "D"};
    auto k = kind->to_number<std::int64_t>();
    ctx.out << (k >= 0 && k < 3 ? kKinds[k] : "?") << " " << std::string_view(path->as_string()) << "\n";
  }
}

void update(Context& ctx, CLI::App& cmd, ContainerFlags& flags, const std::vector<std::string>& containers) {
  record_changed_flags(cmd, flags);
  if (flags.changed.empty()) throw CliError("you must provide one or more flags when using this command");
  json::object body;
  try {
    body = update_body(flags);
  } catch (const FlagError& e) {
    throw CliError(std::string("berth: ") + e.what() + "\nSee 'berth update --help'.", 125);
  }
  std::string text = json::serialize(body);
  std::string errors;
  for (const auto& name : containers) {
    try {
      Response r = container_request(ctx, "POST", "/containers/" + path_escape(name) + "/update", text);
      json::error_code ec;
      json::value v = json::parse(r.body, ec);
      const json::value* warnings = !ec && v.is_object() ? v.as_object().if_contains("Warnings") : nullptr;
      if (warnings != nullptr && warnings->is_array()) {
        for (const auto& w : warnings->as_array()) {
          if (w.is_string()) ctx.err << std::string_view(w.as_string()) << "\n";
        }
      }
      ctx.out << name << "\n";
    } catch (const CliError& e) {
      errors += (errors.empty() ? "" : "\n") + std::string(e.what());
    }
  }
  if (!errors.empty()) throw CliError(errors);
}

struct CommitOpts {
  std::string container, reference, author, message;
  std::vector<std::string> changes;
  bool pause = true;
};

void commit(Context& ctx, const CommitOpts& o) {
  std::string query = "container=" + query_escape(o.container);
  if (!o.reference.empty()) {
    ImageReference ref = parse_normalized_named(o.reference);
    if (!ref.digest.empty()) throw CliError("refusing to create a tag with a digest reference");
    query += "&repo=" + query_escape(ref.familiar_name());
    if (!ref.tag.empty()) query += "&tag=" + query_escape(ref.tag);
  }
  if (!o.message.empty()) query += "&comment=" + query_escape(o.message);
  if (!o.author.empty()) query += "&author=" + query_escape(o.author);
  for (const auto& c : o.changes) query += "&changes=" + query_escape(c);
  query += o.pause ? "&pause=1" : "&pause=0";
  Response r = container_request(ctx, "POST", "/commit?" + query, "{}");
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  const json::value* id = !ec && v.is_object() ? v.as_object().if_contains("Id") : nullptr;
  if (id == nullptr || !id->is_string()) throw CliError("invalid answer from daemon for commit: " + r.body);
  ctx.out << std::string_view(id->as_string()) << "\n";
}

}  // namespace

void configure_port(CLI::App& cmd, Context& ctx) {
  auto args = std::make_shared<std::pair<std::string, std::string>>();
  cmd.add_option("CONTAINER", args->first, "Container")->required();
  cmd.add_option("PRIVATE_PORT", args->second, "PRIVATE_PORT[/PROTO]");
  cmd.callback([&ctx, args] { port(ctx, args->first, args->second); });
}

void configure_diff(CLI::App& cmd, Context& ctx) {
  auto container = std::make_shared<std::string>();
  cmd.add_option("CONTAINER", *container, "Container")->required();
  cmd.callback([&ctx, container] { diff(ctx, *container); });
}

void configure_export(CLI::App& cmd, Context& ctx) {
  auto args = std::make_shared<std::pair<std::string, std::string>>();
  cmd.add_option("CONTAINER", args->first, "Container to export")->required();
  cmd.add_option("-o,--output", args->second, "Write to a file, instead of STDOUT");
  cmd.callback([&ctx, args] {
    download_tar(ctx, "/containers/" + path_escape(args->first) + "/export", args->second,
                 "failed to export container");
  });
}

void configure_update(CLI::App& cmd, Context& ctx) {
  auto flags = std::make_shared<ContainerFlags>();
  auto containers = std::make_shared<std::vector<std::string>>();
  flags->restart.clear();
  cmd.add_option("CONTAINER", *containers, "Containers to update")->required();
  add_update_flags(cmd, *flags);
  cmd.callback([&ctx, &cmd, flags, containers] { update(ctx, cmd, *flags, *containers); });
}

void configure_commit(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<CommitOpts>();
  cmd.add_option("CONTAINER", o->container, "Container to commit")->required();
  cmd.add_option("REPOSITORY", o->reference, "REPOSITORY[:TAG]");
  cmd.add_option("-a,--author", o->author, "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")");
  cmd.add_option("-c,--change", o->changes, "Apply Dockerfile instruction to the created image")->allow_extra_args(false);
  cmd.add_option("-m,--message", o->message, "Commit message");
  cmd.add_flag("-p,--pause", o->pause, "Pause container during commit (default true)");
  cmd.callback([&ctx, o] { commit(ctx, *o); });
}

}  // namespace berth::cli
