// The container manager's side of mounts: working out a container's mount
// points at create (creating and referencing its volumes), mounting volumes
// at start with Docker's copy-up, and giving them back.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <filesystem>
#include <algorithm>
#include <map>
#include <thread>

#include "berth/core/container/exec_user.hpp"
#include "berth/core/container/manager.hpp"
#include "berth/core/fs_copy.hpp"
#include "berth/core/log.hpp"
#include "berth/core/unique_fd.hpp"
#include "spec_json.hpp"

namespace berth::core::container {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

bool empty_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_empty(path, ec) && !ec;
}

}  // namespace

Result<void> copy_up(const std::string& rootfs, const std::string& destination, const std::string& volume_path) {
  if (!empty_dir(volume_path)) return ok();
  BERTH_TRY(const std::string source, resolve_in_root(rootfs, destination));
  UniqueFd src(::open(source.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (src.get() < 0) return ok();  // nothing (or no directory) there in the image
  UniqueFd dst(::open(volume_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dst.get() < 0) return errno_error(Errc::internal, "open " + volume_path, errno);
  if (auto r = copy_dir_contents(src.get(), dst.get(), CopyOptions{}); !r) {
    return std::move(r).error().wrap("copy image content into volume");
  }
  // Docker's copyOwnership: the volume's root takes the directory's owner and mode.
  struct stat st {};
  if (::fstat(src.get(), &st) == 0) {
    if (::fchown(dst.get(), st.st_uid, st.st_gid) != 0 || ::fchmod(dst.get(), st.st_mode & 07777) != 0) {
      return errno_error(Errc::internal, "set owner of " + volume_path, errno);
    }
  }
  return ok();
}

std::vector<MountPoint> mount_points(const Container& c) {
  std::vector<MountPoint> out;
  if (const auto* a = c.config.if_contains("MountPoints"); a != nullptr && a->is_array()) {
    for (const auto& v : a->get_array()) out.push_back(MountPoint::from_json(v));
  }
  return out;
}

Result<std::vector<MountPoint>> ContainerManager::plan_mounts(const std::string& id, const json::object& host_config,
                                                              const json::object& config,
                                                              std::vector<std::string>& anonymous) {
  std::vector<MountPoint> points;
  auto put = [&points](MountPoint m) {
    std::erase_if(points, [&m](const MountPoint& p) { return p.destination == m.destination; });
    points.push_back(std::move(m));
  };
  // Docker's order: --volumes-from, then -v/--mount over them, then the
  // config's and image's VOLUMEs where nothing is mounted yet.
  BERTH_TRY(auto from, detail::get_strings(host_config, "VolumesFrom", "HostConfig"));
  for (const auto& spec : from) {
    BERTH_TRY(auto parsed, parse_volumes_from(spec));
    auto other = get(parsed.first);
    // Docker's InvalidParameter (a 404 would make clients pull the image).
    if (!other) return make_error(Errc::invalid_argument, "No such container: " + parsed.first);
    for (MountPoint m : mount_points(other.value())) {
      if (m.type == "tmpfs") continue;
      if (!parsed.second.empty()) m.rw = parsed.second == "rw";
      m.copy_data = false;
      put(std::move(m));
    }
  }
  BERTH_TRY(auto user, parse_mount_points(host_config, true));
  for (auto& m : user) put(std::move(m));
  BERTH_TRY(json::object tmpfs, detail::get_object(host_config, "Tmpfs", "HostConfig"));
  if (const auto* vols = config.if_contains("Volumes"); vols != nullptr && vols->is_object()) {
    for (const auto& [key, value] : vols->get_object()) {
      const std::string dest = detail::clean_path(std::string(key));
      if (!dest.starts_with('/')) {
        return make_error(Errc::invalid_argument, "invalid mount path: '" + std::string(key) +
                                                      "' mount path must be absolute");
      }
      if (dest == "/") return make_error(Errc::invalid_argument, "invalid specification: destination can't be '/'");
      bool taken = tmpfs.contains(dest);
      for (const auto& p : points) taken = taken || p.destination == dest;
      if (taken) continue;
      MountPoint m;
      m.type = "volume";
      m.destination = dest;
      m.copy_data = true;
      points.push_back(std::move(m));
    }
  }

  BERTH_TRY(std::string default_driver, detail::get_string(host_config, "VolumeDriver", "HostConfig"));
  if (default_driver.empty()) default_driver = "local";
  for (auto& m : points) {
    if (m.type != "volume") continue;
    if (volumes_ == nullptr) return make_error(Errc::unsupported, "no volume service in this daemon");
    volume::VolumeRequest request;
    request.name = m.name;
    request.driver = m.driver.empty() ? default_driver : m.driver;
    request.options = m.driver_opts;
    request.labels = m.labels;
    if (m.name.empty()) request.labels[volume::kAnonymousLabel] = "";
    BERTH_TRY(auto v, volumes_->create(request));
    if (m.name.empty()) anonymous.push_back(v.name);
    m.name = v.name;
    m.driver = v.driver;
    m.source = v.mountpoint;
    BERTH_TRY(volumes_->add_reference(v.name, id));
  }
  return points;
}

void ContainerManager::drop_volumes(const std::string& id, const std::vector<std::string>& anonymous) {
  if (volumes_ == nullptr) return;
  for (const auto& name : volumes_->release_references(id)) volumes_->unmount(name, id);
  for (const auto& name : anonymous) {
    if (auto r = volumes_->remove(name, true); !r) logger("container")->warn("remove volume {}: {}", name, r.error().message);
  }
}

Result<std::vector<MountPoint>> ContainerManager::mount_volumes(const Container& c, const std::string& rootfs,
                                                                bool& copied) {
  auto points = mount_points(c);
  copied = false;
  for (auto& m : points) {
    if (m.type == "bind" && m.create_source) {
      // Docker makes a missing -v host directory (not for --mount).
      std::error_code ec;
      if (!fs::exists(m.source, ec)) {
        fs::create_directories(m.source, ec);
        if (ec) {
          unmount_volumes(c);
          return make_error(Errc::internal, "error while creating mount source path '" + m.source + "': " + ec.message());
        }
      }
      continue;
    }
    if (m.type != "volume") continue;
    if (volumes_ == nullptr) return make_error(Errc::unsupported, "no volume service in this daemon");
    auto path = volumes_->mount(m.name, c.id);
    if (!path) {
      unmount_volumes(c);
      return std::move(path).error().wrap("error while mounting volume '" + m.source + "'");
    }
    m.source = path.value();
    if (m.copy_data) {
      if (auto r = copy_up(rootfs, m.destination, m.source); !r) {
        unmount_volumes(c);
        return std::move(r).error();
      }
      m.copy_data = false;
      copied = true;
    }
  }
  return points;
}

void ContainerManager::unmount_volumes(const Container& c) {
  if (volumes_ == nullptr) return;
  for (const auto& m : mount_points(c)) {
    if (m.type == "volume") volumes_->unmount(m.name, c.id);
  }
}

void ContainerManager::restore_volumes() {
  if (volumes_ == nullptr) return;
  std::set<std::string> existing;
  const std::vector<Container> all = list();
  for (const auto& c : all) existing.insert(c.id);
  volumes_->restore(existing);
  for (const auto& c : all) {
    for (const auto& m : mount_points(c)) {
      if (m.type != "volume") continue;
      if (!c.state.running()) {
        volumes_->unmount(m.name, c.id);
      } else if (auto r = volumes_->mount(m.name, c.id); !r) {
        logger("container")->warn("volume {} of running container {}: {}", m.name, c.id, r.error().message);
      }
    }
  }
}

namespace {

// In the calling thread's own mount namespace: each point's source bound at
// its destination under `rootfs`, parents first.
Result<void> bind_points(const std::string& rootfs, std::vector<MountPoint> points) {
  if (::unshare(CLONE_NEWNS) != 0) return errno_error(Errc::internal, "unshare mount namespace", errno);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
    return errno_error(Errc::internal, "make mounts private", errno);
  }
  std::stable_sort(points.begin(), points.end(), [](const MountPoint& a, const MountPoint& b) {
    return std::count(a.destination.begin(), a.destination.end(), '/') <
           std::count(b.destination.begin(), b.destination.end(), '/');
  });
  for (const auto& m : points) {
    // Resolved now, with the mounts above it in place: a symlink inside the
    // rootfs or a volume stays inside the rootfs.
    BERTH_TRY(const std::string target, resolve_in_root(rootfs, m.destination));
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(target, ec))) {
      if (fs::is_directory(m.source, ec)) {
        fs::create_directories(target, ec);
      } else {
        fs::create_directories(fs::path(target).parent_path(), ec);
        UniqueFd f(::open(target.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
      }
    }
    if (::mount(m.source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      return errno_error(Errc::internal, "mount " + m.destination + " for copying", errno);
    }
    if (!m.rw && ::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
      return errno_error(Errc::internal, "make " + m.destination + " read-only for copying", errno);
    }
  }
  return ok();
}

}  // namespace

Result<void> ContainerManager::with_volumes(const MountedRootfs& rootfs, const std::function<void()>& fn) {
  const Container& c = rootfs.container();
  std::vector<MountPoint> binds;
  std::vector<std::string> taken;
  auto give_back = [&] {
    if (!c.state.running()) {
      for (const auto& name : taken) volumes_->unmount(name, c.id);
    }
  };
  for (MountPoint m : mount_points(c)) {
    if (m.type == "tmpfs") continue;
    if (m.type == "volume") {
      if (volumes_ == nullptr) continue;
      auto path = volumes_->mount(m.name, c.id);
      if (!path) {
        give_back();
        return std::move(path).error();
      }
      taken.push_back(m.name);
      m.source = path.value();
    }
    binds.push_back(std::move(m));
  }
  if (binds.empty()) {
    fn();
    return ok();
  }
  Result<void> result = ok();
  std::thread worker([&] {
    result = bind_points(rootfs.path(), binds);
    if (result) fn();
  });
  worker.join();
  give_back();
  return result;
}

}  // namespace berth::core::container
