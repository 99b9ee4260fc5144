#include "spec.hpp"

#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>

#include <array>
#include <boost/json.hpp>
#include <cstring>
#include <string_view>

#include "berth/core/container/capabilities.hpp"  // header-only name table
#include "json_fields.hpp"

namespace berth::runtime::detail {
namespace {

namespace json = boost::json;

struct NamespaceType {
  std::string_view oci;
  int flag;
  const char* proc;
};
constexpr NamespaceType namespace_types[] = {
    {"pid", CLONE_NEWPID, "pid"},          {"network", CLONE_NEWNET, "net"},
    {"mount", CLONE_NEWNS, "mnt"},         {"ipc", CLONE_NEWIPC, "ipc"},
    {"uts", CLONE_NEWUTS, "uts"},          {"user", CLONE_NEWUSER, "user"},
    {"cgroup", CLONE_NEWCGROUP, "cgroup"},
};

struct RlimitName {
  std::string_view name;
  int resource;
};
constexpr RlimitName rlimit_names[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

struct FlagOption {
  std::string_view name;
  bool clear;
  unsigned long flag;
};
constexpr FlagOption flag_options[] = {
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"defaults", false, 0},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},
    {"loud", true, MS_SILENT},
    {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"noiversion", true, MS_I_VERSION},
    {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"sync", false, MS_SYNCHRONOUS},
};

constexpr FlagOption propagation_options[] = {
    {"private", false, MS_PRIVATE},       {"rprivate", false, MS_PRIVATE | MS_REC},
    {"shared", false, MS_SHARED},         {"rshared", false, MS_SHARED | MS_REC},
    {"slave", false, MS_SLAVE},           {"rslave", false, MS_SLAVE | MS_REC},
    {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
};

// Recursive options (mount_setattr with AT_RECURSIVE): `clear` removes the
// attribute, otherwise it is set.
constexpr FlagOption recursive_options[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME},
    {"rnorelatime", true, MOUNT_ATTR_RELATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME},
    {"ratime", true, MOUNT_ATTR_NOATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
    {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

template <class Table>
const FlagOption* find_option(const Table& table, std::string_view name) {
  for (const FlagOption& o : table) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

Result<std::vector<std::string>> string_list(const json::object& o, const char* key,
                                             const std::string& where) {
  BERTH_TRY(const json::array* list, array_field(o, key, where));
  std::vector<std::string> out;
  if (list == nullptr) return out;
  for (const json::value& v : *list) {
    if (!v.is_string()) return field_error(where, key, "an array of strings");
    out.emplace_back(v.as_string());
  }
  return out;
}

Result<std::uint64_t> capability_mask(const json::object& caps, const char* key) {
  BERTH_TRY(auto names, string_list(caps, key, "process.capabilities"));
  std::uint64_t mask = 0;
  for (const std::string& name : names) {
    auto n = capability_number(name);
    if (!n) return Error{Errc::invalid_argument, "unknown capability \"" + name + "\""};
    mask |= std::uint64_t{1} << *n;
  }
  return mask;
}

Result<std::vector<IdMapping>> id_mappings(const json::object& lx, const char* key) {
  BERTH_TRY(const json::array* list, array_field(lx, key, "linux"));
  std::vector<IdMapping> out;
  if (list == nullptr) return out;
  const std::string where = std::string("linux.") + key;
  for (const json::value& v : *list) {
    if (!v.is_object()) return Error{Errc::invalid_argument, where + ": expected objects"};
    BERTH_TRY(auto c, uint_field(v.as_object(), "containerID", where));
    BERTH_TRY(auto h, uint_field(v.as_object(), "hostID", where));
    BERTH_TRY(auto s, uint_field(v.as_object(), "size", where));
    if (!c || !h || !s) {
      return Error{Errc::invalid_argument, where + ": containerID, hostID and size are required"};
    }
    out.push_back(IdMapping{static_cast<std::uint32_t>(*c), static_cast<std::uint32_t>(*h),
                            static_cast<std::uint32_t>(*s)});
  }
  return out;
}

Result<MountEntry> parse_mount(const json::value& v, const std::string& bundle) {
  if (!v.is_object()) return Error{Errc::invalid_argument, "mounts: expected objects"};
  const json::object& o = v.as_object();
  MountEntry m;
  BERTH_TRY(auto destination, string_field(o, "destination", "mounts[]"));
  if (!destination || destination->empty() || (*destination)[0] != '/') {
    return Error{Errc::invalid_argument,
                 "mount destination \"" + destination.value_or("") + "\" is not an absolute path"};
  }
  m.destination = *destination;
  const std::string where = "mount " + m.destination;
  BERTH_TRY(auto type, string_field(o, "type", where));
  BERTH_TRY(auto source, string_field(o, "source", where));
  BERTH_TRY(auto options, string_list(o, "options", where));
  m.type = type.value_or("");
  m.source = source.value_or("");
  BERTH_TRY(parse_mount_options(options, m));
  if (m.type == "bind") m.flags |= MS_BIND;
  if (m.bind() && !m.source.empty() && m.source[0] != '/') m.source = bundle + "/" + m.source;
  if (!m.bind() && m.type.empty()) {
    return Error{Errc::invalid_argument, where + ": a mount needs a type or the bind option"};
  }
  return m;
}

Result<DeviceSpec> parse_device(const json::value& v) {
  if (!v.is_object()) return Error{Errc::invalid_argument, "linux.devices: expected objects"};
  const json::object& o = v.as_object();
  DeviceSpec d;
  BERTH_TRY(auto path, string_field(o, "path", "linux.devices[]"));
  if (!path || path->empty() || (*path)[0] != '/') {
    return Error{Errc::invalid_argument, "linux.devices: path must be absolute"};
  }
  d.path = *path;
  const std::string where = "device " + d.path;
  BERTH_TRY(auto type, string_field(o, "type", where));
  if (!type || type->size() != 1 ||
      std::string_view("cbup").find((*type)[0]) == std::string_view::npos) {
    return Error{Errc::invalid_argument, where + ": invalid type \"" + type.value_or("") + "\""};
  }
  d.type = (*type)[0] == 'u' ? 'c' : (*type)[0];
  BERTH_TRY(auto major, int_field(o, "major", where));
  BERTH_TRY(auto minor, int_field(o, "minor", where));
  BERTH_TRY(auto mode, uint_field(o, "fileMode", where));
  BERTH_TRY(auto uid, uint_field(o, "uid", where));
  BERTH_TRY(auto gid, uint_field(o, "gid", where));
  if (d.type != 'p' && (!major || !minor)) {
    return Error{Errc::invalid_argument, where + ": major and minor are required"};
  }
  d.major = major.value_or(0);
  d.minor = minor.value_or(0);
  d.mode = static_cast<std::uint32_t>(mode.value_or(0666) & 07777);
  d.uid = static_cast<uid_t>(uid.value_or(0));
  d.gid = static_cast<gid_t>(gid.value_or(0));
  return d;
}

}  // namespace

const char* proc_ns_name(int flag) {
  for (const NamespaceType& t : namespace_types) {
    if (t.flag == flag) return t.proc;
  }
  return "";
}

bool MountEntry::bind() const { return (flags & MS_BIND) != 0; }

const NamespaceSpec* Spec::find_namespace(int flag) const {
  for (const NamespaceSpec& ns : namespaces) {
    if (ns.flag == flag) return &ns;
  }
  return nullptr;
}

std::optional<int> capability_number(std::string_view name) { return core::container::capability_number(name); }

std::string capability_name(int number) {
  const auto& names = core::container::kCapabilityNames;
  if (number >= 0 && static_cast<std::size_t>(number) < names.size()) {
    return std::string(names[static_cast<std::size_t>(number)]);
  }
  return "CAP_" + std::to_string(number);
}

Result<void> parse_mount_options(const std::vector<std::string>& options, MountEntry& m) {
  std::string data;
  for (const std::string& opt : options) {
    if (const FlagOption* f = find_option(flag_options, opt)) {
      if (f->clear) {
        m.flags &= ~f->flag;
      } else {
        m.flags |= f->flag;
      }
    } else if (const FlagOption* p = find_option(propagation_options, opt)) {
      m.propagation.push_back(p->flag);
    } else if (const FlagOption* r = find_option(recursive_options, opt)) {
      const bool atime = r->flag == MOUNT_ATTR_NOATIME || r->flag == MOUNT_ATTR_STRICTATIME ||
                         r->flag == MOUNT_ATTR_RELATIME;
      if (r->clear) {
        m.attr_clr |= atime ? MOUNT_ATTR__ATIME : r->flag;
      } else {
        m.attr_set |= r->flag;
        if (atime) m.attr_clr |= MOUNT_ATTR__ATIME;
      }
    } else if (opt == "idmap" || opt == "ridmap") {
      return Error{Errc::unsupported,
                   "mount " + m.destination + ": idmapped mounts are not supported"};
    } else if (opt == "tmpcopyup") {
      // Accepted and ignored, as by runtimes without it.
    } else {
      if (!data.empty()) data += ",";
      data += opt;
    }
  }
  m.data = std::move(data);
  return core::ok();
}

Result<ProcessSpec> parse_process(const json::value& value) {
  if (!value.is_object()) return Error{Errc::invalid_argument, "process: expected an object"};
  const json::object& o = value.as_object();
  ProcessSpec p;
  BERTH_TRY(p.args, string_list(o, "args", "process"));
  if (p.args.empty()) return Error{Errc::invalid_argument, "process.args must not be empty"};
  BERTH_TRY(p.env, string_list(o, "env", "process"));
  BERTH_TRY(auto cwd, string_field(o, "cwd", "process"));
  p.cwd = cwd.value_or("/");
  if (p.cwd.empty() || p.cwd[0] != '/') {
    return Error{Errc::invalid_argument, "cwd \"" + p.cwd + "\" is not an absolute path"};
  }
  BERTH_TRY(auto terminal, bool_field(o, "terminal", "process"));
  p.terminal = terminal.value_or(false);
  BERTH_TRY(const json::object* size, object_field(o, "consoleSize", "process"));
  if (size != nullptr) {
    BERTH_TRY(auto h, uint_field(*size, "height", "process.consoleSize"));
    BERTH_TRY(auto w, uint_field(*size, "width", "process.consoleSize"));
    p.rows = static_cast<unsigned short>(std::min<std::uint64_t>(h.value_or(0), 0xffff));
    p.cols = static_cast<unsigned short>(std::min<std::uint64_t>(w.value_or(0), 0xffff));
  }
  BERTH_TRY(const json::object* user, object_field(o, "user", "process"));
  if (user != nullptr) {
    BERTH_TRY(auto uid, uint_field(*user, "uid", "process.user"));
    BERTH_TRY(auto gid, uint_field(*user, "gid", "process.user"));
    BERTH_TRY(auto umask, uint_field(*user, "umask", "process.user"));
    BERTH_TRY(const json::array* groups, array_field(*user, "additionalGids", "process.user"));
    p.uid = static_cast<uid_t>(uid.value_or(0));
    p.gid = static_cast<gid_t>(gid.value_or(0));
    if (umask) p.umask = static_cast<mode_t>(*umask & 0777);
    if (groups != nullptr) {
      for (const json::value& g : *groups) {
        if (!g.is_int64() && !g.is_uint64()) {
          return field_error("process.user", "additionalGids", "an array of integers");
        }
        p.additional_gids.push_back(static_cast<gid_t>(g.to_number<std::int64_t>()));
      }
    }
  }
  BERTH_TRY(const json::object* caps, object_field(o, "capabilities", "process"));
  if (caps != nullptr) {
    CapabilitySets sets;
    BERTH_TRY(sets.bounding, capability_mask(*caps, "bounding"));
    BERTH_TRY(sets.effective, capability_mask(*caps, "effective"));
    BERTH_TRY(sets.inheritable, capability_mask(*caps, "inheritable"));
    BERTH_TRY(sets.permitted, capability_mask(*caps, "permitted"));
    BERTH_TRY(sets.ambient, capability_mask(*caps, "ambient"));
    p.capabilities = sets;
  }
  BERTH_TRY(const json::array* rlimits, array_field(o, "rlimits", "process"));
  if (rlimits != nullptr) {
    for (const json::value& v : *rlimits) {
      if (!v.is_object()) return field_error("process", "rlimits", "an array of objects");
      BERTH_TRY(auto type, string_field(v.as_object(), "type", "process.rlimits[]"));
      BERTH_TRY(auto soft, uint_field(v.as_object(), "soft", "process.rlimits[]"));
      BERTH_TRY(auto hard, uint_field(v.as_object(), "hard", "process.rlimits[]"));
      const RlimitName* found = nullptr;
      for (const RlimitName& r : rlimit_names) {
        if (r.name == type.value_or("")) found = &r;
      }
      if (found == nullptr) {
        return Error{Errc::invalid_argument, "unknown rlimit type \"" + type.value_or("") + "\""};
      }
      if (!soft || !hard) {
        return Error{Errc::invalid_argument,
                     found->name.data() + std::string(": soft and hard are required")};
      }
      if (*soft > *hard) {
        return Error{Errc::invalid_argument,
                     std::string(found->name) + ": soft limit " + std::to_string(*soft) +
                         " is above the hard limit " + std::to_string(*hard)};
      }
      p.rlimits.push_back(RlimitSpec{found->resource, std::string(found->name),
                                     static_cast<rlim_t>(*soft), static_cast<rlim_t>(*hard)});
    }
  }
  BERTH_TRY(auto nnp, bool_field(o, "noNewPrivileges", "process"));
  p.no_new_privileges = nnp.value_or(false);
  BERTH_TRY(auto oom, int_field(o, "oomScoreAdj", "process"));
  if (oom) {
    if (*oom < -1000 || *oom > 1000) {
      return Error{Errc::invalid_argument,
                   "oomScoreAdj " + std::to_string(*oom) + " is out of range"};
    }
    p.oom_score_adj = static_cast<int>(*oom);
  }
  return p;
}

Result<Spec> parse_spec(const json::value& config, const std::string& bundle) {
  if (!config.is_object()) return Error{Errc::invalid_argument, "config.json: expected an object"};
  const json::object& o = config.as_object();
  Spec s;
  s.bundle = bundle;

  BERTH_TRY(const json::object* root, object_field(o, "root", "config"));
  if (root == nullptr) return Error{Errc::invalid_argument, "root.path is required"};
  BERTH_TRY(auto root_path, string_field(*root, "path", "root"));
  if (!root_path || root_path->empty())
    return Error{Errc::invalid_argument, "root.path is required"};
  const std::string joined = (*root_path)[0] == '/' ? *root_path : bundle + "/" + *root_path;
  char resolved[PATH_MAX];
  if (::realpath(joined.c_str(), resolved) == nullptr) return sys_error("rootfs " + joined);
  s.root = resolved;
  BERTH_TRY(auto ro, bool_field(*root, "readonly", "root"));
  s.root_readonly = ro.value_or(false);

  BERTH_TRY(auto hostname, string_field(o, "hostname", "config"));
  BERTH_TRY(auto domainname, string_field(o, "domainname", "config"));
  s.hostname = hostname.value_or("");
  s.domainname = domainname.value_or("");

  const json::value* process = field(o, "process");
  if (process == nullptr) return Error{Errc::invalid_argument, "process is required"};
  BERTH_TRY(s.process, parse_process(*process));

  BERTH_TRY(const json::array* mounts, array_field(o, "mounts", "config"));
  if (mounts != nullptr) {
    for (const json::value& m : *mounts) {
      BERTH_TRY(auto entry, parse_mount(m, bundle));
      s.mounts.push_back(std::move(entry));
    }
  }

  BERTH_TRY(const json::object* lx, object_field(o, "linux", "config"));
  if (lx == nullptr) return s;
  BERTH_TRY(const json::array* namespaces, array_field(*lx, "namespaces", "linux"));
  if (namespaces != nullptr) {
    for (const json::value& v : *namespaces) {
      if (!v.is_object()) return field_error("linux", "namespaces", "an array of objects");
      BERTH_TRY(auto type, string_field(v.as_object(), "type", "linux.namespaces[]"));
      BERTH_TRY(auto path, string_field(v.as_object(), "path", "linux.namespaces[]"));
      const NamespaceType* found = nullptr;
      for (const NamespaceType& t : namespace_types) {
        if (t.oci == type.value_or("")) found = &t;
      }
      if (found == nullptr) {
        return Error{type.value_or("") == "time" ? Errc::unsupported : Errc::invalid_argument,
                     "namespace type \"" + type.value_or("") + "\" is not supported"};
      }
      if (s.find_namespace(found->flag) != nullptr) {
        return Error{Errc::invalid_argument, "namespace \"" + *type + "\" is listed twice"};
      }
      s.namespaces.push_back(NamespaceSpec{*type, found->flag, path.value_or("")});
    }
  }
  BERTH_TRY(s.uid_mappings, id_mappings(*lx, "uidMappings"));
  BERTH_TRY(s.gid_mappings, id_mappings(*lx, "gidMappings"));
  const NamespaceSpec* userns = s.find_namespace(CLONE_NEWUSER);
  if (userns != nullptr && userns->path.empty() &&
      (s.uid_mappings.empty() || s.gid_mappings.empty())) {
    return Error{Errc::invalid_argument, "a new user namespace needs uidMappings and gidMappings"};
  }

  BERTH_TRY(const json::array* devices, array_field(*lx, "devices", "linux"));
  if (devices != nullptr) {
    for (const json::value& d : *devices) {
      BERTH_TRY(auto dev, parse_device(d));
      s.devices.push_back(std::move(dev));
    }
  }
  if (const json::value* r = field(*lx, "resources")) s.resources = *r;
  BERTH_TRY(auto cgroups_path, string_field(*lx, "cgroupsPath", "linux"));
  s.cgroups_path = cgroups_path.value_or("");
  BERTH_TRY(s.masked_paths, string_list(*lx, "maskedPaths", "linux"));
  BERTH_TRY(s.readonly_paths, string_list(*lx, "readonlyPaths", "linux"));
  BERTH_TRY(const json::object* sysctl, object_field(*lx, "sysctl", "linux"));
  if (sysctl != nullptr) {
    for (const auto& [key, value] : *sysctl) {
      if (!value.is_string() || key.empty() || key.find("..") != json::string_view::npos) {
        return Error{Errc::invalid_argument, "invalid sysctl \"" + std::string(key) + "\""};
      }
      s.sysctl.emplace_back(std::string(key), std::string(value.as_string()));
    }
  }
  if (const json::value* sc = field(*lx, "seccomp")) s.seccomp = *sc;
  BERTH_TRY(auto propagation, string_field(*lx, "rootfsPropagation", "linux"));
  if (propagation && !propagation->empty()) {
    std::string name = *propagation;
    if (!name.starts_with("r")) name = "r" + name;
    const FlagOption* p = find_option(propagation_options, name);
    if (p == nullptr) {
      return Error{Errc::invalid_argument, "invalid rootfsPropagation \"" + *propagation + "\""};
    }
    s.rootfs_propagation = p->flag;
  }
  return s;
}

Result<Spec> load_spec(const std::string& bundle) {
  BERTH_TRY(auto text, read_file(bundle + "/config.json"));
  boost::system::error_code ec;
  json::value config = json::parse(text, ec);
  if (ec) {
    return Error{Errc::invalid_argument, "parse " + bundle + "/config.json: " + ec.message()};
  }
  return parse_spec(config, bundle);
}

}  // namespace berth::runtime::detail
