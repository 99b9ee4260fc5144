// Writing a berth driver as an ordinary C++ class.
//
//   #include "berth/sdk/logging.hpp"          // or storage/network/volume.hpp
//
//   class JsonFile final : public berth::sdk::LoggingDriver {
//    public:
//     explicit JsonFile(const berth::sdk::Host& host);   // may throw Error
//     ...one override per table function...
//   };
//
//   BERTH_DEFINE_PLUGIN(my_json_file_descriptor, JsonFile, "json-file", "1.0.0",
//                       BERTH_CAP_LOGGING_READ)
//   BERTH_EXPORT_PLUGIN(my_json_file_descriptor)   // only in the .so
//
// BERTH_DEFINE_PLUGIN defines `extern "C" const berth_plugin* <fn>(void)`,
// returning a static descriptor whose kind follows from the driver's base
// class, and whose init/shutdown and function table are generated adapters.
// <fn> has hidden visibility: berthd links built-in drivers statically and
// calls <fn> through its own table. BERTH_EXPORT_PLUGIN defines the one
// exported symbol, `berth_plugin_entry`, returning <fn>(); put it in the
// translation unit that only the shared library compiles.
//
// What the adapters do at the boundary:
//  - init constructs the driver as `Driver(const Host&)` inside an instance
//    the adapters own; shutdown destroys it. A constructor that throws
//    Error(Errc::unsupported, ...) answers "skip me on this host".
//  - every call converts ABI strings to std::string_view (borrowed for the
//    call only: copy what you keep) and handles to Out/Reader/Writer.
//  - every exception is caught: berth::sdk::Error becomes its code and
//    message, any other std::exception BERTH_E_INTERNAL with what(), anything
//    else BERTH_E_INTERNAL "unknown exception". Messages reach the host
//    through host->error_set. Nothing propagates across the C boundary.
//
// Threading: the host may call the driver's member functions from any thread
// and concurrently (except the constructor and destructor, which run alone);
// drivers lock what they share. See each kind's header for exceptions.
#ifndef BERTH_SDK_PLUGIN_HPP
#define BERTH_SDK_PLUGIN_HPP

#include <cstdint>
#include <exception>
#include <string_view>
#include <utility>

#include "berth/sdk/abi.h"
#include "berth/sdk/host.hpp"
#include "berth/sdk/status.hpp"
#include "berth/sdk/types.hpp"

#if defined(__GNUC__)
#define BERTH_SDK_HIDDEN __attribute__((visibility("hidden")))
#else
#define BERTH_SDK_HIDDEN
#endif

namespace berth::sdk {

// Specialised by each kind header for the drivers derived from its base
// class: `kind` (a BERTH_KIND_* string) and `table` (the generated function
// table).
template <class Driver>
struct KindTraits;

namespace detail {

// What `void* self` points at in every table function.
template <class Driver>
struct Instance {
  explicit Instance(const berth_host* raw_host) : host(raw_host), driver(host) {}
  Host host;
  Driver driver;
};

template <class Driver>
Instance<Driver>& instance(void* self) noexcept {
  return *static_cast<Instance<Driver>*>(self);
}

// Runs `f`, turning whatever it throws into a status and a message for `err`.
template <class F>
berth_status guard(const Host& host, berth_error* err, F&& f) noexcept {
  try {
    std::forward<F>(f)();
    return BERTH_OK;
  } catch (const Error& e) {
    host.set_error(err, e.what());
    // An Error thrown with Errc::ok is a bug, not a success.
    return e.code() == Errc::ok ? BERTH_E_INTERNAL : to_status(e.code());
  } catch (const std::exception& e) {
    host.set_error(err, e.what());
    return BERTH_E_INTERNAL;
  } catch (...) {
    host.set_error(err, "unknown exception");
    return BERTH_E_INTERNAL;
  }
}

template <class Driver>
struct Lifecycle {
  static berth_status init(const berth_host* raw_host, void** out_instance,
                           berth_error* err) noexcept {
    if (raw_host == nullptr || out_instance == nullptr) return BERTH_E_INVALID_ARGUMENT;
    const Host host(raw_host);
    if (raw_host->struct_size < abi_v1_0::host_size || raw_host->abi_major != BERTH_ABI_MAJOR) {
      host.set_error(err, "init: the host's plugin ABI does not match this plugin's");
      return BERTH_E_FAILED_PRECONDITION;
    }
    return guard(host, err, [&] { *out_instance = new Instance<Driver>(raw_host); });
  }

  static void shutdown(void* self) noexcept { delete static_cast<Instance<Driver>*>(self); }
};

template <class Driver>
constexpr berth_plugin make_descriptor(const char* id, const char* version,
                                       std::uint64_t capabilities) noexcept {
  return berth_plugin{
      struct_size_of<berth_plugin>(),
      BERTH_ABI_MAJOR,
      BERTH_ABI_MINOR,
      KindTraits<Driver>::kind,
      id,
      version,
      capabilities,
      &Lifecycle<Driver>::init,
      &Lifecycle<Driver>::shutdown,
      &KindTraits<Driver>::table,
  };
}

}  // namespace detail
}  // namespace berth::sdk

// Defines `extern "C" const berth_plugin* fn(void)` (hidden) for `Driver`.
// `id` and `version` are string literals; `capabilities` a BERTH_CAP_* mask.
#define BERTH_DEFINE_PLUGIN(fn, Driver, id, version, capabilities)                  \
  extern "C" BERTH_SDK_HIDDEN const berth_plugin* fn(void) {                        \
    static constexpr berth_plugin descriptor =                                      \
        ::berth::sdk::detail::make_descriptor<Driver>(id, version, (capabilities)); \
    return &descriptor;                                                             \
  }

// Defines the library's one exported symbol, berth_plugin_entry, returning
// fn(). Use once per shared library, never in code linked into berthd.
#define BERTH_EXPORT_PLUGIN(fn)                             \
  extern "C" BERTH_SDK_HIDDEN const berth_plugin* fn(void); \
  extern "C" BERTH_PLUGIN_EXPORT const berth_plugin* berth_plugin_entry(void) { return fn(); }

#endif  // BERTH_SDK_PLUGIN_HPP
