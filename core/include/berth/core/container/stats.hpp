// docker stats: a container's cgroup counters in the Engine API's shape
// (Docker's types.StatsJSON), on cgroup v1 (also the hybrid layout) and v2.
//
// The shape follows what dockerd sends for each layout, so that clients
// computing from it (docker stats' CPU % and memory columns) get Docker's
// numbers: v1 has cpu_usage.percpu_usage, memory_stats.max_usage and
// memory.stat's keys (total_inactive_file...), v2 has neither percpu nor
// max_usage and memory.stat's v2 keys (inactive_file...). A memory limit
// above the host's memory (or none) reads as the host's memory, as dockerd
// reports it. Fields Go's encoder leaves out when zero (omitempty) are left
// out here too; the blkio lists are null when there is nothing, as Go
// encodes a nil slice. networks is omitted until containers have networks.
//
// A sample is read from the kernel's files each time (nothing is cached);
// precpu_stats and preread come from the caller's previous sample.
#pragma once

#include "berth/core/error.hpp"

#include <boost/json/object.hpp>

#include <string>

namespace berth::core::container {

// One reading of a cgroup: the parts of StatsJSON that are measured.
struct StatsSample {
  std::string read;  // RFC 3339 with nanoseconds
  boost::json::object pids_stats, blkio_stats, cpu_stats, memory_stats;
};

// Reads the counters of cgroup `cgroup_path` (a container's
// linux.cgroupsPath) now, with the host's system_cpu_usage and
// online_cpus. not_found when the cgroup does not exist.
Result<StatsSample> sample_stats(const std::string& cgroup_path);

// The StatsJSON object for container `name` ("/web") and `id`: `now`
// with precpu_stats/preread from `before` (zeros and Go's zero time when
// null). `now` null: the zeroed stats Docker answers for a container that
// is not running (only name and id set).
boost::json::object stats_json(const StatsSample* now, const StatsSample* before, const std::string& name,
                               const std::string& id);

}  // namespace berth::core::container
