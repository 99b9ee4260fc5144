// berth exec (docker/cli exec.go): a new process in a running container,
// attached like `run` (or detached with -d); exits with its status.
#include "container_common.hpp"
#include "container_opts.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <thread>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct Opts {
  bool detach = false, interactive = false, tty = false, privileged = false;
  std::string detach_keys, user, workdir;
  std::vector<std::string> env, env_file;
};

void exec(Context& ctx, CLI::App& cmd, const Opts& o) {
  auto rest = cmd.remaining();
  if (rest.size() < 2) {
    throw CliError(
        "\"berth exec\" requires at least 2 arguments.\nSee 'berth exec --help'.\n\n"
        "Usage:  berth exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
        "Execute a command in a running container",
        125);
  }
  std::string container = rest.front();
  std::vector<std::string> command(rest.begin() + 1, rest.end());
  std::vector<std::string> env;
  try {
    env = read_env(o.env_file, o.env);
  } catch (const FlagError& e) {
    throw CliError(std::string("berth: ") + e.what() + "\nSee 'berth exec --help'.", 125);
  }
  std::string detach_keys = checked_detach_keys(o.detach_keys);
  bool attach_stdin = !o.detach && o.interactive;
  bool attach_out = !o.detach;

  // Before creating anything: a missing container is the error to show,
  // and a refused TTY must not leave an exec behind.
  inspect_container(ctx, container);
  if (!o.detach) check_tty(ctx, attach_stdin, o.tty);

  json::array cmd_json;
  for (const auto& c : command) cmd_json.emplace_back(c);
  json::array env_json;
  for (const auto& e : env) env_json.emplace_back(e);
  json::object body{{"User", o.user},
                    {"Privileged", o.privileged},
                    {"Tty", o.tty},
                    {"AttachStdin", attach_stdin},
                    {"AttachStderr", attach_out},
                    {"AttachStdout", attach_out},
                    {"DetachKeys", detach_keys},
                    {"Env", env_json},
                    {"WorkingDir", o.workdir},
                    {"Cmd", cmd_json}};
  json::value console = nullptr;
  if (o.tty) {
    auto [rows, cols] = console_size(ctx);
    console = json::array{rows, cols};
    body["ConsoleSize"] = console;
  }
  Response created = container_request(ctx, "POST", "/containers/" + path_escape(container) + "/exec",
                                       json::serialize(body));
  json::error_code ec;
  json::value v = json::parse(created.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("Id") || !v.as_object().at("Id").is_string() ||
      v.as_object().at("Id").as_string().empty()) {
    throw CliError("exec ID empty");
  }
  std::string id(v.as_object().at("Id").as_string());
  json::object start{{"Detach", o.detach}, {"Tty", o.tty}};
  if (!console.is_null()) start["ConsoleSize"] = console;
  if (o.detach) {
    container_request(ctx, "POST", "/exec/" + id + "/start", json::serialize(start));
    return;
  }
  auto conn = ctx.client().hijack("/exec/" + id + "/start", json::serialize(start), "application/json");
  AttachStream s;
  s.id = id;
  s.exec = true;
  s.tty = o.tty;
  s.attach_stdin = attach_stdin;
  s.attach_stdout = s.attach_stderr = true;
  s.detach_keys = detach_keys;
  s.monitor_size = true;
  if (stream_attached(ctx, *conn, s) == PumpEnd::detached) throw CliError("read escape sequence");
  // Done with the stream: a daemon may wait for our side to close before
  // it settles the exec.
  conn.reset();
  // The stream may end a moment before the daemon has recorded the exit.
  json::value inspect;
  for (int i = 0; i < 250; ++i) {
    inspect = ctx.client().get_json("/exec/" + id + "/json");
    const json::value* running = inspect.is_object() ? inspect.as_object().if_contains("Running") : nullptr;
    if (running == nullptr || !running->is_bool() || !running->as_bool()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const json::value* code = inspect.is_object() ? inspect.as_object().if_contains("ExitCode") : nullptr;
  if (code != nullptr && code->is_number()) {
    if (auto status = code->to_number<std::int64_t>(); status != 0) throw CliError("", static_cast<int>(status));
  }
}

}  // namespace

void configure_exec(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<Opts>();
  // Everything after the container is the command line.
  cmd.prefix_command();
  cmd.add_option("--detach-keys", o->detach_keys, "Override the key sequence for detaching a container");
  cmd.add_flag("-i,--interactive", o->interactive, "Keep STDIN open even if not attached");
  cmd.add_flag("-t,--tty", o->tty, "Allocate a pseudo-TTY");
  cmd.add_flag("-d,--detach", o->detach, "Detached mode: run command in the background");
  cmd.add_option("-u,--user", o->user, "Username or UID (format: \"<name|uid>[:<group|gid>]\")");
  cmd.add_flag("--privileged", o->privileged, "Give extended privileges to the command");
  cmd.add_option("-e,--env", o->env, "Set environment variables")->allow_extra_args(false);
  cmd.add_option("--env-file", o->env_file, "Read in a file of environment variables")->allow_extra_args(false);
  cmd.add_option("-w,--workdir", o->workdir, "Working directory inside the container");
  cmd.callback([&ctx, &cmd, o] { exec(ctx, cmd, *o); });
}

}  // namespace berth::cli
