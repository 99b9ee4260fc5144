// berth run and berth create (docker/cli run.go, create.go): the flags
// become a create request; a missing image is pulled and the create tried
// again; `run` then attaches before it starts the container, waits for its
// exit on a second connection and exits with the container's status.
#include "auth_config.hpp"
#include "container_common.hpp"
#include "container_opts.hpp"
#include "json_stream.hpp"
#include "reference.hpp"

#include <unistd.h>
#include <boost/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace berth::cli {
namespace json = boost::json;

namespace {

struct CreateOpts {
  ContainerFlags flags;
  std::string name, platform, pull = "missing";
  bool quiet = false;
  // run only
  bool detach = false, sig_proxy = true;
  std::string detach_keys;
};

// Docker's reportError: "berth: <message>." and, for usage errors, the
// pointer to --help; exit 125 unless classified otherwise.
CliError report(const std::string& command, std::string message, bool with_help, int code = 125) {
  while (!message.empty() && message.back() == '.') message.pop_back();
  message = "berth: " + message + ".";
  if (with_help) message += "\nSee 'berth " + command + " --help'.";
  return CliError(message, code);
}

// Docker's runStartContainerErr: 127 when the command was not found, 126
// when it could not be invoked, 125 for any other failure.
int start_error_code(std::string_view message) {
  for (const char* not_found :
       {"executable file not found", "no such file or directory", "system cannot find the file specified"}) {
    if (message.find(not_found) != std::string_view::npos) return 127;
  }
  for (const char* cannot : {"permission denied", "is a directory"}) {
    if (message.find(cannot) != std::string_view::npos) return 126;
  }
  return 125;
}

bool api_at_least(Context& ctx, int minor) {
  int major = 0, have = 0;
  std::sscanf(ctx.client().api_version().c_str(), "%d.%d", &major, &have);
  return major > 1 || (major == 1 && have >= minor);
}

bool is_image_id(std::string_view s) {
  if (s.starts_with("sha256:")) s.remove_prefix(7);
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// POST /images/create with the progress on stderr (stdout carries only the
// container ID), as Docker's pullImage.
void pull_image(Context& ctx, const ImageReference& ref, const CreateOpts& o) {
  StreamRequest req;
  req.method = "POST";
  req.path = "/images/create?fromImage=" + query_escape(ref.familiar_name()) +
             "&tag=" + query_escape(ref.digest.empty() ? ref.tag : ref.digest);
  if (!o.platform.empty()) req.path += "&platform=" + query_escape(o.platform);
  if (auto auth = registry_auth_header(ref.domain); !auth.empty()) {
    req.headers.emplace_back("X-Registry-Auth", auth);
  }
  bool terminal = !o.quiet && &ctx.err == &std::cerr && ::isatty(STDERR_FILENO) == 1;
  std::ostream discard(nullptr);
  JsonStreamDisplay display(o.quiet ? discard : ctx.err,
                            {terminal, terminal ? terminal_width(STDERR_FILENO) : 200, {}});
  Response r = ctx.client().stream(req, [&](const Response&, std::string_view chunk) { display.feed(chunk); });
  check_response(r);
  display.finish();
  ctx.err.flush();
}

// --cidfile: refused when it exists, removed again unless an ID went in.
class CidFile {
 public:
  explicit CidFile(std::string path) : path_(std::move(path)) {
    if (path_.empty()) return;
    if (std::filesystem::exists(path_)) {
      throw CliError("container ID file found, make sure the other container isn't running or delete " + path_);
    }
    out_.open(path_);
    if (!out_) throw CliError("failed to create the container ID file: open " + path_ + ": " + std::strerror(errno));
  }
  ~CidFile() {
    if (path_.empty()) return;
    out_.close();
    if (!written_) std::remove(path_.c_str());
  }
  void write(const std::string& id) {
    if (path_.empty()) return;
    out_ << id;
    out_.flush();
    if (!out_) throw CliError("failed to write the container ID to the file");
    written_ = true;
  }

 private:
  std::string path_;
  std::ofstream out_;
  bool written_ = false;
};

// Docker's createContainer: the container's ID. Errors from the daemon
// come back as CliError with its message.
std::string create_container(Context& ctx, const CreateOpts& o, const ContainerConfig& config) {
  json::object body = create_body(config);
  if (api_at_least(ctx, 42)) {
    auto [rows, cols] = console_size(ctx);
    body["HostConfig"].as_object()["ConsoleSize"] = json::array{rows, cols};
  } else {
    body["HostConfig"].as_object().erase("ConsoleSize");
  }
  for (const auto& dns : o.flags.dns) {
    if (dns.starts_with("127.") || dns == "::1") {
      ctx.err << "WARNING: Localhost DNS setting (--dns=" << dns << ") may fail in containers.\n";
      break;
    }
  }
  if (o.flags.oom_kill_disable && o.flags.memory.empty()) {
    ctx.err << "WARNING: Disabling the OOM killer on containers without setting a '-m/--memory' limit may be dangerous.\n";
  }
  CidFile cid(o.flags.cidfile);

  std::optional<ImageReference> named;
  if (!is_image_id(o.flags.image)) named = with_default_tag(parse_normalized_named(o.flags.image));
  if (o.pull == "always" && named) pull_image(ctx, *named, o);

  std::string path = "/containers/create";
  std::string query;
  if (!o.name.empty()) query += "&name=" + query_escape(o.name);
  if (!o.platform.empty() && api_at_least(ctx, 41)) query += "&platform=" + query_escape(o.platform);
  if (!query.empty()) path += "?" + query.substr(1);
  std::string text = json::serialize(body);
  Response r = ctx.client().request("POST", path, text, "application/json");
  if (r.status == 404 && named && o.pull == "missing") {
    if (!o.quiet) {
      std::string familiar = named->familiar_name() + (named->digest.empty() ? ":" + named->tag : "@" + named->digest);
      ctx.err << "Unable to find image '" << familiar << "' locally\n";
      ctx.err.flush();
    }
    pull_image(ctx, *named, o);
    r = ctx.client().request("POST", path, text, "application/json");
  }
  check_response(r);
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("Id") || !v.as_object().at("Id").is_string()) {
    throw CliError("invalid answer from daemon for container create: " + r.body);
  }
  if (const auto* warnings = v.as_object().if_contains("Warnings"); warnings != nullptr && warnings->is_array()) {
    for (const auto& w : warnings->as_array()) {
      if (w.is_string()) ctx.err << "WARNING: " << std::string_view(w.as_string()) << "\n";
    }
  }
  std::string id(v.as_object().at("Id").as_string());
  cid.write(id);
  return id;
}

void check_pull_option(const std::string& command, const std::string& pull) {
  if (pull != "always" && pull != "missing" && pull != "never" && !pull.empty()) {
    throw report(command,
                 "invalid pull option: '" + pull + "': must be one of \"always\", \"missing\" or \"never\"",
                 true);
  }
}

// Flags and arguments into the API objects, with Docker's usage errors.
ContainerConfig parse_or_report(const std::string& command, CreateOpts& o) {
  try {
    return parse_container_flags(o.flags);
  } catch (const FlagError& e) {
    throw CliError(std::string("berth: ") + e.what() + "\nSee 'berth " + command + " --help'.", 125);
  } catch (const CliError& e) {
    throw report(command, e.what(), true);
  }
}

void take_arguments(const std::string& command, const char* usage, const char* description,
                    CLI::App& cmd, CreateOpts& o) {
  auto rest = cmd.remaining();
  if (rest.empty()) {
    throw CliError("\"berth " + command + "\" requires at least 1 argument.\nSee 'berth " + command +
                       " --help'.\n\nUsage:  berth " + command + " " + usage + "\n\n" + description,
                   125);
  }
  // Options stop at the image; an option CLI11 did not know lands here.
  if (rest.front().size() > 1 && rest.front().front() == '-') {
    std::string flag = rest.front().substr(0, rest.front().find('='));
    throw CliError("berth: unknown " + std::string(flag.starts_with("--") ? "flag: " : "shorthand flag: ") +
                       (flag.starts_with("--") ? flag : "'" + flag.substr(1, 1) + "' in " + flag) +
                       "\nSee 'berth " + command + " --help'.",
                   125);
  }
  o.flags.image = rest.front();
  o.flags.args.assign(rest.begin() + 1, rest.end());
  record_changed_flags(cmd, o.flags);
}

void create(Context& ctx, CreateOpts& o) {
  check_pull_option("create", o.pull);
  ContainerConfig config = parse_or_report("create", o);
  ctx.out << create_container(ctx, o, config) << "\n";
}

void run(Context& ctx, CreateOpts& o) {
  check_pull_option("run", o.pull);
  ContainerConfig config = parse_or_report("run", o);
  json::object& c = config.config;
  std::string detach_keys;
  try {
    detach_keys = checked_detach_keys(o.detach_keys);
  } catch (const CliError& e) {
    throw report("run", e.what(), true);
  }
  if (!o.detach) {
    check_tty(ctx, c["AttachStdin"].as_bool(), c["Tty"].as_bool());
  } else {
    if (!o.flags.attach.empty()) throw CliError("Conflicting options: -a and -d");
    c["AttachStdin"] = false;
    c["AttachStdout"] = false;
    c["AttachStderr"] = false;
    c["StdinOnce"] = false;
  }
  bool attach_stdin = c["AttachStdin"].as_bool();
  bool attach_stdout = c["AttachStdout"].as_bool();
  bool attach_stderr = c["AttachStderr"].as_bool();
  bool tty = c["Tty"].as_bool();
  bool auto_remove = config.host_config["AutoRemove"].as_bool();

  std::string id;
  try {
    id = create_container(ctx, o, config);
  } catch (const CliError& e) {
    std::string_view message = e.what();
    throw report("run", std::string(message), true, start_error_code(message));
  }
  if (!attach_stdout && !attach_stderr) {
    ctx.out << id << "\n";
    ctx.out.flush();
  }

  std::unique_ptr<Connection> conn;
  if (attach_stdin || attach_stdout || attach_stderr) {
    std::string path = "/containers/" + id + "/attach?stream=1";
    if (attach_stdin) path += "&stdin=1";
    if (attach_stdout) path += "&stdout=1";
    if (attach_stderr) path += "&stderr=1";
    if (!detach_keys.empty()) path += "&detachKeys=" + query_escape(detach_keys);
    conn = ctx.client().hijack(path);
  }
  ExitWaiter waiter(ctx, id, auto_remove ? "removed" : "next-exit");
  Response started = ctx.client().request("POST", "/containers/" + id + "/start");
  if ((started.status < 200 || started.status >= 300) && started.status != 304) {
    conn.reset();
    std::string message;
    try {
      check_response(started);
    } catch (const CliError& e) {
      message = e.what();
    }
    ctx.err << report("run", message, false).what() << "\n";
    ctx.err.flush();
    // --rm: the daemon removes the container; wait for that.
    if (auto_remove) waiter.status();
    throw CliError("", start_error_code(message));
  }
  if (conn) {
    AttachStream s;
    s.id = id;
    s.tty = tty;
    s.attach_stdin = attach_stdin;
    s.attach_stdout = attach_stdout;
    s.attach_stderr = attach_stderr;
    s.detach_keys = detach_keys;
    s.proxy_signals = o.sig_proxy;
    s.monitor_size = true;
    if (stream_attached(ctx, *conn, s) == PumpEnd::detached) return;
  }
  if (!attach_stdout && !attach_stderr) return;
  if (int status = waiter.status(); status != 0) throw CliError("", status);
}

void add_create_flags(CLI::App& cmd, CreateOpts& o) {
  // Everything after the image is the container's command line.
  cmd.prefix_command();
  cmd.add_option("--name", o.name, "Assign a name to the container");
  cmd.add_option("--platform", o.platform, "Set platform if server is multi-platform capable");
  cmd.add_option("--pull", o.pull, "Pull image before running (\"always\", \"missing\", \"never\")");
  cmd.add_flag("-q,--quiet", o.quiet, "Suppress the pull output");
  add_container_flags(cmd, o.flags);
}

}  // namespace

void configure_run(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<CreateOpts>();
  cmd.add_flag("-d,--detach", o->detach, "Run container in background and print container ID");
  cmd.add_flag("--sig-proxy", o->sig_proxy, "Proxy received signals to the process (default true)");
  cmd.add_option("--detach-keys", o->detach_keys, "Override the key sequence for detaching a container");
  add_create_flags(cmd, *o);
  cmd.callback([&ctx, &cmd, o] {
    take_arguments("run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
                   cmd, *o);
    run(ctx, *o);
  });
}

void configure_create(CLI::App& cmd, Context& ctx) {
  auto o = std::make_shared<CreateOpts>();
  add_create_flags(cmd, *o);
  cmd.callback([&ctx, &cmd, o] {
    take_arguments("create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container", cmd, *o);
    create(ctx, *o);
  });
}

}  // namespace berth::cli
