// The bookkeeping of a storage driver's layers, shared by the in-tree drivers
// and available to third-party ones through berth::sdk-archive: which layers
// exist, their parents, the state each is in, what holds each one, and the
// rules of the storage contract (berth/sdk/storage.hpp) that follow, with
// its errors. It keeps the layers in a store under the driver's state root:
//
//   <root>/layers/<id>/          a whole layer; its contents are the driver's
//   <root>/layers/<id>/applied   present once a diff is being applied to it
//   <root>/tmp/                  layers being built or removed; emptied at start
//
// A layer is built in tmp/ and moved into layers/ when complete (by the
// driver's `build` callback), and moved out of layers/ before it is deleted
// (by remove), so layers/ only ever holds whole layers.
//
// A layer is held by references (get()s not yet put()), children (layers on
// top of it, including ones being created) and pins (running operations that
// read its files); remove refuses it while anything holds it. Each record
// also carries the driver's own per-layer `Data` (std::monostate for none),
// set when the layer is created or loaded, not changed after.
//
// Errors: every failure throws sdk::Error with the caller's `context` in front
// ("remove layer 3f2a: the layer is in use"); the codes are the contract's:
// not_found for a layer that is not ready, already_exists, conflict for a
// layer that is held, failed_precondition for a put without get or a layer
// that is not fresh.
//
// Ownership: the table owns its records; callbacks are borrowed for the call.
// A Pins (see pin) must not outlive its table.
//
// Threading: every member may be called from any thread at once; one mutex
// guards the records. Callbacks that take a Layer (`inherit`, `check`) run
// under it and must not call the table; the others (`build`, `mount`,
// `forget`, `read`) run without it, as does all disk work.
#ifndef BERTH_SDK_LAYER_TABLE_HPP
#define BERTH_SDK_LAYER_TABLE_HPP

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "berth/sdk/host.hpp"
#include "berth/sdk/layer_files.hpp"

namespace berth::sdk::files {

// The host's state directory as an absolute, normal path without a trailing
// '/'. Throws Error(failed_precondition) "<driver>: the host offers no state
// directory" when there is none.
std::string state_root(const Host& host, std::string_view driver);

namespace detail {
// LayerTable's disk steps: making layers/ and tmp/ and emptying tmp/; moving
// layers/<id> into a fresh directory in tmp/, whose path it returns.
void prepare_store(const std::string& driver, const std::string& root,
                   const std::string& layers_dir, const std::string& tmp_dir);
std::string move_to_trash(const std::string& layers_dir, const std::string& tmp_dir,
                          std::string_view id);
}  // namespace detail

template <class Data = std::monostate>
class LayerTable {
 public:
  enum class State { creating, ready, removing };

  struct Layer {
    std::string parent;  // "" for a base layer
    Data data{};
    State state = State::creating;
    int refs = 0;
    int children = 0;
    int pins = 0;
    bool applied = false;  // a diff was applied (layers/<id>/applied)
    bool mounted = false;  // get() ran since the table was loaded
  };

  // Creates <root>/layers and <root>/tmp where missing and empties tmp/ of
  // what a crash interrupted. `driver` ("vfs") starts the messages of start-up
  // failures and warnings, which go to `host`.
  LayerTable(const Host& host, std::string driver, const std::string& root)
      : host_(host),
        driver_(std::move(driver)),
        layers_dir_(root + "/layers"),
        tmp_dir_(root + "/tmp") {
    detail::prepare_store(driver_, root, layers_dir_, tmp_dir_);
  }

  LayerTable(const LayerTable&) = delete;
  LayerTable& operator=(const LayerTable&) = delete;

  const std::string& layers_dir() const noexcept { return layers_dir_; }
  const std::string& tmp_dir() const noexcept { return tmp_dir_; }
  // <root>/layers/<id>.
  std::string dir(std::string_view id) const { return layers_dir_ + "/" + std::string(id); }

  // Enters the layers found in layers/ as ready, once, at start. `read` makes
  // the record of each entry whose name is a layer id (its parent and data);
  // std::nullopt skips it. Entries with other names are skipped with a
  // warning; a parent missing from the store is warned about.
  void load(const std::function<std::optional<Layer>(const std::string& id)>& read) {
    with_context(driver_ + ": load layers from " + layers_dir_, [&] {
      for (const auto& entry : std::filesystem::directory_iterator(layers_dir_)) {
        const std::string id = entry.path().filename().string();
        try {
          check_layer_id(id, driver_ + ": load layer");
        } catch (const Error& e) {
          host_.warn(std::string(e.what()) + ": ignoring " + entry.path().string());
          continue;
        }
        std::optional<Layer> layer = read(id);
        if (!layer) continue;
        layer->applied = std::filesystem::exists(dir(id) + "/applied");
        layer->state = State::ready;
        const std::lock_guard lock(mutex_);
        layers_.emplace(id, std::move(*layer));
      }
    });
    const std::lock_guard lock(mutex_);
    for (const auto& [id, layer] : layers_) {
      if (layer.parent.empty()) continue;
      if (auto it = layers_.find(layer.parent); it != layers_.end()) {
        ++it->second.children;
      } else {
        host_.warn(driver_ + ": layer " + id + ": parent layer " + layer.parent + " is missing");
      }
    }
  }

  // Creates layer `id` on ready layer `parent` ("" for none). `inherit`, if
  // given, sees the parent's record first and may fill in `data` or throw to
  // refuse; `build` then puts the layer in layers/<id> and completes `data`.
  // The parent cannot be removed meanwhile. If `build` throws, the layer is
  // forgotten and the error rethrown with `context`.
  void create(std::string_view id, std::string_view parent, const std::string& context,
              const std::function<void(const Layer& parent, Data& data)>& inherit,
              const std::function<void(Data& data)>& build) {
    Data data{};
    {
      const std::lock_guard lock(mutex_);
      if (layers_.contains(id)) throw Error(Errc::already_exists, context + ": the layer exists");
      if (!parent.empty()) {
        const auto it = layers_.find(parent);
        if (it == layers_.end() || it->second.state != State::ready) {
          throw Error(Errc::not_found,
                      context + ": parent layer " + std::string(parent) + " does not exist");
        }
        if (inherit) inherit(it->second, data);
        ++it->second.children;
      }
      Layer layer;
      layer.parent = parent;
      layers_.emplace(std::string(id), std::move(layer));
    }
    try {
      with_context(context, [&] { build(data); });
    } catch (...) {
      const std::lock_guard lock(mutex_);
      forget_record(id);
      throw;
    }
    const std::lock_guard lock(mutex_);
    Layer& layer = layers_.find(id)->second;
    layer.data = std::move(data);
    layer.state = State::ready;
  }

  // Takes a reference to ready layer `id` and calls `mount` with its data; if
  // `mount` throws, the reference is dropped again.
  void get(std::string_view id, const std::string& context,
           const std::function<void(const Data& data)>& mount) {
    Data data{};
    {
      const std::lock_guard lock(mutex_);
      Layer& layer = ready_layer(id, context);
      ++layer.refs;
      layer.mounted = true;
      data = layer.data;
    }
    try {
      mount(data);
    } catch (...) {
      const std::lock_guard lock(mutex_);
      --ready_layer(id, context).refs;
      throw;
    }
  }

  // Drops a reference taken by get.
  void put(std::string_view id, const std::string& context) {
    const std::lock_guard lock(mutex_);
    Layer& layer = ready_layer(id, context);
    if (layer.refs == 0) {
      throw Error(Errc::failed_precondition, context + ": the layer is not referenced");
    }
    --layer.refs;
  }

  // Removes ready layer `id` unless something holds it: moves layers/<id>
  // into tmp/ (from then on the layer is gone), forgets it, calls `forget`,
  // if given, with its data, and deletes its files. What fails after the
  // move is only warned about: the start-up sweep of tmp/ finishes it.
  void remove(std::string_view id, const std::string& context,
              const std::function<void(const Data& data)>& forget = {}) {
    Data data{};
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
      data = layer.data;
    }
    std::string trash;
    try {
      trash =
          with_context(context, [&] { return detail::move_to_trash(layers_dir_, tmp_dir_, id); });
    } catch (...) {
      const std::lock_guard lock(mutex_);
      layers_.find(id)->second.state = State::ready;
      throw;
    }
    {
      const std::lock_guard lock(mutex_);
      forget_record(id);
    }
    if (forget) forget(data);
    try {
      remove_tree(trash);
    } catch (const std::exception& e) {
      host_.warn(context + ": " + e.what() + " (retried at the next start)");
    }
  }

  // Whether layer `id` is ready.
  bool exists(std::string_view id) {
    const std::lock_guard lock(mutex_);
    const auto it = layers_.find(id);
    return it != layers_.end() && it->second.state == State::ready;
  }

  // Holds layers against removal for its lifetime; made by pin().
  class Pins {
   public:
    ~Pins() {
      const std::lock_guard lock(table_.mutex_);
      for (const std::string& id : ids_) --table_.layers_.find(id)->second.pins;
    }
    Pins(Pins&& other) noexcept : table_(other.table_), ids_(std::move(other.ids_)) {}
    Pins(const Pins&) = delete;
    Pins& operator=(const Pins&) = delete;

   private:
    friend LayerTable;
    Pins(LayerTable& table, std::initializer_list<std::string_view> ids, const std::string& context,
         const std::function<void(Layer&)>& check)
        : table_(table) {
      const std::lock_guard lock(table_.mutex_);
      for (std::string_view id : ids) {
        if (!id.empty()) table_.ready_layer(id, context);
      }
      if (check && ids.size() > 0) check(table_.ready_layer(*ids.begin(), context));
      for (std::string_view id : ids) {
        if (id.empty()) continue;
        ++table_.layers_.find(id)->second.pins;
        ids_.emplace_back(id);
      }
    }

    LayerTable& table_;
    std::vector<std::string> ids_;
  };

  // Pins `ids` (empty ones skipped), each of which must be ready, while an
  // operation reads their files. `check`, if given, first sees the first
  // one's record and may throw to refuse: checked and pinned at once, so no
  // remove can come in between.
  [[nodiscard]] Pins pin(std::initializer_list<std::string_view> ids, const std::string& context,
                         const std::function<void(Layer&)>& check = {}) {
    return Pins(*this, ids, context, check);
  }

  // For apply_diff: pins layer `id` as pin({id}, context, check) does if it
  // is also fresh (neither referenced, pinned, applied to nor mounted: else
  // conflict or failed_precondition), and marks it applied, in memory and on
  // disk, so that a layer a crash left half-extracted does not pass as fresh
  // after a restart.
  [[nodiscard]] Pins pin_fresh(std::string_view id, const std::string& context,
                               const std::function<void(const Layer&)>& check) {
    Pins pins(*this, {id}, context, [&](Layer& layer) {
      check(layer);
      if (layer.refs > 0) throw Error(Errc::conflict, context + ": the layer is mounted");
      if (layer.pins > 0) throw Error(Errc::conflict, context + ": the layer is in use");
      if (layer.applied || layer.mounted) {
        throw Error(Errc::failed_precondition,
                    context + ": the layer is not fresh (a diff was applied or it was mounted)");
      }
      layer.applied = true;
    });
    with_context(context, [&] {
      write_file_synced(dir(id) + "/applied", "");
      fsync_dir(dir(id));
    });
    return pins;
  }

  // Layer `id` and its ancestors, nearest first; none for "". The caller
  // keeps `id` from removal (a pin or a child), which keeps its ancestors.
  std::vector<std::string> lineage(std::string_view id, const std::string& context) {
    const std::lock_guard lock(mutex_);
    std::vector<std::string> ids;
    for (std::string at(id); !at.empty();) {
      const auto it = layers_.find(at);
      if (it == layers_.end()) {
        throw Error(Errc::internal, context + ": ancestor layer " + at + " is missing");
      }
      ids.push_back(at);
      at = it->second.parent;
    }
    return ids;
  }

  // For a `check`: throws invalid_argument unless `layer`'s parent is `parent`.
  static void check_parent(const Layer& layer, std::string_view parent,
                           const std::string& context) {
    if (layer.parent != parent) {
      throw Error(Errc::invalid_argument, context + ": the layer's parent is \"" + layer.parent +
                                              "\", not \"" + std::string(parent) + "\"");
    }
  }

 private:
  // The ready layer `id`; not_found otherwise. Callers hold mutex_.
  Layer& ready_layer(std::string_view id, const std::string& context) {
    const auto it = layers_.find(id);
    if (it == layers_.end() || it->second.state != State::ready) {
      throw Error(Errc::not_found, context + ": layer " + std::string(id) + " does not exist");
    }
    return it->second;
  }

  // Drops the record of `id` and its count in its parent. Callers hold mutex_.
  void forget_record(std::string_view id) {
    const auto it = layers_.find(id);
    const std::string parent = std::move(it->second.parent);
    layers_.erase(it);
    if (auto p = layers_.find(parent); p != layers_.end()) --p->second.children;
  }

  Host host_;
  std::string driver_;
  std::string layers_dir_;
  std::string tmp_dir_;
  std::mutex mutex_;
  std::map<std::string, Layer, std::less<>> layers_;
};

}  // namespace berth::sdk::files

#endif  // BERTH_SDK_LAYER_TABLE_HPP
