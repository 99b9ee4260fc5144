#include "mounts.hpp"

#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <iterator>

#include "berth/sdk/status.hpp"
#include "files.hpp"

namespace berth::plugins::volume_local {

namespace {

using sdk::Error;

struct FlagWord {
  std::string_view word;
  bool clear;
  unsigned long flag;
};

// moby/sys/mount's table (flags_linux.go), less "defaults" and "remount".
constexpr FlagWord kFlagWords[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
    {"unbindable", false, MS_UNBINDABLE},
    {"runbindable", false, MS_UNBINDABLE | MS_REC},
    {"private", false, MS_PRIVATE},
    {"rprivate", false, MS_PRIVATE | MS_REC},
    {"shared", false, MS_SHARED},
    {"rshared", false, MS_SHARED | MS_REC},
    {"slave", false, MS_SLAVE},
    {"rslave", false, MS_SLAVE | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
};

constexpr unsigned long kPropagation = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
constexpr unsigned long kBindFlags = MS_BIND | MS_REC;

std::string hex(unsigned long value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%lx", value);
  return buf;
}

std::string decode_octal_escapes(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '3' &&
        field[i + 2] >= '0' && field[i + 2] <= '7' && field[i + 3] >= '0' && field[i + 3] <= '7') {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                               (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

}  // namespace

MountOptions parse_mount_options(std::string_view options) {
  MountOptions out;
  for (std::size_t start = 0; start <= options.size();) {
    const std::size_t end = std::min(options.find(',', start), options.size());
    const std::string_view word = options.substr(start, end - start);
    start = end + 1;
    if (word.empty() || word == "defaults") continue;
    const auto* f = std::find_if(std::begin(kFlagWords), std::end(kFlagWords),
                                 [&](const FlagWord& candidate) { return candidate.word == word; });
    if (f != std::end(kFlagWords)) {
      out.flags = f->clear ? out.flags & ~f->flag : out.flags | f->flag;
      continue;
    }
    if (!out.data.empty()) out.data += ',';
    out.data += word;
  }
  return out;
}

std::string mask_password(std::string_view data) {
  std::string out;
  for (std::size_t start = 0; start <= data.size();) {
    const std::size_t end = std::min(data.find(',', start), data.size());
    const std::string_view word = data.substr(start, end - start);
    if (start != 0) out += ',';
    out += word.starts_with("password=") ? std::string_view("password=********") : word;
    start = end + 1;
  }
  return out;
}

std::vector<std::string> parse_mount_points(std::string_view mountinfo) {
  // "36 35 98:0 /root /mnt/point rw,noatime master:1 - ext3 /dev/root rw": the 5th field.
  std::vector<std::string> out;
  while (!mountinfo.empty()) {
    const std::size_t nl = mountinfo.find('\n');
    std::string_view line = mountinfo.substr(0, nl);
    mountinfo = nl == std::string_view::npos ? std::string_view() : mountinfo.substr(nl + 1);
    for (int field = 0; field < 4 && !line.empty(); ++field) {
      const std::size_t space = line.find(' ');
      line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    }
    const std::string_view point = line.substr(0, line.find(' '));
    if (!point.empty()) out.push_back(decode_octal_escapes(point));
  }
  return out;
}

std::vector<std::string> current_mount_points() {
  return parse_mount_points(read_file("/proc/self/mountinfo"));
}

bool is_mount_point(const std::vector<std::string>& mounts, std::string_view path) {
  for (const std::string& m : mounts) {
    if (m == path) return true;
  }
  return false;
}

std::string mount_at_or_below(const std::vector<std::string>& mounts, std::string_view dir) {
  for (const std::string& m : mounts) {
    if (m == dir || (m.size() > dir.size() && m.starts_with(dir) && m[dir.size()] == '/')) return m;
  }
  return {};
}

void mount_filesystem(const std::string& device, const std::string& target, const std::string& type,
                      std::string_view options) {
  const MountOptions parsed = parse_mount_options(options);
  const unsigned long flags = parsed.flags & ~kPropagation;
  const auto failure = [&](int err, unsigned long call_flags, std::string_view data) {
    return Error::from_errno(err, "failed to mount local volume: mount " + device + ":" + target +
                                      ", flags: " + hex(call_flags) +
                                      ", data: " + mask_password(data));
  };
  if (::mount(device.c_str(), target.c_str(), type.c_str(), flags,
              parsed.data.empty() ? nullptr : parsed.data.c_str()) != 0) {
    throw failure(errno, flags, parsed.data);
  }
  const auto undo_and_throw = [&](int err, unsigned long call_flags) {
    ::umount2(target.c_str(), MNT_DETACH);
    throw failure(err, call_flags, "");
  };
  if ((parsed.flags & kPropagation) != 0) {
    const unsigned long propagation = parsed.flags & (kPropagation | MS_REC);
    if (::mount("", target.c_str(), nullptr, propagation, nullptr) != 0) {
      undo_and_throw(errno, propagation);
    }
  }
  // A bind mount ignores every flag but MS_BIND|MS_REC; a remount applies them.
  if ((flags & MS_BIND) != 0 && (flags & ~kBindFlags) != 0) {
    const unsigned long remount = flags | MS_REMOUNT;
    if (::mount("", target.c_str(), nullptr, remount, nullptr) != 0) undo_and_throw(errno, remount);
  }
}

void unmount_filesystem(const std::string& target) {
  if (::umount2(target.c_str(), 0) == 0) return;
  const int err = errno;
  if (err == EINVAL && !is_mount_point(current_mount_points(), target)) return;
  throw Error::from_errno(err, "unmount " + target);
}

}  // namespace berth::plugins::volume_local
