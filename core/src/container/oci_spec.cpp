#include "berth/core/container/oci_spec.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "berth/core/container/exec_user.hpp"
#include "berth/core/container/seccomp.hpp"
#include "berth/core/host_info.hpp"
#include "berth/core/log.hpp"
#include "spec_internal.hpp"
#include "spec_json.hpp"

namespace berth::core::container {
namespace json = boost::json;
using detail::get_string;
using detail::get_strings;
using detail::invalid;

namespace {

constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr std::string_view kInitInContainer = "/sbin/docker-init";

// ---- the host ---------------------------------------------------------------

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string go_arch_of(const std::string& machine) {
  static const std::map<std::string, std::string, std::less<>> kArch = {
      {"x86_64", "amd64"},    {"aarch64", "arm64"},
      {"i386", "386"},        {"i686", "386"},
      {"armv7l", "arm"},      {"armv6l", "arm"},
      {"ppc64le", "ppc64le"}, {"s390x", "s390x"},
      {"riscv64", "riscv64"}, {"loongarch64", "loong64"},
      {"mips64", "mips64"}};
  auto it = kArch.find(machine);
  return it == kArch.end() ? machine : it->second;
}

// Capabilities the kernel defines (cap_last_cap) and this process may pass
// on (its bounding set; root without CAP_SYS_RESOURCE lacks one).
CapabilityMask available_capabilities() {
  CapabilityMask mask = (CapabilityMask{1} << known_capabilities().size()) - 1;
  int last = -1;
  std::istringstream(read_first_line("/proc/sys/kernel/cap_last_cap")) >> last;
  if (last >= 0 && last < 63) mask &= (CapabilityMask{1} << (last + 1)) - 1;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("CapBnd:")) mask &= std::stoull(line.substr(7), nullptr, 16);
  }
  return mask;
}

SpecHost probe_host() {
  const HostInfo info = read_host_info();
  SpecHost h;
  h.hostname = info.hostname;
  h.kernel_release = info.kernel_version;
  h.go_arch = go_arch_of(info.architecture);
  h.cgroup_version = info.cgroup_version;
  cpu_set_t set;
  CPU_ZERO(&set);
  h.ncpu = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : info.ncpu;
  auto first_of = [](std::initializer_list<const char*> paths, const char* fallback) {
    for (const char* p : paths) {
      if (auto v = read_first_line(p); !v.empty()) return v;
    }
    return std::string(fallback);
  };
  h.cpuset_cpus =
      first_of({"/sys/fs/cgroup/cpuset/cpuset.cpus", "/sys/fs/cgroup/cpuset.cpus.effective",
                "/sys/devices/system/cpu/online"},
               "0");
  h.cpuset_mems =
      first_of({"/sys/fs/cgroup/cpuset/cpuset.mems", "/sys/fs/cgroup/cpuset.mems.effective",
                "/sys/devices/system/node/online"},
               "0");
  h.swap_limit = h.cgroup_version == 2 ||
                 ::access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
  h.capabilities = available_capabilities();
  h.sysctl_ping_group_range = ::access("/proc/sys/net/ipv4/ping_group_range", F_OK) == 0;
  h.sysctl_ip_unprivileged_port_start =
      ::access("/proc/sys/net/ipv4/ip_unprivileged_port_start", F_OK) == 0;
  return h;
}

// ---- config merge -----------------------------------------------------------

std::string env_key(std::string_view e) { return std::string(e.substr(0, e.find('='))); }

// Docker's ReplaceOrAppendEnvValues: an override replaces the default of the
// same key, "KEY" without "=" unsets it, anything else is appended.
std::vector<std::string> replace_or_append_env(std::vector<std::string> defaults,
                                               const std::vector<std::string>& overrides) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < defaults.size(); ++i) index[env_key(defaults[i])] = i;
  std::set<std::size_t> unset;
  for (const auto& value : overrides) {
    auto it = index.find(env_key(value));
    if (value.find('=') == std::string::npos) {
      if (it != index.end()) unset.insert(it->second);
    } else if (it != index.end()) {
      defaults[it->second] = value;
      unset.erase(it->second);
    } else {
      defaults.push_back(value);
    }
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < defaults.size(); ++i) {
    if (!unset.contains(i)) out.push_back(std::move(defaults[i]));
  }
  return out;
}

// Entrypoint/Cmd as stored: an array, or null for "none given".
json::value str_slice(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  if (it->value().is_string()) return json::array{it->value()};
  return it->value();
}

void merge_healthcheck(json::object& config, const json::object& image) {
  auto img = image.find("Healthcheck");
  if (img == image.end() || !img->value().is_object()) return;
  auto mine = config.find("Healthcheck");
  if (mine == config.end() || !mine->value().is_object()) {
    config["Healthcheck"] = img->value();
    return;
  }
  auto& hc = mine->value().get_object();
  for (const auto& [key, value] : img->value().get_object()) {
    auto it = hc.find(key);
    const bool unset = it == hc.end() || it->value().is_null() ||
                       (it->value().is_array() && it->value().get_array().empty()) ||
                       (it->value().is_number() && it->value().to_number<double>() == 0);
    if (unset) hc[key] = value;
  }
}

// Object-valued fields (Labels, ExposedPorts, Volumes): the request's keys
// win, the image's fill in.
void merge_keys(json::object& config, const json::object& image, std::string_view key) {
  json::object merged;
  if (auto it = config.find(key); it != config.end() && it->value().is_object())
    merged = it->value().get_object();
  if (auto it = image.find(key); it != image.end() && it->value().is_object()) {
    for (const auto& [k, v] : it->value().get_object()) {
      if (!merged.contains(k)) merged[k] = v;
    }
  }
  if (!merged.empty() || key == "Labels") config[key] = std::move(merged);
}

// ---- spec pieces ------------------------------------------------------------

json::object mount_json(std::string_view destination, std::string_view type,
                        std::string_view source, const std::vector<std::string>& options) {
  return json::object{{"destination", destination},
                      {"type", type},
                      {"source", source},
                      {"options", detail::to_json_array(options)}};
}

// oci/defaults.go; /dev/shm's size is added from ShmSize.
std::vector<json::object> default_mounts() {
  return {
      mount_json("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mount_json("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount_json("/dev/pts", "devpts", "devpts",
                 {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount_json("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount_json("/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid", "noexec", "nodev"}),
      mount_json("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount_json("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777"}),
  };
}

void remove_option(json::object& mount, std::string_view option) {
  auto& opts = mount["options"].as_array();
  opts.erase(std::remove(opts.begin(), opts.end(), json::value(option)), opts.end());
}

bool has_option(const json::object& mount, std::string_view option) {
  const auto& opts = mount.at("options").as_array();
  return std::find(opts.begin(), opts.end(), json::value(option)) != opts.end();
}

Result<std::string> find_init(const std::string& configured) {
  if (!configured.empty()) return configured;
  const char* path = std::getenv("PATH");
  for (const auto& dir :
       detail::split(path != nullptr ? path : "/usr/sbin:/usr/bin:/sbin:/bin", ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/docker-init";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return make_error(Errc::failed_precondition,
                    "exec: \"docker-init\": executable file not found in $PATH");
}

Error missing_namespace(std::string_view what, const std::string& mode) {
  return make_error(
      Errc::failed_precondition,
      std::string(what) + " mode " + mode + ": the joined container's namespace path is missing");
}

json::array gid_array(const std::vector<std::uint32_t>& ids) {
  json::array a;
  for (auto id : ids) a.emplace_back(id);
  return a;
}

}  // namespace

const SpecHost& current_spec_host() {
  static const SpecHost host = probe_host();
  return host;
}

Result<MergedConfig> merge_image_config(const json::object& request, const json::object& image) {
  json::object config = request;
  BERTH_TRY(auto user_env, get_strings(config, "Env", "Config"));
  for (const auto& e : user_env) {
    if (env_key(e).empty()) return invalid("invalid environment variable: " + e);
  }
  BERTH_TRY(std::string working_dir, get_string(config, "WorkingDir", "Config"));
  if (!working_dir.empty() && !working_dir.starts_with('/')) {
    return invalid("the working directory '" + working_dir +
                   "' is invalid, it needs to be an absolute path");
  }

  for (std::string_view key : {"User", "WorkingDir", "StopSignal"}) {
    BERTH_TRY(std::string mine, get_string(config, key, "Config"));
    BERTH_TRY(std::string theirs, get_string(image, key, "image config"));
    if (mine.empty() && !theirs.empty()) config[key] = theirs;
  }
  BERTH_TRY(auto image_env, get_strings(image, "Env", "image config"));
  std::vector<std::string> env = user_env.empty() ? image_env : user_env;
  if (!user_env.empty()) {
    std::set<std::string> keys;
    for (const auto& e : user_env) keys.insert(env_key(e));
    for (const auto& e : image_env) {
      if (!keys.contains(env_key(e))) env.push_back(e);
    }
  }
  config["Env"] = detail::to_json_array(env);
  merge_keys(config, image, "Labels");
  merge_keys(config, image, "ExposedPorts");
  merge_keys(config, image, "Volumes");
  merge_healthcheck(config, image);

  json::value entrypoint = str_slice(config, "Entrypoint");
  json::value cmd = str_slice(config, "Cmd");
  auto empty = [](const json::value& v) { return v.is_null() || v.as_array().empty(); };
  if (empty(entrypoint)) {
    if (empty(cmd)) {
      cmd = str_slice(image, "Cmd");
      if (auto it = image.find("ArgsEscaped"); it != image.end())
        config["ArgsEscaped"] = it->value();
    }
    // [] keeps "no entrypoint"; only an absent one takes the image's.
    if (entrypoint.is_null()) entrypoint = str_slice(image, "Entrypoint");
  }
  // `--entrypoint ""` means none at all.
  if (entrypoint.is_array() && entrypoint.as_array().size() == 1 &&
      entrypoint.as_array()[0] == "") {
    entrypoint = nullptr;
  }
  config["Entrypoint"] = entrypoint;
  config["Cmd"] = cmd;

  MergedConfig out;
  BERTH_TRY(out.entrypoint, get_strings(config, "Entrypoint", "Config"));
  BERTH_TRY(out.cmd, get_strings(config, "Cmd", "Config"));
  if (out.entrypoint.empty() && out.cmd.empty()) return invalid("No command specified");
  out.env = std::move(env);
  BERTH_TRY(out.working_dir, get_string(config, "WorkingDir", "Config"));
  BERTH_TRY(out.user, get_string(config, "User", "Config"));
  std::vector<std::string> argv = out.entrypoint;
  argv.insert(argv.end(), out.cmd.begin(), out.cmd.end());
  out.path = argv.front();
  out.args.assign(argv.begin() + 1, argv.end());
  out.config = std::move(config);
  return out;
}

Result<json::object> make_spec(const SpecInput& in) {
  const SpecHost& host = in.host ? *in.host : current_spec_host();
  auto log = logger("container");
  json::object config = in.config, hc = in.host_config;
  BERTH_TRY(adapt_create_request(config, hc, in.id, host));
  BERTH_TRY(MergedConfig merged, merge_image_config(config, in.image_config));
  BERTH_TRY(detail::SecurityOptions security,
            detail::parse_security_opts(hc, in.default_no_new_privileges));
  if (!security.apparmor.empty()) {
    log->info("container {}: AppArmor profile {} ignored: AppArmor is not supported", in.id,
              security.apparmor);
  }
  if (!security.labels.empty()) {
    log->info("container {}: SELinux label options ignored: SELinux is not supported", in.id);
  }

  const std::string_view where = "HostConfig";
  BERTH_TRY(bool privileged, detail::get_bool(hc, "Privileged", where));
  BERTH_TRY(bool read_only, detail::get_bool(hc, "ReadonlyRootfs", where));
  BERTH_TRY(bool tty, detail::get_bool(config, "Tty", "Config"));
  BERTH_TRY(std::string network_mode, get_string(hc, "NetworkMode", where));
  BERTH_TRY(std::string ipc_mode, get_string(hc, "IpcMode", where));
  BERTH_TRY(std::string pid_mode, get_string(hc, "PidMode", where));
  BERTH_TRY(std::string userns_mode, get_string(hc, "UsernsMode", where));
  const bool remapped = !in.uid_mappings.empty() && userns_mode != "host";
  BERTH_TRY(std::string uts_mode, get_string(hc, "UTSMode", where));
  BERTH_TRY(std::string cgroupns_mode, get_string(hc, "CgroupnsMode", where));
  BERTH_TRY(std::string hostname, get_string(config, "Hostname", "Config"));
  BERTH_TRY(std::string domainname, get_string(config, "Domainname", "Config"));
  const bool host_net = in.netns_path == "host" || network_mode == "host";
  const bool container_net = network_mode.starts_with("container:");

  // ---- process
  BERTH_TRY(ExecUser user, resolve_exec_user(in.rootfs, merged.user));
  BERTH_TRY(auto group_add, get_strings(hc, "GroupAdd", where));
  BERTH_TRY(auto extra_gids, resolve_additional_groups(in.rootfs, group_add));
  std::vector<std::uint32_t> gids = {user.gid};
  gids.insert(gids.end(), user.sgids.begin(), user.sgids.end());
  gids.insert(gids.end(), extra_gids.begin(), extra_gids.end());

  std::vector<std::string> args = {merged.path};
  args.insert(args.end(), merged.args.begin(), merged.args.end());
  BERTH_TRY(auto init, detail::get_opt_bool(hc, "Init", where));
  std::optional<json::object> init_mount;
  // Only in a PID namespace of its own: elsewhere there is an init already.
  if (pid_mode.empty() && init.value_or(in.default_init)) {
    BERTH_TRY(std::string init_path, find_init(in.init_path));
    args.insert(args.begin(), {std::string(kInitInContainer), "--"});
    init_mount = mount_json(kInitInContainer, "bind", init_path, {"bind", "ro"});
  }

  std::vector<std::string> env_defaults = {"PATH=" + std::string(kDefaultPath),
                                           "HOSTNAME=" + hostname};
  if (tty) env_defaults.emplace_back("TERM=xterm");
  auto env = replace_or_append_env(std::move(env_defaults), merged.env);
  if (std::none_of(env.begin(), env.end(),
                   [](const std::string& e) { return e.starts_with("HOME="); })) {
    env.push_back("HOME=" + (user.home.empty() ? std::string("/") : user.home));
  }

  BERTH_TRY(auto cap_add, get_strings(hc, "CapAdd", where));
  BERTH_TRY(auto cap_drop, get_strings(hc, "CapDrop", where));
  BERTH_TRY(auto caps, tweak_capabilities(cap_add, cap_drop, privileged, host.capabilities));
  const json::array caps_json = detail::to_json_array(caps);

  BERTH_TRY(json::array rlimits, detail::rlimits(hc, in.default_ulimits));
  BERTH_TRY(std::int64_t oom_score_adj, detail::get_int(hc, "OomScoreAdj", where));

  // Cleaned at start, as Docker's SetupWorkingDirectory does.
  const std::string cwd = merged.working_dir.empty() ? "/" : detail::clean_path(merged.working_dir);
  json::object process{
      {"terminal", tty},
      {"user",
       json::object{{"uid", user.uid}, {"gid", user.gid}, {"additionalGids", gid_array(gids)}}},
      {"args", detail::to_json_array(args)},
      {"env", detail::to_json_array(env)},
      {"cwd", cwd},
      {"capabilities",
       json::object{{"bounding", caps_json}, {"effective", caps_json}, {"permitted", caps_json}}},
  };
  BERTH_TRY(json::array console_size, detail::get_array(hc, "ConsoleSize", where));
  if (tty && console_size.size() == 2 && console_size[0].is_number() &&
      console_size[1].is_number()) {
    const auto height = console_size[0].to_number<std::uint64_t>();
    const auto width = console_size[1].to_number<std::uint64_t>();
    if (height > 0 || width > 0)
      process["consoleSize"] = json::object{{"height", height}, {"width", width}};
  }
  if (!rlimits.empty()) process["rlimits"] = std::move(rlimits);
  if (security.no_new_privileges) process["noNewPrivileges"] = true;
  process["oomScoreAdj"] = oom_score_adj;

  // ---- mounts
  std::vector<MountPoint> points;
  if (in.mount_points) {
    points = *in.mount_points;
  } else {
    BERTH_TRY(points, parse_mount_points(hc, true));
  }
  BERTH_TRY(auto user_mounts, detail::user_mounts(hc, points));
  std::set<std::string> user_destinations;
  for (const auto& m : user_mounts) user_destinations.insert(m.destination);
  // The network files, unless the user mounts something there.
  const std::pair<std::string_view, const std::string*> network_files[] = {
      {"/etc/resolv.conf", &in.resolv_conf_path},
      {"/etc/hostname", &in.hostname_path},
      {"/etc/hosts", &in.hosts_path}};
  for (const auto& [dest, source] : network_files) {
    if (source->empty() || user_destinations.contains(std::string(dest))) continue;
    std::vector<std::string> opts = {"rbind"};
    if (read_only) opts.emplace_back("ro");
    opts.emplace_back("rprivate");
    user_mounts.push_back({std::string(dest), "bind", *source, opts, "rprivate"});
  }
  if (!user_destinations.contains("/dev/shm")) {
    const std::string shm = ipc_mode == "host" ? "/dev/shm" : in.shm_path;
    if (!shm.empty() && ipc_mode != "none") {
      user_mounts.push_back({"/dev/shm", "bind", shm, {"rbind", "rprivate"}, "rprivate"});
    }
  }
  detail::sort_by_depth(user_mounts);
  user_destinations.clear();
  for (const auto& m : user_mounts) user_destinations.insert(m.destination);

  BERTH_TRY(std::int64_t shm_size, detail::get_int(hc, "ShmSize", where));
  const bool user_dev = user_destinations.contains("/dev");
  json::array mounts;
  std::vector<json::object> defaults = default_mounts();
  if (init_mount) defaults.push_back(*init_mount);
  for (auto& m : defaults) {
    const std::string dest(m.at("destination").as_string());
    if (user_destinations.contains(dest) || (user_dev && dest.starts_with("/dev/"))) continue;
    if (dest == "/dev/shm") {
      if (ipc_mode == "none") continue;
      m["options"].as_array().emplace_back("size=" + std::to_string(shm_size));
    }
    if (read_only && !has_option(m, "ro") && dest != "/proc" && dest != "/dev" &&
        dest != "/dev/pts" && dest != "/dev/shm" && dest != "/dev/mqueue") {
      m["options"].as_array().emplace_back("ro");
    }
    // A privileged container may write /sys and the cgroup tree.
    if (privileged && (dest == "/sys" || m.at("type") == "cgroup")) remove_option(m, "ro");
    // Docker too: a user namespace cannot remount the cgroup tree read-only.
    if (remapped && m.at("type") == "cgroup") remove_option(m, "ro");
    mounts.push_back(std::move(m));
  }
  std::string rootfs_propagation;
  for (const auto& m : user_mounts) {
    mounts.push_back(mount_json(m.destination, m.type, m.source, m.options));
    // Propagation into the container needs the rootfs to propagate too.
    if (m.propagation == "shared" || m.propagation == "rshared") {
      rootfs_propagation = "shared";
    } else if ((m.propagation == "slave" || m.propagation == "rslave") &&
               rootfs_propagation.empty()) {
      rootfs_propagation = "rslave";
    }
  }

  // ---- namespaces
  json::array namespaces{json::object{{"type", "mount"}}};
  if (container_net && (in.netns_path.empty() || in.netns_path == "host")) {
    return missing_namespace("network", network_mode);
  }
  if (!host_net) {
    json::object ns{{"type", "network"}};
    if (!in.netns_path.empty()) ns["path"] = in.netns_path;
    namespaces.push_back(std::move(ns));
  }
  if (uts_mode != "host") namespaces.push_back(json::object{{"type", "uts"}});
  if (pid_mode.starts_with("container:")) {
    if (in.pid_ns_path.empty()) return missing_namespace("PID", pid_mode);
    namespaces.push_back(json::object{{"type", "pid"}, {"path", in.pid_ns_path}});
  } else if (pid_mode != "host") {
    namespaces.push_back(json::object{{"type", "pid"}});
  }
  if (ipc_mode.starts_with("container:")) {
    if (in.ipc_ns_path.empty()) return missing_namespace("IPC", ipc_mode);
    namespaces.push_back(json::object{{"type", "ipc"}, {"path", in.ipc_ns_path}});
  } else if (ipc_mode != "host") {
    namespaces.push_back(json::object{{"type", "ipc"}});
  }
  if (cgroupns_mode == "private") namespaces.push_back(json::object{{"type", "cgroup"}});
  // The remapped user namespace; one joined namespace of another container
  // (/proc/<pid>/ns/x) means joining its user namespace, which owns it.
  json::array uid_mappings, gid_mappings;
  if (remapped) {
    json::object ns{{"type", "user"}};
    for (const std::string* joined : {&in.netns_path, &in.ipc_ns_path, &in.pid_ns_path}) {
      const std::size_t at = joined->rfind("/ns/");
      if (joined->starts_with("/proc/") && at != std::string::npos) {
        ns["path"] = joined->substr(0, at) + "/ns/user";
        break;
      }
    }
    if (!ns.contains("path")) {
      auto to_json = [](const std::vector<IdMap>& maps, json::array& out) {
        for (const IdMap& m : maps) {
          out.push_back(json::object{{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
        }
      };
      to_json(in.uid_mappings, uid_mappings);
      to_json(in.gid_mappings, gid_mappings);
    }
    namespaces.push_back(std::move(ns));
  }

  // ---- sysctls
  json::object sysctl;
  if (!domainname.empty()) sysctl["kernel.domainname"] = domainname;
  if (!host_net && !container_net) {
    // Unprivileged ping and low ports in a network namespace of its own.
    // Not in a user namespace, as Docker: its GIDs do not reach 2147483647.
    if (host.sysctl_ping_group_range && !remapped) sysctl["net.ipv4.ping_group_range"] = "0 2147483647";
    if (host.sysctl_ip_unprivileged_port_start) sysctl["net.ipv4.ip_unprivileged_port_start"] = "0";
  }
  BERTH_TRY(json::object user_sysctls, detail::get_object(hc, "Sysctls", where));
  for (const auto& [k, v] : user_sysctls) sysctl[k] = v;

  // ---- resources and devices
  BERTH_TRY(json::object resources, detail::linux_resources(hc));
  BERTH_TRY(detail::DeviceSpec devices, detail::container_devices(hc, privileged, host.dev_dir));
  json::object linux_resources{{"devices", std::move(devices.rules)}};
  for (auto& [k, v] : resources) linux_resources[k] = std::move(v);

  BERTH_TRY(std::string cgroup_parent, get_string(hc, "CgroupParent", where));
  if (cgroup_parent.empty()) cgroup_parent = in.cgroup_parent;
  const std::string cgroups_path = detail::clean_path(cgroup_parent + "/" + in.id);

  json::object linux_section{{"sysctl", std::move(sysctl)},
                             {"resources", std::move(linux_resources)},
                             {"cgroupsPath", cgroups_path},
                             {"namespaces", std::move(namespaces)}};
  if (!uid_mappings.empty()) {
    linux_section["uidMappings"] = std::move(uid_mappings);
    linux_section["gidMappings"] = std::move(gid_mappings);
  }

  // ---- seccomp
  std::string profile = security.seccomp;
  if (profile.empty()) profile = in.default_seccomp_profile;
  if (profile != "unconfined" && !privileged) {
    if (profile.empty() || profile == "builtin") profile = std::string(default_seccomp_profile());
    BERTH_TRY(auto seccomp, seccomp_to_oci(profile, caps, {host.go_arch, host.kernel_release}));
    if (seccomp) linux_section["seccomp"] = std::move(*seccomp);
  }

  // ---- masked and read-only paths
  auto paths = [&hc, privileged](
                   std::string_view key,
                   std::span<const std::string_view> fallback) -> Result<json::array> {
    if (detail::has(hc, key)) {
      BERTH_TRY(auto given, get_strings(hc, key, "HostConfig"));
      return detail::to_json_array(given);
    }
    json::array out;
    if (!privileged) {
      for (auto p : fallback) out.emplace_back(p);
    }
    return out;
  };
  BERTH_TRY(json::array masked, paths("MaskedPaths", default_masked_paths()));
  BERTH_TRY(json::array readonly_paths, paths("ReadonlyPaths", default_readonly_paths()));
  if (!masked.empty()) linux_section["maskedPaths"] = std::move(masked);
  if (!readonly_paths.empty()) linux_section["readonlyPaths"] = std::move(readonly_paths);
  if (!devices.devices.empty()) linux_section["devices"] = std::move(devices.devices);
  if (!rootfs_propagation.empty()) linux_section["rootfsPropagation"] = rootfs_propagation;

  json::object spec{{"ociVersion", "1.0.2-dev"},
                    {"process", std::move(process)},
                    {"root", json::object{{"path", in.rootfs}, {"readonly", read_only}}}};
  if (uts_mode != "host" && !hostname.empty()) spec["hostname"] = hostname;
  spec["mounts"] = std::move(mounts);
  BERTH_TRY(json::object annotations, detail::get_object(hc, "Annotations", where));
  if (!annotations.empty()) spec["annotations"] = std::move(annotations);
  spec["linux"] = std::move(linux_section);
  return spec;
}

}  // namespace berth::core::container
