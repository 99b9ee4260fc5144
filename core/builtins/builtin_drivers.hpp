// The drivers linked into berthd, so it works with an empty plugin
// directory. They register through the same descriptor as a plugin library.
#pragma once

#include <berth/sdk/abi.h>

#include <span>

namespace berth::core {

std::span<const berth_plugin_entry_fn> builtin_drivers();

// Only the built-in logging drivers (a subset of builtin_drivers()), in a
// translation unit of their own: berth-shim links these and none of the
// storage drivers.
std::span<const berth_plugin_entry_fn> builtin_log_drivers();

}  // namespace berth::core
