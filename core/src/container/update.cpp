#include "berth/core/container/update.hpp"

#include "spec_internal.hpp"
#include "spec_json.hpp"

#include <boost/json.hpp>

namespace berth::core::container {
namespace json = boost::json;
using detail::get_int;
using detail::get_string;

namespace {

constexpr std::string_view kBody = "update";

Error conflicting(std::string message) { return make_error(Errc::conflict, std::move(message)); }

}  // namespace

Result<json::object> apply_update(json::object update, json::object& hc) {
  // Both 0 and -1 mean "unlimited" in an update (Docker's API router).
  BERTH_TRY(auto pids, detail::get_opt_int(update, "PidsLimit", kBody));
  if (pids && *pids <= 0) update["PidsLimit"] = 0;

  BERTH_TRY(std::int64_t nano_cpus, get_int(update, "NanoCpus", kBody));
  BERTH_TRY(std::int64_t period, get_int(update, "CpuPeriod", kBody));
  BERTH_TRY(std::int64_t quota, get_int(update, "CpuQuota", kBody));
  BERTH_TRY(std::int64_t have_nano_cpus, get_int(hc, "NanoCpus", "HostConfig"));
  BERTH_TRY(std::int64_t have_period, get_int(hc, "CpuPeriod", "HostConfig"));
  BERTH_TRY(std::int64_t have_quota, get_int(hc, "CpuQuota", "HostConfig"));
  // NanoCpus is a period and a quota: one may not be updated over the other.
  if (nano_cpus > 0 && have_period > 0) {
    return conflicting("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set");
  }
  if (nano_cpus > 0 && have_quota > 0) {
    return conflicting("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set");
  }
  if (period > 0 && have_nano_cpus > 0) {
    return conflicting("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set");
  }
  if (quota > 0 && have_nano_cpus > 0) {
    return conflicting("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set");
  }
  BERTH_TRY(std::int64_t memory, get_int(update, "Memory", kBody));
  BERTH_TRY(std::int64_t swap, get_int(update, "MemorySwap", kBody));
  BERTH_TRY(std::int64_t have_swap, get_int(hc, "MemorySwap", "HostConfig"));
  if (memory != 0 && have_swap != 0 && memory > have_swap && swap == 0) {
    return conflicting(
        "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same "
        "time");
  }

  for (const char* key : {"BlkioWeight", "CpuShares", "NanoCpus", "CpuPeriod", "CpuQuota", "Memory", "MemorySwap",
                          "MemoryReservation", "CpuRealtimePeriod", "CpuRealtimeRuntime"}) {
    BERTH_TRY(std::int64_t v, get_int(update, key, kBody));
    if (v != 0) hc[key] = v;
  }
  for (const char* key : {"CpusetCpus", "CpusetMems"}) {
    BERTH_TRY(std::string v, get_string(update, key, kBody));
    if (!v.empty()) hc[key] = v;
  }
  if (detail::has(update, "PidsLimit")) hc["PidsLimit"] = update.at("PidsLimit");

  BERTH_TRY(json::object policy, detail::get_object(update, "RestartPolicy", kBody));
  BERTH_TRY(std::string policy_name, get_string(policy, "Name", "RestartPolicy"));
  if (!policy_name.empty()) {
    BERTH_TRY(bool auto_remove, detail::get_bool(hc, "AutoRemove", "HostConfig"));
    if (auto_remove && policy_name != "no") {
      return conflicting("Restart policy cannot be updated because AutoRemove is enabled for the container");
    }
    hc["RestartPolicy"] = policy;
  }

  // What the cgroup gets: the fields the body sets, as create converts them,
  // plus the "unlimited" values create has no use for.
  BERTH_TRY(json::object resources, detail::linux_resources(update));
  if (swap == -1) {
    json::value& m = resources["memory"];
    if (!m.is_object()) m = json::object{};
    m.as_object()["swap"] = -1;
  }
  if (pids && *pids <= 0) resources["pids"] = json::object{{"limit", -1}};
  return resources;
}

}  // namespace berth::core::container
