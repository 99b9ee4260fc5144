// berth attach (docker/cli attach.go): this terminal's stdin, stdout and
// stderr on a running container, until it exits or the user detaches.
#include "container_common.hpp"

#include <boost/json.hpp>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct Opts {
  bool no_stdin = false, sig_proxy = true;
  std::string detach_keys, container;
};

bool state(const json::object& c, std::string_view key) {
  const auto* s = c.if_contains("State");
  if (s == nullptr || !s->is_object()) return false;
  const auto* v = s->as_object().if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

json::object running_container(Context& ctx, const std::string& name) {
  json::object c = inspect_container(ctx, name);
  if (!state(c, "Running")) throw CliError("cannot attach to a stopped container, start it first");
  if (state(c, "Paused")) throw CliError("cannot attach to a paused container, unpause it first");
  if (state(c, "Restarting")) {
    throw CliError("cannot attach to a restarting container, wait until it is running");
  }
  return c;
}

void attach(Context& ctx, const Opts& o) {
  ExitWaiter waiter(ctx, o.container, "");
  json::object c = running_container(ctx, o.container);
  const auto& config = c.at("Config").as_object();
  bool tty = config.contains("Tty") && config.at("Tty").is_bool() && config.at("Tty").as_bool();
  bool open_stdin = config.contains("OpenStdin") && config.at("OpenStdin").is_bool() &&
                    config.at("OpenStdin").as_bool();
  check_tty(ctx, !o.no_stdin, tty);
  std::string detach_keys = checked_detach_keys(o.detach_keys);
  bool attach_stdin = !o.no_stdin && open_stdin;

  std::string path = "/containers/" + path_escape(o.container) + "/attach?stream=1&stdout=1&stderr=1";
  if (attach_stdin) path += "&stdin=1";
  if (!detach_keys.empty()) path += "&detachKeys=" + query_escape(detach_keys);
  auto conn = ctx.client().hijack(path);
  // It may have stopped between the check and the attach; an attach to a
  // stopped container would wait forever.
  running_container(ctx, o.container);

  AttachStream s;
  s.id = o.container;
  s.tty = tty;
  s.attach_stdin = attach_stdin;
  s.attach_stdout = s.attach_stderr = true;
  s.detach_keys = detach_keys;
  s.proxy_signals = o.sig_proxy && !tty;
  s.monitor_size = true;
  s.nudge_size = true;
  // Docker's attach reports the detach as its error (exit 1).
  if (stream_attached(ctx, *conn, s) == PumpEnd::detached) throw CliError("read escape sequence");
  if (int status = waiter.status(); status != 0) throw CliError("", status);
}

}  // namespace

void configure_attach(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("CONTAINER", o->container, "Container to attach to")->required();
  cmd.add_flag("--no-stdin", o->no_stdin, "Do not attach STDIN");
  cmd.add_flag("--sig-proxy", o->sig_proxy, "Proxy all received signals to the process (default true)");
  cmd.add_option("--detach-keys", o->detach_keys, "Override the key sequence for detaching a container");
  cmd.callback([&ctx, o] { attach(ctx, *o); });
}

}  // namespace berth::cli
