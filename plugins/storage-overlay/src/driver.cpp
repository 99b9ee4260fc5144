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
#include <sys/random.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "berth/plugins/storage_overlay.h"
#include "berth/sdk/layer_archive.hpp"
#include "berth/sdk/layer_table.hpp"
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
  explicit OverlayDriver(const sdk::Host& host)
      : host_(host),
        root_(checked_root(host)),
        layers_(host, "overlay", root_),
        links_dir_(root_ + "/l") {
    with_context("overlay: prepare " + root_, [&] { ensure_dir(links_dir_, 0700); });
    support_ = probe_overlay(layers_.tmp_dir());
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
    layers_.get(id, context, [&](const LayerData& data) {
      const std::vector<std::string>& lowers = data.lowers;
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
    });
  }

  void put(std::string_view id) override {
    const std::string context = "put layer " + std::string(id);
    check_layer_id(id, context);
    layers_.put(id, context);
  }

  void remove(std::string_view id) override {
    const std::string context = "remove layer " + std::string(id);
    check_layer_id(id, context);
    layers_.remove(id, context, [&](const LayerData& data) {
      const std::string link = links_dir_ + "/" + data.link;
      // The layer is gone; a link left behind is dropped at the next start.
      if (::unlink(link.c_str()) != 0 && errno != ENOENT) {
        host_.warn(context + ": unlink " + link + ": " + std::strerror(errno));
      }
    });
  }

  bool exists(std::string_view id) override { return layers_.exists(id); }

  std::int64_t apply_diff(std::string_view id, std::string_view parent,
                          const sdk::Reader& diff) override {
    const std::string context = "apply diff to layer " + std::string(id);
    check_layer_id(id, context);
    const auto pins = layers_.pin_fresh(
        id, context, [&](const Layers::Layer& layer) { check_parent(layer, parent, context); });
    return with_context(context, [&] {
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
    const auto pins = layers_.pin(
        {id}, context, [&](const Layers::Layer& layer) { check_parent(layer, parent, context); });
    const std::vector<std::string> lowers = lower_dirs(parent, context);
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
    const auto pins = layers_.pin(
        {id}, context, [&](const Layers::Layer& layer) { check_parent(layer, parent, context); });
    const std::vector<std::string> lowers = lower_dirs(parent, context);
    out.write(with_context(
        context, [&] { return changes_json(archive::overlay_changes(diff_dir(id), lowers)); }));
  }

  sdk::Usage usage(std::string_view id) override {
    const std::string context = "usage of layer " + std::string(id);
    check_layer_id(id, context);
    const auto pins = layers_.pin({id}, context);
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
  // The layer's short name in l/, and its parents' short names, nearest first.
  struct LayerData {
    std::string link;
    std::vector<std::string> lowers;
  };
  using Layers = LayerTable<LayerData>;

  // The state root, which must not hold what mount options cannot carry
  // (options are split at ',' and lowerdir lists at ':').
  static std::string checked_root(const sdk::Host& host) {
    std::string root = state_root(host, "overlay");
    if (root.find_first_of(",:\\\"") != std::string::npos) {
      throw Error(Errc::failed_precondition,
                  "overlay: state directory " + root +
                      " contains one of , : \\ \" which overlay mount options cannot carry");
    }
    return root;
  }

  std::string diff_dir(std::string_view id) const { return layers_.dir(id) + "/diff"; }
  std::string work_dir(std::string_view id) const { return layers_.dir(id) + "/work"; }

  // The upper directory only holds the changes against the layer's own
  // parent; a diff against any other layer would need both trees mounted.
  static void check_parent(const Layers::Layer& layer, std::string_view parent,
                           const std::string& context) {
    if (!parent.empty()) check_layer_id(parent, context + ": parent");
    Layers::check_parent(layer, parent, context);
  }

  // The diff directories of layer `parent` and its parents, nearest first.
  // The caller pins a child of `parent`, which keeps them all.
  std::vector<std::string> lower_dirs(std::string_view parent, const std::string& context) {
    std::vector<std::string> dirs;
    for (const std::string& id : layers_.lineage(parent, context)) dirs.push_back(diff_dir(id));
    return dirs;
  }

  void load_layers() {
    std::map<std::string, std::string> links;  // id -> link
    layers_.load([&](const std::string& id) -> std::optional<Layers::Layer> {
      try {
        Layers::Layer layer;
        layer.data.link = read_file_if_exists(layers_.dir(id) + "/link");
        if (!is_link_name(layer.data.link)) {
          throw Error(Errc::internal, "overlay: load layer " + id + ": missing or bad link file");
        }
        layer.data.lowers = parse_lower_file(read_file_if_exists(layers_.dir(id) + "/lower"));
        layer.parent = read_file_if_exists(layers_.dir(id) + "/parent");
        links.emplace(id, layer.data.link);
        return layer;
      } catch (const Error& e) {
        host_.warn(std::string(e.what()) + ": ignoring " + layers_.dir(id));
        return std::nullopt;
      }
    });
    repair_links(links);
  }

  // Makes l/ hold exactly one link per layer: drops links a crash left
  // behind (a create or remove interrupted), restores missing ones.
  void repair_links(const std::map<std::string, std::string>& links) {
    std::map<std::string, std::string> wanted;  // link -> id
    for (const auto& [id, link] : links) wanted.emplace(link, id);
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
    layers_.create(
        id, parent, context,
        [&](const Layers::Layer& parent_layer, LayerData& data) {
          const LayerData& parent_data = parent_layer.data;
          if (parent_data.lowers.size() + 1 > max_lowers) {
            throw Error(Errc::failed_precondition, context + ": parent layer " +
                                                       std::string(parent) + " is already " +
                                                       std::to_string(max_lowers) + " layers deep");
          }
          data.lowers.push_back(parent_data.link);
          data.lowers.insert(data.lowers.end(), parent_data.lowers.begin(),
                             parent_data.lowers.end());
        },
        [&](LayerData& data) { data.link = build_layer(id, parent, data.lowers); });
  }

  // Builds the layer in tmp/ and moves it into place; returns its link name.
  std::string build_layer(std::string_view id, std::string_view parent,
                          const std::vector<std::string>& lowers) {
    const std::string tmp = make_temp_dir(layers_.tmp_dir(), std::string(id) + ".");
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
      if (::rename(tmp.c_str(), layers_.dir(id).c_str()) != 0) {
        throw Error::from_errno(errno, "move " + tmp + " to " + layers_.dir(id));
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
    fsync_dir(layers_.layers_dir());
    return link;
  }

  sdk::Host host_;
  std::string root_;
  Layers layers_;
  std::string links_dir_;
  OverlaySupport support_;
  std::string backing_fs_;
};

}  // namespace

}  // namespace berth::plugins::storage_overlay

BERTH_DEFINE_PLUGIN(berth_builtin_storage_overlay, berth::plugins::storage_overlay::OverlayDriver,
                    "overlay", "1.0.0", BERTH_CAP_NEEDS_ROOT | BERTH_CAP_STORAGE_NATIVE_DIFF)
