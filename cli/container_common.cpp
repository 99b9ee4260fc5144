#include "container_common.hpp"

#include "terminal.hpp"

#include <sys/socket.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>

namespace berth::cli {
namespace json = boost::json;

json::object inspect_container(Context& ctx, const std::string& name) {
  json::value v = ctx.client().get_json("/containers/" + path_escape(name) + "/json");
  if (!v.is_object()) throw CliError("unexpected answer from daemon for container " + name);
  return std::move(v.as_object());
}

Response container_request(Context& ctx, const std::string& method, const std::string& path,
                           const std::string& body) {
  Response r = ctx.client().request(method, path, body, body.empty() ? "" : "application/json");
  // 304: already started, already stopped; Docker's client takes any
  // status below 400 as success.
  if (r.status != 304) check_response(r);
  return r;
}

namespace {
// How long to wait for the header of a wait request before starting the
// container anyway: Docker's daemon answers it at once.
constexpr auto kWaitHeaderGrace = std::chrono::seconds(2);
}  // namespace

struct ExitWaiterConnection {
  std::mutex mutex;
  int fd = -1;  // the wait connection's socket while it is open
  bool done = false;
};

ExitWaiter::ExitWaiter(Context& ctx, const std::string& id, const std::string& condition)
    : ctx_(ctx) {
  auto head = head_.get_future();
  result_ = result_promise_.get_future();
  // Negotiated here so that the thread only reads the client.
  ctx.client().api_version();
  auto shared = std::make_shared<ExitWaiterConnection>();
  shared_ = shared;
  std::string path = "/containers/" + path_escape(id) + "/wait";
  if (!condition.empty()) path += "?condition=" + condition;
  thread_ = std::thread([this, path, shared] {
    bool head_sent = false;
    int status = 125;
    try {
      auto conn = ctx_.client().open({"POST", path, "", "", false});
      {
        std::lock_guard lock(shared->mutex);
        shared->fd = conn->fd();
      }
      head_.set_value();
      head_sent = true;
      Response r = conn->head();
      r.body = conn->read_all();
      {
        std::lock_guard lock(shared->mutex);
        shared->fd = -1;
      }
      check_response(r);
      json::error_code ec;
      json::value v = json::parse(r.body, ec);
      if (ec || !v.is_object()) throw CliError("invalid answer from daemon: " + r.body);
      const auto& o = v.as_object();
      const json::value* err = o.if_contains("Error");
      const json::value* message = err != nullptr && err->is_object() ? err->as_object().if_contains("Message") : nullptr;
      if (message != nullptr && message->is_string() && !message->as_string().empty()) {
        error_ = "Error waiting for container: " + std::string(message->as_string());
      } else if (const json::value* code = o.if_contains("StatusCode"); code != nullptr && code->is_number()) {
        status = static_cast<int>(code->to_number<std::int64_t>());
      } else {
        throw CliError("invalid answer from daemon: " + r.body);
      }
    } catch (const CliError& e) {
      error_ = std::string("error waiting for container: ") + e.what();
    } catch (const std::exception& e) {
      error_ = std::string("error waiting for container: ") + e.what();
    }
    {
      std::lock_guard lock(shared->mutex);
      shared->fd = -1;
      shared->done = true;
    }
    if (!head_sent) head_.set_value();
    result_promise_.set_value(status);
  });
  head.wait_for(kWaitHeaderGrace);
}

ExitWaiter::~ExitWaiter() {
  {
    // The container may run on after we leave (detached): end the wait.
    std::lock_guard lock(shared_->mutex);
    if (shared_->fd >= 0) ::shutdown(shared_->fd, SHUT_RDWR);
  }
  if (thread_.joinable()) thread_.join();
}

int ExitWaiter::status() {
  int status = result_.get();
  if (!error_.empty()) {
    ctx_.err << error_ << "\n";
    ctx_.err.flush();
    error_.clear();
  }
  return status;
}

std::string checked_detach_keys(const std::string& flag_value) {
  if (!flag_value.empty()) parse_detach_keys(flag_value);
  return flag_value;
}

void check_tty(Context& ctx, bool attach_stdin, bool tty) {
  if (tty && attach_stdin && !ctx.in_is_terminal()) throw CliError("the input device is not a TTY");
}

std::pair<unsigned, unsigned> console_size(Context& ctx) {
  if (!ctx.out_is_terminal()) return {0, 0};
  return terminal_size(STDOUT_FILENO).value_or(std::make_pair(0u, 0u));
}

PumpEnd stream_attached(Context& ctx, Connection& conn, const AttachStream& s) {
  bool use_stdin = s.attach_stdin && &ctx.in == &std::cin;
  std::optional<RawTerminal> raw;
  if (s.tty && use_stdin) raw.emplace(STDIN_FILENO);
  bool monitor = s.monitor_size && s.tty && ctx.out_is_terminal();
  std::vector<int> signals;
  if (s.proxy_signals) signals = proxied_signals();
  if (monitor) signals.push_back(SIGWINCH);
  std::optional<SignalPipe> pipe;
  if (!signals.empty()) pipe.emplace(signals);

  std::string base = (s.exec ? "/exec/" : "/containers/") + path_escape(s.id);
  auto resize = [&](unsigned rows, unsigned cols) {
    if (rows == 0 && cols == 0) return true;
    Response r = ctx.client().request(
        "POST", base + "/resize?h=" + std::to_string(rows) + "&w=" + std::to_string(cols));
    return r.status >= 200 && r.status < 300;
  };
  if (monitor) {
    auto [rows, cols] = console_size(ctx);
    if (s.nudge_size) resize(rows + 1, cols + 1);
    // A container that is only starting may refuse the first resize.
    bool ok = resize(rows, cols);
    for (int retry = 0; !ok && retry < 10; ++retry) {
      std::this_thread::sleep_for(std::chrono::milliseconds((retry + 1) * 10));
      ok = resize(rows, cols);
    }
    if (!ok) ctx.err << "failed to resize tty, using default size\n";
  }

  PumpOptions o;
  o.input_fd = use_stdin ? STDIN_FILENO : -1;
  o.out = s.attach_stdout ? &ctx.out : nullptr;
  // A TTY has one output; Docker sends what arrives for stderr to stdout.
  o.err = s.attach_stderr ? (s.tty ? &ctx.out : &ctx.err) : nullptr;
  o.tty = s.tty;
  o.detach_keys = parse_detach_keys(s.detach_keys.empty() ? "ctrl-p,ctrl-q" : s.detach_keys);
  if (pipe) {
    o.wake_fd = pipe->fd();
    o.on_wake = [&] {
      for (int sig : pipe->take()) {
        if (sig == SIGWINCH && monitor) {
          auto [rows, cols] = console_size(ctx);
          resize(rows, cols);
          continue;
        }
        const char* name = signal_name(sig);
        if (*name == '\0') continue;
        // Docker only logs a failed forward.
        ctx.client().request("POST", "/containers/" + path_escape(s.id) + "/kill?signal=" + name);
      }
    };
  }
  o.on_output_end = [&] {
    if (raw) raw->restore();
  };
  return pump(conn, o);
}

void for_each_container(Context& ctx, const std::vector<std::string>& names,
                        const std::function<bool(const std::string& name)>& op) {
  ctx.client().api_version();
  std::vector<std::optional<std::string>> errors(names.size());
  std::vector<char> print(names.size(), 0);
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next++) < names.size();) {
      try {
        print[i] = op(names[i]) ? 1 : 0;
      } catch (const CliError& e) {
        errors[i] = e.what();
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
  };
  std::size_t workers = std::min<std::size_t>(names.size(), 50);
  if (workers <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (std::size_t i = 0; i < workers; ++i) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  std::string message;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (errors[i]) {
      message += (message.empty() ? "" : "\n") + *errors[i];
    } else if (print[i] != 0) {
      ctx.out << names[i] << "\n";
    }
  }
  ctx.out.flush();
  if (!message.empty()) throw CliError(message);
}

}  // namespace berth::cli
