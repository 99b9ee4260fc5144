// berth.volume.v1 for C++: derive from VolumeDriver, then
// BERTH_DEFINE_PLUGIN (plugin.hpp). Each member mirrors the function of the
// same name in berth_volume_v1 (abi.h), whose doc is the contract (JSON
// shapes included); report failure by throwing Error with the matching Errc.
//
// Lifetime: string_view arguments and Out are valid only during the call.
// Threading: any member may run concurrently with any other.
#ifndef BERTH_SDK_VOLUME_HPP
#define BERTH_SDK_VOLUME_HPP

#include <concepts>
#include <string_view>

#include "berth/sdk/plugin.hpp"

namespace berth::sdk {

class VolumeDriver {
 public:
  virtual ~VolumeDriver() = default;

  // Creates volume `name`; `opts_json` is {string: string} (`--opt`).
  // already_exists if present.
  virtual void create(std::string_view name, std::string_view opts_json) = 0;

  // Removes volume `name` and its data; conflict while mounted.
  virtual void remove(std::string_view name) = 0;

  // Makes the volume available for `caller_id` (a container id) and writes
  // its host path to `out`. Reference counted per caller id.
  virtual void mount(std::string_view name, std::string_view caller_id, const Out& out) = 0;

  // Drops `caller_id`'s reference taken by mount.
  virtual void unmount(std::string_view name, std::string_view caller_id) = 0;

  // Writes the volume's host path (mounted or not).
  virtual void path(std::string_view name, const Out& out) = 0;

  // Writes {"Name", "Mountpoint", "CreatedAt", "Status": {}}.
  virtual void get(std::string_view name, const Out& out) = 0;

  // Writes a JSON array of get()'s objects.
  virtual void list(const Out& out) = 0;

  // Writes {"Scope": "local"|"global"}.
  virtual void capabilities(const Out& out) = 0;
};

namespace detail {

template <class D>
struct VolumeAdapter {
  static berth_status create(void* self, berth_str name, berth_str opts_json,
                             berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err,
                 [&] { in.driver.create(to_string_view(name), to_string_view(opts_json)); });
  }

  static berth_status remove(void* self, berth_str name, berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] { in.driver.remove(to_string_view(name)); });
  }

  static berth_status mount(void* self, berth_str name, berth_str caller_id, berth_out* out,
                            berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] {
      in.driver.mount(to_string_view(name), to_string_view(caller_id), Out(in.host, out));
    });
  }

  static berth_status unmount(void* self, berth_str name, berth_str caller_id,
                              berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err,
                 [&] { in.driver.unmount(to_string_view(name), to_string_view(caller_id)); });
  }

  static berth_status path(void* self, berth_str name, berth_out* out, berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] { in.driver.path(to_string_view(name), Out(in.host, out)); });
  }

  static berth_status get(void* self, berth_str name, berth_out* out, berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] { in.driver.get(to_string_view(name), Out(in.host, out)); });
  }

  static berth_status list(void* self, berth_out* out, berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] { in.driver.list(Out(in.host, out)); });
  }

  static berth_status capabilities(void* self, berth_out* out, berth_error* err) noexcept {
    auto& in = instance<D>(self);
    return guard(in.host, err, [&] { in.driver.capabilities(Out(in.host, out)); });
  }
};

}  // namespace detail

template <class D>
requires std::derived_from<D, VolumeDriver>
struct KindTraits<D> {
  static constexpr const char* kind = BERTH_KIND_VOLUME_V1;
  static constexpr berth_volume_v1 table{
      struct_size_of<berth_volume_v1>(),       &detail::VolumeAdapter<D>::create,
      &detail::VolumeAdapter<D>::remove,       &detail::VolumeAdapter<D>::mount,
      &detail::VolumeAdapter<D>::unmount,      &detail::VolumeAdapter<D>::path,
      &detail::VolumeAdapter<D>::get,          &detail::VolumeAdapter<D>::list,
      &detail::VolumeAdapter<D>::capabilities,
  };
};

}  // namespace berth::sdk

#endif  // BERTH_SDK_VOLUME_HPP
