// berth info: system-wide information from the daemon.
#include "command.hpp"

#include <boost/json.hpp>

namespace berth::cli {
namespace json = boost::json;

namespace {

std::string text(const json::value* v) {
  if (v == nullptr || v->is_null()) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_bool()) return v->get_bool() ? "true" : "false";
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  if (v->is_double()) return std::to_string(v->get_double());
  return json::serialize(*v);
}

std::string joined(const json::value* v) {
  std::string out;
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& item : v->get_array()) {
    if (!out.empty()) out += ' ';
    out += text(&item);
  }
  return out;
}

void print_server(std::ostream& out, std::ostream& err, const json::object& i) {
  auto f = [&](std::string_view key) { return text(i.if_contains(key)); };
  out << "Server:\n"
      << " Containers: " << f("Containers") << "\n"
      << "  Running: " << f("ContainersRunning") << "\n"
      << "  Paused: " << f("ContainersPaused") << "\n"
      << "  Stopped: " << f("ContainersStopped") << "\n"
      << " Images: " << f("Images") << "\n"
      << " Server Version: " << f("ServerVersion") << "\n"
      << " Storage Driver: " << f("Driver") << "\n";
  if (const auto* ds = i.if_contains("DriverStatus"); ds != nullptr && ds->is_array()) {
    for (const auto& pair : ds->get_array()) {
      if (pair.is_array() && pair.get_array().size() == 2) {
        out << "  " << text(&pair.get_array()[0]) << ": " << text(&pair.get_array()[1]) << "\n";
      }
    }
  }
  out << " Logging Driver: " << f("LoggingDriver") << "\n"
      << " Cgroup Driver: " << f("CgroupDriver") << "\n"
      << " Cgroup Version: " << f("CgroupVersion") << "\n"
      << " Plugins:\n";
  if (const auto* p = i.if_contains("Plugins"); p != nullptr && p->is_object()) {
    out << "  Volume: " << joined(p->get_object().if_contains("Volume")) << "\n"
        << "  Network: " << joined(p->get_object().if_contains("Network")) << "\n"
        << "  Log: " << joined(p->get_object().if_contains("Log")) << "\n";
  }
  std::string swarm;
  if (const auto* s = i.if_contains("Swarm"); s != nullptr && s->is_object()) {
    swarm = text(s->get_object().if_contains("LocalNodeState"));
  }
  std::string runtimes;
  if (const auto* r = i.if_contains("Runtimes"); r != nullptr && r->is_object()) {
    for (const auto& [name, _] : r->get_object()) runtimes += (runtimes.empty() ? "" : " ") + std::string(name);
  }
  double mem = 0;
  if (const auto* m = i.if_contains("MemTotal"); m != nullptr && m->is_number()) mem = m->to_number<double>();
  out << " Swarm: " << swarm << "\n"
      << " Runtimes: " << runtimes << "\n"
      << " Default Runtime: " << f("DefaultRuntime") << "\n"
      << " Security Options:\n";
  if (const auto* so = i.if_contains("SecurityOptions"); so != nullptr && so->is_array()) {
    for (const auto& opt : so->get_array()) out << "  " << text(&opt) << "\n";
  }
  out << " Kernel Version: " << f("KernelVersion") << "\n"
      << " Operating System: " << f("OperatingSystem") << "\n"
      << " OSType: " << f("OSType") << "\n"
      << " Architecture: " << f("Architecture") << "\n"
      << " CPUs: " << f("NCPU") << "\n"
      << " Total Memory: " << binary_size(mem) << "\n"
      << " Name: " << f("Name") << "\n"
      << " ID: " << f("ID") << "\n"
      << " Berth Root Dir: " << f("DockerRootDir") << "\n"
      << " Debug Mode: " << f("Debug") << "\n"
      << " Live Restore Enabled: " << f("LiveRestoreEnabled") << "\n";
  if (const auto* w = i.if_contains("Warnings"); w != nullptr && w->is_array()) {
    for (const auto& warning : w->get_array()) err << text(&warning) << "\n";
  }
}

}  // namespace

void add_info_command(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("info", "Display system-wide information");
  auto format = std::make_shared<std::string>();
  cmd->add_option("-f,--format", *format, "Format output using a custom template");
  cmd->callback([&ctx, format] {
    json::value info = ctx.client().get_json("/info");
    if (!format->empty()) return print_formatted(ctx, *format, info);
    ctx.out << "Client:\n"
            << " Context:    default\n"
            << " Debug Mode: " << (ctx.globals.debug ? "true" : "false") << "\n\n";
    if (!info.is_object()) throw CliError("unexpected /info answer from daemon");
    print_server(ctx.out, ctx.err, info.get_object());
  });
}

}  // namespace berth::cli
