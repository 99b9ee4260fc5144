#include "berth/core/api/container_fs_routes.hpp"

#include <boost/json.hpp>
#include <functional>
#include <memory>
#include <optional>

#include "berth/core/container/archive.hpp"
#include "berth/core/container/exec_user.hpp"
#include "berth/core/image/commit.hpp"
#include "berth/core/log.hpp"

namespace berth::core::api {
namespace json = boost::json;
using container::ContainerManager;

namespace {

constexpr const char* kPathStatHeader = "X-Docker-Container-Path-Stat";

// A WriteFn onto a streamed answer; false once the client went away.
image::WriteFn stream_writer(std::ostream& out, ResponseWriter& w) {
  return [&out, &w](const void* buf, std::size_t len) {
    out.write(static_cast<const char*>(buf), static_cast<std::streamsize>(len));
    return static_cast<bool>(out) && !w.client_gone();
  };
}

// What the archive endpoints work on: Docker's ArchiveFormValues (`path`)
// and the container's root filesystem, mounted while this lives.
struct ArchiveTarget {
  std::string path, container;
  std::unique_ptr<ContainerManager::MountedRootfs> rootfs;
  const std::string& root() const { return rootfs->path(); }
};

// The target of an archive request, or nullopt after answering the error.
std::optional<ArchiveTarget> archive_target(ContainerManager& containers, const Request& req,
                                            ResponseWriter& w) {
  const std::string* path = req.query_value("path");
  if (path == nullptr || path->empty()) {
    w.send_error(400, "bad parameter: path cannot be empty");
    return std::nullopt;
  }
  const std::string& name = req.params.at("name");
  auto rootfs = containers.mount_rootfs(name);
  if (!rootfs) {
    w.send_error(rootfs.error());
    return std::nullopt;
  }
  return ArchiveTarget{*path, name, std::move(rootfs).value()};
}

Error file_not_found(const std::string& path, const std::string& container) {
  return make_error(Errc::not_found,
                    "Could not find the file " + path + " in container " + container);
}

// Runs `fn` where the target's volumes and binds are mounted (cp sees them
// as the container does), answering the error when that cannot be arranged.
void with_volumes(ContainerManager& containers, const ArchiveTarget& target, ResponseWriter& w,
                  const std::function<void()>& fn) {
  if (auto r = containers.with_volumes(*target.rootfs, fn); !r) w.send_error(r.error());
}

// HEAD and GET /containers/{name}/archive: the stat header, and for GET the
// tar of the path named after its base name.
void get_archive(ContainerManager& containers, const Request& req, ResponseWriter& w) {
  auto target = archive_target(containers, req, w);
  if (!target) return;
  with_volumes(containers, *target, w, [&] {
    const std::string &root = target->root(), &path = target->path, &name = target->container;
    auto resolved = container::resolve_container_path(root, path);
    if (!resolved) return w.send_error(resolved.error());
    auto stat = container::stat_container_path(root, resolved.value());
    if (!stat) {
      if (stat.error().code == Errc::not_found) return w.send_error(file_not_found(path, name));
      return w.send_error(stat.error());
    }
    w.set_header(kPathStatHeader, container::path_stat_header(stat.value()));
    if (req.method == "HEAD") return w.send(200, "text/plain; charset=utf-8", "");
    containers.log_event("archive-path", target->rootfs->container().id);
    std::ostream& out = w.stream(200, "application/x-tar");
    if (auto r = container::write_tree_tar(resolved.value().host, resolved.value().name, stream_writer(out, w));
        !r) {
      logger("api")->warn("archive {}:{}: {}", name, path, r.error().message);
    }
  });
}

// Whether the container path `dest` lies in a read-only bind or volume.
bool in_read_only_mount(const container::Container& c, const std::string& dest) {
  const container::MountPoint* best = nullptr;
  for (const auto& m : container::mount_points(c)) {
    if (m.type == "tmpfs") continue;
    const bool inside = dest == m.destination || m.destination == "/" ||
                        dest.starts_with(m.destination + "/");
    if (inside && (best == nullptr || m.destination.size() > best->destination.size())) best = &m;
  }
  return best != nullptr && !best->rw;
}

// PUT /containers/{name}/archive: extracts the body into the directory `path`.
void put_archive(ContainerManager& containers, Request& req, ResponseWriter& w) {
  auto target = archive_target(containers, req, w);
  if (!target) return;
  with_volumes(containers, *target, w, [&] {
    const std::string &root = target->root(), &path = target->path, &name = target->container;
    const container::Container& c = target->rootfs->container();
    // Unlike GET, a symlink as the last component is followed: one can
    // extract into a link to a directory.
    auto host = container::resolve_in_root(root, path);
    if (!host) return w.send_error(host.error());
    std::error_code ec;
    auto status = std::filesystem::symlink_status(host.value(), ec);
    if (ec || !std::filesystem::exists(status)) return w.send_error(file_not_found(path, name));
    if (!std::filesystem::is_directory(status)) return w.send_error(400, "extraction point is not a directory");
    std::string dest = host.value().substr(root.size());
    if (dest.empty()) dest = "/";
    if (in_read_only_mount(c, dest)) return w.send_error(403, "mounted volume is marked read-only");
    if (const auto* ro = c.host_config().if_contains("ReadonlyRootfs");
        ro != nullptr && ro->is_bool() && ro->get_bool()) {
      return w.send_error(403, "container rootfs is marked read-only");
    }
    container::ExtractOptions options;
    options.no_overwrite_dir_non_dir = req.query_bool("noOverwriteDirNonDir");
    if (req.query_bool("copyUIDGID")) {
      std::string user;
      if (const auto* u = c.container_config().if_contains("User"); u != nullptr && u->is_string())
        user = u->get_string();
      auto who = container::resolve_exec_user(root, user);
      if (!who) return w.send_error(who.error());
      options.owner = std::make_pair(who.value().uid, who.value().gid);
    }
    std::istream* body = req.body_stream;
    auto read = [body](void* buf, std::size_t cap) -> std::int64_t {
      if (body == nullptr) return 0;
      body->read(static_cast<char*>(buf), static_cast<std::streamsize>(cap));
      return body->bad() ? -1 : body->gcount();
    };
    if (auto r = container::extract_into(root, dest, read, options); !r) return w.send_error(r.error());
    containers.log_event("extract-to-dir", c.id);
    w.send(200, "text/plain; charset=utf-8", "");
  });
}

// POST /commit.
Result<std::string> commit(ContainerManager& containers, image::ImageStore& images,
                           const Request& req) {
  auto query = [&req](const char* key) {
    const std::string* v = req.query_value(key);
    return v != nullptr ? *v : std::string();
  };
  image::CommitRequest cr;
  BERTH_TRY(cr.config, req.read_json());
  BERTH_TRY(auto c, containers.get(query("container")));
  cr.container_id = c.id;
  cr.image_id = c.image_id;
  cr.container_config = c.container_config();
  auto [first, last] = req.query.equal_range("changes");
  for (auto it = first; it != last; ++it) {
    if (!it->second.empty()) cr.changes.push_back(it->second);
  }
  cr.author = query("author");
  cr.comment = query("comment");
  cr.repo = query("repo");
  cr.tag = query("tag");
  // Paused for a consistent layer, as Docker does unless pause=0.
  bool paused = false;
  if (req.query_bool("pause", true) && c.state.status == "running") {
    BERTH_TRY(containers.pause(c.id));
    paused = true;
  }
  auto id = image::commit_container(
      images, cr, [&](const image::WriteFn& write) { return containers.layer_diff(c.id, write); });
  // As Docker: "commit" while still paused, then "unpause".
  if (id) containers.log_event("commit", c.id, {{"comment", cr.comment}, {"imageID", id.value()}});
  if (paused) {
    if (auto r = containers.unpause(c.id); !r)
      logger("api")->warn("unpause {} after commit: {}", c.id, r.error().message);
  }
  return id;
}

}  // namespace

void add_container_fs_routes(Router& router, ContainerManager& containers,
                             image::ImageStore& images) {
  router.add("GET", "/containers/{name}/changes", [&containers](Request& req, ResponseWriter& w) {
    auto text = containers.layer_changes(req.params.at("name"));
    if (!text) return w.send_error(text.error());
    json::error_code ec;
    json::value changes = json::parse(text.value(), ec);
    if (ec) return w.send_error(500, "invalid changes from the storage driver: " + ec.message());
    w.send_json(200, changes);
  });

  router.add("GET", "/containers/{name}/export", [&containers](Request& req, ResponseWriter& w) {
    auto rootfs = containers.mount_rootfs(req.params.at("name"));
    if (!rootfs) return w.send_error(rootfs.error());
    containers.log_event("export", req.params.at("name"));
    std::ostream& out = w.stream(200, "application/x-tar");
    if (auto r = container::write_tree_tar(rootfs.value()->path(), "", stream_writer(out, w)); !r) {
      logger("api")->warn("export {}: {}", req.params.at("name"), r.error().message);
    }
  });

  auto get = [&containers](Request& req, ResponseWriter& w) { get_archive(containers, req, w); };
  router.add("HEAD", "/containers/{name}/archive", get);
  router.add("GET", "/containers/{name}/archive", get);
  router.add("PUT", "/containers/{name}/archive",
             [&containers](Request& req, ResponseWriter& w) { put_archive(containers, req, w); });

  router.add("POST", "/commit", [&containers, &images](Request& req, ResponseWriter& w) {
    auto id = commit(containers, images, req);
    if (!id) return w.send_error(id.error());
    w.send_json(201, json::object{{"Id", id.value()}});
  });
}

}  // namespace berth::core::api
