#include "berth/core/daemon.hpp"

#include "berth/core/api/image_routes.hpp"
#include "berth/core/api/router.hpp"
#include "berth/core/api/server.hpp"
#include "berth/core/api/system_routes.hpp"
#include "berth/core/log.hpp"
#include "berth/core/plugin_host.hpp"
#include "berth/core/api/container_routes.hpp"
#include "berth/core/api/container_fs_routes.hpp"
#include "berth/core/api/container_resource_routes.hpp"
#include "berth/core/api/event_routes.hpp"
#include "berth/core/api/network_routes.hpp"
#include "berth/core/api/volume_routes.hpp"
#include "berth/core/api/build_routes.hpp"
#include "berth/core/image/puller.hpp"
#include "berth/core/network/manager.hpp"
#include "berth/core/events.hpp"
#include "berth/core/container/manager.hpp"
#include "berth/core/image/content_store.hpp"
#include "berth/core/image/image_store.hpp"
#include "berth/core/registry/client.hpp"
#include "berth/core/storage_driver.hpp"
#include "berth/core/store.hpp"
#include "berth/core/version.hpp"

#include <CLI/CLI.hpp>
#include <Poco/Net/SSLManager.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#ifndef BERTH_DEFAULT_PLUGIN_DIR
#define BERTH_DEFAULT_PLUGIN_DIR "/usr/local/lib/berth/plugins"
#endif

namespace berth::core {
namespace fs = std::filesystem;

namespace {

// The first executable `name` in $PATH, or "".
std::string find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (std::size_t at = 0; at <= dirs.size();) {
    auto end = dirs.find(':', at);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(at, end - at) + "/" + name;
    if (end > at && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    at = end + 1;
  }
  return {};
}

// An exclusive flock on <data-root>/berthd.lock for the daemon's life: the
// kernel drops it when the process dies, so kill -9 never leaves it stale.
class DataRootLock {
 public:
  static Result<std::unique_ptr<DataRootLock>> acquire(const std::string& data_root) {
    std::string path = data_root + "/berthd.lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return errno_error(Errc::failed_precondition, "open " + path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      char buf[32] = {};
      ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      ::close(fd);
      if (err == EWOULDBLOCK) {
        std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        return make_error(Errc::already_exists, "data root " + data_root +
                                                    " is in use by another berthd (pid " + pid + ")");
      }
      return errno_error(Errc::failed_precondition, "lock " + path, err);
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
      int err = errno;
      ::close(fd);
      return errno_error(Errc::failed_precondition, "write " + path, err);
    }
    return std::unique_ptr<DataRootLock>(new DataRootLock(fd));
  }
  ~DataRootLock() { ::close(fd_); }

 private:
  explicit DataRootLock(int fd) : fd_(fd) {}
  int fd_;
};

bool process_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

Result<void> write_pidfile(const std::string& path) {
  std::ifstream existing(path);
  long old = 0;
  if (existing >> old && old != ::getpid() && process_alive(static_cast<pid_t>(old))) {
    return make_error(Errc::already_exists, "pid file " + path + " names running process " +
                                                std::to_string(old) +
                                                "; is another berthd using it?");
  }
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ::getpid() << "\n";
    if (!out.flush()) return make_error(Errc::failed_precondition, "write pid file " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return errno_error(Errc::failed_precondition, "rename " + tmp + " to " + path, errno);
  }
  return ok();
}

Result<void> make_root(const std::string& dir, fs::perms mode) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec) fs::permissions(dir, mode, ec);
  if (ec) return make_error(Errc::failed_precondition, "create " + dir + ": " + ec.message());
  return ok();
}

}  // namespace

// berth-shim lives next to berthd (the build's bin/, or the install's bin).
static std::string shim_path() {
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto candidate = self.parent_path() / "berth-shim";
    if (fs::exists(candidate, ec)) return candidate.string();
  }
  return "berth-shim";
}

struct Daemon::State {
  DaemonConfig config;
  events::EventBus events;  // first in, last out: every producer reports to it
  std::unique_ptr<DataRootLock> lock;
  bool wrote_pidfile = false;
  std::unique_ptr<MetadataStore> store;
  std::unique_ptr<PluginHost> plugins;
  std::unique_ptr<StorageDriver> storage;
  std::unique_ptr<image::ContentStore> content;
  std::unique_ptr<image::ImageStore> images;
  std::unique_ptr<registry::RegistryClient> registry;
  std::unique_ptr<network::NetworkManager> networks;
  std::unique_ptr<volume::VolumeManager> volumes;
  std::unique_ptr<container::ContainerManager> containers;
  std::unique_ptr<build::BuildServices> build;
  api::SystemContext system;
  api::Router router;
  std::unique_ptr<api::ApiServer> server;
  container::UsernsSetup userns;

  ~State() {
    // Stop serving before the objects handlers read go away.
    server.reset();
    bool running = false;
    if (containers) {
      for (const auto& c : containers->list()) running = running || c.state.running();
    }
    containers.reset();
    if (networks) networks->shutdown(running);
    networks.reset();
    volumes.reset();
    registry.reset();
    images.reset();
    content.reset();
    storage.reset();
    plugins.reset();
    store.reset();
    if (wrote_pidfile) ::unlink(config.pidfile.c_str());
  }
};

Daemon::Daemon(std::unique_ptr<State> state) : state_(std::move(state)) {}
Daemon::~Daemon() = default;

Result<std::unique_ptr<Daemon>> Daemon::start(DaemonConfig config,
                                              std::span<const berth_plugin_entry_fn> builtins) {
  auto s = std::make_unique<State>();
  s->config = std::move(config);
  // Like Docker, runc is there without configuration when it is installed.
  if (!s->config.runtimes.contains("runc")) {
    if (auto runc = find_in_path("runc"); !runc.empty()) s->config.runtimes.emplace("runc", RuntimeConfig{runc, {}});
  }
  const auto& cfg = s->config;
  auto log = logger("daemon");

  BERTH_TRY(make_root(cfg.data_root, fs::perms::owner_all | fs::perms::group_exec |
                                         fs::perms::others_exec));
  BERTH_TRY(make_root(cfg.exec_root, fs::perms::owner_all));
  BERTH_TRY(s->userns, container::setup_userns_remap(cfg.userns_remap, {cfg.data_root, cfg.exec_root}));
  // As Docker's RemappedRoot: resolved to "user:group", empty when off.
  s->config.userns_remap =
      s->userns.remap.enabled() ? s->userns.remap.user + ":" + s->userns.remap.group : "";
  BERTH_TRY(s->lock, DataRootLock::acquire(cfg.data_root));
  BERTH_TRY(write_pidfile(cfg.pidfile));
  s->wrote_pidfile = true;

  BERTH_TRY(s->store, MetadataStore::open(cfg.data_root + "/berth.db"));
  BERTH_TRY(s->system.daemon_id, s->store->daemon_id());

  s->plugins = std::make_unique<PluginHost>(
      PluginHostOptions{cfg.data_root, cfg.exec_root, cfg.drivers});
  for (auto entry : builtins) s->plugins->add_builtin(entry);
  for (const auto& dir : cfg.plugin_dirs) s->plugins->load_directory(dir);
  BERTH_TRY(s->plugins->check_required());

  auto driver_error = [&](std::string_view word, const std::string& id) {
    for (const auto& r : s->plugins->records()) {
      if (r.word == word && r.id == id) {
        return std::string(to_string(r.state)) + (r.error.empty() ? "" : ": " + r.error);
      }
    }
    return std::string("not found in any plugin directory");
  };
  if (!cfg.storage_driver.empty()) {
    if (s->plugins->find("storage", cfg.storage_driver) == nullptr) {
      return make_error(Errc::failed_precondition,
                        "storage driver " + cfg.storage_driver + " is not available: " +
                            driver_error("storage", cfg.storage_driver));
    }
    s->system.storage_driver = cfg.storage_driver;
  } else {
    for (const char* preferred : {"overlay", "vfs"}) {
      if (s->plugins->find("storage", preferred) != nullptr) {
        s->system.storage_driver = preferred;
        break;
      }
    }
  }
  if (s->plugins->find("log", cfg.log_driver) == nullptr) {
    return make_error(Errc::failed_precondition, "log driver " + cfg.log_driver +
                                                     " is not available: " +
                                                     driver_error("log", cfg.log_driver));
  }

  if (const Driver* d = s->plugins->find("storage", s->system.storage_driver)) {
    s->storage = std::make_unique<StorageDriver>(*d);
  }
  BERTH_TRY(s->content, image::ContentStore::open(cfg.data_root + "/image"));
  s->images = std::make_unique<image::ImageStore>(*s->store, *s->content, s->storage.get());
  if (auto swept = s->images->sweep(); !swept) {
    log->warn("image store sweep: {}", swept.error().message);
  }

  s->system.config = &s->config;
  s->system.images = s->images.get();
  s->system.plugins = s->plugins.get();
  s->system.started = std::chrono::system_clock::now();
  registry::RegistryConfig registry_config;
  registry_config.insecure_registries = cfg.insecure_registries;
  registry_config.user_agent = std::string("berth/") + kBerthVersion;
  s->registry = std::make_unique<registry::RegistryClient>(registry_config);
  s->system.registry = s->registry.get();
  api::add_system_routes(s->router, s->system);
  api::add_image_routes(s->router, *s->images, *s->registry, cfg.max_concurrent_downloads);

  container::ManagerOptions mo;
  mo.data_root = cfg.data_root;
  mo.exec_root = cfg.exec_root;
  mo.shim_path = shim_path();
  mo.plugin_dirs = cfg.plugin_dirs;
  mo.default_log_driver = cfg.log_driver;
  mo.default_log_opts = cfg.log_opts;
  mo.cgroup_parent = cfg.cgroup_parent;
  mo.runtimes = cfg.runtimes;
  mo.default_runtime = cfg.default_runtime;
  mo.userns_remap = s->userns.remap;
  mo.userns_fd = s->userns.userns_fd.get();
  s->containers = std::make_unique<container::ContainerManager>(*s->store, *s->images, *s->plugins, mo);
  BERTH_TRY(s->networks, network::NetworkManager::open(*s->store, *s->plugins,
                                                       network::NetworkManagerOptions{cfg.exec_root, cfg.network}));
  s->containers->set_network(s->networks.get());
  BERTH_TRY(s->volumes, volume::VolumeManager::open(*s->store, *s->plugins));
  s->volumes->on_event([bus = &s->events](const std::string& action, const std::string& name, const std::string& driver) {
    bus->publish(events::Event{.type = "volume", .action = action, .actor_id = name, .attributes = {{"driver", driver}}});
  });
  s->containers->set_volumes(s->volumes.get());
  s->system.volumes = s->volumes.get();
  s->containers->on_event([bus = &s->events](const std::string& action, const container::Container& c,
                                             const std::map<std::string, std::string>& extra) {
    bus->publish(events::container_event(action, c, extra));
  });
  s->images->on_event([bus = &s->events](const std::string& action, const std::string& id,
                                         const std::map<std::string, std::string>& attributes) {
    bus->publish(events::Event{.type = "image", .action = action, .actor_id = id, .attributes = attributes});
  });
  if (auto restored = s->containers->restore(); !restored) {
    log->warn("restore containers: {}", restored.error().message);
  }
  s->images->set_in_use([containers = s->containers.get()](const std::string& image_id) {
    std::vector<image::ImageUser> users;
    for (const auto& c : containers->using_image(image_id)) users.push_back({c.id, c.state.running()});
    return users;
  });
  api::add_container_routes(s->router, *s->containers, *s->images);
  api::add_container_fs_routes(s->router, *s->containers, *s->images);
  api::add_container_resource_routes(s->router, *s->containers);
  api::add_event_routes(s->router, s->events);
  api::add_network_routes(s->router, *s->networks, *s->containers);
  api::add_volume_routes(s->router, *s->volumes);
  // Contexts of builds a crash interrupted go: no build runs yet.
  std::error_code build_ec;
  std::filesystem::remove_all(cfg.data_root + "/build", build_ec);
  if (build_ec) log->warn("remove {}/build: {}", cfg.data_root, build_ec.message());
  std::filesystem::create_directories(cfg.data_root + "/build", build_ec);
  s->build = std::make_unique<build::BuildServices>(build::BuildServices{
      *s->images, *s->containers, *s->store,
      [images = s->images.get(), registry = s->registry.get(), max = cfg.max_concurrent_downloads](
          const std::string& name, const std::function<void(const boost::json::object&)>& progress)
          -> Result<std::string> {
        BERTH_TRY(auto ref, image::Reference::parse(name));
        image::PullRequest pr{ref, registry::host_platform(), std::nullopt, max};
        return image::pull_image(*images, *registry, pr, progress);
      },
      cfg.data_root + "/build", cfg.max_build_context_size});
  api::add_build_routes(s->router, *s->build);

  s->server = std::make_unique<api::ApiServer>(s->router, cfg.hosts, cfg.tls, cfg.insecure_tcp);
  BERTH_TRY(s->server->start());
  log->info("berthd {} started: data root {}, exec root {}, storage driver {}, log driver {}",
            kBerthVersion, cfg.data_root, cfg.exec_root,
            s->system.storage_driver.empty() ? "(none)" : s->system.storage_driver, cfg.log_driver);
  return std::unique_ptr<Daemon>(new Daemon(std::move(s)));
}

int Daemon::wait_for_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

int berthd_main(int argc, char** argv, std::span<const berth_plugin_entry_fn> builtins) {
  CLI::App app{"berthd: the berth container engine daemon", "berthd"};
  app.set_version_flag("-v,--version", std::string("berthd version ") + kBerthVersion);
  std::string data_root, exec_root, storage_driver, log_driver, log_level, pidfile, cgroup_parent;
  std::string userns_remap, bridge, bip;
  std::string tls_ca, tls_cert, tls_key;
  std::string config_file = "/etc/berth/daemon.json";
  std::vector<std::string> hosts, plugin_dirs, log_opts;
  bool ip_forward = true;
  bool debug = false, tls = false, tls_verify = false, insecure_tcp = false, validate = false;
  app.add_option("--data-root", data_root, "Root directory of persistent state")
      ->default_str("/var/lib/berth");
  app.add_option("--exec-root", exec_root, "Root directory of runtime state")
      ->default_str("/run/berth");
  app.add_option("-H,--host", hosts, "Daemon socket(s) to listen on (unix://path, tcp://host:port)");
  app.add_option("--config-file", config_file, "Daemon configuration file")->capture_default_str();
  app.add_option("--plugin-dir", plugin_dirs, "Directory to load driver plugins from (repeatable)");
  app.add_option("-s,--storage-driver", storage_driver, "Storage driver to use");
  app.add_option("--log-driver", log_driver, "Default driver for container logs")
      ->default_str("json-file");
  app.add_option("--log-opt", log_opts, "Default log driver options (key=value, repeatable)");
  app.add_option("-l,--log-level", log_level,
                 "Logging level (trace, debug, info, warn, error, fatal)")
      ->default_str("info");
  app.add_flag("-D,--debug", debug, "Enable debug logging");
  app.add_flag("--tls", tls, "Serve TCP with TLS");
  app.add_flag("--tlsverify", tls_verify, "Serve TCP with TLS and require client certificates");
  app.add_option("--tlscacert", tls_ca, "CA that signs trusted client certificates");
  app.add_option("--tlscert", tls_cert, "TLS certificate file");
  app.add_option("--tlskey", tls_key, "TLS key file");
  app.add_option("-p,--pidfile", pidfile, "Path of the daemon's PID file")
      ->default_str("<exec-root>/berthd.pid");
  app.add_option("--cgroup-parent", cgroup_parent, "Parent cgroup for all containers")->default_str("/berth");
  app.add_option("--userns-remap", userns_remap,
                 "User/Group setting for user namespaces (user[:group], or \"default\")");
  app.add_option("-b,--bridge", bridge, "Device name of the default bridge network (\"none\": no default network)")
      ->default_str("berth0");
  app.add_option("--ip-forward", ip_forward, "Enable net.ipv4.ip_forward (true|false)")->default_str("true");
  app.add_option("--bip", bip, "Address and prefix of the default bridge network (a.b.c.d/n)");
  app.add_flag("--insecure-tcp", insecure_tcp,
               "Allow TCP listeners without TLS (anyone who can connect gets root)");
  app.add_flag("--validate", validate, "Validate the configuration and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  ConfigLayer flags;
  auto set = [&](const char* name, auto& target, const auto& value) {
    if (app.count(name) > 0) target = value;
  };
  set("--data-root", flags.data_root, data_root);
  set("--exec-root", flags.exec_root, exec_root);
  set("--host", flags.hosts, hosts);
  set("--plugin-dir", flags.plugin_dirs, plugin_dirs);
  set("--storage-driver", flags.storage_driver, storage_driver);
  set("--log-driver", flags.log_driver, log_driver);
  set("--log-level", flags.log_level, log_level);
  if (debug && !flags.log_level) flags.log_level = "debug";
  set("--pidfile", flags.pidfile, pidfile);
  set("--cgroup-parent", flags.cgroup_parent, cgroup_parent);
  set("--userns-remap", flags.userns_remap, userns_remap);
  set("--bridge", flags.bridge, bridge);
  set("--bip", flags.bip, bip);
  set("--ip-forward", flags.ip_forward, ip_forward);
  set("--tls", flags.tls, tls);
  set("--tlsverify", flags.tls_verify, tls_verify);
  set("--tlscacert", flags.tls_ca, tls_ca);
  set("--tlscert", flags.tls_cert, tls_cert);
  set("--tlskey", flags.tls_key, tls_key);
  set("--insecure-tcp", flags.insecure_tcp, insecure_tcp);

  auto fail = [](const Error& e) {
    std::fprintf(stderr, "berthd: %s\n", e.message.c_str());
    return 1;
  };
  if (app.count("--log-opt") > 0) {
    auto opts = parse_log_opts(log_opts);
    if (!opts) return fail(opts.error());
    flags.log_opts = std::move(opts).value();
  }
  auto file = load_config_file(config_file, app.count("--config-file") > 0);
  if (!file) return fail(file.error());
  auto config = resolve_config(file.value(), flags, BERTH_DEFAULT_PLUGIN_DIR);
  if (!config) return fail(config.error());
  if (validate) {
    std::puts("configuration OK");
    return 0;
  }
  set_log_level(config.value().log_level);

  // Signals are taken synchronously by wait_for_signal; block them before any
  // thread starts so every thread inherits the mask.
  sigset_t set_;
  sigemptyset(&set_);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  Poco::Net::initializeSSL();

  auto daemon = Daemon::start(std::move(config).value(), builtins);
  if (!daemon) return fail(daemon.error());
  int sig = daemon.value()->wait_for_signal();
  logger("daemon")->info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  daemon.value().reset();
  Poco::Net::uninitializeSSL();
  logger("daemon")->info("berthd stopped");
  return 0;
}

}  // namespace berth::core
