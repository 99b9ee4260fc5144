// docker update: how a POST /containers/{id}/update body changes a
// container's HostConfig, and what it writes to a running container's
// cgroup (dockerd's Container.UpdateContainer and toContainerdResources).
//
// The body holds HostConfig's resource fields (Memory, MemorySwap,
// MemoryReservation, NanoCpus, CpuShares, CpuPeriod, CpuQuota, CpusetCpus,
// CpusetMems, PidsLimit, BlkioWeight, ...) and RestartPolicy at the top
// level; a zero (or absent) field leaves the container's value as it is.
// Check the body with verify_update (oci_spec.hpp) first.
#pragma once

#include "berth/core/error.hpp"

#include <boost/json/object.hpp>

namespace berth::core::container {

// Merges `update` into `host_config` and returns the OCI linux.resources
// for the fields it sets (the cgroup write). Refuses, with Docker's
// messages (conflict), what would clash with the container's settings:
// NanoCpus against a CpuPeriod/CpuQuota already set and the reverse, a
// memory limit above the memory+swap limit already set when MemorySwap is
// not updated too, a restart policy on an AutoRemove container.
// PidsLimit 0 or negative means unlimited (stored as 0, as Docker does).
// `host_config` is left half-changed on error: merge into a copy.
Result<boost::json::object> apply_update(boost::json::object update, boost::json::object& host_config);

}  // namespace berth::core::container
