// The vfs storage driver: every layer is a full copy of its parent, on any
// filesystem. Slow and big, but it needs no kernel feature (Docker's vfs).
//
// On disk, under the host's state directory:
//   layers/<id>/fs        the layer's tree (what get() bind-mounts)
//   layers/<id>/parent    the parent's id (absent for a base layer)
//   layers/<id>/applied   present once apply_diff started: the layer is not fresh
//   tmp/                  layers being built or removed; emptied at start
// A layer is built in tmp/ and renamed into layers/ when complete, and
// renamed out of layers/ before it is deleted, so layers/ only ever holds
// whole layers.
#include "berth/sdk/layer_files.hpp"
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "berth/plugins/storage_vfs.h"
#include "berth/sdk/layer_archive.hpp"
#include "berth/sdk/storage.hpp"
#include "tree_copy.hpp"

namespace berth::plugins::storage_vfs {

using namespace ::berth::sdk::files;

namespace {

using sdk::Errc;
using sdk::Error;
namespace archive = sdk::archive;

// Runs `f`, prefixing what it throws with `context`.
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

// vfs takes no options; "size" is Docker's quota option, which needs
// filesystem support vfs does not have.
void check_options(std::string_view opts_json, const std::string& context) {
  if (opts_json.empty()) return;
  boost::system::error_code ec;
  const boost::json::value opts = boost::json::parse(opts_json, ec);
  if (ec || !opts.is_object()) {
    throw Error(Errc::invalid_argument, context + ": options are not a JSON object");
  }
  for (const auto& option : opts.as_object()) {
    if (option.key() == "size") {
      throw Error(Errc::unsupported, context + ": option size: the vfs driver has no quotas");
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

class VfsDriver final : public sdk::StorageDriver {
 public:
  explicit VfsDriver(const sdk::Host& host) : host_(host) {
    const std::string_view state = host.state_dir();
    if (state.empty()) {
      throw Error(Errc::failed_precondition, "vfs: the host offers no state directory");
    }
    root_ = std::filesystem::absolute(std::string(state)).lexically_normal().string();
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
    layers_dir_ = root_ + "/layers";
    tmp_dir_ = root_ + "/tmp";
    with_context("vfs: prepare " + root_, [&] {
      ensure_dir(layers_dir_, 0700);
      ensure_dir(tmp_dir_, 0700);
      // Leftovers of creates and removes a crash interrupted.
      for (const auto& entry : std::filesystem::directory_iterator(tmp_dir_)) {
        remove_tree(entry.path().string());
      }
    });
    load_layers();
  }

  void create(std::string_view id, std::string_view parent, std::string_view opts_json) override {
    create_layer(id, parent, opts_json, "create layer ");
  }

  void create_rw(std::string_view id, std::string_view parent,
                 std::string_view opts_json) override {
    create_layer(id, parent, opts_json, "create read-write layer ");
  }

  void get(std::string_view id, std::string_view /*mount_label: bind mounts take no label*/,
           const sdk::Out& out) override {
    const std::string context = "get layer " + std::string(id);
    check_layer_id(id, context);
    {
      const std::lock_guard lock(mutex_);
      Layer& layer = ready_layer(id, context);
      ++layer.refs;
      layer.mounted = true;
    }
    try {
      out.mount("bind", fs_dir(id), "rbind");
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
    }
    std::string trash;
    try {
      with_context(context, [&] {
        // Out of layers/ first: from here on the layer is gone even if the
        // deletion below is interrupted (the start-up sweep of tmp/ ends it).
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
    const Pins pins(*this, {id}, context, [&](Layer& layer) {
      if (layer.parent != parent) {
        throw Error(Errc::invalid_argument, context + ": the layer's parent is \"" + layer.parent +
                                                "\", not \"" + std::string(parent) + "\"");
      }
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
      options.whiteouts = archive::WhiteoutMode::apply;
      options.allow_devices = privileged_;
      options.preserve_owner = privileged_;
      const std::int64_t size = archive::extract_layer(read, fs_dir(id), options);
      sync_filesystem(fs_dir(id));
      return size;
    });
  }

  void diff(std::string_view id, std::string_view parent, const sdk::Writer& out) override {
    const std::string context = "diff layer " + std::string(id);
    check_ids(id, parent, context);
    const Pins pins(*this, {id, parent}, context);
    with_context(context, [&] {
      const std::vector<archive::Change> changes =
          archive::tree_changes(fs_dir(id), parent.empty() ? std::string() : fs_dir(parent));
      archive::write_layer(fs_dir(id), changes, [&out](const void* buf, std::size_t len) {
        out.write(std::span(static_cast<const std::byte*>(buf), len));
      });
    });
  }

  void changes(std::string_view id, std::string_view parent, const sdk::Out& out) override {
    const std::string context = "changes of layer " + std::string(id);
    check_ids(id, parent, context);
    const Pins pins(*this, {id, parent}, context);
    out.write(with_context(context, [&] {
      return changes_json(
          archive::tree_changes(fs_dir(id), parent.empty() ? std::string() : fs_dir(parent)));
    }));
  }

  sdk::Usage usage(std::string_view id) override {
    const std::string context = "usage of layer " + std::string(id);
    check_layer_id(id, context);
    const Pins pins(*this, {id}, context);
    return with_context(context, [&] { return tree_usage(fs_dir(id)); });
  }

  void status(const sdk::Out& out) override {
    const std::string backing =
        with_context("vfs status", [&] { return backing_filesystem(root_); });
    out.write(boost::json::serialize(
        boost::json::array{boost::json::array{"Backing Filesystem", backing}}));
  }

 private:
  enum class State { creating, ready, removing };

  struct Layer {
    std::string parent;
    State state = State::creating;
    int refs = 0;          // get()s not yet put()
    int children = 0;      // layers on top of this one, including ones being created
    int pins = 0;          // running operations that read the layer's files
    bool applied = false;  // apply_diff ran (persisted as layers/<id>/applied)
    bool mounted = false;  // get() ran since the driver started
  };

  // Holds `ids` (empty ones skipped) against removal for a scope; each must
  // be a ready layer. `check`, if given, runs on the first one's record
  // first, under the same lock, and may throw to refuse.
  class Pins {
   public:
    Pins(VfsDriver& driver, std::initializer_list<std::string_view> ids, const std::string& context,
         const std::function<void(Layer&)>& check = {})
        : driver_(driver) {
      const std::lock_guard lock(driver_.mutex_);
      for (std::string_view id : ids) {
        if (!id.empty()) driver_.ready_layer(id, context);
      }
      if (check && ids.size() > 0) check(driver_.ready_layer(*ids.begin(), context));
      for (std::string_view id : ids) {
        if (id.empty()) continue;
        ++driver_.layers_.find(id)->second.pins;
        ids_.emplace_back(id);
      }
    }
    ~Pins() {
      const std::lock_guard lock(driver_.mutex_);
      for (const std::string& id : ids_) --driver_.layers_.find(id)->second.pins;
    }
    Pins(const Pins&) = delete;
    Pins& operator=(const Pins&) = delete;

   private:
    VfsDriver& driver_;
    std::vector<std::string> ids_;
  };

  std::string layer_dir(std::string_view id) const { return layers_dir_ + "/" + std::string(id); }
  std::string fs_dir(std::string_view id) const { return layer_dir(id) + "/fs"; }

  // The ready layer `id`; not_found otherwise. Callers hold mutex_.
  Layer& ready_layer(std::string_view id, const std::string& context) {
    const auto it = layers_.find(id);
    if (it == layers_.end() || it->second.state != State::ready) {
      throw Error(Errc::not_found, context + ": layer " + std::string(id) + " does not exist");
    }
    return it->second;
  }

  void load_layers() {
    with_context("vfs: load layers from " + layers_dir_, [&] {
      for (const auto& entry : std::filesystem::directory_iterator(layers_dir_)) {
        const std::string id = entry.path().filename().string();
        try {
          check_layer_id(id, "vfs: load layer");
        } catch (const Error& e) {
          host_.warn(std::string(e.what()) + ": ignoring " + entry.path().string());
          continue;
        }
        Layer layer;
        layer.state = State::ready;
        layer.parent = read_file_if_exists(layer_dir(id) + "/parent");
        layer.applied = std::filesystem::exists(layer_dir(id) + "/applied");
        layers_.emplace(id, std::move(layer));
      }
    });
    for (const auto& [id, layer] : layers_) {
      if (layer.parent.empty()) continue;
      if (auto it = layers_.find(layer.parent); it != layers_.end()) {
        ++it->second.children;
      } else {
        host_.warn("vfs: layer " + id + ": parent layer " + layer.parent + " is missing");
      }
    }
  }

  void create_layer(std::string_view id, std::string_view parent, std::string_view opts_json,
                    std::string_view verb) {
    const std::string context = std::string(verb) + std::string(id);
    check_layer_id(id, context);
    if (!parent.empty()) check_layer_id(parent, context + ": parent");
    check_options(opts_json, context);
    {
      const std::lock_guard lock(mutex_);
      if (layers_.contains(id)) throw Error(Errc::already_exists, context + ": the layer exists");
      if (!parent.empty()) {
        const auto it = layers_.find(parent);
        if (it == layers_.end() || it->second.state != State::ready) {
          throw Error(Errc::not_found,
                      context + ": parent layer " + std::string(parent) + " does not exist");
        }
        ++it->second.children;  // also keeps the parent while it is copied
      }
      layers_.emplace(std::string(id), Layer{std::string(parent)});
    }
    try {
      with_context(context, [&] { build_layer(id, parent); });
    } catch (...) {
      const std::lock_guard lock(mutex_);
      layers_.erase(layers_.find(id));
      if (auto it = layers_.find(parent); it != layers_.end()) --it->second.children;
      throw;
    }
    const std::lock_guard lock(mutex_);
    layers_.find(id)->second.state = State::ready;
  }

  void build_layer(std::string_view id, std::string_view parent) {
    const std::string tmp = make_temp_dir(tmp_dir_, std::string(id) + ".");
    try {
      if (parent.empty()) {
        ensure_dir(tmp + "/fs", 0755);
      } else {
        with_context("copy parent layer " + std::string(parent),
                     [&] { copy_tree(fs_dir(parent), tmp + "/fs"); });
        write_file_synced(tmp + "/parent", parent);
      }
      // Everything on disk before the rename publishes the layer.
      sync_filesystem(tmp);
      if (::rename(tmp.c_str(), layer_dir(id).c_str()) != 0) {
        throw Error::from_errno(errno, "move " + tmp + " to " + layer_dir(id));
      }
    } catch (...) {
      try {
        remove_tree(tmp);
      } catch (const std::exception& e) {
        host_.warn(e.what());
      }
      throw;
    }
    fsync_dir(layers_dir_);
  }

  static void check_ids(std::string_view id, std::string_view parent, const std::string& context) {
    check_layer_id(id, context);
    if (!parent.empty()) check_layer_id(parent, context + ": parent");
  }

  sdk::Host host_;
  bool privileged_ = ::geteuid() == 0;
  std::string root_;
  std::string layers_dir_;
  std::string tmp_dir_;
  std::mutex mutex_;
  std::map<std::string, Layer, std::less<>> layers_;
};

}  // namespace

}  // namespace berth::plugins::storage_vfs

BERTH_DEFINE_PLUGIN(berth_builtin_storage_vfs, berth::plugins::storage_vfs::VfsDriver, "vfs",
                    "1.0.0", 0)
