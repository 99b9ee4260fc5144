// Control groups for containers, on cgroup v2, v1, and the v1/v2 "hybrid"
// layout (v1 controllers plus a v2 mount at /sys/fs/cgroup/unified, possibly
// holding a controller such as hugetlb) — without needing systemd or
// cgroupfs-mount. A container's cgroup path is the spec's
// linux.cgroupsPath ("/berth/<id>" by default), created under each mounted
// v1 controller hierarchy (or once on v2).
//
// Both the shim (create, OOM events) and the daemon (stats, update, pause,
// top) use this; all state is in the kernel's files.
//
// Paths: an absolute path is taken from the root of every hierarchy (as
// runc does); a relative one is made absolute; ".." is refused. The mounted
// hierarchies are read once per process from /proc/self/mountinfo.
// In the hybrid layout the cgroup is also created on the v2 mount and the
// process joined there, best effort: a failure there is ignored, and only
// hugetlb limits (when hugetlb sits on the v2 mount) are written there.
//
// Resources (linux.resources) follow runc's conversions for v2: cpu.shares
// to cpu.weight, memory.swap (memory+swap) to memory.swap.max (swap only),
// blockIO weights to io.weight; linux.resources.unified is written as is on
// a v2 mount. Device rules become devices.allow/deny writes on v1 and an
// eBPF cgroup-device program on v2; when there are rules, the devices the
// runtime itself creates (/dev/null, zero, full, random, urandom, tty,
// console, ptmx, pts/*) are allowed after them, as runc does. A zero value means
// "not set", as in runc. A resource whose controller is not mounted is an
// error (failed_precondition) naming the controller.
//
// Threading: every function may be called from any thread.
#pragma once

#include <sys/types.h>

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/core/error.hpp"

namespace berth::runtime::cgroups {

using core::Result;

enum class Layout { v1, hybrid, v2 };
Layout detect_layout();

// A mounted cgroup hierarchy: where it is mounted on the host and what it
// holds ("cpu", "memory", "name=systemd"; for the v2 mount, the controllers
// its root offers).
struct Hierarchy {
  std::string mount_point;
  std::vector<std::string> controllers;
  bool unified = false;  // the cgroup2 mount
};
// Every hierarchy of this host, v1 ones first, the v2 mount last.
const std::vector<Hierarchy>& hierarchies();

// Creates the cgroup `path` with `resources` (the OCI linux.resources object:
// memory.limit/swap/reservation, cpu.shares/quota/period/cpus/mems,
// pids.limit, blockIO weight, devices rules...) and moves `pid` into it
// (pid <= 0: none). Resources are written before the process joins. On
// failure the directories it made are removed again.
// v1: a new cpuset cgroup gets cpuset.cpus/mems copied from its parent
// first (the kernel starts them empty). v2: the controllers the parent
// offers are enabled in each ancestor's cgroup.subtree_control.
Result<void> create(const std::string& path, const boost::json::value& resources, pid_t pid);
// Applies changed resources (docker update).
Result<void> update(const std::string& path, const boost::json::value& resources);
// Moves `pid` into an existing container cgroup (exec).
Result<void> join(const std::string& path, pid_t pid);
// Freezes / thaws every process of the cgroup (docker pause/unpause).
Result<void> freeze(const std::string& path, bool frozen);
// PIDs in the cgroup (docker top).
Result<std::vector<pid_t>> pids(const std::string& path);
// Removes the cgroup and any cgroups below it, after thawing it and
// SIGKILLing what is left in it (waiting up to 5 s for the processes to go).
// Idempotent: a cgroup that does not exist is not an error.
Result<void> remove(const std::string& path);

// Counters of the cgroup (and its descendants). memory_limit and pids_limit
// are 0 when unlimited; memory_max_usage is 0 where the kernel does not
// record it (v2 before 5.19); cpu times in nanoseconds.
struct Stats {
  std::uint64_t cpu_usage_ns = 0, cpu_user_ns = 0, cpu_system_ns = 0;
  std::uint64_t memory_usage = 0, memory_limit = 0, memory_max_usage = 0, memory_cache = 0;
  std::uint64_t pids_current = 0, pids_limit = 0;
  std::uint64_t oom_kills = 0;  // memory.events oom_kill / memory.oom_control oom_kill
  std::uint64_t blkio_read = 0, blkio_write = 0;
};
Result<Stats> stats(const std::string& path);
// Just the count of OOM kills in the cgroup (one file; the shim reads it at
// the start and at the exit of a container); nullopt without a memory
// controller or when the count cannot be read.
Result<std::optional<std::uint64_t>> oom_kills(const std::string& path);

// Where `controller`'s files ("cpu", "cpuacct", "memory", "blkio", "io",
// "pids") of the cgroup `path` are: the v1 hierarchy holding it, else the
// v2 mount when it offers it (v2: the file names are v2's). For the files
// stats() does not summarise (docker stats' per-CPU usage, throttling,
// memory.stat). not_found when no hierarchy has the controller; whether
// the directory exists is not checked.
struct ControllerDir {
  std::string dir;
  bool v2 = false;
};
Result<ControllerDir> controller_dir(const std::string& path, std::string_view controller);

}  // namespace berth::runtime::cgroups
