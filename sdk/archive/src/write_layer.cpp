#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "berth/sdk/layer_archive.hpp"
#include "berth/sdk/status.hpp"
#include "fs.hpp"
#include "tar_io.hpp"

namespace berth::sdk::archive {

namespace {

using detail::Components;
using detail::throw_errno;
using detail::UniqueFd;

constexpr std::size_t kCopyBlock = 128 * 1024;

struct Item {
  enum Source { tree, parent, whiteout, opaque_marker };
  Source source;
  Components path;                // in `root` (whiteout: the deleted path; marker: its dir)
  std::optional<struct stat> st;  // tree and parent items, once looked up
};

class LayerWriter {
 public:
  LayerWriter(const std::string& root, const WriteFn& write)
      : root_(detail::open_root(root)), writer_(write) {}

  void run(const std::vector<Change>& changes) {
    collect(changes);
    look_up();
    for (auto& [name, item] : items_) {
      try {
        emit(name, item);
      } catch (...) {
        detail::rethrow_with_context((item.source == Item::whiteout ? "whiteout " : "add ") + name);
      }
    }
    writer_.close();
  }

 private:
  void collect(const std::vector<Change>& changes) {
    for (const auto& change : changes) {
      const auto path = detail::clean_path(change.path);
      if (!change.path.starts_with('/') || !path || "/" + detail::join(*path) != change.path) {
        throw Error(Errc::invalid_argument,
                    "change path \"" + change.path + "\" is not a clean absolute path");
      }
      if (path->empty()) continue;  // the root is never an entry
      for (std::size_t n = 1; n < path->size(); ++n) {
        Components ancestor(path->begin(), path->begin() + static_cast<std::ptrdiff_t>(n));
        items_.try_emplace(detail::join(ancestor), Item{Item::parent, ancestor, std::nullopt});
      }
      if (change.kind == Change::deleted) {
        Components marker(path->begin(), path->end() - 1);
        marker.push_back(".wh." + path->back());
        items_.insert_or_assign(detail::join(marker), Item{Item::whiteout, *path, std::nullopt});
      } else {
        items_.insert_or_assign(detail::join(*path), Item{Item::tree, *path, std::nullopt});
      }
    }
  }

  // Stats every tree and parent item and adds the opaque markers. A parent
  // that is no directory (gone, or an overlay whiteout) belongs to a deleted
  // ancestor: it is dropped, and so are the whiteouts below it, which that
  // ancestor's own whiteout covers. Items are visited parents first.
  void look_up() {
    std::vector<std::pair<std::string, Item>> markers;
    for (auto it = items_.begin(); it != items_.end();) {
      auto& [name, item] = *it;
      if (item.source == Item::whiteout) {
        const bool orphan =
            item.path.size() > 1 && !items_.contains(detail::join(item.path, item.path.size() - 1));
        it = orphan ? items_.erase(it) : std::next(it);
        continue;
      }
      try {
        const UniqueFd dir = open_parent(item.path);
        item.st = dir ? detail::stat_at(dir.get(), item.path.back()) : std::nullopt;
        if (!item.st && item.source == Item::tree) {
          throw Error(Errc::not_found, "stat: No such file or directory");
        }
        if (item.st && item.source == Item::parent && !S_ISDIR(item.st->st_mode)) item.st.reset();
        if (item.st && S_ISDIR(item.st->st_mode) &&
            detail::is_opaque_dir(dir.get(), item.path.back())) {
          markers.emplace_back(name + "/.wh..wh..opq",
                               Item{Item::opaque_marker, item.path, std::nullopt});
        }
      } catch (...) {
        detail::rethrow_with_context("add " + name);
      }
      if (!item.st) {
        it = items_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [name, item] : markers) items_.insert_or_assign(name, std::move(item));
  }

  UniqueFd open_parent(const Components& path) const {
    return detail::open_dir_beneath(root_.get(), path, path.size() - 1, false);
  }

  void emit(const std::string& name, const Item& item) {
    detail::Entry entry;
    archive_entry* e = entry.get();
    archive_entry_set_pathname(e, name.c_str());
    if (item.source == Item::whiteout || item.source == Item::opaque_marker) {
      // Empty regular files; no time, owner or mode of their own, so the same
      // change always gives the same bytes.
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0);
      archive_entry_set_size(e, 0);
      archive_entry_set_mtime(e, 0, 0);
      writer_.write_header(e);
      return;
    }

    const UniqueFd dir = open_parent(item.path);
    if (!dir) throw Error(Errc::conflict, "a parent directory disappeared while writing the layer");
    const std::string& base = item.path.back();
    const auto st = detail::stat_at(dir.get(), base);
    if (!st || st->st_ino != item.st->st_ino || st->st_dev != item.st->st_dev ||
        (st->st_mode & S_IFMT) != (item.st->st_mode & S_IFMT)) {
      throw Error(Errc::conflict, "changed while writing the layer");
    }
    if (S_ISSOCK(st->st_mode)) return;  // as Docker: a socket cannot be archived

    archive_entry_set_filetype(e, st->st_mode & S_IFMT);
    archive_entry_set_perm(e, st->st_mode & 07777);
    archive_entry_set_uid(e, st->st_uid);
    archive_entry_set_gid(e, st->st_gid);
    // Whole seconds and no atime/ctime, as Docker writes layers: what a
    // copy or a file system with coarser timestamps changes is not content.
    archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);

    if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
      const auto [seen, first] = links_.try_emplace({st->st_dev, st->st_ino}, name);
      if (!first) {
        archive_entry_set_hardlink(e, seen->second.c_str());
        archive_entry_set_size(e, 0);
        writer_.write_header(e);
        return;
      }
    }

    std::string target;
    if (S_ISLNK(st->st_mode)) {
      target = read_link(dir.get(), base, *st);
      archive_entry_set_symlink(e, target.c_str());
    } else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
      archive_entry_set_rdev(e, st->st_rdev);
    }
    for (const auto& [key, value] : detail::read_xattrs(dir.get(), base)) {
      if (std::string_view(key).starts_with(detail::kOverlayXattrPrefix)) continue;
      archive_entry_xattr_add_entry(e, key.c_str(), value.data(), value.size());
    }

    if (!S_ISREG(st->st_mode)) {
      writer_.write_header(e);
      return;
    }
    const UniqueFd file(::openat(dir.get(), base.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!file) throw_errno(errno, "open");
    struct stat opened {};
    if (::fstat(file.get(), &opened) != 0) throw_errno(errno, "stat");
    if (opened.st_ino != st->st_ino || opened.st_dev != st->st_dev) {
      throw Error(Errc::conflict, "changed while writing the layer");
    }
    archive_entry_set_size(e, st->st_size);
    writer_.write_header(e);
    copy_content(file.get(), static_cast<std::size_t>(st->st_size));
  }

  void copy_content(int fd, std::size_t size) {
    buffer_.resize(kCopyBlock);
    while (size != 0) {
      const ssize_t n = ::read(fd, buffer_.data(), std::min(size, buffer_.size()));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno(errno, "read");
      }
      if (n == 0) throw Error(Errc::conflict, "file shrank while writing the layer");
      writer_.write_data(buffer_.data(), static_cast<std::size_t>(n));
      size -= static_cast<std::size_t>(n);
    }
  }

  static std::string read_link(int dir, const std::string& name, const struct stat& st) {
    std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
    while (true) {
      const ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
      if (n < 0) throw_errno(errno, "read symlink");
      if (static_cast<std::size_t>(n) < target.size()) {
        target.resize(static_cast<std::size_t>(n));
        return target;
      }
      target.resize(target.size() * 2);
    }
  }

  UniqueFd root_;
  detail::TarWriter writer_;
  std::map<std::string, Item> items_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::vector<char> buffer_;
};

}  // namespace

void write_layer(const std::string& root, const std::vector<Change>& changes,
                 const WriteFn& write) {
  try {
    LayerWriter(root, write).run(changes);
  } catch (...) {
    detail::rethrow_with_context("write layer");
  }
}

}  // namespace berth::sdk::archive
