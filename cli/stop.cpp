// berth stop, restart, kill, pause and unpause: one request per container,
// in parallel, each name printed once done (docker/cli stop.go, restart.go,
// kill.go, pause.go, unpause.go).
#include "container_common.hpp"

namespace berth::cli {

namespace {

struct Opts {
  std::vector<std::string> containers;
  std::string signal;
  int timeout = 0;
  CLI::Option* timeout_flag = nullptr;
};

// `action` is the endpoint below /containers/{id}/.
void configure(CLI::App& cmd, Context& ctx, const std::string& action, bool timeout, bool signal,
               const char* signal_help) {
  auto o = std::make_shared<Opts>();
  cmd.add_option("CONTAINER", o->containers, "Containers")->required();
  if (signal) cmd.add_option("-s,--signal", o->signal, signal_help);
  if (timeout) {
    o->timeout_flag =
        cmd.add_option("-t,--timeout,--time", o->timeout, "Seconds to wait before killing the container");
  }
  cmd.callback([&ctx, action, o] {
    std::string query;
    if (o->timeout_flag != nullptr && o->timeout_flag->count() > 0) query += "&t=" + std::to_string(o->timeout);
    if (!o->signal.empty()) query += "&signal=" + query_escape(o->signal);
    if (!query.empty()) query = "?" + query.substr(1);
    for_each_container(ctx, o->containers, [&](const std::string& name) {
      container_request(ctx, "POST", "/containers/" + path_escape(name) + "/" + action + query);
      return true;
    });
  });
}

}  // namespace

void configure_stop(CLI::App& cmd, Context& ctx) {
  configure(cmd, ctx, "stop", true, true, "Signal to send to the container");
}
void configure_restart(CLI::App& cmd, Context& ctx) {
  configure(cmd, ctx, "restart", true, true, "Signal to send to the container");
}
void configure_kill(CLI::App& cmd, Context& ctx) {
  configure(cmd, ctx, "kill", false, true, "Signal to send to the container");
}
void configure_pause(CLI::App& cmd, Context& ctx) { configure(cmd, ctx, "pause", false, false, ""); }
void configure_unpause(CLI::App& cmd, Context& ctx) { configure(cmd, ctx, "unpause", false, false, ""); }

}  // namespace berth::cli
