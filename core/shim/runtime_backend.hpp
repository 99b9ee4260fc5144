// How berth-shim runs processes: through the built-in native runtime library
// (berth/runtime/native.hpp), or through an OCI runtime CLI such as crun or
// runc, driven the way containerd's runc shim drives it:
//   <runtime> [runtime_args] --log=<state>/runtime.log --log-format=json
//       create --bundle B --pid-file F [--console-socket S] <id>
//       start <id>
//       exec --process P --detach --pid-file F [--console-socket S] <id>
//       delete --force <id>
// A CLI runtime passes its own stdio to a non-terminal container, so the
// shim's pipes go to `create` and `exec`; its errors come from the log file.
// The started processes are the shim's children either way (directly, or by
// re-parenting to the shim as a child subreaper).
//
// Every call blocks until the process has exec'd (or failed). The shim is
// single-threaded and reaps with waitpid(-1) only between calls, so the
// helpers a call forks are waited for by pid inside it.
#pragma once

#include "berth/core/container/shim.hpp"
#include "berth/core/error.hpp"

#include <berth/runtime/native.hpp>

#include <boost/json/value.hpp>

#include <memory>
#include <string>

namespace berth::shim {

using core::Result;

class RuntimeBackend {
 public:
  virtual ~RuntimeBackend() = default;
  // Starts the container's init; stdio is ignored when `tty` (the process's
  // terminal then comes back as console_master).
  virtual Result<runtime::Process> create(const runtime::Stdio& stdio, bool tty) = 0;
  // Starts `process` (an OCI process object) in the running container.
  virtual Result<runtime::Process> exec(pid_t init_pid, const boost::json::value& process,
                                        const runtime::Stdio& stdio) = 0;
  // Removes what create left, after the init was reaped. Idempotent.
  virtual Result<void> destroy() = 0;
};

// "native", or the path (or PATH name) of an OCI runtime CLI.
std::unique_ptr<RuntimeBackend> make_runtime(const core::container::ShimOptions& options);

}  // namespace berth::shim
