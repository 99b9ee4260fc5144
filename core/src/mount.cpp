#include "berth/core/mount.hpp"

#include "berth/core/log.hpp"
#include "berth/core/unique_fd.hpp"

#include <libmount.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

namespace berth::core {
namespace {

namespace fs = std::filesystem;

using berth::sdk::errc_from_errno;

// mount(2) copies at most one page of data and cuts it at the page's last
// byte, so an option string must stay shorter than that.
std::size_t mount_data_limit() {
  const long page = ::sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<std::size_t>(page) : 4096;
}

// Options in messages: a 125-layer lowerdir list would drown the error.
std::string abbreviated(const std::string& options) {
  constexpr std::size_t shown = 200;
  if (options.size() <= shown) return options;
  return options.substr(0, shown) + "... (" + std::to_string(options.size()) + " bytes)";
}

std::string describe(const MountSpec& spec, const std::string& target) {
  return "mount " + spec.type + " " + spec.source + " at " + target +
         (spec.options.empty() ? "" : " (" + abbreviated(spec.options) + ")");
}

// --- option strings, through libmount's parser (it knows quoting) ----------

std::optional<std::string> option_value(const std::string& options, const char* name) {
  char* value = nullptr;
  std::size_t size = 0;
  if (mnt_optstr_get_option(options.c_str(), name, &value, &size) != 0) return std::nullopt;
  return value == nullptr ? std::string() : std::string(value, size);
}

Result<void> set_option(std::string& options, const char* name, const std::string& value) {
  std::unique_ptr<char, decltype(&std::free)> edited(::strdup(options.c_str()), &std::free);
  if (!edited) return make_error(Errc::internal, "edit mount options: out of memory");
  char* raw = edited.release();
  const int rc = mnt_optstr_set_option(&raw, name, value.c_str());
  edited.reset(raw);
  if (rc != 0) return errno_error(Errc::internal, std::string("set mount option ") + name, -rc);
  options = edited.get();
  return ok();
}

bool has_flag_option(const std::string& options, const char* name) {
  return option_value(options, name).has_value();
}

// --- overlay options longer than a page -------------------------------------

std::vector<std::string> split_lowers(const std::string& list) {
  std::vector<std::string> parts;
  std::size_t from = 0;
  for (;;) {
    const std::size_t colon = list.find(':', from);
    parts.push_back(list.substr(from, colon - from));
    if (colon == std::string::npos) return parts;
    from = colon + 1;
  }
}

// The longest directory that has every one of `paths` (absolute) strictly
// below it; empty when that is only "/".
std::string common_dir(const std::vector<std::string>& paths) {
  if (paths.empty()) return {};
  std::string dir = paths.front();
  for (const std::string& path : paths) {
    while (!dir.empty() &&
           !(path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/')) {
      dir.resize(dir.rfind('/'));
    }
  }
  return dir;
}

std::string relative_to(const std::string& dir, const std::string& path) {
  if (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/') {
    return path.substr(dir.size() + 1);
  }
  return path;
}

// Overlay options rewritten with their paths relative to `dir`, which the
// mount must then be done from.
struct Relocated {
  std::string dir, options;
};

Result<Relocated> relocate(const std::string& options, const std::vector<std::string>& lowers,
                           const std::string& dir) {
  Relocated out{dir, options};
  std::string list;
  for (std::size_t i = 0; i < lowers.size(); ++i) {
    if (i > 0) list += ':';
    list += relative_to(dir, lowers[i]);  // empty parts ("::" before data-only lowers) stay
  }
  BERTH_TRY(set_option(out.options, "lowerdir", list));
  for (const char* key : {"upperdir", "workdir"}) {
    if (auto path = option_value(options, key)) {
      BERTH_TRY(set_option(out.options, key, relative_to(dir, *path)));
    }
  }
  return out;
}

// Picks the directory to mount from: the common directory of all the paths
// (overlay2's layout: lowers and upper below one root), or of the lower
// directories alone (when the upper lives elsewhere), whichever gives the
// shorter options.
Result<Relocated> shorten_overlay_options(const std::string& options, std::size_t limit) {
  const auto lowerdir = option_value(options, "lowerdir");
  if (!lowerdir) return make_error(Errc::invalid_argument, "no lowerdir to shorten");
  // Escaped colons would need overlay's unescaping rules: no driver uses them.
  if (lowerdir->find('\\') != std::string::npos) {
    return make_error(Errc::invalid_argument, "cannot shorten a lowerdir list with escapes");
  }
  const std::vector<std::string> lowers = split_lowers(*lowerdir);
  std::vector<std::string> lower_paths, all_paths;
  for (const std::string& lower : lowers) {
    if (!lower.empty()) lower_paths.push_back(lower);
  }
  all_paths = lower_paths;
  for (const char* key : {"upperdir", "workdir"}) {
    if (auto path = option_value(options, key)) all_paths.push_back(*path);
  }
  for (const std::string& path : all_paths) {
    // A relative path would be resolved against the directory we move to.
    if (!path.starts_with('/')) {
      return make_error(Errc::invalid_argument,
                        "cannot shorten options with relative path " + path);
    }
  }
  std::optional<Relocated> best;
  for (const std::string& dir : {common_dir(all_paths), common_dir(lower_paths)}) {
    if (dir.empty()) continue;
    BERTH_TRY(auto candidate, relocate(options, lowers, dir));
    if (!best || candidate.options.size() < best->options.size()) best = std::move(candidate);
  }
  if (!best) return make_error(Errc::invalid_argument, "the lower directories share no directory");
  if (best->options.size() >= limit) {
    return make_error(Errc::invalid_argument, "still " + std::to_string(best->options.size()) +
                                                  " bytes relative to " + best->dir +
                                                  ", the limit is " + std::to_string(limit - 1));
  }
  return *std::move(best);
}

// Runs `work` with `dir` as the working directory, on a thread that has its
// own filesystem context (unshare(CLONE_FS)), so no other thread sees it.
Result<void> in_directory(const std::string& dir, const std::function<Result<void>()>& work) {
  std::optional<Result<void>> result;
  try {
    std::thread([&] {
      if (::unshare(CLONE_FS) != 0) {
        result = errno_error(Errc::internal, "unshare the filesystem context", errno);
      } else if (::chdir(dir.c_str()) != 0) {
        result = errno_error(errc_from_errno(errno), "chdir " + dir, errno);
      } else {
        result = work();
      }
    }).join();
  } catch (const std::system_error& e) {
    return make_error(Errc::unavailable, std::string("start a mount thread: ") + e.what());
  }
  return std::move(*result);
}

// --- libmount ----------------------------------------------------------------

using Context = std::unique_ptr<libmnt_context, decltype(&mnt_free_context)>;

// libmount's explanation ("mount point does not exist") with errno's text.
Error mount_failure(libmnt_context* cxt, int rc, const std::string& source,
                    const std::string& what) {
  char buf[1024] = "";
  mnt_context_get_excode(cxt, rc, buf, sizeof buf);
  std::string explanation = buf;
  while (!explanation.empty() && (explanation.back() == '.' || explanation.back() == '\n')) {
    explanation.pop_back();
  }
  int err = 0;
  if (mnt_context_syscall_called(cxt) != 0) {
    err = mnt_context_get_syscall_errno(cxt);
  } else if (rc < 0) {
    err = -rc;
  }
  if (err == 0) {
    return make_error(Errc::internal,
                      what + ": " + (explanation.empty() ? "libmount failed" : explanation));
  }
  // libmount blames a missing "special device" for every ENOENT with an
  // existing target; with a pseudo source ("overlay", "tmpfs") the missing
  // path is one of the options (a lower, upper or work directory).
  if (err == ENOENT && !source.starts_with('/') && explanation.starts_with("special device")) {
    explanation = "a path in the options does not exist";
  }
  if (explanation.empty()) return errno_error(errc_from_errno(err), what, err);
  return errno_error(errc_from_errno(err), what + ": " + explanation, err);
}

Result<void> libmount_mount(const std::string& type, const std::string& source,
                            const std::string& target, const std::string& options,
                            const std::string& what) {
  Context cxt(mnt_new_context(), &mnt_free_context);
  if (!cxt) return make_error(Errc::internal, what + ": libmount: out of memory");
  // Exactly what the driver described: no /sbin/mount.<type> helpers, no
  // fstab lookups, no utab bookkeeping, and no path canonicalisation (an
  // overlay's source is not a path; relative lowerdirs are resolved by the
  // kernel from this thread's directory).
  int rc = mnt_context_disable_helpers(cxt.get(), 1);
  if (rc == 0) rc = mnt_context_disable_mtab(cxt.get(), 1);
  if (rc == 0) rc = mnt_context_disable_canonicalize(cxt.get(), 1);
  if (rc == 0) rc = mnt_context_set_optsmode(cxt.get(), MNT_OMODE_IGNORE | MNT_OMODE_NOTAB);
  if (rc == 0) rc = mnt_context_set_fstype(cxt.get(), type.c_str());
  if (rc == 0) rc = mnt_context_set_source(cxt.get(), source.c_str());
  if (rc == 0) rc = mnt_context_set_target(cxt.get(), target.c_str());
  if (rc == 0 && !options.empty()) rc = mnt_context_set_options(cxt.get(), options.c_str());
  if (rc != 0) return errno_error(Errc::internal, what + ": set up libmount", -rc);
  rc = mnt_context_mount(cxt.get());
  if (rc == 0) return ok();
  return mount_failure(cxt.get(), rc, source, what);
}

Result<void> unmount_or_detach(const std::string& target) {
  auto unmounted = unmount(target);
  if (!unmounted && unmounted.error().code == Errc::conflict) {
    return unmount(target, UnmountMode::lazy);
  }
  return unmounted;
}

// --- idmapped layers (user namespace remapping) -------------------------------

// A detached clone of the mount at `source`, idmapped with `userns_fd`
// (only a mount no mount namespace has attached yet takes an idmapping).
Result<UniqueFd> idmapped_clone(const std::string& source, int userns_fd, bool recursive) {
  const unsigned rec = recursive ? AT_RECURSIVE : 0;
  UniqueFd tree(::open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec));
  if (!tree) {
    const int err = errno;
    return errno_error(errc_from_errno(err), "clone the mount at " + source, err);
  }
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<decltype(attr.userns_fd)>(userns_fd);
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | rec, &attr, sizeof attr) != 0) {
    const int err = errno;
    return errno_error(errc_from_errno(err), "idmap the mount of " + source, err);
  }
  return tree;
}

Result<void> attach(const UniqueFd& tree, const std::string& target) {
  if (::move_mount(tree.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    const int err = errno;
    return errno_error(errc_from_errno(err), "attach an idmapped mount at " + target, err);
  }
  return ok();
}

// Idmapped clones of lower directories attached below a staging directory
// for one overlay mount(2); detached and removed again when destroyed.
class StagedLowers {
 public:
  explicit StagedLowers(std::string dir) : dir_(std::move(dir)) {}
  StagedLowers(const StagedLowers&) = delete;
  StagedLowers& operator=(const StagedLowers&) = delete;
  ~StagedLowers() {
    for (auto it = paths_.rbegin(); it != paths_.rend(); ++it) {
      ::umount2(it->c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
      ::rmdir(it->c_str());
    }
    ::rmdir(dir_.c_str());
  }

  Result<std::string> add(const std::string& source, int userns_fd) {
    if (paths_.empty() && ::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
      return errno_error(errc_from_errno(errno), "create " + dir_, errno);
    }
    std::string path = dir_ + "/" + std::to_string(paths_.size());
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      return errno_error(errc_from_errno(errno), "create " + path, errno);
    }
    paths_.push_back(path);
    BERTH_TRY(auto tree, idmapped_clone(source, userns_fd, false));
    BERTH_TRY(attach(tree, path));
    return path;
  }

 private:
  std::string dir_;
  std::vector<std::string> paths_;
};

Result<void> mount_idmapped(const MountSpec& spec, const std::string& target,
                            const IdmapOptions& idmap) {
  const std::string what = describe(spec, target);
  auto failed = [&](Error e) { return std::move(e).wrap(what + " idmapped"); };
  if (spec.type == "bind") {
    for (const char* flag : {"ro", "rw", "nosuid", "nodev", "noexec"}) {
      if (has_flag_option(spec.options, flag)) {
        return make_error(Errc::unsupported, what + ": option " + flag + " with an idmapping");
      }
    }
    auto tree = idmapped_clone(spec.source, idmap.userns_fd, has_flag_option(spec.options, "rbind"));
    if (!tree) return failed(std::move(tree).error());
    if (auto attached = attach(tree.value(), target); !attached) return failed(std::move(attached).error());
    return ok();
  }
  if (spec.type != "overlay") {
    return make_error(Errc::unsupported, what + ": not supported with user namespace remapping");
  }
  const auto lowerdir = option_value(spec.options, "lowerdir");
  if (!lowerdir || lowerdir->find('\\') != std::string::npos) {
    return make_error(Errc::invalid_argument, what + ": no plain lowerdir list to idmap");
  }
  StagedLowers staged(idmap.staging_dir);
  std::string list;
  bool first = true;
  for (const std::string& lower : split_lowers(*lowerdir)) {
    if (!first) list += ':';
    first = false;
    if (lower.empty()) continue;  // the "::" before data-only lowers
    auto path = staged.add(lower, idmap.userns_fd);
    if (!path) return failed(std::move(path).error());
    list += path.value();
  }
  MountSpec mapped = spec;
  BERTH_TRY(set_option(mapped.options, "lowerdir", list));
  if (auto upper = option_value(spec.options, "upperdir")) {
    if (::chown(upper->c_str(), idmap.upper_uid, idmap.upper_gid) != 0) {
      return failed(errno_error(errc_from_errno(errno), "chown " + *upper, errno));
    }
  }
  return mount(mapped, target);
}

}  // namespace

Result<void> mount(const MountSpec& spec, const std::string& target) {
  const std::string what = describe(spec, target);
  if (spec.type.empty()) return make_error(Errc::invalid_argument, what + ": no filesystem type");
  std::error_code ec;
  // Absolute, because a long overlay is mounted from another directory.
  const std::string where = fs::absolute(target, ec).string();
  if (ec) return make_error(Errc::invalid_argument, what + ": " + ec.message());

  // "bind" is the OCI runtime spec's type for a bind mount; to mount(2) it is
  // a flag, with or without "bind" among the options.
  if (spec.type == "bind") {
    std::string options = spec.options;
    if (!has_flag_option(options, "bind") && !has_flag_option(options, "rbind")) {
      options = options.empty() ? "bind" : "bind," + options;
    }
    return libmount_mount("none", spec.source, where, options, what);
  }
  const std::size_t limit = mount_data_limit();
  if (spec.type != "overlay" || spec.options.size() < limit) {
    return libmount_mount(spec.type, spec.source, where, spec.options, what);
  }
  auto shortened = shorten_overlay_options(spec.options, limit);
  if (!shortened) {
    return make_error(Errc::invalid_argument,
                      what + ": options are " + std::to_string(spec.options.size()) +
                          " bytes, more than a page: " + shortened.error().message);
  }
  return in_directory(shortened.value().dir, [&]() -> Result<void> {
    return libmount_mount(spec.type, spec.source, where, shortened.value().options,
                          what + " from " + shortened.value().dir);
  });
}

Result<void> mount_all(const std::vector<MountSpec>& specs, const std::string& target,
                       const IdmapOptions& idmap) {
  if (specs.empty()) {
    return make_error(Errc::invalid_argument, "mount at " + target + ": the description is empty");
  }
  for (std::size_t done = 0; done < specs.size(); ++done) {
    auto mounted = idmap.userns_fd >= 0 ? mount_idmapped(specs[done], target, idmap)
                                        : mount(specs[done], target);
    if (mounted) continue;
    for (; done > 0; --done) {
      if (auto undone = unmount_or_detach(target); !undone) {
        logger("mount")->warn("undo a partial mount: {}", undone.error().message);
      }
    }
    return mounted;
  }
  return ok();
}

Result<void> unmount(const std::string& target, UnmountMode mode) {
  const bool lazy = mode == UnmountMode::lazy;
  if (::umount2(target.c_str(), UMOUNT_NOFOLLOW | (lazy ? MNT_DETACH : 0)) == 0) return ok();
  const int err = errno;
  const std::string what = std::string(lazy ? "detach " : "unmount ") + target;
  if (err == EINVAL) return errno_error(Errc::invalid_argument, what + ": not mounted", err);
  return errno_error(errc_from_errno(err), what, err);
}

Result<std::vector<std::string>> mounts_under(const std::string& dir) {
  std::error_code ec;
  std::string base = fs::weakly_canonical(fs::absolute(dir, ec), ec).string();
  if (ec) {
    return make_error(Errc::invalid_argument, "list mounts under " + dir + ": " + ec.message());
  }
  if (base.size() > 1 && base.back() == '/') base.pop_back();
  const std::string prefix = base == "/" ? base : base + "/";

  std::unique_ptr<libmnt_table, decltype(&mnt_unref_table)> table(
      mnt_new_table_from_file("/proc/self/mountinfo"), &mnt_unref_table);
  if (!table) {
    return make_error(Errc::internal,
                      "list mounts under " + dir + ": cannot read /proc/self/mountinfo");
  }
  std::unique_ptr<libmnt_iter, decltype(&mnt_free_iter)> iter(mnt_new_iter(MNT_ITER_BACKWARD),
                                                              &mnt_free_iter);
  if (!iter) return make_error(Errc::internal, "list mounts under " + dir + ": out of memory");
  std::vector<std::string> targets;
  libmnt_fs* entry = nullptr;
  while (mnt_table_next_fs(table.get(), iter.get(), &entry) == 0) {
    const char* target = mnt_fs_get_target(entry);
    if (target == nullptr) continue;
    const std::string_view t(target);
    if (t == base || t.starts_with(prefix)) targets.emplace_back(t);
  }
  return targets;
}

Result<std::size_t> unmount_all_under(const std::string& dir) {
  BERTH_TRY(auto targets, mounts_under(dir));
  std::size_t detached = 0;
  for (const std::string& target : targets) {
    auto result = unmount(target, UnmountMode::lazy);
    // Gone already: detaching a parent takes its children along.
    if (!result &&
        (result.error().code == Errc::invalid_argument || result.error().code == Errc::not_found)) {
      continue;
    }
    if (!result) return std::move(result).error().wrap("unmount everything under " + dir);
    ++detached;
  }
  return detached;
}

// --- MountedLayer ------------------------------------------------------------

MountedLayer::MountedLayer(const StorageDriver& driver, std::string id, std::string target,
                           std::vector<MountSpec> specs)
    : driver_(&driver),
      id_(std::move(id)),
      target_(std::move(target)),
      specs_(std::move(specs)),
      mounted_(specs_.size()) {}

Result<MountedLayer> MountedLayer::mount(const StorageDriver& driver, const std::string& id,
                                         const std::string& target,
                                         const std::string& mount_label) {
  BERTH_TRY(auto specs, driver.get(id, mount_label));
  if (auto mounted = mount_all(specs, target); !mounted) {
    if (auto put = driver.put(id); !put) {
      logger("mount")->warn("after a failed mount: {}", put.error().message);
    }
    return std::move(mounted).error().wrap("mount layer " + id);
  }
  return MountedLayer(driver, id, target, std::move(specs));
}

MountedLayer::MountedLayer(MountedLayer&& other) noexcept
    : driver_(std::exchange(other.driver_, nullptr)),
      id_(std::move(other.id_)),
      target_(std::move(other.target_)),
      specs_(std::move(other.specs_)),
      mounted_(std::exchange(other.mounted_, 0)) {}

MountedLayer& MountedLayer::operator=(MountedLayer&& other) noexcept {
  if (this != &other) {
    if (auto released = release(); !released) {
      logger("mount")->error("{}", released.error().message);
    }
    driver_ = std::exchange(other.driver_, nullptr);
    id_ = std::move(other.id_);
    target_ = std::move(other.target_);
    specs_ = std::move(other.specs_);
    mounted_ = std::exchange(other.mounted_, 0);
  }
  return *this;
}

MountedLayer::~MountedLayer() {
  if (auto released = release(); !released) {
    logger("mount")->error("{}", released.error().message);
  }
}

Result<void> MountedLayer::release() {
  if (driver_ == nullptr) return ok();
  const std::string context = "release layer " + id_ + " at " + target_;
  while (mounted_ > 0) {
    auto unmounted = unmount_or_detach(target_);
    if (!unmounted && unmounted.error().code == Errc::invalid_argument) {
      // Someone else unmounted it: nothing of ours is left there.
      logger("mount")->warn("{}: {}", context, unmounted.error().message);
      mounted_ = 0;
      break;
    }
    if (!unmounted) return std::move(unmounted).error().wrap(context);
    --mounted_;
  }
  const StorageDriver* driver = std::exchange(driver_, nullptr);
  BERTH_TRY(driver->put(id_));
  return ok();
}

}  // namespace berth::core
