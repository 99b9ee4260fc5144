// berth.storage.v1 for C++: derive from StorageDriver, then
// BERTH_DEFINE_PLUGIN (plugin.hpp). Each member mirrors the function of the
// same name in berth_storage_v1 (abi.h), whose doc is the contract; report
// failure by throwing Error with the matching Errc.
//
// Layer ids are [a-zA-Z0-9_-]+ chosen by the host; `parent` is "" for a base
// layer. Drivers describe mounts (Out::mount); the core performs them.
//
// Lifetime: string_view arguments and Out/Reader/Writer are valid only during
// the call. Threading: any member may run concurrently with any other.
#ifndef BERTH_SDK_STORAGE_HPP
#define BERTH_SDK_STORAGE_HPP

#include <concepts>
#include <cstdint>
#include <exception>
#include <string_view>

#include "berth/sdk/plugin.hpp"

namespace berth::sdk {

// Disk usage of one layer; -1 means unknown.
struct Usage {
  std::int64_t size_bytes = -1;
  std::int64_t inodes = -1;
};

class StorageDriver {
 public:
  virtual ~StorageDriver() = default;

  // Creates read-only layer `id` on `parent`. `opts_json`: an object of driver
  // options ({"size": "10G"}). already_exists if present, not_found if the
  // parent is missing.
  virtual void create(std::string_view id, std::string_view parent, std::string_view opts_json) = 0;

  // Creates a container's read-write layer `id` on `parent`.
  virtual void create_rw(std::string_view id, std::string_view parent,
                         std::string_view opts_json) = 0;

  // Writes (Out::mount) the mounts that, applied in order at one target, make
  // layer `id` with its parents a root filesystem. Takes one reference,
  // released by put.
  virtual void get(std::string_view id, std::string_view mount_label, const Out& out) = 0;

  // Releases one reference taken by get.
  virtual void put(std::string_view id) = 0;

  // Removes layer `id`: conflict while referenced, not_found if absent.
  virtual void remove(std::string_view id) = 0;

  // Whether layer `id` exists. The ABI has no error path here: an exception
  // is logged through the host and answers false.
  virtual bool exists(std::string_view id) = 0;

  // Extracts the uncompressed layer tar read from `diff` (OCI `.wh.`
  // whiteouts) into the freshly created layer `id`; returns the unpacked size
  // in bytes.
  virtual std::int64_t apply_diff(std::string_view id, std::string_view parent,
                                  const Reader& diff) = 0;

  // Writes the tar of the changes between `parent` and `id` (OCI whiteouts).
  virtual void diff(std::string_view id, std::string_view parent, const Writer& out) = 0;

  // Writes the changes between `parent` and `id` as a JSON array of
  // {"Path": "/a/b", "Kind": 0|1|2} (modified, added, deleted).
  virtual void changes(std::string_view id, std::string_view parent, const Out& out) = 0;

  // The usage of layer `id`'s own content (not its parents').
  virtual Usage usage(std::string_view id) = 0;

  // Writes a JSON array of [key, value] string pairs for `berth info`.
  virtual void status(const Out& out) = 0;
};

namespace detail {

template <class D>
struct StorageAdapter {
  static berth_status create(void* self, berth_str id, berth_str parent, berth_str opts_json,
                             berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      in.driver.create(to_string_view(id), to_string_view(parent), to_string_view(opts_json));
    });
  }

  static berth_status create_rw(void* self, berth_str id, berth_str parent, berth_str opts_json,
                                berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      in.driver.create_rw(to_string_view(id), to_string_view(parent), to_string_view(opts_json));
    });
  }

  static berth_status get(void* self, berth_str id, berth_str mount_label, berth_out* out,
                          berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      in.driver.get(to_string_view(id), to_string_view(mount_label), Out(in.host, out));
    });
  }

  static berth_status put(void* self, berth_str id, berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] { in.driver.put(to_string_view(id)); });
  }

  static berth_status remove(void* self, berth_str id, berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] { in.driver.remove(to_string_view(id)); });
  }

  static std::int32_t exists(void* self, berth_str id) noexcept {
    auto& in = instance<D>(self);
    try {
      return in.driver.exists(to_string_view(id)) ? 1 : 0;
    } catch (const std::exception& e) {
      in.host.error(e.what());
    } catch (...) {
      in.host.error("exists: unknown exception");
    }
    return 0;
  }

  static berth_status apply_diff(void* self, berth_str id, berth_str parent, berth_reader* diff,
                                 std::int64_t* size, berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      const std::int64_t unpacked =
          in.driver.apply_diff(to_string_view(id), to_string_view(parent), Reader(in.host, diff));
      if (size != nullptr) *size = unpacked;
    });
  }

  static berth_status diff(void* self, berth_str id, berth_str parent, berth_writer* out,
                           berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      in.driver.diff(to_string_view(id), to_string_view(parent), Writer(in.host, out));
    });
  }

  static berth_status changes(void* self, berth_str id, berth_str parent, berth_out* out,
                              berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      in.driver.changes(to_string_view(id), to_string_view(parent), Out(in.host, out));
    });
  }

  static berth_status usage(void* self, berth_str id, berth_usage* usage,
                            berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      const Usage u = in.driver.usage(to_string_view(id));
      if (usage == nullptr || usage->struct_size < abi_v1_0::usage_size) {
        throw Error(Errc::invalid_argument, "usage: the host's result struct is too small");
      }
      usage->size_bytes = u.size_bytes;
      usage->inodes = u.inodes;
    });
  }

  static berth_status status(void* self, berth_out* out, berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] { in.driver.status(Out(in.host, out)); });
  }
};

}  // namespace detail

template <class D>
requires std::derived_from<D, StorageDriver>
struct KindTraits<D> {
  static constexpr const char* kind = BERTH_KIND_STORAGE_V1;
  static constexpr berth_storage_v1 table{
      struct_size_of<berth_storage_v1>(),    &detail::StorageAdapter<D>::create,
      &detail::StorageAdapter<D>::create_rw, &detail::StorageAdapter<D>::get,
      &detail::StorageAdapter<D>::put,       &detail::StorageAdapter<D>::remove,
      &detail::StorageAdapter<D>::exists,    &detail::StorageAdapter<D>::apply_diff,
      &detail::StorageAdapter<D>::diff,      &detail::StorageAdapter<D>::changes,
      &detail::StorageAdapter<D>::usage,     &detail::StorageAdapter<D>::status,
  };
};

}  // namespace berth::sdk

#endif  // BERTH_SDK_STORAGE_HPP
