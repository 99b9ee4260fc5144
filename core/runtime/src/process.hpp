// The last steps of the container's process before execve, in the child:
// stdio or the console, rlimits, then (runc's order) umask,
// no_new_privileges, the seccomp filter (before the capabilities go unless
// no_new_privs allows an unprivileged load, then as late as possible),
// stdio ownership, the bounding set, groups and ids, the working directory,
// the capabilities, $HOME, the PATH lookup, signals reset and execve.
#pragma once

#include <string>
#include <vector>

#include "berth/runtime/native.hpp"
#include "seccomp.hpp"
#include "spec.hpp"

namespace berth::runtime::detail {

// Makes in/out/err the process's 0, 1 and 2 (-1: /dev/null).
Result<void> setup_stdio(const Stdio& stdio);

struct Console {
  Fd master, slave;
  std::string slave_path;  // "/dev/pts/<n>"
};
// Opens a pty of the devpts instance at /dev/pts (through /dev/ptmx), sized
// rows x cols when given.
Result<Console> open_console(unsigned short rows, unsigned short cols);
// The slave becomes the controlling terminal (the caller is a session
// leader) and stdio.
Result<void> use_console(Console& console);

// setrlimit for each; raising a hard limit without CAP_SYS_RESOURCE fails
// with the current hard limit in the message.
Result<void> apply_rlimits(const std::vector<RlimitSpec>& rlimits);

// Go's exec.LookPath with the container's PATH (from `env`): Docker's
// messages, e.g. `exec: "nosuch": executable file not found in $PATH`.
Result<std::string> look_path(const std::string& file, const std::vector<std::string>& env);

// Identity, capabilities, cwd, seccomp, execve. Returns only on failure.
Result<void> finish_and_exec(const ProcessSpec& process, const SeccompFilter& seccomp);

// The capability numbers this process may grant (its bounding set), and
// the highest the kernel knows.
std::uint64_t available_capabilities();
// Checks the spec's sets against available_capabilities(): capabilities
// above the kernel's last one are dropped (runc ignores them too), others
// missing from the bounding set are a failed_precondition error naming them.
Result<void> check_capabilities(ProcessSpec& process);

}  // namespace berth::runtime::detail
