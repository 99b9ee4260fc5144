#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "berth/sdk/layer_archive.hpp"
#include "berth/sdk/status.hpp"
#include "fs.hpp"

namespace berth::sdk::archive {

namespace {

using detail::list_dir;
using detail::stat_at;
using detail::UniqueFd;

bool same_time(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// Opens subdirectory `name` of `dir` for walking (O_PATH, no symlink).
UniqueFd open_walk_dir(int dir, const std::string& name) {
  UniqueFd fd(::openat(dir, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) detail::throw_errno(errno, "open directory " + name);
  return fd;
}

std::vector<Change> sorted(std::vector<Change> changes) {
  std::sort(changes.begin(), changes.end(),
            [](const Change& a, const Change& b) { return a.path < b.path; });
  return changes;
}

// --- overlay ------------------------------------------------------------------

// The merged view of the lower layers, top-most first, as overlayfs builds
// it: a whiteout or a non-directory hides the same path and everything under
// it in the layers below; an opaque directory hides what is under it below.
class LowerStack {
 public:
  explicit LowerStack(const std::vector<std::string>& lowers) {
    for (const auto& lower : lowers) roots_.push_back(detail::open_root(lower));
  }

  // What `path` is in the merged lowers; nullopt when it does not exist.
  std::optional<struct stat> lookup(const detail::Components& path) const {
    for (const auto& root : roots_) {
      bool hides_below = false;
      const auto found = lookup_in(root.get(), path, hides_below);
      if (found || hides_below) return found;
    }
    return std::nullopt;
  }

 private:
  static std::optional<struct stat> lookup_in(int root, const detail::Components& path,
                                              bool& hides_below) {
    UniqueFd dir;
    int current = root;
    for (std::size_t i = 0; i < path.size(); ++i) {
      const auto st = stat_at(current, path[i]);
      if (!st) return std::nullopt;
      if (detail::is_whiteout_device(*st)) {
        hides_below = true;
        return std::nullopt;
      }
      if (i + 1 == path.size()) {
        hides_below = true;
        return st;
      }
      if (!S_ISDIR(st->st_mode)) {
        hides_below = true;
        return std::nullopt;
      }
      if (detail::is_opaque_dir(current, path[i])) hides_below = true;
      dir = open_walk_dir(current, path[i]);
      current = dir.get();
    }
    return std::nullopt;
  }

  std::vector<UniqueFd> roots_;
};

// Docker's overlay change walk (pkg/archive changes()), with lowers merged
// the way overlayfs merges them.
class OverlayWalk {
 public:
  OverlayWalk(const std::string& upper, const std::vector<std::string>& lowers)
      : upper_(detail::open_root(upper)), lowers_(lowers) {}

  std::vector<Change> run() {
    detail::Components path;
    walk(upper_.get(), path, true);
    return sorted(std::move(changes_));
  }

 private:
  void walk(int dir, detail::Components& path, bool lowers_visible) {
    detail::check_depth(path.size());
    for (const auto& name : list_dir(dir)) {
      const auto st = stat_at(dir, name);
      if (!st) continue;
      path.push_back(name);
      UniqueFd sub;
      bool opaque = false;
      try {
        opaque = visit(dir, name, *st, path, lowers_visible);
        if (S_ISDIR(st->st_mode)) sub = open_walk_dir(dir, name);
      } catch (...) {
        detail::rethrow_with_context(detail::join(path));
      }
      if (sub) walk(sub.get(), path, lowers_visible && !opaque);
      path.pop_back();
    }
  }

  // Records the change at `path`, if any; returns whether it is an opaque
  // directory.
  bool visit(int dir, const std::string& name, const struct stat& st,
             const detail::Components& path, bool lowers_visible) {
    const std::string abs = "/" + detail::join(path);
    const bool opaque = S_ISDIR(st.st_mode) && detail::is_opaque_dir(dir, name);
    std::optional<Change::Kind> kind;
    if (detail::is_whiteout_device(st)) {
      kind = Change::deleted;
    } else {
      const auto lower = lowers_visible ? lowers_.lookup(path) : std::nullopt;
      if (!lower) {
        kind = Change::added;
      } else if (opaque || !S_ISDIR(st.st_mode) || !S_ISDIR(lower->st_mode) ||
                 st.st_mode != lower->st_mode || st.st_uid != lower->st_uid ||
                 st.st_gid != lower->st_gid || !same_time(st.st_mtim, lower->st_mtim)) {
        // Hiding the lower contents is a change even with equal metadata.
        kind = Change::modified;
      }
      // else: a directory overlayfs copied up only to hold a changed child.
    }
    if (kind) {
      if (S_ISDIR(st.st_mode)) changed_dirs_.insert(abs);
      if (*kind != Change::modified && path.size() > 1) {
        const std::string parent = "/" + detail::join(path, path.size() - 1);
        if (changed_dirs_.insert(parent).second) changes_.push_back({parent, Change::modified});
      }
      changes_.push_back({abs, *kind});
    }
    return opaque;
  }

  UniqueFd upper_;
  LowerStack lowers_;
  std::vector<Change> changes_;
  std::set<std::string> changed_dirs_;
};

// --- full trees -----------------------------------------------------------------

// Docker's statDifferent() plus its security.capability comparison: no size
// or mtime for directories, which change for reasons that are no change.
bool differs(int layer_dir, int parent_dir, const std::string& name, const struct stat& a,
             const struct stat& b) {
  if (a.st_mode != b.st_mode || a.st_uid != b.st_uid || a.st_gid != b.st_gid ||
      a.st_rdev != b.st_rdev) {
    return true;
  }
  if (!S_ISDIR(a.st_mode) && (a.st_size != b.st_size || !same_time(a.st_mtim, b.st_mtim))) {
    return true;
  }
  if (S_ISLNK(a.st_mode)) return false;
  return detail::read_xattr(layer_dir, name, "security.capability") !=
         detail::read_xattr(parent_dir, name, "security.capability");
}

// Docker's ChangesDirs(): both trees walked side by side.
class TreeWalk {
 public:
  TreeWalk(const std::string& layer, const std::string& parent) : layer_(detail::open_root(layer)) {
    if (!parent.empty()) parent_ = detail::open_root(parent);
  }

  std::vector<Change> run() {
    detail::Components path;
    walk(layer_.get(), parent_ ? parent_.get() : -1, path);
    return sorted(std::move(changes_));
  }

 private:
  // Returns whether anything under `path` changed. `parent_dir` is -1 when
  // the path does not exist (as a directory) in the parent tree.
  bool walk(int layer_dir, int parent_dir, detail::Components& path) {
    detail::check_depth(path.size());
    const std::size_t before = changes_.size();
    const auto names = list_dir(layer_dir);
    const auto old_names = parent_dir >= 0 ? list_dir(parent_dir) : std::vector<std::string>{};
    for (const auto& name : names) {
      const auto st = stat_at(layer_dir, name);
      if (!st) continue;
      path.push_back(name);
      const std::string abs = "/" + detail::join(path);
      bool recorded = false;
      UniqueFd sub;
      UniqueFd old_sub;
      try {
        const bool in_parent = std::binary_search(old_names.begin(), old_names.end(), name);
        const auto old = in_parent ? stat_at(parent_dir, name) : std::nullopt;
        if (!old) {
          changes_.push_back({abs, Change::added});
          recorded = true;
        } else if (differs(layer_dir, parent_dir, name, *st, *old)) {
          changes_.push_back({abs, Change::modified});
          recorded = true;
        }
        if (S_ISDIR(st->st_mode)) {
          sub = open_walk_dir(layer_dir, name);
          if (old && S_ISDIR(old->st_mode)) old_sub = open_walk_dir(parent_dir, name);
        }
      } catch (...) {
        detail::rethrow_with_context(detail::join(path));
      }
      // A directory with changes inside is part of the diff even when
      // unchanged itself, so that its metadata travels with them.
      if (sub && walk(sub.get(), old_sub ? old_sub.get() : -1, path) && !recorded) {
        changes_.push_back({abs, Change::modified});
      }
      path.pop_back();
    }
    for (const auto& name : old_names) {
      if (std::binary_search(names.begin(), names.end(), name)) continue;
      path.push_back(name);
      changes_.push_back({"/" + detail::join(path), Change::deleted});
      path.pop_back();
    }
    return changes_.size() > before;
  }

  UniqueFd layer_;
  UniqueFd parent_;
  std::vector<Change> changes_;
};

}  // namespace

std::vector<Change> overlay_changes(const std::string& upper,
                                    const std::vector<std::string>& lowers) {
  try {
    return OverlayWalk(upper, lowers).run();
  } catch (...) {
    detail::rethrow_with_context("changes of " + upper);
  }
}

std::vector<Change> tree_changes(const std::string& layer, const std::string& parent) {
  try {
    return TreeWalk(layer, parent).run();
  } catch (...) {
    detail::rethrow_with_context("changes of " + layer);
  }
}

}  // namespace berth::sdk::archive
