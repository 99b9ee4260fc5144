#include "berth/core/container/exec_user.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <fstream>
#include <optional>

#include "spec_json.hpp"

namespace berth::core::container {
using detail::split;

namespace {

constexpr std::int64_t kMaxId = 2147483647;  // runc's range for uids and gids

struct PasswdEntry {
  std::string name;
  std::int64_t uid = 0, gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  std::int64_t gid = 0;
  std::vector<std::string> members;
};

// Go's strconv.Atoi: optional sign, decimal digits, int64 range.
std::optional<std::int64_t> atoi(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return std::nullopt;
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// The lines of a colon-separated file, or nullopt when it cannot be read
// (runc then behaves as if the image had no such file).
std::optional<std::vector<std::vector<std::string>>> read_colon_file(const std::string& rootfs,
                                                                     std::string_view path) {
  auto host_path = resolve_in_root(rootfs, path);
  if (!host_path) return std::nullopt;
  std::ifstream in(host_path.value());
  if (!in) return std::nullopt;
  std::vector<std::vector<std::string>> lines;
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    lines.push_back(split(std::string_view(line).substr(first, last - first + 1), ':'));
  }
  return lines;
}

std::string field(const std::vector<std::string>& f, std::size_t i) {
  return i < f.size() ? f[i] : "";
}

std::optional<std::vector<PasswdEntry>> read_passwd(const std::string& rootfs) {
  auto lines = read_colon_file(rootfs, "/etc/passwd");
  if (!lines) return std::nullopt;
  std::vector<PasswdEntry> out;
  for (const auto& f : *lines) {
    out.push_back(
        {field(f, 0), atoi(field(f, 2)).value_or(0), atoi(field(f, 3)).value_or(0), field(f, 5)});
  }
  return out;
}

std::optional<std::vector<GroupEntry>> read_group(const std::string& rootfs) {
  auto lines = read_colon_file(rootfs, "/etc/group");
  if (!lines) return std::nullopt;
  std::vector<GroupEntry> out;
  for (const auto& f : *lines) {
    GroupEntry g{field(f, 0), atoi(field(f, 2)).value_or(0), {}};
    if (!field(f, 3).empty()) g.members = split(field(f, 3), ',');
    out.push_back(std::move(g));
  }
  return out;
}

Error range_error() { return detail::invalid("uids and gids must be in range 0-2147483647"); }

bool in_range(std::int64_t id) { return id >= 0 && id <= kMaxId; }

}  // namespace

Result<std::string> resolve_in_root(const std::string& root, std::string_view path) {
  std::deque<std::string> todo;
  for (auto& c : split(path, '/')) todo.push_back(std::move(c));
  std::vector<std::string> resolved;
  auto host_path = [&root](const std::vector<std::string>& parts) {
    std::string p = root;
    for (const auto& c : parts) p += "/" + c;
    return p;
  };
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    resolved.push_back(c);
    const std::string candidate = host_path(resolved);
    struct stat st {};
    if (::lstat(candidate.c_str(), &st) != 0) {
      // Missing: the rest cannot hold links; keep it as given.
      for (auto& rest : todo) {
        if (!rest.empty() && rest != ".") resolved.push_back(std::move(rest));
      }
      break;
    }
    if (!S_ISLNK(st.st_mode)) continue;
    if (++links > 255) return detail::invalid("too many symlinks resolving " + std::string(path));
    std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096), '\0');
    const auto n = ::readlink(candidate.c_str(), target.data(), target.size());
    if (n < 0) return errno_error(Errc::internal, "readlink " + candidate, errno);
    target.resize(static_cast<std::size_t>(n));
    resolved.pop_back();
    if (target.starts_with('/')) resolved.clear();
    auto parts = split(target, '/');
    todo.insert(todo.begin(), parts.begin(), parts.end());
  }
  return host_path(resolved);
}

Result<ExecUser> resolve_exec_user(const std::string& rootfs, std::string_view spec) {
  const auto parts = split(spec, ':');
  const std::string user_arg = parts[0];
  const std::string group_arg = parts.size() > 1 ? parts[1] : "";
  const auto uid_arg = atoi(user_arg);
  const auto gid_arg = atoi(group_arg);

  ExecUser user;
  const auto passwd = read_passwd(rootfs);
  std::string matched_name;
  const PasswdEntry* match = nullptr;
  if (passwd) {
    for (const auto& p : *passwd) {
      const bool hit = user_arg.empty() ? p.uid == 0
                       : uid_arg        ? p.uid == *uid_arg
                                        : p.name == user_arg;
      if (hit) {
        match = &p;
        break;
      }
    }
  }
  if (match != nullptr) {
    matched_name = match->name;
    if (!in_range(match->uid) || !in_range(match->gid)) return range_error();
    user.uid = static_cast<std::uint32_t>(match->uid);
    user.gid = static_cast<std::uint32_t>(match->gid);
    user.home = match->home;
  } else if (!user_arg.empty()) {
    if (!uid_arg) {
      return detail::invalid("unable to find user " + user_arg +
                             ": no matching entries in passwd file");
    }
    if (!in_range(*uid_arg)) return range_error();
    user.uid = static_cast<std::uint32_t>(*uid_arg);
  }

  if (group_arg.empty() && matched_name.empty()) return user;
  const auto groups = read_group(rootfs);
  if (!group_arg.empty()) {
    const GroupEntry* g = nullptr;
    if (groups) {
      for (const auto& e : *groups) {
        if (gid_arg ? e.gid == *gid_arg : e.name == group_arg) {
          g = &e;
          break;
        }
      }
    }
    std::int64_t gid = 0;
    if (g != nullptr) {
      gid = g->gid;
    } else if (gid_arg) {
      gid = *gid_arg;
    } else {
      return detail::invalid("unable to find group " + group_arg +
                             ": no matching entries in group file");
    }
    if (!in_range(gid)) return range_error();
    user.gid = static_cast<std::uint32_t>(gid);
  } else if (groups) {
    // Supplementary groups only in the implicit form, as runc.
    for (const auto& e : *groups) {
      if (std::find(e.members.begin(), e.members.end(), matched_name) == e.members.end()) continue;
      if (!in_range(e.gid)) return range_error();
      user.sgids.push_back(static_cast<std::uint32_t>(e.gid));
    }
  }
  return user;
}

Result<std::vector<std::uint32_t>> resolve_additional_groups(
    const std::string& rootfs, const std::vector<std::string>& names) {
  std::vector<std::uint32_t> out;
  if (names.empty()) return out;
  const auto groups = read_group(rootfs).value_or(std::vector<GroupEntry>{});
  for (const auto& name : names) {
    std::optional<std::int64_t> gid;
    for (const auto& g : groups) {
      if (g.name == name || std::to_string(g.gid) == name) {
        gid = g.gid;
        break;
      }
    }
    if (!gid) gid = atoi(name);
    if (!gid) {
      return detail::invalid("Unable to find group " + name +
                             ": no matching entries in group file");
    }
    if (!in_range(*gid)) return range_error();
    const auto id = static_cast<std::uint32_t>(*gid);
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

}  // namespace berth::core::container
