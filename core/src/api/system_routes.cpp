#include "berth/core/api/system_routes.hpp"
#include "berth/core/api/filters.hpp"

#include "berth/core/api/image_routes.hpp"
#include "berth/core/host_info.hpp"
#include "berth/core/time_format.hpp"
#include "berth/core/version.hpp"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <boost/json.hpp>

#include <ctime>

namespace berth::core::api {
namespace json = boost::json;

namespace {

// Docker's info "Runtimes": {"runc": {"path": "/usr/sbin/runc"}, ...}.
json::object runtimes(const DaemonConfig& config) {
  json::object out{{"native", json::object{{"path", "berth-native"}}}};
  for (const auto& [name, rt] : config.runtimes) {
    json::object entry{{"path", rt.path}};
    if (!rt.args.empty()) entry["runtimeArgs"] = json::value_from(rt.args);
    out[name] = std::move(entry);
  }
  return out;
}

// Docker's managed-plugin capability for each of our kinds.
std::string_view docker_capability(std::string_view word) {
  if (word == "storage") return "graphdriver";
  if (word == "net") return "networkdriver";
  if (word == "volume") return "volumedriver";
  return "logdriver";
}

json::array capability_names(const DriverRecord& r) {
  json::array out;
  struct Bit {
    std::uint64_t bit;
    const char* name;
  };
  static constexpr Bit kBits[] = {
      {BERTH_CAP_NEEDS_ROOT, "needs-root"},
      {BERTH_CAP_STORAGE_NATIVE_DIFF, "native-diff"},
      {BERTH_CAP_STORAGE_QUOTA, "quota"},
      {BERTH_CAP_NETWORK_GLOBAL_SCOPE, "global-scope"},
      {BERTH_CAP_VOLUME_GLOBAL_SCOPE, "global-scope"},
      {BERTH_CAP_LOGGING_READ, "read-logs"},
  };
  for (const auto& b : kBits) {
    if ((r.capabilities & b.bit) != 0) out.emplace_back(b.name);
  }
  return out;
}

json::object driver_json(const DriverRecord& r) {
  return json::object{
      {"Name", r.id},
      {"Kind", r.kind.empty() ? json::value(nullptr) : json::value(r.kind)},
      {"Type", r.word},
      {"Version", r.version},
      {"Abi", r.abi_major == 0 && r.abi_minor == 0
                  ? std::string()
                  : std::to_string(r.abi_major) + "." + std::to_string(r.abi_minor)},
      {"Status", to_string(r.state)},
      {"Error", r.error},
      {"Source", r.source},
      {"Capabilities", capability_names(r)},
  };
}

// A driver as Docker's managed-plugin object (GET /plugins), so `docker
// plugin ls` shows what berthd has loaded.
json::object docker_plugin_json(const DriverRecord& r) {
  Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
  sha.update(r.kind + "/" + r.id + "/" + r.source);
  std::string description = "berth " + std::string(r.word) + " driver " + r.id + " " + r.version +
                            " (" + (r.source == "builtin" ? "built in" : r.source) + ")";
  json::object config{
      {"DockerVersion", kBerthVersion},
      {"Description", description},
      {"Documentation", ""},
      {"Interface",
       // Docker marshals each interface type as "prefix.capability/version".
       json::object{{"Types", json::array{"docker." + std::string(docker_capability(r.word)) +
                                          "/1.0"}},
                    {"Socket", ""}}},
      {"Entrypoint", json::array{}},
      {"WorkDir", ""},
      {"Network", json::object{{"Type", "host"}}},
      {"Linux", json::object{{"Capabilities", json::array{}},
                             {"AllowAllDevices", false},
                             {"Devices", json::array{}}}},
      {"PropagatedMount", ""},
      {"IpcHost", false},
      {"PidHost", false},
      {"Mounts", json::array{}},
      {"Env", json::array{}},
      {"Args", json::object{{"Name", ""},
                            {"Description", ""},
                            {"Settable", json::array{}},
                            {"Value", json::array{}}}},
  };
  return json::object{
      {"Id", Poco::DigestEngine::digestToHex(sha.digest())},
      {"Name", std::string(r.word) + "-" + r.id + ":" + (r.version.empty() ? "latest" : r.version)},
      {"Enabled", r.state == DriverState::loaded},
      {"Settings", json::object{{"Mounts", json::array{}},
                                {"Env", json::array{}},
                                {"Args", json::array{}},
                                {"Devices", json::array{}}}},
      {"PluginReference", ""},
      {"Config", std::move(config)},
  };
}

// Docker's POST /auth: the body is an AuthConfig; the answer says whether
// the registry took the credentials, with the identity token (OAuth refresh
// token) the CLI stores instead of the password when there is one.
void auth(registry::RegistryClient& registry, Request& req, ResponseWriter& w) {
  auto body = req.read_body();
  if (!body) return w.send_error(body.error());
  auto creds = registry::parse_auth_config(body.value());
  if (!creds) return w.send_error(creds.error());
  // Like Docker's registry service: no server address means Docker Hub.
  std::string server = creds.value().server_address;
  if (server.empty()) server = "https://index.docker.io/v1/";
  auto token = registry.login(server, creds.value());
  if (!token) {
    const Error& e = token.error();
    // Docker answers 401 with the URL it tried ("Get \"https://...\":
    // unauthorized: ..."), and anything else (unreachable, TLS, odd
    // status) as a plain server error.
    if (e.code == Errc::permission_denied) {
      return w.send_error(401, "Get \"" + registry.endpoint_url(server) + "\": " + e.message);
    }
    return w.send_error(e.code == Errc::invalid_argument ? 400 : 500, e.message);
  }
  w.send_json(200, json::object{{"Status", "Login Succeeded"}, {"IdentityToken", token.value()}});
}

// Docker's GET /system/df. `type` (API 1.42+) picks what to compute; what
// is left out stays null. Images carry SharedSize (the bytes of layers
// another image uses too) and Containers (0 until berth runs containers);
// LayersSize counts every layer once.
void disk_usage(const SystemContext& ctx, Request& req, ResponseWriter& w) {
  image::ImageStore* images = ctx.images;
  bool want_images = true, want_containers = true, want_volumes = true, want_build_cache = true;
  auto types = req.query.equal_range("type");
  if (types.first != types.second && req.version >= ApiVersion{1, 42}) {
    want_images = want_containers = want_volumes = want_build_cache = false;
    for (auto it = types.first; it != types.second; ++it) {
      if (it->second == "image") {
        want_images = true;
      } else if (it->second == "container") {
        want_containers = true;
      } else if (it->second == "volume") {
        want_volumes = true;
      } else if (it->second == "build-cache") {
        want_build_cache = true;
      } else {
        return w.send_error(400, "unknown object type: " + it->second);
      }
    }
  }
  std::int64_t layers_size = 0;
  json::value image_list = nullptr;
  if (want_images) {
    auto list = images != nullptr ? images->list() : std::vector<image::ImageInfo>{};
    std::map<std::string, std::pair<int, std::int64_t>> layers;  // chain ID -> users, size
    for (const auto& info : list) {
      for (const auto& l : info.layers) {
        auto& [users, size] = layers[l.chain_id];
        ++users;
        size = l.size;
      }
    }
    for (const auto& [chain, use] : layers) layers_size += use.second;
    json::array out;
    for (const auto& info : list) {
      std::int64_t shared = 0;
      for (const auto& l : info.layers) {
        if (layers[l.chain_id].first > 1) shared += l.size;
      }
      json::object summary = image_summary(info);
      summary["SharedSize"] = shared;
      summary["Containers"] = 0;
      out.emplace_back(std::move(summary));
    }
    image_list = std::move(out);
  }
  auto empty_or_null = [](bool wanted) {
    return wanted ? json::value(json::array{}) : json::value(nullptr);
  };
  json::value volume_list = empty_or_null(want_volumes);
  if (want_volumes && ctx.volumes != nullptr) {
    json::array out;
    for (const auto& v : ctx.volumes->list()) {
      json::object o = v.to_json();
      o["UsageData"] = json::object{{"Size", ctx.volumes->usage(v)},
                                    {"RefCount", static_cast<std::int64_t>(ctx.volumes->references(v.name).size())}};
      out.emplace_back(std::move(o));
    }
    volume_list = std::move(out);
  }
  w.send_json(200, json::object{{"LayersSize", layers_size},
                                {"Images", std::move(image_list)},
                                {"Containers", empty_or_null(want_containers)},
                                {"Volumes", std::move(volume_list)},
                                {"BuildCache", empty_or_null(want_build_cache)}});
}

void ping(Request& req, ResponseWriter& w) {
  w.set_header("Builder-Version", "1");
  w.set_header("Swarm", "inactive");
  w.set_header("Cache-Control", "no-cache, no-store, must-revalidate");
  w.set_header("Pragma", "no-cache");
  w.send(200, "text/plain; charset=utf-8", req.method == "HEAD" ? "" : "OK");
}

}  // namespace

void add_system_routes(Router& router, const SystemContext& ctx) {
  router.add("GET", "/_ping", ping);
  router.add("HEAD", "/_ping", ping);

  router.add("GET", "/version", [](Request&, ResponseWriter& w) {
    HostInfo host = read_host_info();
    std::string build_time = __DATE__ " " __TIME__;
    json::object details{{"ApiVersion", kMaxApiVersion.str()},
                         {"MinAPIVersion", kMinApiVersion.str()},
                         {"GitCommit", kBerthGitCommit},
                         {"GoVersion", kCompilerVersion},
                         {"Os", "linux"},
                         {"Arch", host.go_arch},
                         {"KernelVersion", host.kernel_version},
                         {"Experimental", "false"},
                         {"BuildTime", build_time}};
    json::object body{
        {"Platform", json::object{{"Name", "berth"}}},
        {"Components", json::array{json::object{
                           {"Name", "Engine"}, {"Version", kBerthVersion}, {"Details", details}}}},
        {"Version", kBerthVersion},
        {"ApiVersion", kMaxApiVersion.str()},
        {"MinAPIVersion", kMinApiVersion.str()},
        {"GitCommit", kBerthGitCommit},
        {"GoVersion", kCompilerVersion},
        {"Os", "linux"},
        {"Arch", host.go_arch},
        {"KernelVersion", host.kernel_version},
        {"BuildTime", build_time},
    };
    w.send_json(200, body);
  });

  router.add("GET", "/info", [&ctx](Request&, ResponseWriter& w) {
    HostInfo host = read_host_info();
    json::array volume, network, log;
    for (const auto& r : ctx.plugins->records()) {
      if (r.state != DriverState::loaded) continue;
      if (r.word == "volume") volume.emplace_back(r.id);
      if (r.word == "net") network.emplace_back(r.id);
      if (r.word == "log") log.emplace_back(r.id);
    }
    json::array driver_status;
    std::int64_t image_count = 0;
    if (ctx.images != nullptr) {
      image_count = static_cast<std::int64_t>(ctx.images->list().size());
      if (const auto* storage = ctx.images->driver()) {
        if (auto st = storage->status()) {
          for (const auto& [k, v] : st.value()) driver_status.emplace_back(json::array{k, v});
        }
      }
    }
    json::array warnings;
    if (ctx.storage_driver.empty()) warnings.emplace_back("WARNING: no storage driver is loaded");
    for (const auto& h : ctx.config->hosts) {
      if (h.kind == ListenAddress::Kind::tcp && !ctx.config->tls.tls) {
        warnings.emplace_back("WARNING: API is accessible on " + h.text +
                              " without encryption.");
      }
    }
    json::object body{
        {"ID", ctx.daemon_id},
        {"Containers", 0},
        {"ContainersRunning", 0},
        {"ContainersPaused", 0},
        {"ContainersStopped", 0},
        {"Images", image_count},
        {"Driver", ctx.storage_driver},
        {"DriverStatus", driver_status},
        {"DockerRootDir", ctx.config->data_root},
        {"Plugins", json::object{{"Volume", volume},
                                 {"Network", network},
                                 {"Authorization", nullptr},
                                 {"Log", log}}},
        {"MemoryLimit", true},
        {"SwapLimit", true},
        {"KernelMemoryTCP", false},
        {"CpuCfsPeriod", true},
        {"CpuCfsQuota", true},
        {"CPUShares", true},
        {"CPUSet", true},
        {"PidsLimit", true},
        {"OomKillDisable", false},
        {"IPv4Forwarding", host.ipv4_forwarding},
        {"BridgeNfIptables", false},
        {"BridgeNfIp6tables", false},
        {"Debug", ctx.config->log_level == "debug" || ctx.config->log_level == "trace"},
        {"NFd", 0},
        {"NGoroutines", 0},
        {"SystemTime", rfc3339_now()},
        {"LoggingDriver", ctx.config->log_driver},
        {"CgroupDriver", "cgroupfs"},
        {"CgroupVersion", std::to_string(host.cgroup_version)},
        {"NEventsListener", 0},
        {"KernelVersion", host.kernel_version},
        {"OperatingSystem", host.operating_system},
        {"OSVersion", host.os_version},
        {"OSType", "linux"},
        {"Architecture", host.architecture},
        {"IndexServerAddress", "https://index.docker.io/v1/"},
        {"RegistryConfig", json::object{{"AllowNondistributableArtifactsCIDRs", json::array{}},
                                        {"AllowNondistributableArtifactsHostnames", json::array{}},
                                        {"InsecureRegistryCIDRs", json::array{"127.0.0.0/8"}},
                                        {"IndexConfigs", json::object{}},
                                        {"Mirrors", json::array{}}}},
        {"NCPU", host.ncpu},
        {"MemTotal", host.mem_total},
        {"GenericResources", nullptr},
        {"HttpProxy", ""},
        {"HttpsProxy", ""},
        {"NoProxy", ""},
        {"Name", host.hostname},
        {"Labels", json::array{}},
        {"ExperimentalBuild", false},
        {"ServerVersion", kBerthVersion},
        {"Runtimes", runtimes(*ctx.config)},
        {"DefaultRuntime", ctx.config->default_runtime},
        {"Swarm", json::object{{"NodeID", ""},
                               {"NodeAddr", ""},
                               {"LocalNodeState", "inactive"},
                               {"ControlAvailable", false},
                               {"Error", ""},
                               {"RemoteManagers", nullptr}}},
        {"LiveRestoreEnabled", true},
        {"Isolation", ""},
        {"InitBinary", ""},
        {"ContainerdCommit", json::object{{"ID", ""}, {"Expected", ""}}},
        {"RuncCommit", json::object{{"ID", ""}, {"Expected", ""}}},
        {"InitCommit", json::object{{"ID", ""}, {"Expected", ""}}},
        {"SecurityOptions", ctx.config->userns_remap.empty()
                                ? json::array{"name=seccomp,profile=builtin"}
                                : json::array{"name=seccomp,profile=builtin", "name=userns"}},
        {"Warnings", warnings},
    };
    w.send_json(200, body);
  });

  router.add("GET", "/plugins", [&ctx](Request& req, ResponseWriter& w) {
    auto filters = parse_filters(req, {"capability", "enable"});
    if (!filters) return w.send_error(filters.error());
    json::array out;
    for (const auto& r : ctx.plugins->records()) {
      if (auto it = filters.value().find("capability"); it != filters.value().end()) {
        auto cap = docker_capability(r.word);
        if (std::find(it->second.begin(), it->second.end(), cap) == it->second.end()) continue;
      }
      if (auto it = filters.value().find("enable"); it != filters.value().end()) {
        bool want = !it->second.empty() && it->second.front() == "true";
        if (want != (r.state == DriverState::loaded)) continue;
      }
      out.emplace_back(docker_plugin_json(r));
    }
    w.send_json(200, out);
  });

  router.add("POST", "/auth", [&ctx](Request& req, ResponseWriter& w) {
    if (ctx.registry == nullptr) return w.send_error(501, "no registry client");
    auth(*ctx.registry, req, w);
  });

  router.add("GET", "/system/df",
             [&ctx](Request& req, ResponseWriter& w) { disk_usage(ctx, req, w); });

  router.add("GET", "/berth/drivers", [&ctx](Request&, ResponseWriter& w) {
    json::array out;
    for (const auto& r : ctx.plugins->records()) out.emplace_back(driver_json(r));
    w.send_json(200, out);
  });
}

}  // namespace berth::core::api
