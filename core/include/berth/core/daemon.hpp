// berthd: wires configuration, the metadata store, the plugin host and the
// API server together, and runs until SIGTERM/SIGINT.
#pragma once

#include "berth/core/config.hpp"
#include "berth/core/error.hpp"

#include <berth/sdk/abi.h>

#include <memory>
#include <span>

namespace berth::core {

class Daemon {
 public:
  // Prepares everything that can fail before serving: roots, the data-root
  // lock (a second daemon on the same data root is refused), the pidfile, the
  // store, the drivers (built-ins first, then the plugin directories), then
  // binds the API. On error nothing is left behind.
  static Result<std::unique_ptr<Daemon>> start(DaemonConfig config,
                                               std::span<const berth_plugin_entry_fn> builtins);
  ~Daemon();

  // Blocks until one of `signals` arrives (they must be blocked in every
  // thread), then returns the signal number.
  int wait_for_signal();

 private:
  struct State;
  explicit Daemon(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// berthd's whole program: parses flags and the config file, starts the
// daemon, waits for a signal, shuts down cleanly. Returns the exit code.
int berthd_main(int argc, char** argv, std::span<const berth_plugin_entry_fn> builtins);

}  // namespace berth::core
