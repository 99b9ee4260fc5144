// The overlay storage driver: each layer holds only its own changes, and a
// root filesystem is an overlayfs mount of a layer over its parents (Docker's
// overlay2).
//
// On disk, under the host's state directory:
//   layers/<id>/diff      the layer's own changes (the overlay upper dir),
//                         whiteouts as 0:0 character devices and opaque
//                         directories as trusted.overlay.opaque=y
//   layers/<id>/work      overlay's work dir (layers with a parent only)
//   layers/<id>/link      the layer's short name in l/
//   layers/<id>/lower     its parents' short names, nearest first: "l/A:l/B"
//   layers/<id>/parent    the parent's id (absent for a base layer)
//   layers/<id>/applied   present once apply_diff started: the layer is not fresh
//   l/<short>             symlink to ../layers/<id>/diff
//   tmp/                  layers being built or removed, probes; emptied at start
// Short names keep lowerdir lists short: a mount's options must fit one page
// (see get()). A layer is built in tmp/ and renamed into layers/ when
// complete, and renamed out of layers/ before it is deleted.
#include "berth/sdk/layer_files.hpp"
#include <sys/random.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "berth/plugins/storage_overlay.h"
#include "berth/sdk/layer_archive.hpp"
#include "berth/sdk/storage.hpp"
#include "probe.hpp"

namespace berth::plugins::storage_overlay {

using namespace ::berth::sdk::files;

namespace {

using sdk::Errc;
using sdk::Error;
namespace archive = sdk::archive;

// overlay2's limit: deeper chains are refused at create.
constexpr std::size_t max_lowers = 128;
constexpr std::size_t link_name_length = 26;

template <class F>
auto with_context(const std::string& context, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(e.code(), context + ": " + e.what());
  } catch (const std::exception& e) {
    throw Error(Errc::internal, context + ": " + e.what());
  }
}

void check_options(std::string_view opts_json, const std::string& context) {
  if (opts_json.empty()) return;
  boost::system::error_code ec;
  const boost::json::value opts = boost::json::parse(opts_json, ec);
  if (ec || !opts.is_object()) {
    throw Error(Errc::invalid_argument, context + ": options are not a JSON object");
  }
  for (const auto& option : opts.as_object()) {
    if (option.key() == "size") {
      throw Error(Errc::unsupported,
                  context + ": option size: the overlay driver has no quota support");
    }
    throw Error(Errc::invalid_argument, context + ": unknown option " + std::string(option.key()));
  }
}

std::string changes_json(const std::vector<archive::Change>& changes) {
  boost::json::array out;
  out.reserve(changes.size());
  for (const archive::Change& change : changes) {
    out.push_back(
        boost::json::object{{"Path", change.path}, {"Kind", static_cast<int>(change.kind)}});
  }
  return boost::json::serialize(out);
}

// 26 characters of base32 from 128 random bits, like overlay2's link names.
std::string random_link_name() {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error::from_errno(errno, "pick a link name: getrandom");
    got += static_cast<std::size_t>(n);
  }
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string name;
  unsigned bits = 0;
  unsigned buffer = 0;
  for (const unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && name.size() < link_name_length) {
      bits -= 5;
      name.push_back(alphabet[(buffer >> bits) & 31U]);
    }
  }
  // 128 bits leave 3 over: base32 pads them to a 26th character.
  name.push_back(alphabet[(buffer << (5 - bits)) & 31U]);
  return name;
}

bool is_link_name(std::string_view name) {
  return name.size() == link_name_length &&
         name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == std::string_view::npos;
}

// "l/A:l/B" -> {"A", "B"}; throws on anything else.
std::vector<std::string> parse_lower_file(std::string_view text) {
  std::vector<std::string> links;
  while (!text.empty()) {
    const std::size_t colon = text.find(':');
    const std::string_view item = text.substr(0, colon);
    if (item.size() < 2 || item.substr(0, 2) != "l/" || !is_link_name(item.substr(2))) {
      throw Error(Errc::internal, "malformed lower file entry \"" + std::string(item) + "\"");
    }
    links.emplace_back(item.substr(2));
    text = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  }
  return links;
}

class OverlayDriver final : public sdk::StorageDriver {
 public:
  explicit OverlayDriver(const sdk::Host& host) : host_(host) {
    const std::string_view state = host.state_dir();
    if (state.empty()) {
      throw Error(Errc::failed_precondition, "overlay: the host offers no state directory");
    }
    root_ = std::filesystem::absolute(std::string(state)).lexically_normal().string();
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
    // Mount options are split at ',' and lowerdir lists at ':'.
    if (root_.find_first_of(",:\\\"") != std::string::npos) {
      throw Error(Errc::failed_precondition,
                  "overlay: state directory " + root_ +
                      " contains one of , : \\ \" which overlay mount options cannot carry");
    }
    layers_dir_ = root_ + "/layers";
    links_dir_ = root_ + "/l";
    tmp_dir_ = root_ + "/tmp";
    with_context("overlay: prepare " + root_, [&] {
      ensure_dir(layers_dir_, 0700);
      ensure_dir(links_dir_, 0700);
      ensure_dir(tmp_dir_, 0700);
      // Leftovers of creates, removes and probes a crash interrupted.
      for (const auto& entry : std::filesystem::directory_iterator(tmp_dir_)) {
        remove_tree(entry.path().string());
      }
    });
    support_ = probe_overlay(tmp_dir_);
    backing_fs_ = backing_filesystem(root_);
    load_layers();
  }

  void create(std::string_view id, std::string_view parent, std::string_view opts_json) override {
    create_layer(id, parent, opts_json, "create layer ");
  }

  void create_rw(std::string_view id, std::string_view parent,
                 std::string_view opts_json) override {
    create_layer(id, parent, opts_json, "create read-write layer ");
  }

  // A layer with parents is an overlay mount; a base layer, a bind mount of
  // its diff directory (overlay needs at least one lower directory). Paths
  // are absolute, lower directories given by their short links. A chain of
  // 128 layers still makes options longer than the page mount(2) takes
  // unless the state directory's path is very short: the host then mounts
  // from the common directory of the lowers with relative paths, as
  // containerd does.
  void get(std::string_view id, std::string_view mount_label, const sdk::Out& out) override {
    const std::string context = "get layer " + std::string(id);
    check_layer_id(id, context);
    // Quoted, the label may hold commas (MCS categories "s0:c1,c2").
    if (mount_label.find_first_of("\"\n") != std::string_view::npos) {
      throw Error(Errc::invalid_argument, context + ": invalid mount label");
    }
    std::vector<std::string> lowers;
    {
      const std::lock_guard lock(mutex_);
      Layer& layer = ready_layer(id, context);
      ++layer.refs;
      layer.mounted = true;
      lowers = layer.lowers;
    }
    try {
      if (lowers.empty()) {
        out.mount("bind", diff_dir(id), "rbind");
        return;
      }
      std::string options = "lowerdir=";
      for (std::size_t i = 0; i < lowers.size(); ++i) {
        if (i > 0) options += ':';
        options += links_dir_ + "/" + lowers[i];
      }
      options += ",upperdir=" + diff_dir(id) + ",workdir=" + work_dir(id);
      options += support_.extra_options;
      if (!mount_label.empty()) options += ",context=\"" + std::string(mount_label) + "\"";
      out.mount("overlay", "overlay", options);
    } catch (...) {
      const std::lock_guard lock(mutex_);
      --ready_layer(id, context).refs;
      throw;
    }
  }

  void put(std::string_view id) override {
    const std::string context = "put layer " + std::string(id);
    check_layer_id(id, context);
    const std::lock_guard lock(mutex_);
    Layer& layer = ready_layer(id, context);
    if (layer.refs == 0) {
      throw Error(Errc::failed_precondition, context + ": the layer is not referenced");
    }
    --layer.refs;
  }

  void remove(std::string_view id) override {
    const std::string context = "remove layer " + std::string(id);
    check_layer_id(id, context);
    std::string parent;
    std::string link;
    {
      const std::lock_guard lock(mutex_);
      Layer& layer = ready_layer(id, context);
      if (layer.refs > 0) {
        throw Error(Errc::conflict, context + ": the layer is mounted (" +
                                        std::to_string(layer.refs) + " references)");
      }
      if (layer.children > 0) {
        throw Error(Errc::conflict,
                    context + ": " + std::to_string(layer.children) + " layers are based on it");
      }
      if (layer.pins > 0) throw Error(Errc::conflict, context + ": the layer is in use");
      layer.state = State::removing;
      parent = layer.parent;
      link = layer.link;
    }
    std::string trash;
    try {
      with_context(context, [&] {
        trash = make_temp_dir(tmp_dir_, std::string(id) + ".removed.");
        if (::rename(layer_dir(id).c_str(), trash.c_str()) != 0) {
          throw Error::from_errno(errno, "move " + layer_dir(id) + " to " + trash);
        }
        fsync_dir(layers_dir_);
      });
    } catch (...) {
      const std::lock_guard lock(mutex_);
      layers_.find(id)->second.state = State::ready;
      if (!trash.empty()) ::rmdir(trash.c_str());
      throw;
    }
    {
      const std::lock_guard lock(mutex_);
      layers_.erase(layers_.find(id));
      if (auto it = layers_.find(parent); it != layers_.end()) --it->second.children;
    }
    // The layer is gone; what fails from here is cleaned at the next start.
    if (::unlink((links_dir_ + "/" + link).c_str()) != 0 && errno != ENOENT) {
      host_.warn(context + ": unlink " + links_dir_ + "/" + link + ": " + std::strerror(errno));
    }
    try {
      remove_tree(trash);
    } catch (const std::exception& e) {
      host_.warn(context + ": " + e.what() + " (retried at the next start)");
    }
  }

  bool exists(std::string_view id) override {
    const std::lock_guard lock(mutex_);
    const auto it = layers_.find(id);
    return it != layers_.end() && it->second.state == State::ready;
  }

  std::int64_t apply_diff(std::string_view id, std::string_view parent,
                          const sdk::Reader& diff) override {
    const std::string context = "apply diff to layer " + std::string(id);
    check_layer_id(id, context);
    // Checked and pinned at once: no remove can come in between.
    const Pin pin(*this, id, context, [&](Layer& layer) {
      check_parent(layer, parent, context);
      if (layer.refs > 0) throw Error(Errc::conflict, context + ": the layer is mounted");
      if (layer.pins > 0) throw Error(Errc::conflict, context + ": the layer is in use");
      if (layer.applied || layer.mounted) {
        throw Error(Errc::failed_precondition,
                    context + ": the layer is not fresh (a diff was applied or it was mounted)");
      }
      layer.applied = true;
    });
    return with_context(context, [&] {
      // Marked before extracting: a layer a crash left half-extracted must
      // not pass as fresh after a restart.
      write_file_synced(layer_dir(id) + "/applied", "");
      fsync_dir(layer_dir(id));
      const archive::ReadFn read = [&diff](void* buf, std::size_t cap) {
        return diff.read(std::span(static_cast<std::byte*>(buf), cap));
      };
      archive::ExtractOptions options;
      options.whiteouts = archive::WhiteoutMode::overlay;
      const std::int64_t size = archive::extract_layer(read, diff_dir(id), options);
      sync_filesystem(diff_dir(id));
      return size;
    });
  }

  void diff(std::string_view id, std::string_view parent, const sdk::Writer& out) override {
    const std::string context = "diff layer " + std::string(id);
    check_layer_id(id, context);
    const Pin pin(*this, id, context);
    const std::vector<std::string> lowers = lower_dirs(id, parent, context);
    with_context(context, [&] {
      const std::vector<archive::Change> changes = archive::overlay_changes(diff_dir(id), lowers);
      archive::write_layer(diff_dir(id), changes, [&out](const void* buf, std::size_t len) {
        out.write(std::span(static_cast<const std::byte*>(buf), len));
      });
    });
  }

  void changes(std::string_view id, std::string_view parent, const sdk::Out& out) override {
    const std::string context = "changes of layer " + std::string(id);
    check_layer_id(id, context);
    const Pin pin(*this, id, context);
    const std::vector<std::string> lowers = lower_dirs(id, parent, context);
    out.write(with_context(
        context, [&] { return changes_json(archive::overlay_changes(diff_dir(id), lowers)); }));
  }

  sdk::Usage usage(std::string_view id) override {
    const std::string context = "usage of layer " + std::string(id);
    check_layer_id(id, context);
    const Pin pin(*this, id, context);
    return with_context(context, [&] { return tree_usage(diff_dir(id)); });
  }

  void status(const sdk::Out& out) override {
    namespace json = boost::json;
    out.write(json::serialize(json::array{
        json::array{"Backing Filesystem", backing_fs_},
        json::array{"Supports d_type", "true"},
        json::array{"Native Overlay Diff", "true"},
        json::array{"Using metacopy", "false"},
    }));
  }

 private:
  enum class State { creating, ready, removing };

  struct Layer {
    std::string parent;
    std::string link;                 // short name in l/
    std::vector<std::string> lowers;  // the parents' short names, nearest first
    State state = State::creating;
    int refs = 0;          // get()s not yet put()
    int children = 0;      // layers on top of this one, including ones being created
    int pins = 0;          // running operations that read the layer's files
    bool applied = false;  // apply_diff ran (persisted as layers/<id>/applied)
    bool mounted = false;  // get() ran since the driver started
  };

  // Holds ready layer `id` against removal for a scope. `check`, if given,
  // runs on its record first, under the same lock, and may throw to refuse.
  class Pin {
   public:
    Pin(OverlayDriver& driver, std::string_view id, const std::string& context,
        const std::function<void(Layer&)>& check = {})
        : driver_(driver), id_(id) {
      const std::lock_guard lock(driver_.mutex_);
      Layer& layer = driver_.ready_layer(id, context);
      if (check) check(layer);
      ++layer.pins;
    }
    ~Pin() {
      const std::lock_guard lock(driver_.mutex_);
      --driver_.layers_.find(id_)->second.pins;
    }
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;

   private:
    OverlayDriver& driver_;
    std::string id_;
  };

  std::string layer_dir(std::string_view id) const { return layers_dir_ + "/" + std::string(id); }
  std::string diff_dir(std::string_view id) const { return layer_dir(id) + "/diff"; }
  std::string work_dir(std::string_view id) const { return layer_dir(id) + "/work"; }

  // Callers hold mutex_.
  Layer& ready_layer(std::string_view id, const std::string& context) {
    const auto it = layers_.find(id);
    if (it == layers_.end() || it->second.state != State::ready) {
      throw Error(Errc::not_found, context + ": layer " + std::string(id) + " does not exist");
    }
    return it->second;
  }

  // The upper directory only holds the changes against the layer's own
  // parent; a diff against any other layer would need both trees mounted.
  static void check_parent(const Layer& layer, std::string_view parent,
                           const std::string& context) {
    if (!parent.empty()) check_layer_id(parent, context + ": parent");
    if (layer.parent != parent) {
      throw Error(Errc::invalid_argument, context + ": the layer's parent is \"" + layer.parent +
                                              "\", not \"" + std::string(parent) + "\"");
    }
  }

  // The diff directories of layer `id`'s parents, nearest first.
  std::vector<std::string> lower_dirs(std::string_view id, std::string_view parent,
                                      const std::string& context) {
    const std::lock_guard lock(mutex_);
    check_parent(ready_layer(id, context), parent, context);
    std::vector<std::string> dirs;
    for (std::string at(parent); !at.empty();) {
      const auto it = layers_.find(at);
      if (it == layers_.end()) {
        throw Error(Errc::internal, context + ": ancestor layer " + at + " is missing");
      }
      dirs.push_back(diff_dir(at));
      at = it->second.parent;
    }
    return dirs;
  }

  void load_layers() {
    with_context("overlay: load layers from " + layers_dir_, [&] {
      for (const auto& entry : std::filesystem::directory_iterator(layers_dir_)) {
        const std::string id = entry.path().filename().string();
        try {
          check_layer_id(id, "overlay: load layer");
          Layer layer;
          layer.state = State::ready;
          layer.link = read_file_if_exists(layer_dir(id) + "/link");
          if (!is_link_name(layer.link)) {
            throw Error(Errc::internal, "overlay: load layer " + id + ": missing or bad link file");
          }
          layer.lowers = parse_lower_file(read_file_if_exists(layer_dir(id) + "/lower"));
          layer.parent = read_file_if_exists(layer_dir(id) + "/parent");
          layer.applied = std::filesystem::exists(layer_dir(id) + "/applied");
          layers_.emplace(id, std::move(layer));
        } catch (const Error& e) {
          host_.warn(std::string(e.what()) + ": ignoring " + entry.path().string());
        }
      }
    });
    for (const auto& [id, layer] : layers_) {
      if (layer.parent.empty()) continue;
      if (auto it = layers_.find(layer.parent); it != layers_.end()) {
        ++it->second.children;
      } else {
        host_.warn("overlay: layer " + id + ": parent layer " + layer.parent + " is missing");
      }
    }
    repair_links();
  }

  // Makes l/ hold exactly one link per layer: drops links a crash left
  // behind (a create or remove interrupted), restores missing ones.
  void repair_links() {
    std::map<std::string, std::string> wanted;  // link -> id
    for (const auto& [id, layer] : layers_) wanted.emplace(layer.link, id);
    with_context("overlay: repair links in " + links_dir_, [&] {
      for (const auto& entry : std::filesystem::directory_iterator(links_dir_)) {
        const std::string name = entry.path().filename().string();
        const auto it = wanted.find(name);
        std::error_code ec;
        if (it != wanted.end() && entry.is_symlink(ec) &&
            std::filesystem::read_symlink(entry.path(), ec) == link_target(it->second)) {
          wanted.erase(it);
          continue;
        }
        remove_tree(entry.path().string());
      }
      for (const auto& [link, id] : wanted) {
        host_.info("overlay: restoring link l/" + link + " of layer " + id);
        if (::symlink(link_target(id).c_str(), (links_dir_ + "/" + link).c_str()) != 0) {
          throw Error::from_errno(errno, "symlink " + links_dir_ + "/" + link);
        }
      }
      fsync_dir(links_dir_);
    });
  }

  static std::string link_target(std::string_view id) {
    return "../layers/" + std::string(id) + "/diff";
  }

  void create_layer(std::string_view id, std::string_view parent, std::string_view opts_json,
                    std::string_view verb) {
    const std::string context = std::string(verb) + std::string(id);
    check_layer_id(id, context);
    if (!parent.empty()) check_layer_id(parent, context + ": parent");
    check_options(opts_json, context);
    std::vector<std::string> lowers;
    {
      const std::lock_guard lock(mutex_);
      if (layers_.contains(id)) throw Error(Errc::already_exists, context + ": the layer exists");
      if (!parent.empty()) {
        const auto it = layers_.find(parent);
        if (it == layers_.end() || it->second.state != State::ready) {
          throw Error(Errc::not_found,
                      context + ": parent layer " + std::string(parent) + " does not exist");
        }
        if (it->second.lowers.size() + 1 > max_lowers) {
          throw Error(Errc::failed_precondition, context + ": parent layer " + std::string(parent) +
                                                     " is already " + std::to_string(max_lowers) +
                                                     " layers deep");
        }
        lowers.push_back(it->second.link);
        lowers.insert(lowers.end(), it->second.lowers.begin(), it->second.lowers.end());
        ++it->second.children;
      }
      layers_.emplace(std::string(id), Layer{std::string(parent)});
    }
    std::string link;
    try {
      link = with_context(context, [&] { return build_layer(id, parent, lowers); });
    } catch (...) {
      const std::lock_guard lock(mutex_);
      layers_.erase(layers_.find(id));
      if (auto it = layers_.find(parent); it != layers_.end()) --it->second.children;
      throw;
    }
    const std::lock_guard lock(mutex_);
    Layer& layer = layers_.find(id)->second;
    layer.link = std::move(link);
    layer.lowers = std::move(lowers);
    layer.state = State::ready;
  }

  // Builds the layer in tmp/ and moves it into place; returns its link name.
  std::string build_layer(std::string_view id, std::string_view parent,
                          const std::vector<std::string>& lowers) {
    const std::string tmp = make_temp_dir(tmp_dir_, std::string(id) + ".");
    std::string link;
    try {
      ensure_dir(tmp + "/diff", 0755);
      // The link may dangle until the rename below; the start-up repair
      // drops it if a crash comes first.
      for (int attempt = 0; link.empty(); ++attempt) {
        std::string name = random_link_name();
        if (::symlink(link_target(id).c_str(), (links_dir_ + "/" + name).c_str()) == 0) {
          link = std::move(name);
        } else if (errno != EEXIST || attempt == 16) {
          throw Error::from_errno(errno, "symlink " + links_dir_ + "/" + name);
        }
      }
      write_file_synced(tmp + "/link", link);
      if (!parent.empty()) {
        ensure_dir(tmp + "/work", 0700);
        std::string lower_file;
        for (const std::string& lower : lowers) {
          if (!lower_file.empty()) lower_file += ':';
          lower_file += "l/" + lower;
        }
        write_file_synced(tmp + "/lower", lower_file);
        write_file_synced(tmp + "/parent", parent);
      }
      fsync_dir(tmp);
      fsync_dir(links_dir_);
      if (::rename(tmp.c_str(), layer_dir(id).c_str()) != 0) {
        throw Error::from_errno(errno, "move " + tmp + " to " + layer_dir(id));
      }
    } catch (...) {
      if (!link.empty()) ::unlink((links_dir_ + "/" + link).c_str());
      try {
        remove_tree(tmp);
      } catch (const std::exception& e) {
        host_.warn(e.what());
      }
      throw;
    }
    fsync_dir(layers_dir_);
    return link;
  }

  sdk::Host host_;
  std::string root_;
  std::string layers_dir_;
  std::string links_dir_;
  std::string tmp_dir_;
  OverlaySupport support_;
  std::string backing_fs_;
  std::mutex mutex_;
  std::map<std::string, Layer, std::less<>> layers_;
};

}  // namespace

}  // namespace berth::plugins::storage_overlay

BERTH_DEFINE_PLUGIN(berth_builtin_storage_overlay, berth::plugins::storage_overlay::OverlayDriver,
                    "overlay", "1.0.0", BERTH_CAP_NEEDS_ROOT | BERTH_CAP_STORAGE_NATIVE_DIFF)
