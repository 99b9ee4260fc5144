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
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "berth/plugins/storage_vfs.h"
#include "berth/sdk/layer_archive.hpp"
#include "berth/sdk/layer_table.hpp"
#include "berth/sdk/storage.hpp"
#include "tree_copy.hpp"

namespace berth::plugins::storage_vfs {

using namespace ::berth::sdk::files;

namespace {

using sdk::Errc;
using sdk::Error;
namespace archive = sdk::archive;

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
  explicit VfsDriver(const sdk::Host& host)
      : host_(host), root_(state_root(host, "vfs")), layers_(host, "vfs", root_) {
    layers_.load([&](const std::string& id) {
      Layers::Layer layer;
      layer.parent = read_file_if_exists(layers_.dir(id) + "/parent");
      return std::optional(std::move(layer));
    });
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
    layers_.get(id, context, [&](std::monostate) { out.mount("bind", fs_dir(id), "rbind"); });
  }

  void put(std::string_view id) override {
    const std::string context = "put layer " + std::string(id);
    check_layer_id(id, context);
    layers_.put(id, context);
  }

  void remove(std::string_view id) override {
    const std::string context = "remove layer " + std::string(id);
    check_layer_id(id, context);
    layers_.remove(id, context);
  }

  bool exists(std::string_view id) override { return layers_.exists(id); }

  std::int64_t apply_diff(std::string_view id, std::string_view parent,
                          const sdk::Reader& diff) override {
    const std::string context = "apply diff to layer " + std::string(id);
    check_layer_id(id, context);
    const auto pins = layers_.pin_fresh(id, context, [&](const Layers::Layer& layer) {
      Layers::check_parent(layer, parent, context);
    });
    return with_context(context, [&] {
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
    const auto pins = layers_.pin({id, parent}, context);
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
    const auto pins = layers_.pin({id, parent}, context);
    out.write(with_context(context, [&] {
      return changes_json(
          archive::tree_changes(fs_dir(id), parent.empty() ? std::string() : fs_dir(parent)));
    }));
  }

  sdk::Usage usage(std::string_view id) override {
    const std::string context = "usage of layer " + std::string(id);
    check_layer_id(id, context);
    const auto pins = layers_.pin({id}, context);
    return with_context(context, [&] { return tree_usage(fs_dir(id)); });
  }

  void status(const sdk::Out& out) override {
    const std::string backing =
        with_context("vfs status", [&] { return backing_filesystem(root_); });
    out.write(boost::json::serialize(
        boost::json::array{boost::json::array{"Backing Filesystem", backing}}));
  }

 private:
  using Layers = LayerTable<>;

  std::string fs_dir(std::string_view id) const { return layers_.dir(id) + "/fs"; }

  void create_layer(std::string_view id, std::string_view parent, std::string_view opts_json,
                    std::string_view verb) {
    const std::string context = std::string(verb) + std::string(id);
    check_ids(id, parent, context);
    check_options(opts_json, context);
    // The parent cannot be removed while it is copied.
    layers_.create(id, parent, context, {}, [&](std::monostate&) { build_layer(id, parent); });
  }

  void build_layer(std::string_view id, std::string_view parent) {
    const std::string tmp = make_temp_dir(layers_.tmp_dir(), std::string(id) + ".");
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
      if (::rename(tmp.c_str(), layers_.dir(id).c_str()) != 0) {
        throw Error::from_errno(errno, "move " + tmp + " to " + layers_.dir(id));
      }
    } catch (...) {
      try {
        remove_tree(tmp);
      } catch (const std::exception& e) {
        host_.warn(e.what());
      }
      throw;
    }
    fsync_dir(layers_.layers_dir());
  }

  static void check_ids(std::string_view id, std::string_view parent, const std::string& context) {
    check_layer_id(id, context);
    if (!parent.empty()) check_layer_id(parent, context + ": parent");
  }

  sdk::Host host_;
  bool privileged_ = ::geteuid() == 0;
  std::string root_;
  Layers layers_;
};

}  // namespace

}  // namespace berth::plugins::storage_vfs

BERTH_DEFINE_PLUGIN(berth_builtin_storage_vfs, berth::plugins::storage_vfs::VfsDriver, "vfs",
                    "1.0.0", 0)
