// berth's native OCI runtime: runs the process an OCI runtime-spec bundle
// describes (shared/reference/oci-runtime-spec/config.md, config-linux.md)
// as a child of the caller, which is the container's shim (DESIGN §1, §6).
//
// What it does, in order: clone(2) with the namespaces the spec lists
// (joining those given by path), uid/gid maps for a user namespace, the
// cgroup (v1 and v2, see cgroups.hpp) with the spec's resources, then in the
// child: mounts (rootfs made private, the spec's mounts, /dev with the
// default devices and a new devpts instance), pivot_root, masked and
// read-only paths, hostname, rlimits, the console (when process.terminal),
// user and groups, capabilities (bounding, effective, permitted, inheritable,
// ambient), no_new_privileges, the seccomp filter (libseccomp, from the
// spec's linux.seccomp), then execve of process.args. Errors before execve
// reach the caller as a Result with the child's message ("exec: \"nosuch\":
// executable file not found in $PATH", Docker's wording where it has one).
//
// How (runc's model, in-process): the caller forks a short-lived helper
// that enters namespaces given by path (setns) and clone()s the container
// process with CLONE_PARENT, so the process is the caller's child; the
// helper exits at once. A SOCK_SEQPACKET socketpair carries the protocol:
// the caller writes the uid/gid maps, creates the cgroup with the spec's
// resources and places the process in it, writes oom_score_adj, then says
// "go"; the child reports an error as text or passes the pty master
// (SCM_RIGHTS); its end is close-on-exec, so end-of-file means execve
// happened. A new cgroup namespace is unshared by the child after it joined
// its cgroup, so that the namespace's root is the container's cgroup.
//
// Files: create() records {"id", "pid", "cgroupsPath"} in
// <state_dir>/native.json; exec() and destroy() read the cgroup from there
// (else from the spec). The cgroup path defaults to "/berth/<id>" when
// linux.cgroupsPath is empty.
//
// Errors: a failed create()/exec() leaves nothing behind (the process is
// killed and reaped, the cgroup removed). Error classes: invalid_argument
// for a malformed spec and for what Docker reports as the user's mistake
// (executable not found -> "exec: \"x\": executable file not found in
// $PATH", "exec: \"/x\": stat /x: no such file or directory", not
// executable -> "exec: \"/x\": permission denied", bad cwd -> "chdir to cwd
// (\"/x\") set in config.json failed: no such file or directory");
// failed_precondition for a capability the runtime itself lacks (not in
// its bounding set; capabilities above the kernel's last are ignored, as by
// runc); permission_denied for an rlimit above the current hard limit
// without CAP_SYS_RESOURCE ("setrlimit RLIMIT_NOFILE (soft .., hard ..): the
// hard limit cannot be raised above 20000 without CAP_SYS_RESOURCE"); the
// errno's class for system calls.
//
// Not supported (accepted and ignored): hooks, apparmorProfile,
// selinuxLabel, mountLabel, personality, scheduler, ioPriority, intelRdt.
// Refused: the time namespace, idmapped mounts, SCMP_ACT_NOTIFY.
//
// Threading: functions may be called from any thread; they fork. The
// helper and the new process are the caller's children (a SIGCHLD arrives
// for each): until create()/exec() returns, the caller must not reap them
// (no waitpid(-1) on another thread or in a SIGCHLD handler). The runtime
// reaps the helper and a process that failed; the caller reaps the one
// returned. Descriptors the caller has open without O_CLOEXEC do
// not reach the container: the child marks every fd above 2 close-on-exec.
#pragma once

#include <sys/types.h>

#include <boost/json/value.hpp>
#include <string>

#include "berth/core/error.hpp"

namespace berth::runtime {

using core::Result;

// File descriptors the process gets as 0, 1 and 2 (-1: /dev/null). Ignored
// when the spec's process.terminal is true. The runtime duplicates them;
// the caller keeps (and closes) its own. A non-root process gets them
// chowned to its uid (runc's fixStdioPermissions), /dev/null excepted.
struct Stdio {
  int in = -1, out = -1, err = -1;
};

struct CreateOptions {
  std::string id;         // the container ID
  std::string bundle;     // holds config.json; root.path is relative to it
  std::string state_dir;  // this runtime's files for the container (exists)
  Stdio stdio;
};

struct Process {
  pid_t pid = -1;           // in the caller's PID namespace; the caller's child
  int console_master = -1;  // process.terminal: the pty master (caller owns it)
};

// Starts the container's init process. The rootfs (root.path) is already
// mounted by the caller. Returns once the process has exec'd (or died
// before execve without a word, e.g. killed: the caller sees its exit).
// The spec must include a mount namespace.
Result<Process> create(const CreateOptions& options);

// Starts `process` (an OCI "process" object: args, env, cwd, user, terminal,
// capabilities, noNewPrivileges, apparmor...) inside the running container
// whose init is `init_pid`: its namespaces (those the spec lists, taken from
// /proc/<init_pid>/ns), cgroup, seccomp profile of the spec in `bundle`.
// The process's rlimits, user, capabilities and noNewPrivileges come from
// `process`. Returns once it has exec'd.
Result<Process> exec(const std::string& bundle, const std::string& state_dir, pid_t init_pid,
                     const boost::json::value& process, const Stdio& stdio);

// Removes what create() left (the cgroup, killing anything still in it, and
// native.json) after the init process has exited and been reaped. Mounts
// need no clean-up: they live in the container's mount namespace, which
// went with its last process. Idempotent.
Result<void> destroy(const std::string& bundle, const std::string& state_dir);

}  // namespace berth::runtime
