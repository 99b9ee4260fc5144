// berth start (docker/cli start.go): start containers, or with -a/-i attach
// to one first and stay with it until it exits.
#include "container_common.hpp"

#include <boost/json.hpp>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct Opts {
  bool attach = false, interactive = false;
  std::string detach_keys;
  std::vector<std::string> containers;
};

bool member_bool(const json::object& o, std::string_view object, std::string_view key) {
  const auto* inner = o.if_contains(object);
  if (inner == nullptr || !inner->is_object()) return false;
  const auto* v = inner->as_object().if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

void start_attached(Context& ctx, const Opts& o) {
  if (o.containers.size() > 1) throw CliError("you cannot start and attach multiple containers at once");
  json::object c = inspect_container(ctx, o.containers.front());
  std::string id(c.at("Id").as_string());
  bool tty = member_bool(c, "Config", "Tty");
  bool auto_remove = member_bool(c, "HostConfig", "AutoRemove");
  std::string detach_keys = checked_detach_keys(o.detach_keys);
  bool attach_stdin = o.interactive && member_bool(c, "Config", "OpenStdin");

  std::string path = "/containers/" + id + "/attach?stream=1&stdout=1&stderr=1";
  if (attach_stdin) path += "&stdin=1";
  if (!detach_keys.empty()) path += "&detachKeys=" + query_escape(detach_keys);
  auto conn = ctx.client().hijack(path);
  ExitWaiter waiter(ctx, id, auto_remove ? "removed" : "next-exit");
  Response r = ctx.client().request("POST", "/containers/" + id + "/start");
  if ((r.status < 200 || r.status >= 300) && r.status != 304) {
    conn.reset();
    if (auto_remove) waiter.status();
    check_response(r);
  }
  AttachStream s;
  s.id = id;
  s.tty = tty;
  s.attach_stdin = attach_stdin;
  s.attach_stdout = s.attach_stderr = true;
  s.detach_keys = detach_keys;
  s.proxy_signals = !tty;
  s.monitor_size = true;
  if (stream_attached(ctx, *conn, s) == PumpEnd::detached) return;
  if (int status = waiter.status(); status != 0) throw CliError("", status);
}

void start(Context& ctx, const Opts& o) {
  if (o.attach || o.interactive) {
    start_attached(ctx, o);
    return;
  }
  std::vector<std::string> failed;
  for (const auto& name : o.containers) {
    try {
      container_request(ctx, "POST", "/containers/" + path_escape(name) + "/start");
      ctx.out << name << "\n";
      ctx.out.flush();
    } catch (const CliError& e) {
      ctx.err << e.what() << "\n";
      ctx.err.flush();
      failed.push_back(name);
    }
  }
  if (!failed.empty()) {
    std::string list;
    for (const auto& f : failed) list += (list.empty() ? "" : ", ") + f;
    throw CliError("Error: failed to start containers: " + list);
  }
}

}  // namespace

void configure_start(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("CONTAINER", o->containers, "Containers to start")->required();
  cmd.add_flag("-a,--attach", o->attach, "Attach STDOUT/STDERR and forward signals");
  cmd.add_flag("-i,--interactive", o->interactive, "Attach container's STDIN");
  cmd.add_option("--detach-keys", o->detach_keys, "Override the key sequence for detaching a container");
  cmd.callback([&ctx, o] { start(ctx, *o); });
}

}  // namespace berth::cli
