// berth rm / berth container rm (docker/cli rm.go).
#include "container_common.hpp"

namespace berth::cli {

namespace {

struct Opts {
  bool force = false, volumes = false, link = false;
  std::vector<std::string> containers;
};

void rm(Context& ctx, const Opts& o) {
  std::string query;
  if (o.volumes) query += "&v=1";
  if (o.link) query += "&link=1";
  if (o.force) query += "&force=1";
  if (!query.empty()) query = "?" + query.substr(1);
  for_each_container(ctx, o.containers, [&](const std::string& name) {
    std::string id = name;
    id.erase(0, id.find_first_not_of('/') == std::string::npos ? id.size() : id.find_first_not_of('/'));
    while (!id.empty() && id.back() == '/') id.pop_back();
    if (id.empty()) throw CliError("Container name cannot be empty");
    Response r = ctx.client().request("DELETE", "/containers/" + path_escape(id) + query);
    if (r.status == 404 && o.force) {
      // Forced: a container that is not there is reported, not an error.
      try {
        check_response(r);
      } catch (const CliError& e) {
        ctx.err << e.what() << "\n";
      }
      return false;
    }
    check_response(r);
    return true;
  });
}

}  // namespace

void configure_rm(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("CONTAINER", o->containers, "Containers to remove")->required();
  cmd.add_flag("-f,--force", o->force, "Force the removal of a running container (uses SIGKILL)");
  cmd.add_flag("-l,--link", o->link, "Remove the specified link");
  cmd.add_flag("-v,--volumes", o->volumes, "Remove anonymous volumes associated with the container");
  cmd.callback([&ctx, o] { rm(ctx, *o); });
}

}  // namespace berth::cli
