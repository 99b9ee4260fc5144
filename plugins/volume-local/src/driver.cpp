// The local volume driver (Docker's "local", moby volume/local): a volume is
// a directory under the daemon's data root, with Docker's layout, and
// optionally a filesystem mounted on it while containers use it (`--opt
// type=tmpfs --opt device=tmpfs --opt o=size=64m`, as mount(8) takes them).
//
// On disk, under <data root>/volumes (0701, as Docker's):
//   <name>/              a whole volume (0755)
//   <name>/_data/        its contents: what mount() and path() give (0755)
//   <name>/opts.json     {"CreatedAt"} and, for a volume with a filesystem of
//                        its own, Docker's "MountType", "MountDevice", "MountOpts"
//   <name>/refs.json     the callers holding it (a JSON array), while any does
//   .create-XXXXXX/      a volume being created, renamed to <name> when whole
//   .remove-XXXXXX/      a volume renamed out of the way, being deleted
// A dot never starts a volume name, so <name>/ only ever holds a whole
// volume, and the leftovers of a crash are the two kinds of dot-directories,
// deleted at start. A <name>/_data without opts.json (Docker writes none for a
// volume without options) is taken as a volume without options.
//
// References are a set of caller ids, written through to refs.json before
// mount() or unmount() returns, so that after a crash the driver knows who
// still holds each volume: at start a filesystem mounted on a volume nobody
// holds is unmounted, one with holders stays; a volume whose holders are
// recorded but whose filesystem is gone (a reboot) is mounted again by the
// next mount(), whoever calls it.
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cerrno>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/plugins/volume_local.h"
#include "berth/sdk/volume.hpp"
#include "files.hpp"
#include "mounts.hpp"

namespace berth::plugins::volume_local {

namespace {

namespace json = boost::json;
using sdk::Errc;
using sdk::Error;

constexpr std::string_view kCreatePrefix = ".create-";
constexpr std::string_view kRemovePrefix = ".remove-";

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Docker's names.RestrictedNamePattern, ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$: one
// path component that is neither "." nor "..", nor one of the driver's own.
bool valid_name(std::string_view name) {
  if (name.size() < 2 || !is_alnum(name[0])) return false;
  for (const char c : name.substr(1)) {
    if (!is_alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// Go's %q for ASCII: the name as Docker quotes it in its messages.
std::string quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out + '"';
}

void check_name(std::string_view name) {
  if (!valid_name(name)) {
    throw Error(Errc::invalid_argument,
                quote(name) +
                    " includes invalid characters for a local volume name, only "
                    "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host "
                    "directory, use absolute path");
  }
}

std::string rfc3339(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The options a volume is created with: Docker's `type`, `device` and `o`.
struct MountSpec {
  std::string type;
  std::string device;
  std::string o;

  bool empty() const { return type.empty() && device.empty(); }
};

// Parses and checks create()'s options as Docker's validateOpts does.
MountSpec parse_options(std::string_view opts_json) {
  if (opts_json.empty()) return {};
  boost::system::error_code ec;
  const json::value v = json::parse(opts_json, ec);
  if (ec || !v.is_object()) throw Error(Errc::invalid_argument, "options are not a JSON object");
  std::map<std::string, std::string, std::less<>> opts;
  for (const auto& [key, value] : v.get_object()) {
    if (!value.is_string()) {
      throw Error(Errc::invalid_argument, "option " + quote(key) + " is not a string");
    }
    opts.emplace(std::string(key), std::string(value.get_string()));
  }
  for (const auto& [key, value] : opts) {
    if (key != "type" && key != "device" && key != "o" && key != "size") {
      throw Error(Errc::invalid_argument, "invalid option key: " + quote(key));
    }
  }
  if (opts.contains("size")) {
    throw Error(Errc::invalid_argument, "quota size requested but no quota support");
  }
  static const std::pair<std::string_view, std::vector<std::string_view>> kRequires[] = {
      {"device", {"type"}}, {"type", {"device"}}, {"o", {"device", "type"}}};
  for (const auto& [key, required] : kRequires) {
    if (!opts.contains(key)) continue;
    for (const std::string_view other : required) {
      if (!opts.contains(other)) {
        throw Error(Errc::invalid_argument, "missing required option: " + quote(other));
      }
    }
  }
  MountSpec spec;
  if (const auto it = opts.find("type"); it != opts.end()) spec.type = it->second;
  if (const auto it = opts.find("device"); it != opts.end()) spec.device = it->second;
  if (const auto it = opts.find("o"); it != opts.end()) spec.o = it->second;
  return spec;
}

struct Volume {
  std::string created_at;
  MountSpec spec;
  std::set<std::string, std::less<>> callers;
  bool mounted = false;  // spec's filesystem is mounted on _data
};

std::string opts_json_of(const Volume& v) {
  json::object o{{"CreatedAt", v.created_at}};
  if (!v.spec.empty()) {
    o["MountType"] = v.spec.type;
    o["MountDevice"] = v.spec.device;
    o["MountOpts"] = v.spec.o;
  }
  return json::serialize(o);
}

std::string string_member(const json::object& o, std::string_view key, const std::string& file) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return {};
  if (!v->is_string())
    throw Error(Errc::internal, file + ": " + std::string(key) + " is not a string");
  return std::string(v->get_string());
}

class LocalDriver final : public sdk::VolumeDriver {
 public:
  explicit LocalDriver(const sdk::Host& host) : host_(host) {
    if (host.data_root().empty()) {
      throw Error(Errc::failed_precondition, "local volumes: the host offers no data root");
    }
    boost::system::error_code ec;
    if (const json::value config = json::parse(host.config_json(), ec); ec || !config.is_object()) {
      throw Error(Errc::invalid_argument, "local volumes: the configuration is not a JSON object");
    }
    const std::string root = std::string(host.data_root()) + "/volumes";
    ensure_dir(root, 0701);
    // Mount points in mountinfo are canonical: so are the paths we compare.
    root_ = real_path(root);
    load();
  }

  void create(std::string_view name, std::string_view opts_json) override {
    check_name(name);
    Volume v;
    v.spec = parse_options(opts_json);
    v.created_at = rfc3339(std::time(nullptr));
    std::lock_guard lock(mutex_);
    if (volumes_.contains(name)) throw Error(Errc::already_exists, "volume already exists");
    const std::string dir = dir_of(name);
    const std::string tmp = make_temp_dir(root_, kCreatePrefix, 0755);
    try {
      ensure_dir(tmp + "/_data", 0755);
      write_file_synced(tmp + "/opts.json", opts_json_of(v));
      fsync_dir(tmp);
      try {
        rename_no_replace(tmp, dir);
      } catch (const Error& e) {
        if (e.code() != Errc::already_exists) throw;
        throw Error(Errc::already_exists,
                    dir + " exists but is not a volume the driver could load (see its log)");
      }
    } catch (...) {
      discard(tmp);
      throw;
    }
    // The volume is in place: known before a failed sync can be reported.
    volumes_.emplace(std::string(name), std::move(v));
    fsync_dir(root_);
  }

  void remove(std::string_view name) override {
    std::lock_guard lock(mutex_);
    const auto it = find(name);
    Volume& v = it->second;
    if (!v.callers.empty()) throw Error(Errc::conflict, "volume is in use");
    const std::string dir = dir_of(name);
    std::vector<std::string> mounts = current_mount_points();
    if (!v.spec.empty() && is_mount_point(mounts, data_of(name))) {
      unmount_filesystem(data_of(name));
      v.mounted = false;
      mounts = current_mount_points();
    }
    // Deleting through a mount would delete another filesystem's files.
    if (const std::string m = mount_at_or_below(mounts, dir); !m.empty()) {
      throw Error(Errc::conflict, "a filesystem is mounted at " + m);
    }
    // Out of the way first, so that a crash while deleting leaves a leftover
    // for the next start, not half a volume.
    const std::string trash = make_temp_dir(root_, kRemovePrefix, 0700);
    if (::rename(dir.c_str(), trash.c_str()) != 0) {
      const Error failure = Error::from_errno(errno, "rename " + dir + " to " + trash);
      discard(trash);
      throw failure;
    }
    volumes_.erase(it);
    try {
      fsync_dir(root_);
      remove_tree(trash);
    } catch (const Error& e) {
      host_.warn("remove volume " + std::string(name) + ": " + e.what() +
                 " (deleted again at the next start)");
    }
  }

  void mount(std::string_view name, std::string_view caller_id, const sdk::Out& out) override {
    if (caller_id.empty()) throw Error(Errc::invalid_argument, "empty caller id");
    std::lock_guard lock(mutex_);
    Volume& v = find(name)->second;
    const std::string data = data_of(name);
    bool mounted_now = false;
    if (!v.spec.empty() && !v.mounted) {
      mount_filesystem(v.spec.device, data, v.spec.type, v.spec.o);
      v.mounted = mounted_now = true;
    }
    if (!v.callers.contains(caller_id)) {
      v.callers.emplace(caller_id);
      try {
        save_callers(name, v);
      } catch (...) {
        v.callers.erase(v.callers.find(caller_id));
        if (mounted_now) release_filesystem(name, v);
        throw;
      }
    }
    out.write(data);
  }

  void unmount(std::string_view name, std::string_view caller_id) override {
    std::lock_guard lock(mutex_);
    Volume& v = find(name)->second;
    const auto caller = v.callers.find(caller_id);
    if (caller == v.callers.end()) return;
    std::string kept = *caller;
    v.callers.erase(caller);
    try {
      save_callers(name, v);
    } catch (...) {
      v.callers.emplace(std::move(kept));
      throw;
    }
    // As Docker: the reference is gone even when the unmount fails; remove()
    // tries again.
    if (v.callers.empty() && v.mounted) {
      unmount_filesystem(data_of(name));
      v.mounted = false;
    }
  }

  void path(std::string_view name, const sdk::Out& out) override {
    std::lock_guard lock(mutex_);
    find(name);
    out.write(data_of(name));
  }

  void get(std::string_view name, const sdk::Out& out) override {
    std::lock_guard lock(mutex_);
    const auto it = find(name);
    out.write(json::serialize(describe(it->first, it->second)));
  }

  void list(const sdk::Out& out) override {
    json::array all;
    std::lock_guard lock(mutex_);
    for (const auto& [name, v] : volumes_) all.emplace_back(describe(name, v));
    out.write(json::serialize(all));
  }

  void capabilities(const sdk::Out& out) override { out.write(R"({"Scope":"local"})"); }

 private:
  using Volumes = std::map<std::string, Volume, std::less<>>;

  std::string dir_of(std::string_view name) const { return root_ + "/" + std::string(name); }
  std::string data_of(std::string_view name) const { return dir_of(name) + "/_data"; }

  Volumes::iterator find(std::string_view name) {
    const auto it = volumes_.find(name);
    if (it == volumes_.end()) throw Error(Errc::not_found, "no such volume");
    return it;
  }

  json::object describe(const std::string& name, const Volume& v) const {
    return json::object{{"Name", name},
                        {"Mountpoint", data_of(name)},
                        {"CreatedAt", v.created_at},
                        {"Status", json::object{}}};
  }

  void save_callers(std::string_view name, const Volume& v) const {
    const std::string file = dir_of(name) + "/refs.json";
    if (v.callers.empty()) return remove_file_durably(file);
    json::array callers;
    for (const std::string& c : v.callers) callers.emplace_back(c);
    write_file_atomic(file, json::serialize(callers));
  }

  // Unmounts a volume's filesystem on a path where failing to is only worth a
  // warning (the mount is found again at the next start).
  void release_filesystem(std::string_view name, Volume& v) const {
    try {
      unmount_filesystem(data_of(name));
      v.mounted = false;
    } catch (const Error& e) {
      host_.warn("volume " + std::string(name) + ": " + e.what());
    }
  }

  void discard(const std::string& path) const noexcept {
    try {
      remove_tree(path);
    } catch (const Error& e) {
      host_.warn(std::string("local volumes: ") + e.what());
    }
  }

  void load() {
    const std::vector<std::string> mounts = current_mount_points();
    for (const std::string& entry : list_dir(root_)) {
      const std::string dir = root_ + "/" + entry;
      if (entry.starts_with(kCreatePrefix) || entry.starts_with(kRemovePrefix)) {
        if (!mount_at_or_below(mounts, dir).empty()) {
          host_.warn("local volumes: leftover " + dir + " has a filesystem mounted in it; kept");
          continue;
        }
        host_.info("local volumes: deleting leftover " + dir);
        discard(dir);
        continue;
      }
      struct stat st {};
      if (!valid_name(entry) || ::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      try {
        load_volume(entry, mounts);
      } catch (const Error& e) {
        host_.warn("local volumes: ignoring " + dir + ": " + e.what());
      }
    }
  }

  void load_volume(const std::string& name, const std::vector<std::string>& mounts) {
    const std::string dir = dir_of(name);
    const std::string data = data_of(name);
    struct stat st {};
    if (::lstat(data.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw Error(Errc::internal, "no _data directory");
    }
    Volume v;
    const std::string opts_file = dir + "/opts.json";
    if (const std::string text = read_file(opts_file); text.empty()) {
      v.created_at = rfc3339(st.st_mtim.tv_sec);
      write_file_atomic(opts_file, opts_json_of(v));
      host_.info("local volumes: adopted " + dir + ", which had no opts.json");
    } else {
      boost::system::error_code ec;
      const json::value opts = json::parse(text, ec);
      if (ec || !opts.is_object()) throw Error(Errc::internal, opts_file + ": not a JSON object");
      const json::object& o = opts.get_object();
      v.created_at = string_member(o, "CreatedAt", opts_file);
      v.spec.type = string_member(o, "MountType", opts_file);
      v.spec.device = string_member(o, "MountDevice", opts_file);
      v.spec.o = string_member(o, "MountOpts", opts_file);
      if (v.created_at.empty()) v.created_at = rfc3339(st.st_mtim.tv_sec);
    }

    // The callers: unknown when refs.json cannot be read, and then a mounted
    // filesystem stays, in case someone uses it.
    bool callers_known = true;
    const std::string refs_file = dir + "/refs.json";
    try {
      if (const std::string text = read_file(refs_file); !text.empty()) {
        boost::system::error_code ec;
        const json::value refs = json::parse(text, ec);
        if (ec || !refs.is_array()) throw Error(Errc::internal, refs_file + ": not a JSON array");
        for (const json::value& c : refs.get_array()) {
          if (c.is_string()) v.callers.emplace(c.get_string());
        }
      }
    } catch (const Error& e) {
      callers_known = false;
      host_.warn("local volumes: volume " + name + ": " + e.what() + "; its holders are unknown");
    }

    if (!v.spec.empty()) {
      v.mounted = is_mount_point(mounts, data);
      if (v.mounted && v.callers.empty() && callers_known) {
        host_.info("local volumes: unmounting " + data + ", which nobody holds any more");
        release_filesystem(name, v);
      }
    }
    volumes_.emplace(name, std::move(v));
  }

  sdk::Host host_;
  std::string root_;  // <data root>/volumes, canonical
  std::mutex mutex_;
  Volumes volumes_;
};

}  // namespace

}  // namespace berth::plugins::volume_local

BERTH_DEFINE_PLUGIN(berth_builtin_volume_local, berth::plugins::volume_local::LocalDriver, "local",
                    "1.0.0", 0)
