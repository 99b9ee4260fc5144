#include "berth/core/container/manager.hpp"

#include "berth/core/container/archive.hpp"
#include "berth/core/container/exec_user.hpp"
#include "berth/core/container/names.hpp"
#include "berth/core/container/oci_spec.hpp"
#include "berth/core/container/shim_protocol.hpp"
#include "berth/core/log.hpp"
#include "berth/core/mount.hpp"
#include "berth/core/random_id.hpp"
#include "berth/core/time_format.hpp"
#include "berth/core/name_rules.hpp"
#include "berth/runtime/cgroups.hpp"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <boost/json.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

namespace berth::core::container {
namespace json = boost::json;
namespace fs = std::filesystem;
namespace proto = shim_protocol;

namespace {

constexpr const char* kZeroTime = "0001-01-01T00:00:00Z";

const json::object& empty_object() {
  static const json::object empty;
  return empty;
}

const json::object& object_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->get_object() : empty_object();
}

std::string string_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t int_at(const json::object& o, std::string_view key, std::int64_t fallback = 0) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return fallback;
}

bool bool_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

// Signal names as Docker takes them: "SIGTERM", "TERM", "15".
Result<int> parse_signal(std::string text) {
  if (text.empty()) return SIGKILL;
  if (std::all_of(text.begin(), text.end(), ::isdigit)) {
    int n = std::stoi(text);
    if (n <= 0 || n > 64) return make_error(Errc::invalid_argument, "Invalid signal: " + text);
    return n;
  }
  std::string upper;
  for (char c : text) upper += static_cast<char>(::toupper(static_cast<unsigned char>(c)));
  if (upper.starts_with("SIG")) upper = upper.substr(3);
  static const std::map<std::string, int> names = {
      {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
      {"ABRT", SIGABRT}, {"IOT", SIGIOT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
      {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
      {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU},
      {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
      {"POLL", SIGPOLL}, {"PWR", SIGPWR},     {"SYS", SIGSYS},
  };
  if (auto it = names.find(upper); it != names.end()) return it->second;
  if (upper.starts_with("RTMIN")) {
    int off = upper.size() > 6 ? std::atoi(upper.c_str() + 6) : 0;
    return SIGRTMIN + off;
  }
  return make_error(Errc::invalid_argument, "Invalid signal: " + text);
}

std::string not_found_message(const std::string& name) { return "No such container: " + name; }

Result<json::object> read_spec(const std::string& bundle) {
  std::ifstream in(bundle + "/config.json");
  if (!in) return make_error(Errc::not_found, "the container's bundle " + bundle + " is missing");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return make_error(Errc::internal, "bad config.json in " + bundle);
  return v.get_object();
}

// The OCI process of an exec: the container's own process settings from its
// bundle (capabilities, rlimits, no_new_privileges) with the exec's command,
// environment added by key, working directory, user and TTY.
Result<json::object> exec_process(const std::string& bundle, const json::object& exec) {
  BERTH_TRY(auto spec, read_spec(bundle));
  json::object process = object_at(spec, "process");
  json::array args;
  if (const auto* cmd = exec.if_contains("Cmd"); cmd != nullptr && cmd->is_array()) args = cmd->get_array();
  process["args"] = args;
  std::vector<std::string> env;
  if (const auto* e = process.if_contains("env"); e != nullptr && e->is_array()) {
    for (const auto& x : e->get_array()) {
      if (x.is_string()) env.emplace_back(x.get_string());
    }
  }
  auto set_env = [&](const std::string& kv) {
    std::string key = kv.substr(0, kv.find('='));
    for (auto& existing : env) {
      if (existing.substr(0, existing.find('=')) == key) {
        existing = kv;
        return;
      }
    }
    env.push_back(kv);
  };
  if (const auto* e = exec.if_contains("Env"); e != nullptr && e->is_array()) {
    for (const auto& x : e->get_array()) {
      if (x.is_string()) set_env(std::string(x.get_string()));
    }
  }
  std::string user = string_at(exec, "User");
  if (!user.empty()) {
    BERTH_TRY(auto u, resolve_exec_user(bundle + "/rootfs", user));
    json::array gids;
    for (auto g : u.sgids) gids.emplace_back(g);
    process["user"] = json::object{{"uid", u.uid}, {"gid", u.gid}, {"additionalGids", gids}};
    set_env("HOME=" + u.home);
  }
  json::array env_json;
  for (const auto& kv : env) env_json.emplace_back(kv);
  process["env"] = env_json;
  if (auto wd = string_at(exec, "WorkingDir"); !wd.empty()) process["cwd"] = wd;
  process["terminal"] = bool_at(exec, "Tty");
  if (bool_at(exec, "Privileged")) {
    json::array all;
    for (const auto& cap : all_capabilities(current_spec_host().capabilities)) all.emplace_back(cap);
    process["capabilities"] = json::object{
        {"bounding", all}, {"effective", all}, {"permitted", all}, {"inheritable", all}, {"ambient", json::array{}}};
  }
  return process;
}

// The container's cgroup path as its bundle names it.
Result<std::string> cgroup_path(const std::string& bundle) {
  BERTH_TRY(auto spec, read_spec(bundle));
  std::string path = string_at(object_at(spec, "linux"), "cgroupsPath");
  if (path.empty()) return make_error(Errc::failed_precondition, "the container has no cgroup");
  return path;
}

}  // namespace

// --- State / Container -----------------------------------------------------

json::object State::to_json() const {
  return json::object{
      {"Status", status},
      {"Running", status == "running" || status == "paused"},
      {"Paused", status == "paused"},
      {"Restarting", status == "restarting"},
      {"OOMKilled", oom_killed},
      {"Dead", status == "dead"},
      {"Pid", running() ? pid : 0},
      {"ExitCode", exit_code},
      {"Error", error},
      {"StartedAt", started_at},
      {"FinishedAt", finished_at},
      {"RestartCount", restart_count},
      {"StoppedByUser", stopped_by_user},
  };
}

State State::from_json(const json::value& v) {
  State s;
  if (!v.is_object()) return s;
  const auto& o = v.get_object();
  s.status = string_at(o, "Status");
  if (s.status.empty()) s.status = "created";
  s.pid = static_cast<int>(int_at(o, "Pid"));
  s.exit_code = static_cast<int>(int_at(o, "ExitCode"));
  s.oom_killed = bool_at(o, "OOMKilled");
  s.error = string_at(o, "Error");
  s.started_at = string_at(o, "StartedAt");
  s.finished_at = string_at(o, "FinishedAt");
  s.restart_count = static_cast<int>(int_at(o, "RestartCount"));
  s.stopped_by_user = bool_at(o, "StoppedByUser");
  return s;
}

const json::object& Container::container_config() const { return object_at(config, "Config"); }
const json::object& Container::host_config() const { return object_at(config, "HostConfig"); }
std::string Container::image_name() const { return string_at(container_config(), "Image"); }
bool Container::tty() const { return bool_at(container_config(), "Tty"); }

// --- the manager -------------------------------------------------------------

struct ContainerManager::Entry {
  Container c;
  std::mutex m;                // serialises operations on this container
  std::mutex state_mutex;      // guards `exits` and waiting
  std::condition_variable changed;
  std::uint64_t exits = 0;     // exits seen since the daemon started
  std::uint64_t starts = 0;
  int attaches_expected = 0;   // attaches made before the start (docker run)
  bool removed = false;
  bool monitoring = false;
  std::thread monitor;
  // Restart back-off (Docker's restart manager): the last delay, and when
  // the current run started (a run of 10 s or more resets the delay).
  std::chrono::milliseconds restart_delay{0};
  std::chrono::steady_clock::time_point run_started{};
  bool daemon_stopping = false;  // a pending restart is dropped
};

ContainerManager::ContainerManager(MetadataStore& db, image::ImageStore& images, const PluginHost& plugins,
                                   ManagerOptions options)
    : db_(db), images_(images), plugins_(plugins), options_(std::move(options)) {}

ContainerManager::~ContainerManager() {
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    for (auto& [id, e] : entries_) all.push_back(e);
  }
  // Monitors block on their shims; the shims and containers stay (they
  // outlive the daemon by design), the threads are let go. One waiting out
  // a restart back-off gives the restart up (the next daemon applies the
  // policy).
  for (auto& e : all) {
    {
      std::lock_guard lock(e->state_mutex);
      e->daemon_stopping = true;
    }
    e->changed.notify_all();
    if (e->monitor.joinable()) e->monitor.detach();
  }
}

std::string ContainerManager::container_dir(const std::string& id) const {
  return options_.data_root + "/containers/" + id;
}
std::string ContainerManager::state_dir(const std::string& id) const {
  return options_.exec_root + "/containers/" + id;
}
std::string ContainerManager::bundle_dir(const std::string& id) const { return state_dir(id) + "/bundle"; }

void ContainerManager::emit(const std::string& action, const Container& c,
                            const std::map<std::string, std::string>& extra) {
  if (event_) event_(action, c, extra);
}

void ContainerManager::log_event(const std::string& action, const std::string& name,
                                 const std::map<std::string, std::string>& extra) {
  if (name.empty()) return emit(action, Container{}, extra);
  auto e = find(name);
  if (!e) return;
  Container c;
  {
    std::lock_guard lock(e.value()->state_mutex);
    c = e.value()->c;
  }
  emit(action, c, extra);
}

Result<void> ContainerManager::save(const Container& c) {
  return guard("save container " + c.id, [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db,
                          "INSERT INTO containers(id, name, image_id, created, config, state) VALUES(?,?,?,?,?,?) "
                          "ON CONFLICT(id) DO UPDATE SET name = excluded.name, config = excluded.config, "
                          "state = excluded.state");
      q.bind(1, c.id);
      q.bind(2, c.name);
      q.bind(3, c.image_id);
      q.bind(4, c.created);
      q.bind(5, json::serialize(c.config));
      q.bind(6, json::serialize(c.state.to_json()));
      q.exec();
    });
  });
}

Result<std::shared_ptr<ContainerManager::Entry>> ContainerManager::find(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(name); it != entries_.end()) return it->second;
  std::string want = name.starts_with("/") ? name : "/" + name;
  for (auto& [id, e] : entries_) {
    if (e->c.name == want) return e;
  }
  // A unique ID prefix.
  std::shared_ptr<Entry> found;
  if (!name.empty() && name.size() < 64) {
    for (auto& [id, e] : entries_) {
      if (id.starts_with(name)) {
        if (found) return make_error(Errc::invalid_argument, "multiple IDs found with provided prefix: " + name);
        found = e;
      }
    }
  }
  if (found) return found;
  return make_error(Errc::not_found, not_found_message(name));
}

Result<Container> ContainerManager::get(const std::string& name) {
  BERTH_TRY(auto e, find(name));
  std::lock_guard lock(e->state_mutex);
  return e->c;
}

std::vector<Container> ContainerManager::list() {
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, e] : entries_) all.push_back(e);
  }
  std::vector<Container> out;
  for (auto& e : all) {
    std::lock_guard lock(e->state_mutex);
    out.push_back(e->c);
  }
  // Newest first, as docker ps lists them.
  std::sort(out.begin(), out.end(), [](const Container& a, const Container& b) { return a.created > b.created; });
  return out;
}

std::vector<Container> ContainerManager::using_image(const std::string& image_id) {
  std::vector<Container> out;
  for (auto& c : list()) {
    if (c.image_id == image_id) out.push_back(std::move(c));
  }
  return out;
}

Result<const LogDriver*> ContainerManager::log_driver_for(const Container& c) {
  std::string type = string_at(object_at(c.host_config(), "LogConfig"), "Type");
  if (type.empty()) type = options_.default_log_driver;
  return log_driver_named(type);
}

Result<const LogDriver*> ContainerManager::log_driver_named(const std::string& type) {
  std::lock_guard lock(mutex_);
  if (auto it = log_drivers_.find(type); it != log_drivers_.end()) return it->second.get();
  const Driver* d = plugins_.find("log", type);
  if (d == nullptr) return make_error(Errc::invalid_argument, "failed to initialize logging driver: logger: no log driver named '" + type + "' is registered");
  auto [it, inserted] = log_drivers_.emplace(type, std::make_unique<LogDriver>(*d));
  return it->second.get();
}

std::string ContainerManager::log_info(const Container& c) const {
  json::object cfg;
  for (const auto& [k, v] : object_at(object_at(c.host_config(), "LogConfig"), "Config")) {
    if (v.is_string()) cfg[k] = v;
  }
  return json::serialize(json::object{{"ContainerID", c.id},
                                      {"ContainerName", c.name},
                                      {"LogPath", log_path(c.id, string_at(object_at(c.host_config(), "LogConfig"), "Type"))},
                                      {"Config", cfg}});
}

// --- create ------------------------------------------------------------------

Result<std::pair<std::string, std::vector<std::string>>> ContainerManager::create(const json::object& body,
                                                                                  const std::string& name_in) {
  std::string image = string_at(body, "Image");
  if (image.empty()) return make_error(Errc::invalid_argument, "Config cannot be empty in order to create a container");
  auto image_id = images_.resolve(image);
  if (!image_id) {
    if (image_id.error().code == Errc::not_found) return make_error(Errc::not_found, "No such image: " + image);
    return std::move(image_id).error();
  }
  BERTH_TRY(auto info, images_.get(image_id.value()));
  const StorageDriver* driver = images_.driver();
  if (driver == nullptr) return make_error(Errc::failed_precondition, "no storage driver is loaded");

  // Docker's create body: the Config members at the top level.
  json::object config = body;
  config.erase("HostConfig");
  config.erase("NetworkingConfig");
  json::object host_config = object_at(body, "HostConfig");
  json::error_code ec;
  auto image_config = json::parse(info.config, ec);
  json::object image_runtime_config;
  if (!ec && image_config.is_object()) image_runtime_config = object_at(image_config.get_object(), "config");
  std::string id = random_id();
  BERTH_TRY(auto warnings, adapt_create_request(config, host_config, id, current_spec_host()));
  BERTH_TRY(check_userns_mode(host_config, options_.userns_remap.enabled()));
  BERTH_TRY(auto merged, merge_image_config(config, image_runtime_config));
  if (network_ != nullptr) {
    BERTH_TRY(network_->validate(host_config, object_at(object_at(body, "NetworkingConfig"), "EndpointsConfig")));
  }
  BERTH_TRY(resolve_log_config(host_config, id));
  std::string runtime = string_at(host_config, "Runtime");
  if (runtime.empty()) runtime = options_.default_runtime;
  if (runtime != "native" && !options_.runtimes.contains(runtime)) {
    return make_error(Errc::invalid_argument, "unknown or invalid runtime name: " + runtime);
  }
  host_config["Runtime"] = runtime;

  std::string name = name_in;
  {
    std::lock_guard lock(mutex_);
    if (name.empty()) {
      for (int attempt = 0; name.empty() || attempt < 1; ++attempt) {
        name = random_name(attempt > 3 ? attempt : 0);
        bool taken = false;
        for (auto& [other, e] : entries_) taken = taken || e->c.name == "/" + name;
        if (!taken) break;
        name.clear();
        if (attempt > 10) return make_error(Errc::internal, "could not generate a container name");
      }
    } else {
      if (!is_object_name(name.starts_with('/') ? name.substr(1) : name, 2)) {
        return make_error(Errc::invalid_argument,
                          "Invalid container name (" + name + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
      }
      if (!name.starts_with("/")) name = "/" + name;
      for (auto& [other, e] : entries_) {
        if (e->c.name == name) {
          return make_error(Errc::conflict, "Conflict. The container name \"" + name +
                                                "\" is already in use by container \"" + other +
                                                "\". You have to remove (or rename) that container to be able to "
                                                "reuse that name.");
        }
      }
    }
    if (!name.starts_with("/")) name = "/" + name;
    // Reserve the name while the layer is made.
    auto e = std::make_shared<Entry>();
    e->c.id = id;
    e->c.name = name;
    e->c.state.status = "creating";
    entries_.emplace(id, e);
  }
  auto unreserve = [&] {
    std::lock_guard lock(mutex_);
    entries_.erase(id);
  };

  std::string parent_cache;
  if (!info.top_layer.empty()) {
    auto top = images_.layer(info.top_layer);
    if (!top) {
      unreserve();
      return make_error(Errc::not_found, "image " + image + " has no layer " + info.top_layer);
    }
    parent_cache = top->cache_id;
  }
  if (auto r = driver->create_rw(id, parent_cache); !r) {
    unreserve();
    return std::move(r).error();
  }
  std::vector<std::string> anonymous;
  auto points = plan_mounts(id, host_config, merged.config, anonymous);
  if (!points) {
    drop_volumes(id, anonymous);
    (void)driver->remove(id);
    unreserve();
    return std::move(points).error();
  }
  json::array mount_points_json;
  for (const auto& m : points.value()) mount_points_json.push_back(m.to_json());
  std::error_code fec;
  fs::create_directories(container_dir(id), fec);
  if (std::string type = string_at(object_at(host_config, "LogConfig"), "Type"); type != "none") {
    fs::create_directories(fs::path(log_path(id, type)).parent_path(), fec);
  }
  Container c;
  c.id = id;
  c.name = name;
  c.image_id = info.id;
  c.created = rfc3339_now();
  json::array args;
  for (const auto& a : merged.args) args.emplace_back(a);
  merged.config["Image"] = image;
  c.config = json::object{
      {"Config", merged.config},
      {"HostConfig", host_config},
      {"NetworkingConfig", object_at(body, "NetworkingConfig")},
      {"Path", merged.path},
      {"Args", args},
      {"Driver", driver->id()},
      {"LogPath", string_at(object_at(host_config, "LogConfig"), "Type") == "json-file" ? log_path(id, "json-file") : ""},
      {"HostnamePath", container_dir(id) + "/hostname"},
      {"HostsPath", container_dir(id) + "/hosts"},
      {"ResolvConfPath", container_dir(id) + "/resolv.conf"},
      {"MountPoints", std::move(mount_points_json)},
  };
  c.state.status = "created";
  if (auto r = save(c); !r) {
    drop_volumes(id, anonymous);
    (void)driver->remove(id);
    fs::remove_all(container_dir(id), fec);
    unreserve();
    return std::move(r).error();
  }
  BERTH_TRY(auto e, find(id));
  {
    std::lock_guard lock(e->state_mutex);
    e->c = c;
  }
  emit("create", c, {{"image", image}});
  return std::pair{id, warnings};
}

// --- start -------------------------------------------------------------------

namespace {

// Docker's /etc/hosts for a container without a network of its own yet.
std::string hosts_file(const std::string& hostname) {
  return "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
         "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n127.0.1.1\t" +
         hostname + "\n";
}

// The host's resolv.conf, as Docker copies it for a container (localhost
// resolvers only work on the host's network).
std::string resolv_conf(bool host_network) {
  std::ifstream in("/etc/resolv.conf");
  std::string out, line;
  bool any = false;
  while (std::getline(in, line)) {
    if (!host_network && line.starts_with("nameserver") &&
        (line.find(" 127.") != std::string::npos || line.find(" ::1") != std::string::npos)) {
      continue;
    }
    any = any || line.starts_with("nameserver");
    out += line + "\n";
  }
  if (!any && !host_network) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
  return out;
}

}  // namespace

Result<void> ContainerManager::start(const std::string& name) {
  BERTH_TRY(auto e, find(name));
  Result<void> started = ok();
  std::string id;
  bool auto_remove = false;
  {
    std::lock_guard op(e->m);
    {
      std::lock_guard lock(e->state_mutex);
      if (e->c.state.status == "running" || e->c.state.status == "paused") {
        return make_error(Errc::already_exists, "container already started");
      }
      if (e->c.state.status == "removing" || e->removed) {
        return make_error(Errc::conflict, "container is marked for removal and cannot be started");
      }
      id = e->c.id;
      auto_remove = bool_at(e->c.host_config(), "AutoRemove");
      // A start by the user resets the restart policy's state (Docker's
      // ResetRestartManager): the count, the back-off, a previous stop.
      e->c.state.stopped_by_user = false;
      e->c.state.restart_count = 0;
      e->restart_delay = std::chrono::milliseconds(0);
    }
    started = start_locked(*e);
  }
  // Docker removes an --rm container whose start failed; clients waiting
  // for condition=removed rely on it.
  if (!started && auto_remove) {
    if (auto r = remove(id, true, true); !r) logger("container")->warn("auto-remove {}: {}", id, r.error().message);
  }
  return started;
}

Result<void> ContainerManager::start_locked(Entry& e) {
  Container c;
  {
    std::lock_guard lock(e.state_mutex);
    c = e.c;
  }
  const StorageDriver* driver = images_.driver();
  if (driver == nullptr) return make_error(Errc::failed_precondition, "no storage driver is loaded");
  std::error_code ec;
  std::string state = state_dir(c.id), bundle = bundle_dir(c.id), rootfs = bundle + "/rootfs";
  fs::create_directories(rootfs, ec);
  if (ec) return make_error(Errc::internal, "create " + rootfs + ": " + ec.message());
  // Left over by a crash: mounts and the last run's shim files.
  (void)unmount_all_under(rootfs);
  for (const char* f : {"exit.json", "shim.sock", "shim.pid", "init.pid"}) fs::remove(state + "/" + f, ec);

  auto fail = [&](Error err) -> Error {
    (void)unmount_all_under(rootfs);
    (void)driver->put(c.id);
    if (network_ != nullptr) network_->detach(c.id);
    unmount_volumes(c);
    std::lock_guard lock(e.state_mutex);
    e.c.state.error = err.message;
    // Docker: 127 when the command is not found, 126 when it cannot run.
    if (err.message.find("not found") != std::string::npos || err.message.find("no such file") != std::string::npos) {
      e.c.state.exit_code = 127;
    } else if (err.message.find("permission denied") != std::string::npos) {
      e.c.state.exit_code = 126;
    }
    (void)save(e.c);
    ++e.starts;  // an attach waiting for this start gives up
    e.changed.notify_all();
    return err;
  };

  const auto& cfg = c.container_config();
  const auto& hc = c.host_config();
  // In a remapped user namespace the layers are seen through idmapped mounts
  // and what the daemon writes for the container belongs to its root.
  const bool remapped = uses_remapped_userns(options_.userns_remap, hc);
  IdmapOptions idmap;
  if (remapped) {
    idmap = IdmapOptions{options_.userns_fd, bundle + "/idmap", options_.userns_remap.root_uid(),
                         options_.userns_remap.root_gid()};
  }
  auto give_to_root = [&](const std::string& path) -> Result<void> {
    if (remapped && ::chown(path.c_str(), idmap.upper_uid, idmap.upper_gid) != 0) {
      return errno_error(Errc::internal, "chown " + path, errno);
    }
    return ok();
  };
  BERTH_TRY(auto specs, driver->get(c.id));
  if (auto r = mount_all(specs, rootfs, idmap); !r) {
    (void)driver->put(c.id);
    return std::move(r).error();
  }

  // Docker creates a missing working directory in the container.
  if (auto wd = string_at(cfg, "WorkingDir"); !wd.empty()) {
    if (auto inside = resolve_in_root(rootfs, wd); inside && !fs::exists(inside.value(), ec)) {
      fs::create_directories(inside.value(), ec);
      if (auto r = give_to_root(inside.value()); !r) return fail(std::move(r).error());
    }
  }
  bool copied = false;
  auto points = mount_volumes(c, rootfs, copied);
  if (!points) return fail(std::move(points).error());
  if (copied) {
    // Copy-up happens once: the next start finds the volume as it was left.
    json::array stored;
    for (const auto& m : points.value()) stored.push_back(m.to_json());
    std::lock_guard lock(e.state_mutex);
    e.c.config["MountPoints"] = stored;
  }
  std::string network_mode = network_ != nullptr ? network_->network_mode(hc) : string_at(hc, "NetworkMode");
  bool host_network = network_mode == "host";
  std::string hostname = string_at(cfg, "Hostname");
  std::string hostname_path = string_at(c.config, "HostnamePath"), hosts_path = string_at(c.config, "HostsPath"),
              resolv_path = string_at(c.config, "ResolvConfPath");
  network::Sandbox sandbox;
  if (network_mode.starts_with("container:")) {
    // Another container's namespace, with its names (Docker's container mode).
    const std::string target = network_mode.substr(10);
    auto other = get(target);
    if (!other) return fail(make_error(Errc::not_found, "No such container: " + target));
    if (!other.value().state.running() || other.value().state.pid <= 0) {
      return fail(make_error(Errc::conflict, "cannot join network of a non running container: " + target));
    }
    if (other.value().id == c.id) return fail(make_error(Errc::invalid_argument, "cannot join own network"));
    sandbox.netns_path = "/proc/" + std::to_string(other.value().state.pid) + "/ns/net";
    auto read = [](const json::value* v) {
      std::ifstream in(v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string());
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    sandbox.hosts = read(other.value().config.if_contains("HostsPath"));
    sandbox.resolv_conf = read(other.value().config.if_contains("ResolvConfPath"));
    if (hostname.empty()) hostname = string_at(other.value().container_config(), "Hostname");
    if (hostname.empty()) hostname = other.value().id.substr(0, 12);
  } else {
    if (hostname.empty()) {
      if (host_network) {
        char buf[256] = {};
        ::gethostname(buf, sizeof buf - 1);
        hostname = buf;
      } else {
        hostname = c.id.substr(0, 12);
      }
    }
    if (network_ != nullptr) {
      auto net = networking_of(c);
      net.hostname = hostname;
      auto attached = network_->attach(net);
      if (!attached) return fail(std::move(attached).error());
      sandbox = std::move(attached).value();
    } else {
      sandbox.netns_path = host_network ? "host" : "";
      sandbox.hosts = hosts_file(hostname);
      sandbox.resolv_conf = resolv_conf(host_network);
    }
  }
  // Rewritten at every start: renamed into place, not fsynced.
  using proto::Sync;
  if (auto r = proto::write_atomic(hostname_path, hostname + "\n", Sync::no); !r) return fail(std::move(r).error());
  if (auto r = proto::write_atomic(hosts_path, sandbox.hosts, Sync::no); !r) return fail(std::move(r).error());
  if (auto r = proto::write_atomic(resolv_path, sandbox.resolv_conf, Sync::no); !r) return fail(std::move(r).error());
  for (const std::string* path : {&hostname_path, &hosts_path, &resolv_path}) {
    if (auto r = give_to_root(*path); !r) return fail(std::move(r).error());
  }

  // The stored config was merged with the image's at create; merging it
  // again would bring back an image Entrypoint that `--entrypoint ""`
  // cleared (Docker too starts the stored Path and Args).
  SpecInput in;
  in.id = c.id;
  in.name = c.name;
  in.config = cfg;
  in.host_config = hc;
  in.rootfs = rootfs;
  in.hostname_path = hostname_path;
  in.hosts_path = hosts_path;
  in.resolv_conf_path = resolv_path;
  in.netns_path = sandbox.netns_path;
  in.cgroup_parent = string_at(hc, "CgroupParent").empty() ? options_.cgroup_parent : string_at(hc, "CgroupParent");
  in.mount_points = std::move(points).value();
  in.uid_mappings = options_.userns_remap.uid_maps;
  in.gid_mappings = options_.userns_remap.gid_maps;
  auto spec = make_spec(in);
  if (!spec) return fail(std::move(spec).error());
  if (auto r = proto::write_atomic(bundle + "/config.json", json::serialize(spec.value()), Sync::no); !r) {
    return fail(std::move(r).error());
  }

  auto log_driver = log_driver_for(c);
  if (!log_driver) return fail(std::move(log_driver).error());
  ShimOptions so;
  so.shim_path = options_.shim_path;
  so.id = c.id;
  so.bundle = bundle;
  so.state_dir = state;
  std::string runtime = string_at(hc, "Runtime");
  if (runtime.empty()) runtime = options_.default_runtime;
  if (auto it = options_.runtimes.find(runtime); it != options_.runtimes.end()) {
    so.runtime = it->second.path;
    so.runtime_args = it->second.args;
  } else {
    so.runtime = "native";
  }
  so.tty = c.tty();
  so.open_stdin = bool_at(cfg, "OpenStdin");
  so.stdin_once = bool_at(cfg, "StdinOnce");
  so.log_driver = log_driver.value()->id();
  so.log_info_json = log_info(c);
  so.plugin_dirs = options_.plugin_dirs;
  {
    std::lock_guard lock(e.state_mutex);
    so.hold_output = e.attaches_expected > 0;
    e.attaches_expected = 0;
  }
  auto pid = Shim::start(so);
  if (!pid) return fail(std::move(pid).error());

  {
    std::lock_guard lock(e.state_mutex);
    e.c.state.status = "running";
    e.c.state.pid = pid.value();
    e.c.state.exit_code = 0;
    e.c.state.error.clear();
    e.c.state.oom_killed = false;
    e.c.state.started_at = rfc3339_now();
    e.c.state.finished_at = kZeroTime;
    e.run_started = std::chrono::steady_clock::now();
    ++e.starts;
    c = e.c;
  }
  BERTH_TRY(save(c));
  e.changed.notify_all();
  emit("start", c);
  std::shared_ptr<Entry> self;
  {
    std::lock_guard lock(mutex_);
    self = entries_.at(c.id);
  }
  if (e.monitor.joinable()) e.monitor.detach();
  e.monitor = std::thread([this, self] { monitor(self); });
  return ok();
}

void ContainerManager::monitor(std::shared_ptr<Entry> e) {
  std::string id;
  {
    std::lock_guard lock(e->state_mutex);
    id = e->c.id;
  }
  Shim shim(state_dir(id));
  auto status = shim.wait();
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) return;
  }
  if (!status) {
    // The shim is gone without a record: the container died with it.
    ExitStatus lost;
    lost.exit_code = 255;
    lost.finished_at = rfc3339_now();
    lost.error = "container's shim exited unexpectedly: " + status.error().message;
    on_exit(e, lost);
    return;
  }
  on_exit(e, status.value());
}

Result<void> ContainerManager::cleanup_after_exit(Entry& e) {
  if (network_ != nullptr) network_->detach(e.c.id);
  unmount_volumes(e.c);
  const StorageDriver* driver = images_.driver();
  std::string rootfs = bundle_dir(e.c.id) + "/rootfs";
  auto r = unmount_all_under(rootfs);
  if (driver != nullptr) (void)driver->put(e.c.id);
  if (!r) return std::move(r).error();
  return ok();
}

namespace {

// Whether `c`'s restart policy starts it again after it exited (Docker's
// restart manager). At a daemon start, `always` applies even after a stop
// by the user ("restarted only when the daemon restarts"); the others do
// not once the user stopped it. After an exit, the caller checks the stop.
bool restart_policy_applies(const Container& c, bool at_daemon_start) {
  const auto& policy = object_at(c.host_config(), "RestartPolicy");
  std::string name = string_at(policy, "Name");
  std::int64_t max = int_at(policy, "MaximumRetryCount");
  if (name == "always") return true;
  if (at_daemon_start && c.state.stopped_by_user) return false;
  if (name == "unless-stopped") return true;
  return name == "on-failure" && c.state.exit_code != 0 && (max == 0 || c.state.restart_count < max);
}

// Docker's back-off: 100 ms, doubling up to a minute; back to 100 ms when
// the run that just ended lasted 10 s or more.
std::chrono::milliseconds next_restart_delay(std::chrono::milliseconds last, std::chrono::steady_clock::duration ran) {
  constexpr std::chrono::milliseconds kFirst{100}, kMax{60000};
  if (ran >= std::chrono::seconds(10) || last.count() == 0) return kFirst;
  return std::min(last * 2, kMax);
}

}  // namespace

void ContainerManager::on_exit(const std::shared_ptr<Entry>& e, const ExitStatus& status) {
  bool auto_remove = false, restart = false;
  std::chrono::milliseconds delay{0};
  Container c;
  {
    std::lock_guard op(e->m);
    {
      std::lock_guard lock(e->state_mutex);
      if (!e->c.state.running()) return;
      e->c.state.status = "exited";
      e->c.state.exit_code = status.exit_code;
      e->c.state.oom_killed = status.oom_killed;
      e->c.state.finished_at = status.finished_at.empty() ? rfc3339_now() : status.finished_at;
      e->c.state.error = status.error;
      e->c.state.pid = 0;
    }
    if (auto r = cleanup_after_exit(*e); !r) logger("container")->warn("clean up {}: {}", e->c.id, r.error().message);
    c = e->c;
    // Restart policies (Docker's): always / unless-stopped / on-failure[:N],
    // not after a user's stop.
    auto_remove = bool_at(c.host_config(), "AutoRemove");
    restart = !c.state.stopped_by_user && !auto_remove && restart_policy_applies(c, false);
    if (restart) {
      std::lock_guard lock(e->state_mutex);
      e->c.state.status = "restarting";
      e->c.state.restart_count++;
      delay = next_restart_delay(e->restart_delay, std::chrono::steady_clock::now() - e->run_started);
      e->restart_delay = delay;
      c = e->c;
    }
    (void)save(c);
    // Reported before waiters wake, so that "die" comes before what they
    // report next ("stop", "destroy"); Docker's "oom" precedes it.
    if (status.oom_killed) emit("oom", c);
    emit("die", c, {{"exitCode", std::to_string(status.exit_code)}});
    {
      std::lock_guard lock(e->state_mutex);
      ++e->exits;
    }
    e->changed.notify_all();
  }
  if (auto_remove) {
    if (auto r = remove(c.id, true, true); !r) logger("container")->warn("auto-remove {}: {}", c.id, r.error().message);
    return;
  }
  if (restart) {
    // The back-off ends early when the container is stopped, removed or
    // started by the user meanwhile, or the daemon shuts down.
    auto pending = [&] { return e->c.state.status == "restarting" && !e->removed && !e->daemon_stopping; };
    {
      std::unique_lock lock(e->state_mutex);
      e->changed.wait_for(lock, delay, [&] { return !pending(); });
    }
    std::lock_guard op(e->m);
    {
      std::lock_guard lock(e->state_mutex);
      if (!pending()) return;
    }
    if (auto r = start_locked(*e); !r) {
      logger("container")->warn("restart {}: {}", c.id, r.error().message);
      std::lock_guard lock(e->state_mutex);
      e->c.state.status = "exited";
      (void)save(e->c);
    }
  }
}

// --- stop / kill / wait --------------------------------------------------------

Result<void> ContainerManager::kill(const std::string& name, const std::string& signal) {
  BERTH_TRY(auto e, find(name));
  BERTH_TRY(int sig, parse_signal(signal));
  std::lock_guard op(e->m);
  std::string id;
  {
    std::lock_guard lock(e->state_mutex);
    id = e->c.id;
    if (!e->c.state.running()) {
      return make_error(Errc::conflict, "Cannot kill container: " + name + ": Container " + id + " is not running");
    }
    if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT) e->c.state.stopped_by_user = true;
    (void)save(e->c);
  }
  Container c;
  {
    std::lock_guard lock(e->state_mutex);
    c = e->c;
  }
  emit("kill", c, {{"signal", std::to_string(sig)}});
  return Shim(state_dir(id)).kill(sig);
}

Result<void> ContainerManager::stop(const std::string& name, std::optional<int> timeout,
                                    std::optional<std::string> signal, bool* was_running) {
  return halt(name, timeout, std::move(signal), was_running, true);
}

Result<void> ContainerManager::halt(const std::string& name, std::optional<int> timeout,
                                    std::optional<std::string> signal, bool* was_running, bool stop_event) {
  BERTH_TRY(auto e, find(name));
  std::string id;
  std::uint64_t exits;
  int sig = SIGTERM;
  {
    std::lock_guard op(e->m);
    std::lock_guard lock(e->state_mutex);
    id = e->c.id;
    if (was_running != nullptr) *was_running = e->c.state.running();
    if (!e->c.state.running()) return ok();
    e->c.state.stopped_by_user = true;
    if (e->c.state.status == "restarting") {
      // Between runs: the pending restart is called off (its monitor waits
      // on `changed`).
      e->c.state.status = "exited";
      (void)save(e->c);
      e->changed.notify_all();
      return ok();
    }
    (void)save(e->c);
    exits = e->exits;
    std::string s = signal.value_or(string_at(e->c.container_config(), "StopSignal"));
    if (!s.empty()) {
      auto parsed = parse_signal(s);
      if (!parsed) return std::move(parsed).error();
      sig = parsed.value();
    }
    if (!timeout) {
      auto t = int_at(e->c.container_config(), "StopTimeout", -1);
      timeout = t >= 0 ? static_cast<int>(t) : 10;
    }
  }
  Shim shim(state_dir(id));
  if (e->c.state.status == "paused") (void)unpause(id);
  // As Docker: "kill" for each signal sent, "stop" once it exited.
  auto signal_event = [&](int s) {
    std::unique_lock lock(e->state_mutex);
    emit("kill", e->c, {{"signal", std::to_string(s)}});
  };
  signal_event(sig);
  (void)shim.kill(sig);
  auto exited = [&] { return e->exits > exits; };
  {
    std::unique_lock lock(e->state_mutex);
    if (*timeout < 0 ? (e->changed.wait(lock, exited), true)
                     : e->changed.wait_for(lock, std::chrono::seconds(*timeout), exited)) {
      if (stop_event) emit("stop", e->c);
      return ok();
    }
  }
  signal_event(SIGKILL);
  (void)shim.kill(SIGKILL);
  std::unique_lock lock(e->state_mutex);
  if (!e->changed.wait_for(lock, std::chrono::seconds(30), exited)) {
    return make_error(Errc::internal, "container " + id + " did not exit after SIGKILL");
  }
  if (stop_event) emit("stop", e->c);
  return ok();
}

Result<void> ContainerManager::restart(const std::string& name, std::optional<int> timeout) {
  BERTH_TRY(stop(name, timeout, std::nullopt));
  BERTH_TRY(auto e, find(name));
  {
    std::lock_guard lock(e->state_mutex);
    e->c.state.stopped_by_user = false;
  }
  auto r = start(name);
  if (!r && r.error().code != Errc::already_exists) return r;
  BERTH_TRY(auto c, get(name));
  emit("restart", c);
  return ok();
}

Result<State> ContainerManager::wait(const std::string& name, WaitCondition condition,
                                     const std::function<bool()>& cancelled) {
  BERTH_TRY(auto e, find(name));
  std::unique_lock lock(e->state_mutex);
  std::uint64_t exits = e->exits;
  auto done = [&] {
    switch (condition) {
      case WaitCondition::not_running:
        return !e->c.state.running() || e->c.state.status == "restarting";
      case WaitCondition::next_exit:
        return e->exits > exits;
      case WaitCondition::removed:
        return e->removed;
    }
    return true;
  };
  while (!done()) {
    e->changed.wait_for(lock, std::chrono::milliseconds(200));
    if (cancelled && cancelled()) return make_error(Errc::unavailable, "wait cancelled: the client went away");
  }
  return e->c.state;
}

Result<void> ContainerManager::pause(const std::string& name) {
  BERTH_TRY(auto e, find(name));
  std::lock_guard op(e->m);
  std::lock_guard lock(e->state_mutex);
  if (e->c.state.status == "paused") return make_error(Errc::conflict, "Container " + e->c.id + " is already paused");
  if (!e->c.state.running()) return make_error(Errc::conflict, "Container " + e->c.id + " is not running");
  BERTH_TRY(auto cg, cgroup_path(bundle_dir(e->c.id)));
  BERTH_TRY(runtime::cgroups::freeze(cg, true));
  e->c.state.status = "paused";
  BERTH_TRY(save(e->c));
  emit("pause", e->c);
  return ok();
}

Result<void> ContainerManager::unpause(const std::string& name) {
  BERTH_TRY(auto e, find(name));
  std::lock_guard lock(e->state_mutex);
  if (e->c.state.status != "paused") return make_error(Errc::conflict, "Container " + e->c.id + " is not paused");
  BERTH_TRY(auto cg, cgroup_path(bundle_dir(e->c.id)));
  BERTH_TRY(runtime::cgroups::freeze(cg, false));
  e->c.state.status = "running";
  BERTH_TRY(save(e->c));
  emit("unpause", e->c);
  return ok();
}

// --- remove / rename -----------------------------------------------------------

Result<void> ContainerManager::remove(const std::string& name, bool force, bool volumes) {
  BERTH_TRY(auto e, find(name));
  std::string id;
  {
    std::lock_guard lock(e->state_mutex);
    id = e->c.id;
    if (e->c.state.status == "removing") {
      return make_error(Errc::conflict, "removal of container " + id + " is already in progress");
    }
    if (e->c.state.running() && !force) {
      return make_error(Errc::conflict, "You cannot remove a " + e->c.state.status + " container " + id +
                                            ". Stop the container before attempting removal or force remove");
    }
  }
  // With force, a start in progress when the removal began (it holds the
  // operation lock) finishes first, and what it started is killed too.
  std::unique_lock op(e->m, std::defer_lock);
  Container c;
  for (int round = 0;; ++round) {
    if (force) {
      bool running = false;
      {
        std::lock_guard lock(e->state_mutex);
        running = e->c.state.running();
      }
      // As Docker's rm -f: one SIGKILL, reported as "kill", "die" and then
      // "destroy" (no "stop").
      if (running) {
        BERTH_TRY(halt(id, 30, std::string("SIGKILL"), nullptr, false));
      }
    }
    op.lock();
    std::lock_guard lock(e->state_mutex);
    if (!e->c.state.running()) {
      e->c.state.status = "removing";
      c = e->c;
      break;
    }
    if (!force || round >= 3) {
      return make_error(Errc::conflict, "container " + id + " started again while being removed");
    }
    op.unlock();
  }
  (void)save(c);
  (void)cleanup_after_exit(*e);
  std::error_code ec;
  fs::remove_all(state_dir(id), ec);
  const StorageDriver* driver = images_.driver();
  if (driver != nullptr && driver->exists(id)) {
    if (auto r = driver->remove(id); !r) {
      std::lock_guard lock(e->state_mutex);
      e->c.state.status = "dead";
      e->c.state.error = r.error().message;
      (void)save(e->c);
      return std::move(r).error();
    }
  }
  fs::remove_all(container_dir(id), ec);
  BERTH_TRY(guard("delete container " + id, [&] {
    db_.with_db([&](SQLite::Database& db) {
      SQLite::Statement q(db, "DELETE FROM containers WHERE id = ?");
      q.bind(1, id);
      q.exec();
    });
  }));
  // Its volumes lose a user; with -v (and --rm) its anonymous ones go.
  std::vector<std::string> anonymous;
  if (volumes && volumes_ != nullptr) {
    for (const auto& m : mount_points(c)) {
      if (m.type != "volume") continue;
      if (auto v = volumes_->get(m.name); v && v.value().anonymous()) anonymous.push_back(m.name);
    }
  }
  drop_volumes(id, anonymous);
  {
    std::lock_guard lock(mutex_);
    entries_.erase(id);
  }
  {
    std::lock_guard lock(e->state_mutex);
    e->removed = true;
  }
  e->changed.notify_all();
  // A monitor waiting out a restart back-off takes the operation lock
  // to see the removal: let it go before joining it.
  op.unlock();
  if (e->monitor.joinable()) {
    if (e->monitor.get_id() == std::this_thread::get_id()) {
      e->monitor.detach();
    } else {
      e->monitor.join();
    }
  }
  emit("destroy", c);
  return ok();
}

Result<void> ContainerManager::rename(const std::string& name, const std::string& new_name_in) {
  BERTH_TRY(auto e, find(name));
  if (new_name_in.empty()) return make_error(Errc::invalid_argument, "Neither old nor new names may be empty");
  if (!is_object_name(new_name_in.starts_with('/') ? new_name_in.substr(1) : new_name_in, 2)) {
    return make_error(Errc::invalid_argument,
                      "Invalid container name (" + new_name_in + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  }
  std::string new_name = new_name_in.starts_with("/") ? new_name_in : "/" + new_name_in;
  std::lock_guard lock(mutex_);
  for (auto& [id, other] : entries_) {
    if (other != e && other->c.name == new_name) {
      return make_error(Errc::conflict, "Conflict. The container name \"" + new_name +
                                            "\" is already in use by container \"" + id +
                                            "\". You have to remove (or rename) that container to be able to reuse "
                                            "that name.");
    }
  }
  std::lock_guard state(e->state_mutex);
  if (e->c.name == new_name) {
    return make_error(Errc::invalid_argument, "Renaming a container with the same name as its current name");
  }
  std::string old = e->c.name;
  e->c.name = new_name;
  if (auto r = save(e->c); !r) {
    e->c.name = old;
    return std::move(r).error();
  }
  emit("rename", e->c, {{"oldName", old}});
  return ok();
}

// --- attach / resize / logs -------------------------------------------------------

Result<void> ContainerManager::resize(const std::string& name, int height, int width) {
  BERTH_TRY(auto e, find(name));
  std::string id;
  {
    std::lock_guard lock(e->state_mutex);
    id = e->c.id;
    if (!e->c.state.running()) return make_error(Errc::conflict, "Container " + id + " is not running");
  }
  BERTH_TRY(Shim(state_dir(id)).resize(height, width));
  std::lock_guard lock(e->state_mutex);
  emit("resize", e->c, {{"height", std::to_string(height)}, {"width", std::to_string(width)}});
  return ok();
}

Result<std::uint64_t> ContainerManager::expect_attach(const std::string& name) {
  BERTH_TRY(auto e, find(name));
  std::lock_guard lock(e->state_mutex);
  ++e->attaches_expected;
  emit("attach", e->c);
  return e->starts;
}

void ContainerManager::forget_attach(const std::string& name) {
  auto e = find(name);
  if (!e) return;
  std::lock_guard lock(e.value()->state_mutex);
  if (e.value()->attaches_expected > 0) --e.value()->attaches_expected;
}

Result<bool> ContainerManager::wait_started(const std::string& name, std::uint64_t after_starts,
                                            std::chrono::milliseconds timeout) {
  BERTH_TRY(auto e, find(name));
  std::unique_lock lock(e->state_mutex);
  bool started = e->changed.wait_for(lock, timeout, [&] { return e->removed || e->starts > after_starts; });
  if (e->removed) return make_error(Errc::not_found, not_found_message(name));
  return started;
}

Result<FrameStream> ContainerManager::attach(const std::string& name, bool in, bool out, bool err, bool replay) {
  BERTH_TRY(auto e, find(name));
  std::string id;
  {
    std::lock_guard lock(e->state_mutex);
    id = e->c.id;
    if (!e->c.state.running()) return make_error(Errc::conflict, "You cannot attach to a stopped container, start it first");
    if (e->c.state.status == "paused") return make_error(Errc::conflict, "You cannot attach to a paused container, unpause it first");
    // An attach made before the start was reported by expect_attach.
    if (!replay) emit("attach", e->c);
  }
  return Shim(state_dir(id)).attach(in, out, err, replay);
}

Result<void> ContainerManager::logs(const std::string& name, const LogsOptions& options,
                                    const std::function<bool(const LogRecord&)>& on_record,
                                    const std::function<bool()>& stopped) {
  BERTH_TRY(auto e, find(name));
  Container c;
  {
    std::lock_guard lock(e->state_mutex);
    c = e->c;
  }
  BERTH_TRY(auto driver, log_driver_for(c));
  if (!driver->can_read()) {
    return make_error(Errc::unsupported, "configured logging driver does not support reading");
  }
  LogReadOptions o{options.since_unix_nano, options.until_unix_nano, options.tail, options.follow};
  // Following ends when the container stops and everything was read.
  auto done = [&] {
    if (stopped && stopped()) return true;
    std::lock_guard lock(e->state_mutex);
    return !e->c.state.running() || e->removed;
  };
  return driver->read(log_info(c), o, on_record, options.follow ? std::function<bool()>(done) : stopped);
}

// --- exec -------------------------------------------------------------------

namespace {

// The command of an exec as Docker's exec events name it: the entrypoint,
// a space, and the arguments joined by spaces ("exec_start: ls ").
std::string exec_command_line(const json::object& config) {
  std::string out;
  const auto* cmd = config.if_contains("Cmd");
  if (cmd == nullptr || !cmd->is_array()) return out;
  const auto& a = cmd->get_array();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string()) continue;
    if (i > 1) out += ' ';
    out += a[i].get_string();
    if (i == 0) out += ' ';
  }
  return out;
}

}  // namespace

Result<std::string> ContainerManager::exec_create(const std::string& name, const json::object& config) {
  BERTH_TRY(auto e, find(name));
  Container c;
  {
    std::lock_guard lock(e->state_mutex);
    c = e->c;
  }
  if (!c.state.running()) return make_error(Errc::conflict, "Container " + c.id + " is not running");
  if (c.state.status == "paused") return make_error(Errc::conflict, "Container " + c.id + " is paused, unpause the container before exec");
  const auto* cmd = config.if_contains("Cmd");
  if (cmd == nullptr || !cmd->is_array() || cmd->get_array().empty()) {
    return make_error(Errc::invalid_argument, "No exec command specified");
  }
  ExecInstance x;
  x.id = random_id();
  x.container_id = c.id;
  x.config = config;
  std::lock_guard lock(mutex_);
  execs_[x.id] = x;
  emit("exec_create: " + exec_command_line(config), c, {{"execID", x.id}});
  return x.id;
}

Result<ExecInstance> ContainerManager::exec_get(const std::string& exec_id) {
  std::lock_guard lock(mutex_);
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return make_error(Errc::not_found, "No such exec instance: " + exec_id);
  return it->second;
}

Result<FrameStream> ContainerManager::exec_start(const std::string& exec_id) {
  BERTH_TRY(auto x, exec_get(exec_id));
  if (x.running || x.has_exit) return make_error(Errc::conflict, "Error: Exec command " + exec_id + " has already run");
  BERTH_TRY(auto c, get(x.container_id));
  if (!c.state.running()) return make_error(Errc::conflict, "Container " + c.id + " is not running");
  BERTH_TRY(auto process, exec_process(bundle_dir(c.id), x.config));
  bool in = bool_at(x.config, "AttachStdin"), out = bool_at(x.config, "AttachStdout"),
       err = bool_at(x.config, "AttachStderr");
  pid_t pid = 0;
  BERTH_TRY(auto stream, Shim(state_dir(c.id)).exec(exec_id, process, in, out, err, &pid));
  std::lock_guard lock(mutex_);
  auto& rec = execs_[exec_id];
  rec.running = true;
  rec.pid = pid;
  emit("exec_start: " + exec_command_line(x.config), c, {{"execID", exec_id}});
  return stream;
}

void ContainerManager::exec_finished(const std::string& exec_id, int exit_code) {
  std::string container_id;
  {
    std::lock_guard lock(mutex_);
    auto it = execs_.find(exec_id);
    if (it == execs_.end()) return;
    it->second.running = false;
    it->second.has_exit = true;
    it->second.exit_code = exit_code;
    it->second.pid = 0;
    container_id = it->second.container_id;
  }
  if (auto c = get(container_id)) {
    emit("exec_die", c.value(), {{"execID", exec_id}, {"exitCode", std::to_string(exit_code)}});
  }
}

Result<void> ContainerManager::exec_resize(const std::string& exec_id, int height, int width) {
  BERTH_TRY(auto x, exec_get(exec_id));
  return Shim(state_dir(x.container_id)).resize(height, width, exec_id);
}

// --- restore ------------------------------------------------------------------

Result<void> ContainerManager::restore() {
  BERTH_TRY(auto rows, guard("load containers", [&] {
    return db_.with_db([&](SQLite::Database& db) {
      std::vector<Container> out;
      SQLite::Statement q(db, "SELECT id, name, image_id, created, config, state FROM containers");
      while (q.executeStep()) {
        Container c;
        c.id = q.getColumn(0).getString();
        c.name = q.getColumn(1).getString();
        c.image_id = q.getColumn(2).getString();
        c.created = q.getColumn(3).getString();
        json::error_code ec;
        auto cfg = json::parse(q.getColumn(4).getString(), ec);
        if (!ec && cfg.is_object()) c.config = cfg.get_object();
        auto st = json::parse(q.getColumn(5).getString(), ec);
        if (!ec) c.state = State::from_json(st);
        out.push_back(std::move(c));
      }
      return out;
    });
  }));
  const StorageDriver* driver = images_.driver();
  std::vector<std::shared_ptr<Entry>> to_start;
  for (auto& c : rows) {
    auto e = std::make_shared<Entry>();
    e->c = c;
    {
      std::lock_guard lock(mutex_);
      entries_[c.id] = e;
    }
    Shim shim(state_dir(c.id));
    if (c.state.running() && shim.alive()) {
      // Still running: take the layer reference again and watch it.
      if (driver != nullptr) (void)driver->get(c.id);
      e->monitor = std::thread([this, e] { monitor(e); });
      continue;
    }
    if (c.state.running()) {
      ExitStatus s;
      if (auto rec = shim.recorded_exit()) {
        s = *rec;
      } else {
        s.exit_code = 255;
        s.finished_at = rfc3339_now();
        s.error = "container's shim is gone; the container was lost while the daemon was down";
      }
      std::string rootfs = bundle_dir(c.id) + "/rootfs";
      (void)unmount_all_under(rootfs);
      {
        std::lock_guard lock(e->state_mutex);
        e->c.state.status = "exited";
        e->c.state.exit_code = s.exit_code;
        e->c.state.oom_killed = s.oom_killed;
        e->c.state.finished_at = s.finished_at;
        e->c.state.error = s.error;
        e->c.state.pid = 0;
      }
      (void)save(e->c);
    } else if (c.state.status == "removing" || c.state.status == "creating") {
      // Interrupted: finish the removal.
      (void)remove(c.id, true, false);
      continue;
    } else {
      (void)unmount_all_under(bundle_dir(c.id) + "/rootfs");
    }
    if (bool_at(e->c.host_config(), "AutoRemove") && e->c.state.status == "exited") {
      (void)remove(c.id, true, true);
      continue;
    }
    // Containers never started stay created.
    if (e->c.state.status == "exited" && restart_policy_applies(e->c, true)) to_start.push_back(e);
  }
  // Networking of the containers that still run is kept; the rest is undone.
  if (network_ != nullptr) {
    std::vector<network::ContainerNetworking> running;
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, e] : entries_) {
        std::lock_guard state(e->state_mutex);
        if (e->c.state.running()) running.push_back(networking_of(e->c, false));
      }
    }
    if (auto r = network_->restore(running); !r) logger("container")->warn("restore networking: {}", r.error().message);
  }
  restore_volumes();
  for (auto& e : to_start) {
    std::lock_guard op(e->m);
    if (auto r = start_locked(*e); !r) logger("container")->warn("restart {}: {}", e->c.id, r.error().message);
  }
  return ok();
}

namespace {

// A container's NetworkingConfig.EndpointsConfig, made when missing.
json::object& endpoints_config_of(Container& c) {
  auto& nc = c.config["NetworkingConfig"];
  if (!nc.is_object()) nc = json::object{};
  auto& ec = nc.as_object()["EndpointsConfig"];
  if (!ec.is_object()) ec = json::object{};
  return ec.as_object();
}

}  // namespace

network::ContainerNetworking ContainerManager::networking_of(const Container& c, bool with_image_ports) const {
  network::ContainerNetworking n;
  n.id = c.id;
  n.name = c.name.starts_with("/") ? c.name.substr(1) : c.name;
  const auto& cfg = c.container_config();
  n.hostname = string_at(cfg, "Hostname");
  if (n.hostname.empty()) n.hostname = c.id.substr(0, 12);
  n.domainname = string_at(cfg, "Domainname");
  n.host_config = c.host_config();
  n.endpoints_config = object_at(object_at(c.config, "NetworkingConfig"), "EndpointsConfig");
  for (const auto& [port, v] : object_at(cfg, "ExposedPorts")) n.exposed_ports.emplace_back(port);
  // The image's exposed ports count too (-P publishes them).
  if (!with_image_ports) return n;
  if (auto info = images_.get(c.image_id)) {
    json::error_code ec;
    auto ic = json::parse(info.value().config, ec);
    if (!ec && ic.is_object()) {
      for (const auto& [port, v] : object_at(object_at(ic.get_object(), "config"), "ExposedPorts")) {
        if (std::find(n.exposed_ports.begin(), n.exposed_ports.end(), std::string(port)) == n.exposed_ports.end()) {
          n.exposed_ports.emplace_back(port);
        }
      }
    }
  }
  return n;
}

Result<void> ContainerManager::connect(const std::string& name, const std::string& network,
                                       const json::object& endpoint_config) {
  if (network_ == nullptr) return make_error(Errc::unsupported, "networking is not available");
  BERTH_TRY(auto e, find(name));
  std::lock_guard op(e->m);
  Container c;
  {
    std::lock_guard lock(e->state_mutex);
    c = e->c;
  }
  BERTH_TRY(auto n, network_->find(network));
  const std::string mode = network_->network_mode(c.host_config());
  auto eps = object_at(object_at(c.config, "NetworkingConfig"), "EndpointsConfig");
  if (eps.contains(n.name) || mode == n.name) {
    if (c.state.running() || eps.contains(n.name)) {
      return make_error(Errc::permission_denied,
                        "endpoint with name " + networking_of(c, false).name + " already exists in network " + n.name);
    }
  }
  if (c.state.running()) {
    BERTH_TRY(auto resolv, network_->connect(networking_of(c), n.name, endpoint_config));
    // Its first user network: names now go to the embedded DNS server.
    // Rewritten in place: the container has this very file bind-mounted.
    if (!resolv.empty()) {
      std::ofstream out(string_at(c.config, "ResolvConfPath"), std::ios::trunc);
      if (!(out << resolv).flush()) logger("container")->warn("container {}: rewrite resolv.conf", c.id);
    }
  } else {
    json::object probe;
    probe[n.name] = endpoint_config;
    BERTH_TRY(network_->validate(json::object{{"NetworkMode", mode}}, probe));
    if (mode == "none" || mode == "host" || mode.starts_with("container:")) {
      return make_error(Errc::permission_denied, "container cannot be connected to network " + n.name +
                                                     " while in " + mode + " network mode");
    }
  }
  std::lock_guard lock(e->state_mutex);
  json::object& ec = endpoints_config_of(e->c);
  ec[n.name] = endpoint_config;
  return save(e->c);
}

Result<void> ContainerManager::disconnect(const std::string& name, const std::string& network, bool force) {
  if (network_ == nullptr) return make_error(Errc::unsupported, "networking is not available");
  BERTH_TRY(auto e, find(name));
  std::lock_guard op(e->m);
  Container c;
  {
    std::lock_guard lock(e->state_mutex);
    c = e->c;
  }
  auto n = network_->find(network);
  if (!n && !force) return std::move(n).error();
  const std::string net_name = n ? n.value().name : network;
  const std::string mode = network_->network_mode(c.host_config());
  auto eps = object_at(object_at(c.config, "NetworkingConfig"), "EndpointsConfig");
  if (mode == "host" && net_name == "host") {
    return make_error(Errc::permission_denied, "container cannot be disconnected from host network or connected to host network");
  }
  if (!eps.contains(net_name) && mode != net_name) {
    return make_error(Errc::permission_denied, "container " + c.id + " is not connected to network " + net_name);
  }
  if (n) {
    BERTH_TRY(network_->disconnect(c.id, n.value().name, force));
  }
  std::lock_guard lock(e->state_mutex);
  json::object& ec = endpoints_config_of(e->c);
  ec.erase(net_name);
  // Off its mode's network: the container keeps no network of that mode.
  if (mode == net_name) {
    auto& hc = e->c.config["HostConfig"];
    if (hc.is_object()) {
      std::string next = ec.empty() ? "none" : std::string(ec.begin()->key());
      hc.as_object()["NetworkMode"] = next;
    }
  }
  return save(e->c);
}

// --- the container's filesystem (changes, export, cp, commit) ----------------------

ContainerManager::MountedRootfs::~MountedRootfs() {
  if (driver_ == nullptr) return;
  if (auto r = unmount_all_under(path_); !r) logger("container")->warn("unmount {}: {}", path_, r.error().message);
  (void)driver_->put(c_.id);
}

Result<std::unique_ptr<ContainerManager::MountedRootfs>> ContainerManager::mount_rootfs(const std::string& name) {
  BERTH_TRY(auto e, find(name));
  std::unique_ptr<MountedRootfs> m(new MountedRootfs);
  m->entry_ = e;
  m->op_ = std::unique_lock(e->m);
  {
    std::lock_guard lock(e->state_mutex);
    if (e->removed) return make_error(Errc::not_found, "No such container: " + name);
    m->c_ = e->c;
  }
  m->path_ = bundle_dir(m->c_.id) + "/rootfs";
  // Running or paused: the shim's container has it mounted (under the op
  // lock it stays so).
  if (m->c_.state.status == "running" || m->c_.state.status == "paused") return m;
  const StorageDriver* driver = images_.driver();
  if (driver == nullptr) return make_error(Errc::failed_precondition, "no storage driver is loaded");
  std::error_code ec;
  fs::create_directories(m->path_, ec);
  if (ec) return make_error(Errc::internal, "create " + m->path_ + ": " + ec.message());
  (void)unmount_all_under(m->path_);
  BERTH_TRY(auto specs, driver->get(m->c_.id));
  if (auto r = mount_all(specs, m->path_); !r) {
    (void)driver->put(m->c_.id);
    return std::move(r).error();
  }
  m->driver_ = driver;
  return m;
}

namespace {

// The storage driver's id of the layer a container's read-write layer sits
// on ("" for an image without layers).
Result<std::string> parent_cache_id(image::ImageStore& images, const Container& c) {
  BERTH_TRY(auto info, images.get(c.image_id));
  if (info.top_layer.empty()) return std::string();
  auto top = images.layer(info.top_layer);
  if (!top) return make_error(Errc::not_found, "image " + c.image_id + " has no layer " + info.top_layer);
  return top->cache_id;
}

}  // namespace

Result<void> ContainerManager::with_layer(const std::string& name, const LayerFn& fn) {
  BERTH_TRY(auto e, find(name));
  std::lock_guard op(e->m);
  BERTH_TRY(auto c, get(e->c.id));
  const StorageDriver* driver = images_.driver();
  if (driver == nullptr) return make_error(Errc::failed_precondition, "no storage driver is loaded");
  BERTH_TRY(auto parent, parent_cache_id(images_, c));
  return fn(*driver, c, parent);
}

Result<std::string> ContainerManager::layer_changes(const std::string& name) {
  std::string text;
  BERTH_TRY(with_layer(name, [&text](const StorageDriver& driver, const Container& c,
                                     const std::string& parent) -> Result<void> {
    BERTH_TRY(text, driver.changes(c.id, parent));
    return ok();
  }));
  json::error_code ec;
  json::value all = json::parse(text, ec);
  if (ec || !all.is_array()) return make_error(Errc::internal, "invalid changes from the storage driver: " + text);
  // Without the runtime's mount points, and without a directory that only
  // changed because they were made in it.
  std::vector<std::string> stubs;
  json::array kept;
  for (const auto& change : all.get_array()) {
    std::string path = change.is_object() ? string_at(change.get_object(), "Path") : std::string();
    if (is_runtime_stub(path)) {
      stubs.push_back(path);
    } else {
      kept.push_back(change);
    }
  }
  auto under = [](const std::string& path, const std::string& dir) { return path.starts_with(dir + "/"); };
  json::array out;
  for (const auto& change : kept) {
    std::string path = string_at(change.get_object(), "Path");
    bool stub_parent = std::any_of(stubs.begin(), stubs.end(), [&](const auto& s) { return under(s, path); });
    bool has_children = std::any_of(kept.begin(), kept.end(), [&](const auto& k) {
      return under(string_at(k.get_object(), "Path"), path);
    });
    const auto* kind = change.get_object().if_contains("Kind");
    bool modified = kind != nullptr && kind->is_int64() && kind->get_int64() == 0;
    if (!(stub_parent && modified && !has_children)) out.push_back(change);
  }
  return json::serialize(out);
}

Result<void> ContainerManager::layer_diff(const std::string& name,
                                          const std::function<bool(const void*, std::size_t)>& write) {
  return with_layer(name, [&](const StorageDriver& driver, const Container& c,
                              const std::string& parent) -> Result<void> {
    // Through a file, to leave the runtime's mount points out (see
    // layer_changes).
    const std::string temp = container_dir(c.id) + "/commit-diff.tar";
    struct Remove {
      std::string path;
      ~Remove() { ::unlink(path.c_str()); }
    } remove_temp{temp};
    {
      std::ofstream out(temp, std::ios::binary | std::ios::trunc);
      if (!out) return make_error(Errc::internal, "create " + temp);
      BERTH_TRY(driver.diff(c.id, parent, [&out](const void* buf, std::size_t len) {
        out.write(static_cast<const char*>(buf), static_cast<std::streamsize>(len));
        return static_cast<bool>(out);
      }));
      out.close();
      if (!out) return make_error(Errc::internal, "write " + temp);
    }
    BERTH_TRY(auto read, image::file_reader(temp));
    return filter_tar(read, write, [](std::string_view path) { return is_runtime_stub(path); });
  });
}

// --- logging configuration ----------------------------------------------------

std::string ContainerManager::log_path(const std::string& id, const std::string& type) const {
  if (type.empty() || type == "json-file") return container_dir(id) + "/" + id + "-json.log";
  return container_dir(id) + "/" + type + "-logs/container.log";
}

Result<void> ContainerManager::resolve_log_config(json::object& host_config, const std::string& id) {
  const json::object& log_config = object_at(host_config, "LogConfig");
  std::string type = string_at(log_config, "Type");
  if (type.empty()) type = options_.default_log_driver;
  json::object opts = object_at(log_config, "Config");
  if (type == options_.default_log_driver) {
    for (const auto& [k, v] : options_.default_log_opts) {
      if (!opts.contains(k)) opts[k] = v;
    }
  }
  host_config["LogConfig"] = json::object{{"Type", type}, {"Config", opts}};
  auto driver = log_driver_named(type);
  if (!driver) {
    return make_error(Errc::invalid_argument, "logger: no log driver named '" + type + "' is registered");
  }
  Container probe;
  probe.id = id;
  probe.config = json::object{{"HostConfig", host_config}};
  return driver.value()->validate(log_info(probe));
}

// --- cgroup / update -----------------------------------------------------------

Result<std::string> ContainerManager::cgroup_of(const std::string& name) {
  BERTH_TRY(auto e, find(name));
  std::string id;
  {
    std::lock_guard lock(e->state_mutex);
    id = e->c.id;
    if (e->c.state.status == "restarting") {
      return make_error(Errc::conflict, "Container " + id + " is restarting, wait until the container is running");
    }
    if (!e->c.state.running()) return make_error(Errc::conflict, "Container " + id + " is not running");
  }
  return cgroup_path(bundle_dir(id));
}

Result<void> ContainerManager::update(const std::string& name, const HostConfigChange& change) {
  BERTH_TRY(auto e, find(name));
  std::lock_guard op(e->m);
  Container c;
  {
    std::lock_guard lock(e->state_mutex);
    c = e->c;
  }
  auto cannot = [&](const Error& err) { return Error{err.code, "Cannot update container " + c.id + ": " + err.message}; };
  if (c.state.status == "removing" || c.state.status == "dead" || e->removed) {
    return cannot(make_error(Errc::conflict, "container is marked for removal and cannot be \"update\""));
  }
  json::object hc = c.host_config();
  auto resources = change(c, hc);
  if (!resources) return cannot(resources.error());
  // Not running (or between restarts): the next start applies the HostConfig.
  if (c.state.running() && c.state.status != "restarting") {
    auto cg = cgroup_path(bundle_dir(c.id));
    if (!cg) return cannot(cg.error());
    if (auto r = runtime::cgroups::update(cg.value(), resources.value()); !r) {
      return cannot(Error{Errc::internal, r.error().message});
    }
  }
  {
    std::lock_guard lock(e->state_mutex);
    e->c.config["HostConfig"] = std::move(hc);
    c = e->c;
  }
  BERTH_TRY(save(c));
  emit("update", c);
  return ok();
}

}  // namespace berth::core::container
