#include "berth/core/container/shim_protocol.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>
#include <type_traits>

extern char** environ;

namespace berth::core::container::shim_protocol {

namespace json = boost::json;

Result<sockaddr_un> unix_address(const std::string& path, int dir_fd) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string target = path;
  if (target.size() >= sizeof(addr.sun_path) && dir_fd >= 0) {
    auto slash = path.rfind('/');
    target = "/proc/self/fd/" + std::to_string(dir_fd) + "/" +
             (slash == std::string::npos ? path : path.substr(slash + 1));
  }
  if (target.size() >= sizeof(addr.sun_path)) {
    return make_error(Errc::invalid_argument, "socket path " + path + " is too long");
  }
  std::memcpy(addr.sun_path, target.c_str(), target.size() + 1);
  return addr;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Result<void> write_atomic(const std::string& path, std::string_view text, Sync sync) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error(Errc::internal, "create " + tmp, errno);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return errno_error(Errc::internal, "write " + tmp, err);
    }
    done += static_cast<std::size_t>(n);
  }
  int err = sync == Sync::yes && ::fsync(fd) != 0 ? errno : 0;
  ::close(fd);
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return errno_error(Errc::internal, "write " + path, err);
  }
  return ok();
}

Result<pid_t> spawn(const std::vector<std::string>& args, const std::vector<SpawnFd>& fds) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attr);
  for (const auto& f : fds) {
    if (f.fd >= 0) {
      // dup2 onto itself clears FD_CLOEXEC (POSIX 2017, glibc >= 2.29).
      ::posix_spawn_file_actions_adddup2(&actions, f.fd, f.target);
    } else {
      ::posix_spawn_file_actions_addopen(&actions, f.target, "/dev/null", O_RDWR, 0);
    }
  }
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) return errno_error(Errc::failed_precondition, "run " + args.front(), rc);
  return pid;
}

namespace {

// Every field of ShimOptions with its key: one list for both directions.
template <class Options, class F>
void for_each_field(Options& o, F&& f) {
  f("shim_path", o.shim_path);
  f("id", o.id);
  f("bundle", o.bundle);
  f("state_dir", o.state_dir);
  f("runtime", o.runtime);
  f("runtime_args", o.runtime_args);
  f("tty", o.tty);
  f("open_stdin", o.open_stdin);
  f("stdin_once", o.stdin_once);
  f("log_driver", o.log_driver);
  f("log_info_json", o.log_info_json);
  f("plugin_dirs", o.plugin_dirs);
  f("log_driver_config_json", o.log_driver_config_json);
  f("data_root", o.data_root);
  f("exec_root", o.exec_root);
  f("hold_output", o.hold_output);
}

}  // namespace

json::value options_to_json(const ShimOptions& options) {
  json::object out;
  for_each_field(options, [&](const char* key, const auto& member) {
    if constexpr (std::is_same_v<std::decay_t<decltype(member)>, std::vector<std::string>>) {
      json::array a;
      for (const auto& e : member) a.emplace_back(e);
      out[key] = std::move(a);
    } else {
      out[key] = member;
    }
  });
  return out;
}

namespace {

// Reads o[key] into `field` when present; false when it has the wrong type.
template <class T>
bool read_field(const json::object& o, const char* key, T& field) {
  const auto* f = o.if_contains(key);
  if (f == nullptr) return true;
  if constexpr (std::is_same_v<T, bool>) {
    if (!f->is_bool()) return false;
    field = f->get_bool();
  } else {
    if (!f->is_string()) return false;
    field = std::string(f->get_string());
  }
  return true;
}

bool read_field(const json::object& o, const char* key, std::vector<std::string>& field) {
  const auto* f = o.if_contains(key);
  if (f == nullptr) return true;
  if (!f->is_array()) return false;
  for (const auto& e : f->get_array()) {
    if (!e.is_string()) return false;
    field.emplace_back(e.get_string());
  }
  return true;
}

}  // namespace

Result<ShimOptions> options_from_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return make_error(Errc::invalid_argument, "shim options are not a JSON object");
  }
  const auto& o = v.as_object();
  ShimOptions out;
  std::string bad;
  for_each_field(out, [&](const char* key, auto& member) {
    if (!read_field(o, key, member) && bad.empty()) bad = key;
  });
  if (!bad.empty()) return make_error(Errc::invalid_argument, "shim options: bad \"" + bad + "\"");
  if (out.id.empty() || out.bundle.empty() || out.state_dir.empty()) {
    return make_error(Errc::invalid_argument, "shim options: id, bundle and state_dir are required");
  }
  return out;
}

json::object exit_to_json(const ExitStatus& s) {
  return json::object{
      {"exit_code", s.exit_code},
      {"oom_killed", s.oom_killed},
      {"finished_at", s.finished_at},
      {"error", s.error},
  };
}

Result<ExitStatus> exit_from_json(const json::value& v) {
  const auto* o = v.if_object();
  const json::value* code = o != nullptr ? o->if_contains("exit_code") : nullptr;
  if (code == nullptr || !code->is_int64()) {
    return make_error(Errc::internal, "exit status has no exit_code");
  }
  ExitStatus s;
  s.exit_code = static_cast<int>(code->get_int64());
  if (const auto* f = o->if_contains("oom_killed"); f != nullptr && f->is_bool()) {
    s.oom_killed = f->get_bool();
  }
  if (const auto* f = o->if_contains("finished_at"); f != nullptr && f->is_string()) {
    s.finished_at = std::string(f->get_string());
  }
  if (const auto* f = o->if_contains("error"); f != nullptr && f->is_string()) {
    s.error = std::string(f->get_string());
  }
  return s;
}

std::string error_reply(const Error& error) {
  return json::serialize(json::object{{"error", error.message},
                                      {"code", berth::sdk::errc_name(error.code)}}) +
         "\n";
}

std::optional<Error> reply_error(const json::value& reply) {
  const auto* o = reply.if_object();
  const json::value* message = o != nullptr ? o->if_contains("error") : nullptr;
  if (message == nullptr) return std::nullopt;
  Error e{Errc::internal, message->is_string() ? std::string(message->get_string()) : "error"};
  if (const auto* code = o->if_contains("code"); code != nullptr && code->is_string()) {
    for (int c = static_cast<int>(Errc::not_found); c <= static_cast<int>(Errc::internal); ++c) {
      if (berth::sdk::errc_name(static_cast<Errc>(c)) == code->get_string()) {
        e.code = static_cast<Errc>(c);
      }
    }
  }
  return e;
}

}  // namespace berth::core::container::shim_protocol
