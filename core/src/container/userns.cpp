#include "berth/core/container/userns.hpp"

#include "berth/core/container/shim_protocol.hpp"
#include "berth/core/log.hpp"
#include "berth/core/mount.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace berth::core::container {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kDefaultSpecifier = "default";
constexpr std::string_view kDefaultUser = "berthremap";
constexpr std::uint32_t kDefaultRangeSize = 65536;

std::optional<std::uint32_t> parse_u32(std::string_view text) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::string string_member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// --- passwd and group lookups (NSS, reentrant) -------------------------------

struct Entry {
  std::string name;
  std::uint32_t id = 0;
};

template <class Record, class Lookup>
std::optional<Entry> nss_lookup(Lookup&& lookup) {
  Record record{};
  Record* found = nullptr;
  std::vector<char> buf(16384);
  for (;;) {
    const int rc = lookup(&record, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc != 0 || found == nullptr) return std::nullopt;
    if constexpr (std::is_same_v<Record, passwd>) {
      return Entry{found->pw_name, found->pw_uid};
    } else {
      return Entry{found->gr_name, found->gr_gid};
    }
  }
}

std::optional<Entry> user_by_name(const std::string& name) {
  return nss_lookup<passwd>([&](passwd* r, char* b, std::size_t n, passwd** f) {
    return ::getpwnam_r(name.c_str(), r, b, n, f);
  });
}
std::optional<Entry> user_by_id(std::uint32_t id) {
  return nss_lookup<passwd>(
      [&](passwd* r, char* b, std::size_t n, passwd** f) { return ::getpwuid_r(id, r, b, n, f); });
}
std::optional<Entry> group_by_name(const std::string& name) {
  return nss_lookup<group>([&](group* r, char* b, std::size_t n, group** f) {
    return ::getgrnam_r(name.c_str(), r, b, n, f);
  });
}
std::optional<Entry> group_by_id(std::uint32_t id) {
  return nss_lookup<group>(
      [&](group* r, char* b, std::size_t n, group** f) { return ::getgrgid_r(id, r, b, n, f); });
}

// A user or group as the remap names it: the entry, or (numbers only) the
// bare ID when the database has none.
struct Who {
  std::string name;
  std::optional<std::uint32_t> id;
};

Result<Who> resolve(std::string_view given, bool is_user) {
  const std::string text(given);
  const char* what = is_user ? "uid" : "gid";
  const char* db = is_user ? "passwd" : "group";
  if (auto id = parse_u32(text)) {
    auto entry = is_user ? user_by_id(*id) : group_by_id(*id);
    if (entry) return Who{entry->name, entry->id};
    return Who{text, *id};
  }
  auto entry = is_user ? user_by_name(text) : group_by_name(text);
  if (!entry) {
    return make_error(Errc::invalid_argument, std::string("Error during ") + what + " lookup for \"" +
                                                  text + "\": getent unable to find entry \"" +
                                                  text + "\" in " + db + " database");
  }
  return Who{entry->name, entry->id};
}

// --- the "default" user ------------------------------------------------------

Result<void> run_tool(const std::vector<std::string>& argv) {
  BERTH_TRY(pid_t pid, shim_protocol::spawn(argv, {}));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return errno_error(Errc::internal, "wait for " + argv.front(), errno);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return make_error(Errc::internal, argv.front() + " failed (status " + std::to_string(status) + ")");
  }
  return ok();
}

// The first 65536 IDs from 100000 up that no line of `ranges` uses
// (Docker's findNextRangeStart).
std::uint32_t free_range_start(std::vector<SubIdRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const SubIdRange& a, const SubIdRange& b) { return a.start < b.start; });
  std::uint64_t start = 100000;
  for (const SubIdRange& r : ranges) {
    if (start + kDefaultRangeSize <= r.start) break;
    start = std::max<std::uint64_t>(start, std::uint64_t{r.start} + r.count);
  }
  return static_cast<std::uint32_t>(start);
}

// Docker's AddNamespaceRangesUser: a system user with a range of its own in
// both files.
Result<void> create_default_user(const SubIdFiles& files) {
  const std::string name(kDefaultUser);
  logger("userns")->info("creating user {} for --userns-remap=default", name);
  BERTH_TRY(run_tool({"useradd", "--system", "--shell", "/bin/false", "--user-group", name}));
  BERTH_TRY(auto uids, read_subids(files.subuid));
  BERTH_TRY(auto gids, read_subids(files.subgid));
  if (id_maps_for(uids, name, std::nullopt).empty()) {
    const std::uint32_t start = free_range_start(uids);
    BERTH_TRY(run_tool({"usermod", "--add-subuids",
                        std::to_string(start) + "-" + std::to_string(start + kDefaultRangeSize - 1),
                        name}));
  }
  if (id_maps_for(gids, name, std::nullopt).empty()) {
    const std::uint32_t start = free_range_start(gids);
    BERTH_TRY(run_tool({"usermod", "--add-subgids",
                        std::to_string(start) + "-" + std::to_string(start + kDefaultRangeSize - 1),
                        name}));
  }
  return ok();
}

}  // namespace

Result<std::vector<SubIdRange>> parse_subids(std::string_view text, std::string_view file_name) {
  std::vector<SubIdRange> out;
  std::size_t line_no = 0;
  for (std::size_t from = 0; from <= text.size();) {
    std::size_t nl = text.find('\n', from);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(from, nl - from);
    from = nl + 1;
    ++line_no;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&] {
      return make_error(Errc::invalid_argument,
                        "Cannot parse subuid/gid information: Format not correct for " +
                            std::string(file_name) + " file (line " + std::to_string(line_no) + ")");
    };
    const std::size_t c1 = line.find(':');
    const std::size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos || c1 == 0) return bad();
    auto start = parse_u32(line.substr(c1 + 1, c2 - c1 - 1));
    auto count = parse_u32(line.substr(c2 + 1));
    if (!start || !count || *count == 0 || std::uint64_t{*start} + *count > (1ull << 32)) return bad();
    out.push_back(SubIdRange{std::string(line.substr(0, c1)), *start, *count});
  }
  return out;
}

Result<std::vector<SubIdRange>> read_subids(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::vector<SubIdRange>{};
    return errno_error(Errc::internal, "read " + path, errno);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_subids(text.str(), path);
}

std::vector<IdMap> id_maps_for(const std::vector<SubIdRange>& ranges, std::string_view name,
                               std::optional<std::uint32_t> id) {
  const std::string number = id ? std::to_string(*id) : std::string();
  std::vector<IdMap> out;
  std::uint64_t next = 0;
  for (const SubIdRange& r : ranges) {
    if (!(r.owner == name || (id && r.owner == number))) continue;
    if (next + r.count > (1ull << 32)) break;  // no container IDs left
    out.push_back(IdMap{static_cast<std::uint32_t>(next), r.start, r.count});
    next += r.count;
  }
  return out;
}

std::uint32_t UsernsRemap::root_uid() const { return uid_maps.empty() ? 0 : uid_maps.front().host_id; }
std::uint32_t UsernsRemap::root_gid() const { return gid_maps.empty() ? 0 : gid_maps.front().host_id; }

Result<UsernsRemap> load_userns_remap(std::string_view spec, const SubIdFiles& files) {
  UsernsRemap remap;
  if (spec.empty()) return remap;
  const std::size_t colon = spec.find(':');
  if (colon != std::string_view::npos && spec.find(':', colon + 1) != std::string_view::npos) {
    return make_error(Errc::invalid_argument,
                      "Invalid user/group specification in --userns-remap: \"" + std::string(spec) + "\"");
  }
  const std::string_view user_part = spec.substr(0, colon);
  const std::string_view group_part =
      colon == std::string_view::npos ? std::string_view() : spec.substr(colon + 1);

  Who user;
  if (user_part == kDefaultSpecifier) {
    if (!user_by_name(std::string(kDefaultUser))) {
      if (auto made = create_default_user(files); !made) {
        return make_error(made.error().code, "Error during \"" + std::string(kDefaultUser) +
                                                 "\" user creation: " + made.error().message);
      }
    }
    BERTH_TRY(user, resolve(kDefaultUser, true));
  } else {
    BERTH_TRY(user, resolve(user_part, true));
  }
  Who grp;
  if (!group_part.empty()) {
    BERTH_TRY(grp, resolve(group_part, false));
  } else if (parse_u32(user_part)) {
    // A numeric user without a group: the same number as the group.
    BERTH_TRY(grp, resolve(user_part, false));
  } else {
    BERTH_TRY(grp, resolve(user.name, false));
  }
  if (user.name == "root" || user.id == 0u) {
    logger("userns")->warn("User namespaces: root cannot be remapped with itself; user namespaces are OFF");
    return remap;
  }
  auto wrap = [](Error e) { return std::move(e).wrap("Can't create ID mappings"); };
  auto uids = read_subids(files.subuid);
  if (!uids) return wrap(std::move(uids).error());
  auto gids = read_subids(files.subgid);
  if (!gids) return wrap(std::move(gids).error());
  remap.user = user.name;
  remap.group = grp.name;
  remap.uid_maps = id_maps_for(uids.value(), user.name, user.id);
  remap.gid_maps = id_maps_for(gids.value(), grp.name, grp.id);
  if (remap.uid_maps.empty()) {
    return wrap(make_error(Errc::invalid_argument, "no subuid ranges found for user \"" + user.name + "\""));
  }
  if (remap.gid_maps.empty()) {
    return wrap(make_error(Errc::invalid_argument, "no subgid ranges found for group \"" + grp.name + "\""));
  }
  return remap;
}

Result<UniqueFd> user_namespace_fd(const UsernsRemap& remap) {
  if (!remap.enabled()) return make_error(Errc::invalid_argument, "no ID mappings for a user namespace");
  std::array<int, 2> sync{};
  if (::pipe2(sync.data(), O_CLOEXEC) != 0) return errno_error(Errc::internal, "pipe", errno);
  UniqueFd read_end(sync[0]), write_end(sync[1]);
  // A raw clone rather than fork(): the child only blocks on the pipe and
  // exits, so nothing of the (multithreaded) parent's state is touched.
  const long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) return errno_error(Errc::internal, "clone a user namespace", errno);
  if (pid == 0) {
    ::close(write_end.get());  // so the parent's close is the end of the pipe
    char byte = 0;
    while (::read(read_end.get(), &byte, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  read_end.reset();
  auto finish = [&] {
    write_end.reset();  // the child's read returns 0
    while (::waitpid(static_cast<pid_t>(pid), nullptr, 0) < 0 && errno == EINTR) {
    }
  };
  const std::string proc = "/proc/" + std::to_string(pid);
  auto write_map = [&](const char* file, const std::vector<IdMap>& maps) -> Result<void> {
    std::string text;
    for (const IdMap& m : maps) {
      text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
              std::to_string(m.size) + "\n";
    }
    UniqueFd fd(::open((proc + "/" + file).c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      return errno_error(Errc::internal, std::string("write ") + file + " of the ID-mapping namespace", errno);
    }
    return ok();
  };
  auto uid = write_map("uid_map", remap.uid_maps);
  auto gid = uid ? write_map("gid_map", remap.gid_maps) : Result<void>(ok());
  UniqueFd ns(uid && gid ? ::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC) : -1);
  const int open_errno = errno;
  finish();
  if (!uid) return std::move(uid).error();
  if (!gid) return std::move(gid).error();
  if (!ns) return errno_error(Errc::internal, "open the ID-mapping user namespace", open_errno);
  return ns;
}

Result<void> probe_idmapped_overlay(const std::string& dir, int userns_fd) {
  std::string scratch = dir + "/berth-idmap-probe-XXXXXX";
  if (::mkdtemp(scratch.data()) == nullptr) return errno_error(Errc::internal, "create " + scratch, errno);
  std::error_code ec;
  Result<void> result = ok();
  for (const char* sub : {"lower", "upper", "work", "merged", "staging"}) fs::create_directory(scratch + "/" + sub, ec);
  if (ec) {
    result = make_error(Errc::internal, "create " + scratch + ": " + ec.message());
  } else {
    MountSpec spec{"overlay", "overlay",
                   "lowerdir=" + scratch + "/lower,upperdir=" + scratch + "/upper,workdir=" + scratch + "/work"};
    result = mount_all({spec}, scratch + "/merged", IdmapOptions{userns_fd, scratch + "/staging", 0, 0});
    if (result) (void)unmount(scratch + "/merged", UnmountMode::lazy);
  }
  (void)unmount_all_under(scratch);
  fs::remove_all(scratch, ec);
  return result;
}

namespace {

// Whether the remapped root may search `dir` (Docker's canAccess).
bool root_can_search(const std::string& dir, const UsernsRemap& remap) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return false;
  if (st.st_uid == remap.root_uid()) return (st.st_mode & S_IXUSR) != 0;
  if (st.st_gid == remap.root_gid()) return (st.st_mode & S_IXGRP) != 0;
  return (st.st_mode & S_IXOTH) != 0;
}

}  // namespace

Result<UsernsSetup> setup_userns_remap(std::string_view spec, const std::vector<std::string>& roots) {
  UsernsSetup setup;
  BERTH_TRY(setup.remap, load_userns_remap(spec));
  if (!setup.remap.enabled()) return setup;
  logger("userns")->info("User namespaces: ID ranges will be mapped to subuid/subgid ranges of: {}:{}",
                         setup.remap.user, setup.remap.group);
  for (const std::string& root : roots) {
    std::error_code ec;
    fs::permissions(root, fs::perms::group_exec | fs::perms::others_exec, fs::perm_options::add, ec);
    if (ec) return make_error(Errc::failed_precondition, "chmod " + root + ": " + ec.message());
    for (fs::path dir = fs::absolute(root, ec); dir.has_relative_path(); dir = dir.parent_path()) {
      if (!root_can_search(dir.string(), setup.remap)) {
        return make_error(Errc::failed_precondition,
                          "a subdirectory in your graphroot path (" + root +
                              ") restricts access to the remapped root uid/gid; please fix by allowing "
                              "'o+x' permissions on existing directories");
      }
    }
  }
  BERTH_TRY(setup.userns_fd, user_namespace_fd(setup.remap));
  if (!roots.empty()) {
    if (auto probed = probe_idmapped_overlay(roots.front(), setup.userns_fd.get()); !probed) {
      return make_error(Errc::failed_precondition,
                        "user namespace remapping needs idmapped overlay layers (Linux 5.19 or later): " +
                            probed.error().message);
    }
  }
  return setup;
}

Result<void> check_userns_mode(const json::object& host_config, bool remapped) {
  const std::string mode = string_member(host_config, "UsernsMode");
  if (!mode.empty() && mode != "host") {
    return make_error(Errc::invalid_argument, "invalid USER mode: " + mode);
  }
  if (!remapped || mode == "host") return ok();
  const json::value* privileged = host_config.if_contains("Privileged");
  if (privileged != nullptr && privileged->is_bool() && privileged->as_bool()) {
    return make_error(Errc::invalid_argument,
                      "privileged mode is incompatible with user namespaces.  You must run the container "
                      "in the host namespace when running privileged mode");
  }
  if (string_member(host_config, "NetworkMode") == "host") {
    return make_error(Errc::invalid_argument,
                      "cannot share the host's network namespace when user namespaces are enabled");
  }
  if (string_member(host_config, "PidMode") == "host") {
    return make_error(Errc::invalid_argument,
                      "cannot share the host PID namespace when user namespaces are enabled");
  }
  return ok();
}

bool uses_remapped_userns(const UsernsRemap& remap, const json::object& host_config) {
  return remap.enabled() && string_member(host_config, "UsernsMode") != "host";
}

}  // namespace berth::core::container
