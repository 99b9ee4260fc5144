// Create-time defaults and checks of dockerd (daemon/daemon_unix.go
// adaptContainerSettings, verifyPlatformContainerResources,
// verifyPlatformContainerSettings, parseSecurityOpt), and the HostConfig ->
// OCI resources/rlimits conversion. Messages are Docker's, capitals and all,
// because clients and scripts match on them.
#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <cctype>
#include <charconv>
#include <set>

#include "berth/core/container/oci_spec.hpp"
#include "berth/core/log.hpp"
#include "spec_internal.hpp"
#include "spec_json.hpp"

namespace berth::core::container {
namespace json = boost::json;
using detail::get_int;
using detail::get_opt_int;
using detail::get_string;
using detail::invalid;

namespace {

constexpr std::int64_t kMinMemory = 6291456;        // linuxMinMemory: startup overhead
constexpr std::int64_t kDefaultShmSize = 67108864;  // 64 MiB
constexpr std::string_view kHC = "HostConfig";

bool is_container_mode(std::string_view mode) {
  return mode.starts_with("container:") && mode.size() > std::string_view("container:").size();
}

// Docker's parsers.ParseUintList ("0-3,5"); nullopt on a malformed list.
std::optional<std::set<long>> parse_uint_list(std::string_view list) {
  std::set<long> out;
  if (list.empty()) return out;
  auto number = [](std::string_view s) -> std::optional<long> {
    long v = -1;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
    return v;
  };
  while (true) {
    const auto comma = list.find(',');
    const std::string_view part = list.substr(0, comma);
    const auto dash = part.find('-');
    if (dash == std::string_view::npos) {
      auto v = number(part);
      if (!v) return std::nullopt;
      out.insert(*v);
    } else {
      auto lo = number(part.substr(0, dash)), hi = number(part.substr(dash + 1));
      if (!lo || !hi || *hi < *lo) return std::nullopt;
      // A range the size of the CPU limit, not of a typo such as 0-99999999.
      if (*hi - *lo > 1 << 16) return std::nullopt;
      for (long i = *lo; i <= *hi; ++i) out.insert(i);
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

// sysInfo.IsCpusetCpusAvailable / IsCpusetMemsAvailable.
Result<void> check_cpuset(const std::string& requested, const std::string& available,
                          std::string_view what, std::string_view unavailable) {
  if (requested.empty()) return ok();
  auto want = parse_uint_list(requested);
  if (!want) {
    return invalid("Invalid value " + requested + " for cpuset " + std::string(what) +
                   ": invalid format: " + requested);
  }
  const auto have = parse_uint_list(available).value_or(std::set<long>{});
  for (long v : *want) {
    if (!have.contains(v)) {
      return invalid(std::string(unavailable) + " - requested " + requested +
                     ", available: " + available);
    }
  }
  return ok();
}

// `update`: the body of docker update, whose zero fields keep the
// container's values (so a swap limit alone is fine there).
Result<void> verify_resources(json::object& hc, const SpecHost& host,
                              std::vector<std::string>& warnings, bool update = false) {
  BERTH_TRY(std::int64_t memory, get_int(hc, "Memory", kHC));
  BERTH_TRY(std::int64_t swap, get_int(hc, "MemorySwap", kHC));
  BERTH_TRY(std::int64_t reservation, get_int(hc, "MemoryReservation", kHC));
  BERTH_TRY(auto swappiness_field, get_opt_int(hc, "MemorySwappiness", kHC));
  // -1 (and null) is "unset"; any other negative value is an error below.
  bool has_swappiness = swappiness_field.has_value() && *swappiness_field != -1;
  const std::int64_t swappiness = swappiness_field.value_or(-1);
  if (!has_swappiness) hc["MemorySwappiness"] = nullptr;
  if (memory != 0 && memory < kMinMemory) return invalid("Minimum memory limit allowed is 6MB");
  if (memory > 0 && swap != -1 && !host.swap_limit) {
    warnings.emplace_back(
        "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory "
        "limited without swap.");
    hc["MemorySwap"] = swap = -1;
  }
  if (memory > 0 && swap > 0 && swap < memory) {
    return invalid("Minimum memoryswap limit should be larger than memory limit, see usage.");
  }
  if (memory == 0 && swap > 0 && !update) {
    return invalid("You should always set the Memory limit when using Memoryswap limit, see usage");
  }
  if (has_swappiness && host.cgroup_version == 2) {
    warnings.emplace_back(
        "Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. "
        "Memory swappiness discarded.");
    hc["MemorySwappiness"] = nullptr;
    has_swappiness = false;
  }
  if (has_swappiness && (swappiness < 0 || swappiness > 100)) {
    return invalid("Invalid value: " + std::to_string(swappiness) +
                   ", valid memory swappiness range is 0-100");
  }
  if (reservation > 0 && reservation < kMinMemory)
    return invalid("Minimum memory reservation allowed is 6MB");
  if (memory > 0 && reservation > 0 && memory < reservation) {
    return invalid("Minimum memory limit can not be less than memory reservation limit, see usage");
  }
  BERTH_TRY(std::int64_t kernel_memory, get_int(hc, "KernelMemory", kHC));
  if (kernel_memory > 0) {
    // Deprecated by the kernel since 5.4 and absent on cgroup v2.
    warnings.emplace_back(
        "Your kernel does not support kernel memory limit capabilities or the cgroup is not "
        "mounted. Limitation discarded.");
    hc["KernelMemory"] = 0;
  }
  BERTH_TRY(auto oom_kill_disable, detail::get_opt_bool(hc, "OomKillDisable", kHC));
  if (oom_kill_disable && *oom_kill_disable && host.cgroup_version == 2) {
    warnings.emplace_back("Your kernel does not support OomKillDisable. OomKillDisable discarded.");
    hc["OomKillDisable"] = false;
  } else if (oom_kill_disable && *oom_kill_disable && memory == 0) {
    warnings.emplace_back(
        "OOM killer is disabled for the container, but no memory limit is set, this can result in "
        "the system running out of resources.");
  }

  BERTH_TRY(std::int64_t nano_cpus, get_int(hc, "NanoCpus", kHC));
  BERTH_TRY(std::int64_t period, get_int(hc, "CpuPeriod", kHC));
  BERTH_TRY(std::int64_t quota, get_int(hc, "CpuQuota", kHC));
  BERTH_TRY(std::int64_t shares, get_int(hc, "CpuShares", kHC));
  if (nano_cpus > 0 && period > 0)
    return invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (nano_cpus > 0 && quota > 0)
    return invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  if (nano_cpus < 0 || nano_cpus > static_cast<std::int64_t>(host.ncpu) * 1000000000) {
    const auto n = std::to_string(host.ncpu);
    return invalid("Range of CPUs is from 0.01 to " + n + ".00, as there are only " + n +
                   " CPUs available");
  }
  if (shares < 0) return invalid("shares: invalid argument");
  if (period != 0 && (period < 1000 || period > 1000000)) {
    return invalid(
        "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  }
  if (quota > 0 && quota < 1000)
    return invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)");
  BERTH_TRY(std::int64_t cpu_percent, get_int(hc, "CpuPercent", kHC));
  if (cpu_percent > 0) {
    warnings.emplace_back("linux does not support CPU percent. Percent discarded.");
    hc["CpuPercent"] = 0;
  }
  BERTH_TRY(std::string cpus, get_string(hc, "CpusetCpus", kHC));
  BERTH_TRY(check_cpuset(cpus, host.cpuset_cpus, "cpus", "Requested CPUs are not available"));
  BERTH_TRY(std::string mems, get_string(hc, "CpusetMems", kHC));
  BERTH_TRY(
      check_cpuset(mems, host.cpuset_mems, "mems", "Requested memory nodes are not available"));

  BERTH_TRY(std::int64_t blkio_weight, get_int(hc, "BlkioWeight", kHC));
  if (blkio_weight > 0 && (blkio_weight < 10 || blkio_weight > 1000)) {
    return invalid("Range of blkio weight is from 10 to 1000");
  }
  BERTH_TRY(std::int64_t io_bw, get_int(hc, "IOMaximumBandwidth", kHC));
  BERTH_TRY(std::int64_t io_iops, get_int(hc, "IOMaximumIOps", kHC));
  if (io_bw != 0 || io_iops != 0) {
    return invalid(
        "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps");
  }
  BERTH_TRY(get_opt_int(hc, "PidsLimit", kHC));
  return ok();
}

Result<void> verify_modes(const json::object& hc) {
  BERTH_TRY(std::string ipc, get_string(hc, "IpcMode", kHC));
  static constexpr std::array<std::string_view, 5> kIpc = {"", "none", "private", "shareable",
                                                           "host"};
  if (std::find(kIpc.begin(), kIpc.end(), ipc) == kIpc.end() && !is_container_mode(ipc)) {
    return invalid("invalid IPC mode: " + ipc);
  }
  BERTH_TRY(std::string pid, get_string(hc, "PidMode", kHC));
  if (!pid.empty() && pid != "host" && !is_container_mode(pid))
    return invalid("invalid PID mode: " + pid);
  BERTH_TRY(std::string uts, get_string(hc, "UTSMode", kHC));
  if (!uts.empty() && uts != "host") return invalid("invalid UTS mode: " + uts);
  BERTH_TRY(std::string cgroupns, get_string(hc, "CgroupnsMode", kHC));
  if (!cgroupns.empty() && cgroupns != "host" && cgroupns != "private") {
    return invalid("invalid cgroup namespace mode: " + cgroupns);
  }
  BERTH_TRY(std::string net, get_string(hc, "NetworkMode", kHC));
  if (net.starts_with("container:") && !is_container_mode(net)) {
    return invalid("invalid network mode: invalid container format container:<name|id>");
  }
  BERTH_TRY(std::int64_t oom_score_adj, get_int(hc, "OomScoreAdj", kHC));
  if (oom_score_adj < -1000 || oom_score_adj > 1000) {
    return invalid("Invalid value " + std::to_string(oom_score_adj) +
                   ", range for oom score adj is [-1000, 1000]");
  }
  return ok();
}

// Docker's container.ValidateRestartPolicy, and no restart policy with
// AutoRemove (the daemon would remove what it is to restart).
Result<void> verify_restart_policy(const json::object& hc) {
  constexpr std::string_view kWhere = "HostConfig.RestartPolicy";
  BERTH_TRY(json::object policy, detail::get_object(hc, "RestartPolicy", kHC));
  BERTH_TRY(std::string name, get_string(policy, "Name", kWhere));
  BERTH_TRY(std::int64_t max, get_int(policy, "MaximumRetryCount", kWhere));
  if (name == "always" || name == "unless-stopped" || name == "no") {
    if (max != 0) {
      return invalid(std::string("invalid restart policy: maximum retry count can only be used with 'on-failure'") +
                     (max < 0 ? " and cannot be negative" : ""));
    }
  } else if (name == "on-failure") {
    if (max < 0) return invalid("invalid restart policy: maximum retry count cannot be negative");
  } else if (!name.empty()) {
    // Before v25 an empty name was the default: still accepted.
    return invalid("invalid restart policy: unknown policy '" + name +
                   "'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
  }
  BERTH_TRY(bool auto_remove, detail::get_bool(hc, "AutoRemove", kHC));
  if (auto_remove && !name.empty() && name != "no") {
    return invalid("can't create 'AutoRemove' container with restart policy");
  }
  return ok();
}

Result<void> verify_hostname(const std::string& hostname) {
  // HOST_NAME_MAX; sethostname(2) would fail at start.
  if (hostname.size() > 64) return invalid("invalid hostname format: " + hostname);
  return ok();
}

}  // namespace

namespace detail {

HostNamespaces host_namespaces(const json::object& hc) {
  auto mode = [&hc](std::string_view key) {
    auto r = get_string(hc, key, kHC);
    return r ? r.value() : std::string();
  };
  return {mode("NetworkMode") == "host", mode("IpcMode") == "host", mode("UTSMode") == "host",
          mode("PidMode") == "host"};
}

Result<void> validate_sysctls(const json::object& sysctls, const HostNamespaces& shared) {
  static constexpr std::array<std::string_view, 8> kIpcSysctls = {
      "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  for (const auto& [key, value] : sysctls) {
    const std::string name(key);
    if (!value.is_string()) return invalid("HostConfig.Sysctls." + name + ": expected a string");
    const bool ipc = std::find(kIpcSysctls.begin(), kIpcSysctls.end(), name) != kIpcSysctls.end() ||
                     name.starts_with("fs.mqueue.");
    if (ipc) {
      if (shared.ipc)
        return invalid("sysctl " + go_quote(name) + " is not allowed in the hosts ipc namespace");
    } else if (name.starts_with("net.")) {
      if (shared.net)
        return invalid("sysctl " + go_quote(name) + " not allowed in host network namespace");
    } else if (name == "kernel.domainname" || name == "kernel.hostname") {
      if (shared.uts)
        return invalid("sysctl " + go_quote(name) + " is not allowed in the hosts uts namespace");
    } else {
      return invalid("sysctl " + go_quote(name) + " is not in a separate kernel namespace");
    }
  }
  return ok();
}

Result<SecurityOptions> parse_security_opts(const json::object& hc,
                                            bool default_no_new_privileges) {
  SecurityOptions out;
  out.no_new_privileges = default_no_new_privileges;
  BERTH_TRY(auto opts, detail::get_strings(hc, "SecurityOpt", kHC));
  for (const auto& opt : opts) {
    if (opt == "no-new-privileges") {
      out.no_new_privileges = true;
      continue;
    }
    if (opt == "disable") {
      out.labels.push_back(opt);
      continue;
    }
    auto sep = opt.find('=');
    if (sep == std::string::npos) {
      sep = opt.find(':');
      if (sep != std::string::npos) {
        logger("container")
            ->warn(
                "Security options with `:` as a separator are deprecated and will be completely "
                "unsupported in 17.04, use `=` instead.");
      }
    }
    if (sep == std::string::npos) return invalid("invalid --security-opt 1: " + go_quote(opt));
    const std::string key = opt.substr(0, sep), value = opt.substr(sep + 1);
    if (key == "label") {
      out.labels.push_back(value);
    } else if (key == "apparmor") {
      out.apparmor = value;
    } else if (key == "seccomp") {
      out.seccomp = value;
    } else if (key == "no-new-privileges") {
      // Go's strconv.ParseBool.
      static const std::set<std::string, std::less<>> kTrue = {"1",    "t",    "T",
                                                               "TRUE", "true", "True"};
      static const std::set<std::string, std::less<>> kFalse = {"0",     "f",     "F",
                                                                "FALSE", "false", "False"};
      if (kTrue.contains(value)) {
        out.no_new_privileges = true;
      } else if (kFalse.contains(value)) {
        out.no_new_privileges = false;
      } else {
        return invalid("invalid --security-opt 2: " + go_quote(opt));
      }
    } else {
      return invalid("invalid --security-opt 2: " + go_quote(opt));
    }
  }
  return out;
}

Result<json::object> linux_resources(const json::object& hc) {
  json::object memory;
  BERTH_TRY(std::int64_t limit, get_int(hc, "Memory", kHC));
  if (limit > 0) memory["limit"] = limit;
  BERTH_TRY(std::int64_t reservation, get_int(hc, "MemoryReservation", kHC));
  if (reservation > 0) memory["reservation"] = reservation;
  BERTH_TRY(std::int64_t swap, get_int(hc, "MemorySwap", kHC));
  if (swap > 0) memory["swap"] = swap;
  BERTH_TRY(auto swappiness, get_opt_int(hc, "MemorySwappiness", kHC));
  if (swappiness && *swappiness >= 0) memory["swappiness"] = *swappiness;
  BERTH_TRY(bool oom_kill_disable, detail::get_bool(hc, "OomKillDisable", kHC));
  if (oom_kill_disable) memory["disableOOMKiller"] = true;

  json::object cpu;
  BERTH_TRY(std::int64_t shares, get_int(hc, "CpuShares", kHC));
  if (shares > 0) cpu["shares"] = shares;
  BERTH_TRY(std::int64_t nano_cpus, get_int(hc, "NanoCpus", kHC));
  if (nano_cpus > 0) {
    // https://www.kernel.org/doc/Documentation/scheduler/sched-bwc.txt
    constexpr std::int64_t kPeriod = 100000;
    cpu["quota"] = nano_cpus * kPeriod / 1000000000;
    cpu["period"] = kPeriod;
  }
  BERTH_TRY(std::int64_t period, get_int(hc, "CpuPeriod", kHC));
  if (period != 0) cpu["period"] = period;
  BERTH_TRY(std::int64_t quota, get_int(hc, "CpuQuota", kHC));
  if (quota != 0) cpu["quota"] = quota;
  BERTH_TRY(std::string cpus, get_string(hc, "CpusetCpus", kHC));
  if (!cpus.empty()) cpu["cpus"] = cpus;
  BERTH_TRY(std::string mems, get_string(hc, "CpusetMems", kHC));
  if (!mems.empty()) cpu["mems"] = mems;

  json::object out;
  if (!memory.empty()) out["memory"] = std::move(memory);
  if (!cpu.empty()) out["cpu"] = std::move(cpu);
  BERTH_TRY(auto pids, get_opt_int(hc, "PidsLimit", kHC));
  if (pids && *pids > 0) out["pids"] = json::object{{"limit", *pids}};
  BERTH_TRY(std::int64_t blkio_weight, get_int(hc, "BlkioWeight", kHC));
  if (blkio_weight > 0) out["blockIO"] = json::object{{"weight", blkio_weight}};
  return out;
}

Result<json::array> rlimits(const json::object& hc, const json::object& default_ulimits) {
  static const std::set<std::string, std::less<>> kNames = {
      "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue", "nice",
      "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack"};
  json::array out;
  std::set<std::string, std::less<>> seen;
  // `fill_in`: a daemon default, used only for a name the container did not set.
  auto add = [&](const json::value& v, bool fill_in) -> Result<void> {
    if (!v.is_object()) return invalid("HostConfig.Ulimits: expected objects");
    const auto& ul = v.get_object();
    BERTH_TRY(std::string name, get_string(ul, "Name", "Ulimits[]"));
    if (!seen.insert(name).second && fill_in) return ok();
    if (!kNames.contains(name)) return invalid("invalid ulimit type: " + name);
    BERTH_TRY(std::int64_t soft, get_int(ul, "Soft", "Ulimits[]"));
    BERTH_TRY(std::int64_t hard, get_int(ul, "Hard", "Ulimits[]"));
    // -1 is unlimited: RLIM_INFINITY once cast, as Docker does.
    const auto usoft = static_cast<std::uint64_t>(soft), uhard = static_cast<std::uint64_t>(hard);
    if (usoft > uhard) {
      return invalid("ulimit soft limit must be less than or equal to hard limit: " +
                     std::to_string(soft) + " > " + std::to_string(hard));
    }
    std::string type = "RLIMIT_" + name;
    std::transform(type.begin(), type.end(), type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    out.push_back(json::object{{"type", type}, {"hard", uhard}, {"soft", usoft}});
    return ok();
  };
  BERTH_TRY(json::array ulimits, detail::get_array(hc, "Ulimits", kHC));
  for (const auto& v : ulimits) {
    BERTH_TRY(add(v, false));
  }
  for (const auto& entry : default_ulimits) {
    BERTH_TRY(add(entry.value(), true));
  }
  return out;
}

}  // namespace detail

Result<std::vector<std::string>> verify_update(json::object& update, const SpecHost& host) {
  std::vector<std::string> warnings;
  BERTH_TRY(verify_resources(update, host, warnings, true));
  BERTH_TRY(verify_restart_policy(update));
  return warnings;
}

std::span<const std::string_view> default_masked_paths() {
  static constexpr std::array<std::string_view, 12> kMasked = {
      "/proc/asound",     "/proc/acpi",        "/proc/interrupts",
      "/proc/kcore",      "/proc/keys",        "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
      "/proc/scsi",       "/sys/firmware",     "/sys/devices/virtual/powercap"};
  return kMasked;
}

std::span<const std::string_view> default_readonly_paths() {
  static constexpr std::array<std::string_view, 5> kReadonly = {
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  return kReadonly;
}

Result<std::vector<std::string>> adapt_create_request(json::object& config, json::object& hc,
                                                      std::string_view id, const SpecHost& host) {
  std::vector<std::string> warnings;
  BERTH_TRY(std::string hostname, get_string(config, "Hostname", "Config"));
  BERTH_TRY(std::string network, get_string(hc, "NetworkMode", kHC));
  if (hostname.empty() && network == "host") hostname = host.hostname;
  if (hostname.empty()) hostname = std::string(id.substr(0, 12));
  BERTH_TRY(verify_hostname(hostname));
  config["Hostname"] = hostname;

  BERTH_TRY(std::int64_t shm_size, get_int(hc, "ShmSize", kHC));
  if (shm_size < 0) return invalid("SHM size can not be less than 0");
  if (shm_size == 0) hc["ShmSize"] = kDefaultShmSize;
  BERTH_TRY(std::int64_t memory, get_int(hc, "Memory", kHC));
  BERTH_TRY(std::int64_t swap, get_int(hc, "MemorySwap", kHC));
  // By default, MemorySwap is twice the memory: as much swap as memory.
  if (memory > 0 && swap == 0) hc["MemorySwap"] = memory * 2;
  if (!detail::has(hc, "OomKillDisable")) hc["OomKillDisable"] = false;
  BERTH_TRY(std::string ipc, get_string(hc, "IpcMode", kHC));
  if (ipc.empty()) hc["IpcMode"] = "private";
  BERTH_TRY(std::string cgroupns, get_string(hc, "CgroupnsMode", kHC));
  if (cgroupns.empty()) {
    // A cgroup namespace by default only on v2, where the container then sees
    // its own cgroup as the root (Docker's rule).
    BERTH_TRY(bool privileged, detail::get_bool(hc, "Privileged", kHC));
    hc["CgroupnsMode"] = host.cgroup_version == 2 && !privileged ? "private" : "host";
  }

  BERTH_TRY(verify_resources(hc, host, warnings));
  BERTH_TRY(verify_modes(hc));
  BERTH_TRY(verify_restart_policy(hc));
  BERTH_TRY(auto cap_add, detail::get_strings(hc, "CapAdd", kHC));
  BERTH_TRY(auto cap_drop, detail::get_strings(hc, "CapDrop", kHC));
  BERTH_TRY(tweak_capabilities(cap_add, cap_drop, false, host.capabilities));
  BERTH_TRY(detail::parse_security_opts(hc, false));
  BERTH_TRY(parse_mount_points(hc, false));
  BERTH_TRY(detail::rlimits(hc, {}));
  BERTH_TRY(json::object sysctls, detail::get_object(hc, "Sysctls", kHC));
  BERTH_TRY(detail::validate_sysctls(sysctls, detail::host_namespaces(hc)));
  return warnings;
}

}  // namespace berth::core::container
