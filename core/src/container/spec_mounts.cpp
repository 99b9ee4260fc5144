// The user's mounts and devices in OCI form, as dockerd derives them
// (volume/mounts/linux_parser.go, container.TmpfsMounts, oci/devices_linux.go,
// containerd's HostDevices).
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "berth/core/container/mount_points.hpp"
#include "spec_internal.hpp"
#include "spec_json.hpp"

namespace berth::core::container::detail {
namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 6> kPropagation = {"private", "rprivate", "shared",
                                                          "rshared", "slave",    "rslave"};
bool is_propagation(std::string_view m) {
  return std::find(kPropagation.begin(), kPropagation.end(), m) != kPropagation.end();
}

// linuxValidMountMode: at most one of each kind, nothing unknown.
bool valid_bind_mode(std::string_view mode) {
  if (mode.empty()) return true;
  int rw = 0, label = 0, propagation = 0, copy = 0, consistency = 0;
  for (const auto& m : split(mode, ',')) {
    if (m == "rw" || m == "ro") {
      ++rw;
    } else if (m == "z" || m == "Z") {
      ++label;
    } else if (is_propagation(m)) {
      ++propagation;
    } else if (m == "nocopy") {
      ++copy;
    } else if (m == "consistent" || m == "cached" || m == "delegated") {
      ++consistency;
    } else {
      return false;
    }
  }
  return rw <= 1 && label <= 1 && propagation <= 1 && copy <= 1 && consistency <= 1;
}

Error mount_config_error(std::string_view type, const std::string& what) {
  return invalid("invalid mount config for type " + go_quote(type) + ": " + what);
}

Result<void> check_target(std::string_view type, const std::string& target) {
  if (target.empty()) return mount_config_error(type, "field Target must not be empty");
  if (!target.starts_with('/')) {
    return mount_config_error(type,
                              "invalid mount path: '" + target + "' mount path must be absolute");
  }
  if (clean_path(target) == "/")
    return mount_config_error(type, "invalid specification: destination can't be '/'");
  return ok();
}

UserMount bind_mount(const std::string& source, const std::string& target, bool read_only,
                     std::string propagation, bool recursive) {
  UserMount m{
      clean_path(target), "bind", source, {recursive ? "rbind" : "bind"}, std::move(propagation)};
  if (m.propagation.empty()) m.propagation = "rprivate";
  if (read_only) m.options.emplace_back("ro");
  m.options.push_back(m.propagation);
  return m;
}

Result<UserMount> tmpfs_mount(const std::string& target, const std::string& data) {
  std::vector<std::string> options = {"noexec", "nosuid", "nodev", "rprivate"};
  if (!data.empty()) {
    auto extra = split(data, ',');
    options.insert(options.end(), extra.begin(), extra.end());
  }
  BERTH_TRY(auto merged, merge_tmpfs_options(options));
  return UserMount{clean_path(target), "tmpfs", "tmpfs", std::move(merged), {}};
}

// `-v src:dst[:mode]` (linuxParser.ParseMountRaw): a bind when the source
// is absolute, else a named volume; `-v /dst` alone, an anonymous volume.
Result<MountPoint> parse_bind(const std::string& raw) {
  auto spec_error = [&raw] { return invalid("invalid volume specification: '" + raw + "'"); };
  auto arr = split(raw, ':');
  if (arr[0].empty() || arr.size() > 3) return spec_error();
  std::string source, target, mode;
  if (arr.size() == 1) {
    target = arr[0];
  } else {
    if (arr.size() == 2 && valid_bind_mode(arr[1])) return spec_error();  // "/dst:ro" is not a bind
    source = arr[0];
    target = arr[1];
    if (arr.size() == 3) mode = arr[2];
  }
  if (!valid_bind_mode(mode)) return invalid("invalid mode: " + mode);
  const bool bind = source.starts_with('/');
  if (auto r = check_target(bind ? "bind" : "volume", target); !r)
    return std::move(r).error().wrap(spec_error().message);
  MountPoint m;
  m.destination = clean_path(target);
  m.mode = mode;
  for (const auto& opt : split(mode, ',')) {
    if (opt == "ro") m.rw = false;
    if (is_propagation(opt)) m.propagation = opt;
  }
  if (bind) {
    m.type = "bind";
    m.source = source;
    m.create_source = true;
    if (m.propagation.empty()) m.propagation = "rprivate";
    return m;
  }
  if (!m.propagation.empty()) return invalid("invalid mode: " + mode);
  m.type = "volume";
  m.name = source;
  m.copy_data = std::ranges::count(split(mode, ','), "nocopy") == 0;
  if (m.mode.empty()) m.mode = "z";
  return m;
}

// Docker's ConvertTmpfsOptions: "size" in the largest unit that divides it.
std::string tmpfs_data(std::int64_t size, std::int64_t mode, bool read_only) {
  std::vector<std::string> opts;
  if (read_only) opts.emplace_back("ro");
  if (mode != 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "mode=%llo", static_cast<unsigned long long>(mode));
    opts.emplace_back(buf);
  }
  if (size != 0) {
    std::string suffix;
    for (auto [s, div] : {std::pair{"g", 1LL << 30}, {"m", 1LL << 20}, {"k", 1LL << 10}}) {
      if (size % div == 0) {
        size /= div;
        suffix = s;
        break;
      }
    }
    opts.push_back("size=" + std::to_string(size) + suffix);
  }
  std::string out;
  for (const auto& o : opts) out += (out.empty() ? "" : ",") + o;
  return out;
}

Error extra_field(std::string_view type, std::string_view field) {
  return mount_config_error(type, "field " + std::string(field) + " must not be specified");
}

// One HostConfig.Mounts entry (--mount).
Result<MountPoint> parse_mount(const json::value& v, bool check_sources) {
  if (!v.is_object()) return invalid("HostConfig.Mounts: expected objects");
  const auto& m = v.get_object();
  BERTH_TRY(std::string type, get_string(m, "Type", "Mounts[]"));
  BERTH_TRY(std::string source, get_string(m, "Source", "Mounts[]"));
  BERTH_TRY(std::string target, get_string(m, "Target", "Mounts[]"));
  BERTH_TRY(bool read_only, get_bool(m, "ReadOnly", "Mounts[]"));
  auto has = [&m](std::string_view field) {
    const auto* f = m.if_contains(field);
    return f != nullptr && !f->is_null();
  };
  MountPoint out;
  out.type = type;
  out.rw = !read_only;
  if (type == "bind") {
    BERTH_TRY(check_target(type, target));
    if (has("VolumeOptions")) return extra_field(type, "VolumeOptions");
    if (has("TmpfsOptions")) return extra_field(type, "TmpfsOptions");
    if (source.empty()) return mount_config_error(type, "field Source must not be empty");
    if (!source.starts_with('/')) {
      return mount_config_error(type,
                                "invalid mount path: '" + source + "' mount path must be absolute");
    }
    struct stat st {};
    if (check_sources && ::stat(source.c_str(), &st) != 0) {
      return mount_config_error(type, "bind source path does not exist: " + source);
    }
    BERTH_TRY(json::object bind_options, get_object(m, "BindOptions", "Mounts[]"));
    BERTH_TRY(std::string propagation, get_string(bind_options, "Propagation", "BindOptions"));
    if (!propagation.empty() && !is_propagation(propagation)) {
      return mount_config_error(type, "invalid propagation mode: " + propagation);
    }
    BERTH_TRY(bool non_recursive, get_bool(bind_options, "NonRecursive", "BindOptions"));
    out.source = source;
    out.destination = clean_path(target);
    out.propagation = propagation.empty() ? "rprivate" : propagation;
    out.recursive = !non_recursive;
    return out;
  }
  if (type == "volume") {
    BERTH_TRY(check_target(type, target));
    if (has("BindOptions")) return extra_field(type, "BindOptions");
    if (has("TmpfsOptions")) return extra_field(type, "TmpfsOptions");
    if (source.starts_with('/')) {
      return mount_config_error(type, "invalid mount path: '" + source + "' mount path must not be absolute");
    }
    BERTH_TRY(json::object volume_options, get_object(m, "VolumeOptions", "Mounts[]"));
    BERTH_TRY(bool no_copy, get_bool(volume_options, "NoCopy", "VolumeOptions"));
    BERTH_TRY(json::object labels, get_object(volume_options, "Labels", "VolumeOptions"));
    BERTH_TRY(json::object driver_config, get_object(volume_options, "DriverConfig", "VolumeOptions"));
    BERTH_TRY(std::string driver, get_string(driver_config, "Name", "DriverConfig"));
    BERTH_TRY(json::object options, get_object(driver_config, "Options", "DriverConfig"));
    for (const auto* o : {&labels, &options}) {
      for (const auto& [key, value] : *o) {
        if (!value.is_string()) return invalid("HostConfig.Mounts: VolumeOptions values must be strings");
      }
    }
    out.name = source;
    out.destination = clean_path(target);
    out.driver = driver;
    out.copy_data = !no_copy;
    out.labels = std::move(labels);
    out.driver_opts = std::move(options);
    out.mode = "z";
    return out;
  }
  if (type == "tmpfs") {
    BERTH_TRY(check_target(type, target));
    if (!source.empty()) return mount_config_error(type, "field Source must not be specified");
    if (has("BindOptions")) return extra_field(type, "BindOptions");
    if (has("VolumeOptions")) return extra_field(type, "VolumeOptions");
    BERTH_TRY(json::object tmpfs_options, get_object(m, "TmpfsOptions", "Mounts[]"));
    BERTH_TRY(std::int64_t size, get_int(tmpfs_options, "SizeBytes", "TmpfsOptions"));
    BERTH_TRY(std::int64_t mode, get_int(tmpfs_options, "Mode", "TmpfsOptions"));
    if (size < 0) return mount_config_error(type, "invalid tmpfs size: " + std::to_string(size));
    out.destination = clean_path(target);
    out.tmpfs_data = tmpfs_data(size, mode, read_only);
    BERTH_TRY(tmpfs_mount(out.destination, out.tmpfs_data));  // the options are valid
    return out;
  }
  return invalid("invalid mount config: mount type unknown: " + go_quote(type));
}

json::object device_json(const std::string& path, const struct stat& st) {
  return json::object{{"path", path},
                      {"type", S_ISBLK(st.st_mode) ? "b" : "c"},
                      {"major", static_cast<std::int64_t>(major(st.st_rdev))},
                      {"minor", static_cast<std::int64_t>(minor(st.st_rdev))},
                      {"fileMode", st.st_mode & 07777},
                      {"uid", st.st_uid},
                      {"gid", st.st_gid}};
}

json::object allow_rule(const json::object& device, const std::string& access) {
  return json::object{{"allow", true},
                      {"type", device.at("type")},
                      {"major", device.at("major")},
                      {"minor", device.at("minor")},
                      {"access", access}};
}

bool is_device(const struct stat& st) { return S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode); }

// Every device node under `dir` (containerd's getDevices), as `prefix`/...
void collect_devices(const std::string& dir, const std::string& prefix, json::array& out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> names;
  while (auto* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  static const std::set<std::string, std::less<>> kSkipDirs = {
      "pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"};
  for (const auto& name : names) {
    const std::string path = dir + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (!kSkipDirs.contains(name)) collect_devices(path, prefix + "/" + name, out);
    } else if (name != "console" && is_device(st)) {
      out.push_back(device_json(prefix + "/" + name, st));
    }
  }
}

// `--device host[:container[:perms]]` (DevicesFromPath): one device node,
// or every node under a directory.
Result<void> add_device(const std::string& on_host, const std::string& in_container,
                        const std::string& access, DeviceSpec& spec) {
  std::string resolved = on_host;
  if (char* real = ::realpath(on_host.c_str(), nullptr)) {
    resolved = real;
    std::free(real);
  }
  struct stat st {};
  if (::lstat(resolved.c_str(), &st) != 0) {
    // Go's errno texts are lower-case.
    std::string reason = std::strerror(errno);
    if (!reason.empty())
      reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
    return invalid("error gathering device information while adding custom device " +
                   go_quote(on_host) + ": " + reason);
  }
  if (is_device(st)) {
    json::object dev = device_json(in_container, st);
    spec.rules.push_back(allow_rule(dev, access));
    spec.devices.push_back(std::move(dev));
    return ok();
  }
  if (S_ISDIR(st.st_mode)) {
    json::array found;
    collect_devices(resolved, in_container, found);
    for (auto& d : found) {
      spec.rules.push_back(allow_rule(d.get_object(), access));
      spec.devices.push_back(std::move(d));
    }
    if (!found.empty()) return ok();
  }
  return invalid("error gathering device information while adding custom device " +
                 go_quote(on_host) + ": not a device node");
}

// "c 1:3 rwm", "a *:* m" (--device-cgroup-rule).
Result<json::object> parse_cgroup_rule(const std::string& rule) {
  auto bad = [&rule] { return invalid("invalid device cgroup format '" + rule + "'"); };
  const auto parts = split(rule, ' ');
  if (parts.size() != 3 || parts[0].size() != 1 ||
      std::string_view("acb").find(parts[0][0]) == std::string_view::npos) {
    return bad();
  }
  const auto numbers = split(parts[1], ':');
  if (numbers.size() != 2) return bad();
  if (parts[2].empty() || parts[2].size() > 3 ||
      parts[2].find_first_not_of("rwm") != std::string::npos) {
    return bad();
  }
  json::object out{{"allow", true}, {"type", parts[0]}};
  const char* keys[] = {"major", "minor"};
  for (std::size_t i = 0; i < 2; ++i) {
    if (numbers[i] == "*") continue;  // no number: any
    if (numbers[i].empty() || numbers[i].find_first_not_of("0123456789") != std::string::npos ||
        numbers[i].size() > 9) {
      return bad();
    }
    out[keys[i]] = std::stoll(numbers[i]);
  }
  out["access"] = parts[2];
  return out;
}

}  // namespace

Result<std::vector<std::string>> merge_tmpfs_options(const std::vector<std::string>& options) {
  // Options that set the same mount flag collide; any two propagation
  // options collide.
  static const std::map<std::string, int, std::less<>> kFlagGroup = {
      {"ro", 1},         {"rw", 1},          {"suid", 2},         {"nosuid", 2},
      {"dev", 3},        {"nodev", 3},       {"exec", 4},         {"noexec", 4},
      {"sync", 5},       {"async", 5},       {"dirsync", 6},      {"remount", 7},
      {"mand", 8},       {"nomand", 8},      {"atime", 9},        {"noatime", 9},
      {"diratime", 10},  {"nodiratime", 10}, {"bind", 0},         {"rbind", 0},
      {"unbindable", 0}, {"runbindable", 0}, {"private", 0},      {"rprivate", 0},
      {"shared", 0},     {"rshared", 0},     {"slave", 0},        {"rslave", 0},
      {"relatime", 11},  {"norelatime", 11}, {"strictatime", 12}, {"nostrictatime", 12}};
  static const std::set<std::string, std::less<>> kData = {"size",      "mode",      "uid", "gid",
                                                           "nr_inodes", "nr_blocks", "mpol"};
  std::set<int> flags_seen;
  std::set<std::string> data_seen;
  std::vector<std::string> out;
  for (auto it = options.rbegin(); it != options.rend(); ++it) {
    const std::string& option = *it;
    if (option == "defaults") continue;
    if (auto f = kFlagGroup.find(option); f != kFlagGroup.end()) {
      if (flags_seen.insert(f->second).second) out.insert(out.begin(), option);
      continue;
    }
    const auto eq = option.find('=');
    const std::string key = option.substr(0, eq);
    if (eq == std::string::npos || !kData.contains(key)) {
      std::string shown = "[" + go_quote(key);
      if (eq != std::string::npos) shown += " " + go_quote(option.substr(eq + 1));
      return invalid("Invalid tmpfs option " + shown + "]");
    }
    if (data_seen.insert(key).second) out.insert(out.begin(), option);
  }
  return out;
}

Result<std::vector<UserMount>> user_mounts(const json::object& hc,
                                           const std::vector<MountPoint>& points) {
  std::vector<UserMount> out;
  for (const auto& p : points) {
    if (p.type == "tmpfs") {
      BERTH_TRY(UserMount m, tmpfs_mount(p.destination, p.tmpfs_data));
      out.push_back(std::move(m));
    } else if (p.type == "volume" && p.source.empty()) {
      return make_error(Errc::unsupported, "volume " + (p.name.empty() ? p.destination : p.name) +
                                               " has no data on this host yet");
    } else {
      const bool bind = p.type == "bind";
      out.push_back(bind_mount(p.source, p.destination, !p.rw, bind ? p.propagation : "rprivate",
                               !bind || p.recursive));
    }
  }
  BERTH_TRY(json::object tmpfs, get_object(hc, "Tmpfs", "HostConfig"));
  for (const auto& [key, value] : tmpfs) {
    const std::string dest(key);
    if (!value.is_string()) return invalid("HostConfig.Tmpfs: expected string options");
    if (!dest.starts_with('/'))
      return invalid("invalid mount path: '" + dest + "' mount path must be absolute");
    if (clean_path(dest) == "/") return invalid("invalid specification: destination can't be '/'");
    BERTH_TRY(UserMount m, tmpfs_mount(dest, std::string(value.get_string())));
    out.push_back(std::move(m));
  }
  std::set<std::string> destinations;
  for (const auto& m : out) {
    if (!destinations.insert(m.destination).second)
      return invalid("Duplicate mount point: " + m.destination);
  }
  sort_by_depth(out);
  return out;
}

void sort_by_depth(std::vector<UserMount>& mounts) {
  // Parents before children: /a before /a/b, whatever order they came in.
  auto depth = [](const UserMount& m) { return split(clean_path(m.destination), '/').size(); };
  std::stable_sort(mounts.begin(), mounts.end(), [&depth](const UserMount& a, const UserMount& b) {
    return depth(a) < depth(b);
  });
}

Result<DeviceSpec> container_devices(const json::object& hc, bool privileged,
                                     const std::string& dev_dir) {
  DeviceSpec spec;
  BERTH_TRY(json::array devices, get_array(hc, "Devices", "HostConfig"));
  if (privileged) {
    collect_devices(dev_dir, "/dev", spec.devices);
    // Explicit mappings still add nodes under other names; rules are moot.
    for (const auto& v : devices) {
      if (!v.is_object()) return invalid("HostConfig.Devices: expected objects");
      BERTH_TRY(std::string on_host, get_string(v.get_object(), "PathOnHost", "Devices[]"));
      BERTH_TRY(std::string in_container,
                get_string(v.get_object(), "PathInContainer", "Devices[]"));
      if (in_container.empty() || in_container == on_host) continue;
      DeviceSpec extra;
      BERTH_TRY(add_device(on_host, in_container, "rwm", extra));
      for (auto& d : extra.devices) spec.devices.push_back(std::move(d));
    }
    spec.rules.push_back(json::object{{"allow", true}, {"access", "rwm"}});
    return spec;
  }
  spec.rules.push_back(json::object{{"allow", false}, {"access", "rwm"}});
  // Docker's default allow list: zero, null, urandom, random, tty, console;
  // /dev/fuse stays denied.
  for (auto [maj, min] : {std::pair{1, 5}, {1, 3}, {1, 9}, {1, 8}, {5, 0}, {5, 1}}) {
    spec.rules.push_back(json::object{
        {"allow", true}, {"type", "c"}, {"major", maj}, {"minor", min}, {"access", "rwm"}});
  }
  spec.rules.push_back(json::object{
      {"allow", false}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"access", "rwm"}});
  for (const auto& v : devices) {
    if (!v.is_object()) return invalid("HostConfig.Devices: expected objects");
    const auto& d = v.get_object();
    BERTH_TRY(std::string on_host, get_string(d, "PathOnHost", "Devices[]"));
    BERTH_TRY(std::string in_container, get_string(d, "PathInContainer", "Devices[]"));
    BERTH_TRY(std::string access, get_string(d, "CgroupPermissions", "Devices[]"));
    if (in_container.empty()) in_container = on_host;
    BERTH_TRY(add_device(on_host, in_container, access.empty() ? "rwm" : access, spec));
  }
  BERTH_TRY(auto cgroup_rules, get_strings(hc, "DeviceCgroupRules", "HostConfig"));
  for (const auto& r : cgroup_rules) {
    BERTH_TRY(json::object rule, parse_cgroup_rule(r));
    spec.rules.push_back(std::move(rule));
  }
  return spec;
}

}  // namespace berth::core::container::detail

namespace berth::core::container {
namespace json = boost::json;

using detail::clean_path;
using detail::invalid;

json::object MountPoint::to_json() const {
  json::object o{{"Type", type},           {"Name", name},     {"Source", source},
                 {"Destination", destination}, {"Driver", driver}, {"Mode", mode},
                 {"RW", rw},               {"Propagation", propagation}};
  if (!recursive) o["NonRecursive"] = true;
  if (copy_data) o["CopyData"] = true;
  if (create_source) o["CreateSource"] = true;
  if (!tmpfs_data.empty()) o["TmpfsData"] = tmpfs_data;
  if (!driver_opts.empty()) o["DriverOpts"] = driver_opts;
  if (!labels.empty()) o["Labels"] = labels;
  return o;
}

MountPoint MountPoint::from_json(const json::value& v) {
  MountPoint m;
  if (!v.is_object()) return m;
  const auto& o = v.get_object();
  auto str = [&o](std::string_view key) {
    const auto* f = o.if_contains(key);
    return f != nullptr && f->is_string() ? std::string(f->get_string()) : std::string();
  };
  auto flag = [&o](std::string_view key, bool fallback) {
    const auto* f = o.if_contains(key);
    return f != nullptr && f->is_bool() ? f->get_bool() : fallback;
  };
  auto obj = [&o](std::string_view key) {
    const auto* f = o.if_contains(key);
    return f != nullptr && f->is_object() ? f->get_object() : json::object{};
  };
  m.type = str("Type");
  m.name = str("Name");
  m.source = str("Source");
  m.destination = str("Destination");
  m.driver = str("Driver");
  m.mode = str("Mode");
  m.rw = flag("RW", true);
  m.propagation = str("Propagation");
  m.recursive = !flag("NonRecursive", false);
  m.copy_data = flag("CopyData", false);
  m.create_source = flag("CreateSource", false);
  m.tmpfs_data = str("TmpfsData");
  m.driver_opts = obj("DriverOpts");
  m.labels = obj("Labels");
  return m;
}

json::object MountPoint::inspect() const {
  json::object o{{"Type", type}};
  if (!name.empty()) o["Name"] = name;
  o["Source"] = source;
  o["Destination"] = destination;
  if (!driver.empty()) o["Driver"] = driver;
  o["Mode"] = mode;
  o["RW"] = rw;
  o["Propagation"] = propagation;
  return o;
}

Result<std::vector<MountPoint>> parse_mount_points(const json::object& hc, bool check_sources) {
  std::vector<MountPoint> out;
  BERTH_TRY(auto binds, detail::get_strings(hc, "Binds", "HostConfig"));
  for (const auto& raw : binds) {
    BERTH_TRY(MountPoint m, detail::parse_bind(raw));
    out.push_back(std::move(m));
  }
  BERTH_TRY(json::array mounts, detail::get_array(hc, "Mounts", "HostConfig"));
  for (const auto& v : mounts) {
    BERTH_TRY(MountPoint m, detail::parse_mount(v, check_sources));
    out.push_back(std::move(m));
  }
  std::set<std::string> destinations;
  for (const auto& m : out) {
    if (!destinations.insert(m.destination).second) return invalid("Duplicate mount point: " + m.destination);
  }
  // --tmpfs: checked with the rest (user_mounts() mounts them).
  BERTH_TRY(auto tmpfs_mounts, detail::user_mounts(hc, {}));
  for (const auto& t : tmpfs_mounts) {
    if (destinations.contains(t.destination)) return invalid("Duplicate mount point: " + t.destination);
  }
  return out;
}

Result<std::pair<std::string, std::string>> parse_volumes_from(const std::string& spec) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos) return std::pair{spec, std::string()};
  std::string mode = spec.substr(colon + 1);
  // Docker's ParseVolumesFrom: a mode of rw/ro (with label options).
  bool rw = false, ro = false;
  for (const auto& m : detail::split(mode, ',')) {
    if (m == "rw") {
      rw = true;
    } else if (m == "ro") {
      ro = true;
    } else if (m != "z" && m != "Z") {
      return invalid("invalid mode: " + mode);
    }
  }
  if (rw && ro) return invalid("invalid mode: " + mode);
  return std::pair{spec.substr(0, colon), std::string(ro ? "ro" : rw ? "rw" : "")};
}

}  // namespace berth::core::container
