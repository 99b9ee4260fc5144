#include "berth/runtime/cgroups.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string_view>
#include <thread>

#include "device_rules.hpp"
#include "json_fields.hpp"
#include "sys.hpp"

namespace berth::runtime::cgroups {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using detail::Errc;
using detail::Error;
using detail::read_file;
using detail::split;
using detail::sys_error;
using detail::trim;
using detail::try_read;

// --- the host's hierarchies --------------------------------------------------

struct Host {
  Layout layout = Layout::v2;
  std::vector<Hierarchy> all;  // v1 first, the v2 mount last
  const Hierarchy* unified() const {
    return !all.empty() && all.back().unified ? &all.back() : nullptr;
  }
};

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string_view oct = s.substr(i + 1, 3);
      if (oct.size() == 3 && oct.find_first_not_of("01234567") == std::string_view::npos) {
        out += static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

Host discover() {
  Host host;
  std::set<std::string> subsystems;
  if (auto text = try_read("/proc/cgroups")) {
    for (const std::string& line : split(*text, '\n')) {
      if (line.empty() || line[0] == '#') continue;
      auto w = words(line);
      if (!w.empty()) subsystems.insert(w[0]);
    }
  }
  std::optional<Hierarchy> unified;
  std::set<std::vector<std::string>> seen;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    const auto f = words(line);
    const auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
    const std::string& type = *(dash + 1);
    if (f[3] != "/") continue;  // a bind of a sub-cgroup, not the hierarchy's root
    if (type == "cgroup2" && !unified) {
      unified = Hierarchy{unescape(f[4]), {}, true};
    } else if (type == "cgroup") {
      Hierarchy h{unescape(f[4]), {}, false};
      for (const std::string& opt : split(*(dash + 3), ',')) {
        if (subsystems.count(opt) != 0 || opt.starts_with("name=")) h.controllers.push_back(opt);
      }
      std::vector<std::string> key = h.controllers;
      std::sort(key.begin(), key.end());
      if (!h.controllers.empty() && seen.insert(key).second) host.all.push_back(std::move(h));
    }
  }
  const bool have_v1 = !host.all.empty();
  if (unified) {
    if (auto text = try_read(unified->mount_point + "/cgroup.controllers")) {
      unified->controllers = words(*text);
    }
    host.all.push_back(std::move(*unified));
  }
  host.layout = have_v1 ? (unified ? Layout::hybrid : Layout::v1) : Layout::v2;
  return host;
}

const Host& host() {
  static const Host h = discover();
  return h;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The hierarchy whose files control `controller`: a v1 one, else the v2
// mount when its root offers it.
const Hierarchy* hierarchy_for(const Host& h, std::string_view controller) {
  for (const Hierarchy& hh : h.all) {
    if (contains(hh.controllers, controller)) return &hh;
  }
  return nullptr;
}

Result<std::string> clean_path(const std::string& path) {
  std::string out;
  for (const std::string& part : split(path, '/')) {
    if (part.empty()) continue;
    if (part == "." || part == "..") {
      return Error{Errc::invalid_argument, "invalid cgroup path \"" + path + "\""};
    }
    out += "/" + part;
  }
  if (out.empty()) return Error{Errc::invalid_argument, "invalid cgroup path \"" + path + "\""};
  return out;
}

Result<const Host*> checked_host() {
  const Host& h = host();
  if (h.all.empty()) return Error{Errc::failed_precondition, "no cgroup filesystem is mounted"};
  return &h;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<void> put(const std::string& dir, const std::string& file, const std::string& value) {
  return detail::write_existing(dir + "/" + file, value);
}

std::optional<std::uint64_t> read_number(const std::string& path) {
  auto text = try_read(path);
  if (!text) return std::nullopt;
  const std::string_view v = trim(*text);
  if (v == "max") return std::numeric_limits<std::uint64_t>::max();
  try {
    return std::stoull(std::string(v));
  } catch (...) {
    return std::nullopt;
  }
}

// The value of `key` in a "key value" per line file (memory.stat, cpu.stat).
std::optional<std::uint64_t> keyed(const std::string& text, std::string_view key) {
  for (const std::string& line : split(text, '\n')) {
    const auto w = words(line);
    if (w.size() >= 2 && w[0] == key) {
      try {
        return std::stoull(w[1]);
      } catch (...) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> keyed_file(const std::string& path, std::string_view key) {
  auto text = try_read(path);
  if (!text) return std::nullopt;
  return keyed(*text, key);
}

// --- resources ---------------------------------------------------------------

// Where one controller's files are for the cgroup being configured.
struct Target {
  const Host& host;
  std::string path;

  struct Where {
    std::string dir;
    bool v2 = false;
  };
  Result<Where> where(std::string_view controller) const {
    const Hierarchy* h = hierarchy_for(host, controller);
    if (h == nullptr) {
      return Error{Errc::failed_precondition,
                   "cgroup controller " + std::string(controller) + " is not available"};
    }
    return Where{h->mount_point + path, h->unified};
  }
};

std::string limit_text(std::int64_t v, bool v2) {
  if (v < 0) return v2 ? "max" : "-1";
  return std::to_string(v);
}

Result<void> apply_memory(const Target& t, const json::object& m) {
  const std::string at = "linux.resources.memory";
  BERTH_TRY(auto limit, detail::int_field(m, "limit", at));
  BERTH_TRY(auto swap, detail::int_field(m, "swap", at));
  BERTH_TRY(auto reservation, detail::int_field(m, "reservation", at));
  BERTH_TRY(auto kernel, detail::int_field(m, "kernel", at));
  BERTH_TRY(auto kernel_tcp, detail::int_field(m, "kernelTCP", at));
  BERTH_TRY(auto swappiness, detail::uint_field(m, "swappiness", at));
  BERTH_TRY(auto disable_oom, detail::bool_field(m, "disableOOMKiller", at));
  std::int64_t mem = limit.value_or(0), sw = swap.value_or(0);
  const std::int64_t res = reservation.value_or(0);
  if (mem == 0 && sw == 0 && res == 0 && kernel.value_or(0) == 0 && kernel_tcp.value_or(0) == 0 &&
      !swappiness && !disable_oom.value_or(false)) {
    return core::ok();
  }
  BERTH_TRY(auto w, t.where("memory"));
  if (w.v2) {
    if (mem != 0) {
      BERTH_TRY(put(w.dir, "memory.max", limit_text(mem, true)));
    }
    // OCI's swap is memory+swap; v2's memory.swap.max is the swap alone.
    if (sw != 0 && exists(w.dir + "/memory.swap.max")) {
      std::string value = "max";
      if (sw > 0) {
        if (mem <= 0) {
          return Error{Errc::invalid_argument, "unable to set swap limit without memory limit"};
        }
        if (sw < mem) {
          return Error{Errc::invalid_argument, "memory+swap limit should be >= memory limit"};
        }
        value = std::to_string(sw - mem);
      }
      BERTH_TRY(put(w.dir, "memory.swap.max", value));
    }
    if (res != 0) {
      BERTH_TRY(put(w.dir, "memory.low", limit_text(res, true)));
    }
    return core::ok();
  }
  if (mem == -1 && sw == 0) sw = -1;
  if (!exists(w.dir + "/memory.memsw.limit_in_bytes")) sw = 0;  // no swap accounting
  if (mem != 0 && sw != 0) {
    // The kernel wants limit <= memsw at every moment: raise memsw first when
    // growing, lower the limit first when shrinking.
    const auto current = read_number(w.dir + "/memory.limit_in_bytes").value_or(0);
    if (sw == -1 || current < static_cast<std::uint64_t>(sw)) {
      BERTH_TRY(put(w.dir, "memory.memsw.limit_in_bytes", limit_text(sw, false)));
      BERTH_TRY(put(w.dir, "memory.limit_in_bytes", limit_text(mem, false)));
    } else {
      BERTH_TRY(put(w.dir, "memory.limit_in_bytes", limit_text(mem, false)));
      BERTH_TRY(put(w.dir, "memory.memsw.limit_in_bytes", limit_text(sw, false)));
    }
  } else if (mem != 0) {
    BERTH_TRY(put(w.dir, "memory.limit_in_bytes", limit_text(mem, false)));
  } else if (sw != 0) {
    BERTH_TRY(put(w.dir, "memory.memsw.limit_in_bytes", limit_text(sw, false)));
  }
  if (res != 0) {
    BERTH_TRY(put(w.dir, "memory.soft_limit_in_bytes", limit_text(res, false)));
  }
  // Kernel memory limits are deprecated; newer kernels refuse them.
  if (kernel.value_or(0) != 0)
    (void)put(w.dir, "memory.kmem.limit_in_bytes", std::to_string(*kernel));
  if (kernel_tcp.value_or(0) != 0) {
    BERTH_TRY(put(w.dir, "memory.kmem.tcp.limit_in_bytes", limit_text(*kernel_tcp, false)));
  }
  if (swappiness) {
    if (*swappiness > 100) {
      return Error{Errc::invalid_argument,
                   "invalid memory swappiness " + std::to_string(*swappiness) + " (0-100)"};
    }
    BERTH_TRY(put(w.dir, "memory.swappiness", std::to_string(*swappiness)));
  }
  if (disable_oom.value_or(false)) {
    BERTH_TRY(put(w.dir, "memory.oom_control", "1"));
  }
  return core::ok();
}

Result<void> apply_cpu(const Target& t, const json::object& c) {
  const std::string at = "linux.resources.cpu";
  BERTH_TRY(auto shares, detail::uint_field(c, "shares", at));
  BERTH_TRY(auto quota, detail::int_field(c, "quota", at));
  BERTH_TRY(auto period, detail::uint_field(c, "period", at));
  BERTH_TRY(auto burst, detail::uint_field(c, "burst", at));
  BERTH_TRY(auto rt_runtime, detail::int_field(c, "realtimeRuntime", at));
  BERTH_TRY(auto rt_period, detail::uint_field(c, "realtimePeriod", at));
  BERTH_TRY(auto idle, detail::int_field(c, "idle", at));
  BERTH_TRY(auto cpus, detail::string_field(c, "cpus", at));
  BERTH_TRY(auto mems, detail::string_field(c, "mems", at));

  if (cpus.value_or("") != "" || mems.value_or("") != "") {
    BERTH_TRY(auto w, t.where("cpuset"));
    if (cpus.value_or("") != "") {
      BERTH_TRY(put(w.dir, "cpuset.cpus", *cpus));
    }
    if (mems.value_or("") != "") {
      BERTH_TRY(put(w.dir, "cpuset.mems", *mems));
    }
  }
  const std::uint64_t sh = shares.value_or(0), per = period.value_or(0);
  const std::int64_t q = quota.value_or(0);
  if (sh == 0 && per == 0 && q == 0 && !burst && rt_runtime.value_or(0) == 0 &&
      rt_period.value_or(0) == 0 && !idle) {
    return core::ok();
  }
  BERTH_TRY(auto w, t.where("cpu"));
  if (w.v2) {
    if (sh != 0) {
      // runc's mapping of shares [2, 262144] onto weight [1, 10000].
      const std::uint64_t s = std::clamp<std::uint64_t>(sh, 2, 262144);
      BERTH_TRY(put(w.dir, "cpu.weight", std::to_string(1 + ((s - 2) * 9999) / 262142)));
    }
    if (q != 0 || per != 0) {
      std::string cur_quota = "max", cur_period = "100000";
      if (auto text = try_read(w.dir + "/cpu.max")) {
        const auto f = words(*text);
        if (f.size() == 2) cur_quota = f[0], cur_period = f[1];
      }
      const std::string value = (q != 0 ? (q > 0 ? std::to_string(q) : "max") : cur_quota) + " " +
                                (per != 0 ? std::to_string(per) : cur_period);
      BERTH_TRY(put(w.dir, "cpu.max", value));
    }
    if (burst) {
      BERTH_TRY(put(w.dir, "cpu.max.burst", std::to_string(*burst)));
    }
    if (idle) {
      BERTH_TRY(put(w.dir, "cpu.idle", std::to_string(*idle)));
    }
    if (rt_runtime.value_or(0) != 0 || rt_period.value_or(0) != 0) {
      return Error{Errc::unsupported, "realtime cpu limits are not supported on cgroup v2"};
    }
    return core::ok();
  }
  if (sh != 0) {
    BERTH_TRY(put(w.dir, "cpu.shares", std::to_string(sh)));
  }
  if (per != 0 || q != 0) {
    // A new period may be refused against the current quota and the other
    // way round; try both orders.
    auto write_both = [&](bool period_first) -> Result<void> {
      if (period_first && per != 0) {
        BERTH_TRY(put(w.dir, "cpu.cfs_period_us", std::to_string(per)));
      }
      if (q != 0) {
        BERTH_TRY(put(w.dir, "cpu.cfs_quota_us", std::to_string(q)));
      }
      if (!period_first && per != 0) {
        BERTH_TRY(put(w.dir, "cpu.cfs_period_us", std::to_string(per)));
      }
      return core::ok();
    };
    if (!write_both(true)) {
      BERTH_TRY(write_both(false));
    }
  }
  if (burst) {
    BERTH_TRY(put(w.dir, "cpu.cfs_burst_us", std::to_string(*burst)));
  }
  if (rt_period.value_or(0) != 0) {
    BERTH_TRY(put(w.dir, "cpu.rt_period_us", std::to_string(*rt_period)));
  }
  if (rt_runtime.value_or(0) != 0) {
    BERTH_TRY(put(w.dir, "cpu.rt_runtime_us", std::to_string(*rt_runtime)));
  }
  if (idle) {
    BERTH_TRY(put(w.dir, "cpu.idle", std::to_string(*idle)));
  }
  return core::ok();
}

Result<void> apply_pids(const Target& t, const json::object& p) {
  BERTH_TRY(auto limit, detail::int_field(p, "limit", "linux.resources.pids"));
  if (limit.value_or(0) == 0) return core::ok();
  BERTH_TRY(auto w, t.where("pids"));
  return put(w.dir, "pids.max", *limit < 0 ? "max" : std::to_string(*limit));
}

std::string device_key(const json::object& o) {
  auto num = [&](const char* k) {
    const json::value* v = o.if_contains(k);
    return v != nullptr && (v->is_int64() || v->is_uint64())
               ? std::to_string(v->to_number<std::int64_t>())
               : std::string("0");
  };
  return num("major") + ":" + num("minor");
}

Result<void> apply_block_io(const Target& t, const json::object& b) {
  const std::string at = "linux.resources.blockIO";
  BERTH_TRY(auto weight, detail::uint_field(b, "weight", at));
  BERTH_TRY(auto leaf_weight, detail::uint_field(b, "leafWeight", at));
  BERTH_TRY(auto weight_devices, detail::array_field(b, "weightDevice", at));
  struct Throttle {
    const char* key;
    const char* v1_file;
    const char* v2_key;
  };
  static const Throttle throttles[] = {
      {"throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"},
      {"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"},
      {"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"},
      {"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops"},
  };
  bool any = weight.value_or(0) != 0 || leaf_weight.value_or(0) != 0 ||
             (weight_devices != nullptr && !weight_devices->empty());
  for (const Throttle& th : throttles) {
    const json::value* v = detail::field(b, th.key);
    any = any || (v != nullptr && v->is_array() && !v->as_array().empty());
  }
  if (!any) return core::ok();

  const bool v2 = hierarchy_for(t.host, "blkio") == nullptr;
  BERTH_TRY(auto w, t.where(v2 ? "io" : "blkio"));
  // BFQ's weight file takes the v1 range (1-1000); io.weight is 1-10000.
  const bool bfq = exists(w.dir + (v2 ? "/io.bfq.weight" : "/blkio.bfq.weight"));
  const std::string weight_file =
      v2 ? (bfq ? "io.bfq.weight" : "io.weight") : (bfq ? "blkio.bfq.weight" : "blkio.weight");
  auto weight_value = [&](std::uint64_t v) {
    if (!v2 || bfq) return std::to_string(v);
    return std::to_string(1 + (std::clamp<std::uint64_t>(v, 10, 1000) - 10) * 9999 / 990);
  };
  if (weight.value_or(0) != 0) {
    BERTH_TRY(put(w.dir, weight_file, weight_value(*weight)));
  }
  if (leaf_weight.value_or(0) != 0 && !v2) {
    BERTH_TRY(put(w.dir, "blkio.leaf_weight", std::to_string(*leaf_weight)));
  }
  if (weight_devices != nullptr) {
    for (const json::value& d : *weight_devices) {
      if (!d.is_object()) continue;
      BERTH_TRY(auto wd, detail::uint_field(d.as_object(), "weight", at + ".weightDevice"));
      if (!wd) continue;
      const std::string file =
          v2 ? weight_file : (bfq ? "blkio.bfq.weight_device" : "blkio.weight_device");
      BERTH_TRY(put(w.dir, file, device_key(d.as_object()) + " " + weight_value(*wd)));
    }
  }
  for (const Throttle& th : throttles) {
    BERTH_TRY(auto list, detail::array_field(b, th.key, at));
    if (list == nullptr) continue;
    for (const json::value& d : *list) {
      if (!d.is_object()) continue;
      BERTH_TRY(auto rate, detail::uint_field(d.as_object(), "rate", at + "." + th.key));
      const std::uint64_t r = rate.value_or(0);
      if (v2) {
        BERTH_TRY(put(w.dir, "io.max",
                      device_key(d.as_object()) + " " + th.v2_key + "=" +
                          (r == 0 ? std::string("max") : std::to_string(r))));
      } else {
        BERTH_TRY(put(w.dir, th.v1_file, device_key(d.as_object()) + " " + std::to_string(r)));
      }
    }
  }
  return core::ok();
}

Result<void> apply_hugetlb(const Target& t, const json::array& limits) {
  if (limits.empty()) return core::ok();
  BERTH_TRY(auto w, t.where("hugetlb"));
  for (const json::value& v : limits) {
    if (!v.is_object()) continue;
    const std::string at = "linux.resources.hugepageLimits";
    BERTH_TRY(auto size, detail::string_field(v.as_object(), "pageSize", at));
    BERTH_TRY(auto limit, detail::uint_field(v.as_object(), "limit", at));
    if (!size || !limit) continue;
    BERTH_TRY(put(w.dir, "hugetlb." + *size + (w.v2 ? ".max" : ".limit_in_bytes"),
                  std::to_string(*limit)));
  }
  return core::ok();
}

Result<void> apply_devices(const Target& t, const json::value& devices) {
  BERTH_TRY(auto rules, detail::parse_device_rules(devices));
  if (rules.empty()) return core::ok();
  rules = detail::with_runtime_devices(std::move(rules));
  if (const Hierarchy* v1 = hierarchy_for(t.host, "devices"); v1 != nullptr && !v1->unified) {
    const std::string dir = v1->mount_point + t.path;
    for (const detail::DeviceRule& rule : rules) {
      BERTH_TRY(
          put(dir, rule.allow ? "devices.allow" : "devices.deny", detail::v1_rule_line(rule)));
    }
    return core::ok();
  }
  const Hierarchy* unified = t.host.unified();
  if (unified == nullptr) {
    return Error{Errc::failed_precondition, "cgroup controller devices is not available"};
  }
  return detail::attach_device_filter(unified->mount_point + t.path, rules);
}

Result<void> apply_unified(const Target& t, const json::object& files) {
  const Hierarchy* unified = t.host.unified();
  if (unified == nullptr && !files.empty()) {
    return Error{Errc::failed_precondition, "linux.resources.unified needs a cgroup v2 mount"};
  }
  for (const auto& [key, value] : files) {
    if (key.find('/') != json::string_view::npos || !value.is_string()) {
      return Error{Errc::invalid_argument,
                   "linux.resources.unified: invalid entry \"" + std::string(key) + "\""};
    }
    BERTH_TRY(put(unified->mount_point + t.path, std::string(key), std::string(value.as_string())));
  }
  return core::ok();
}

Result<void> apply(const Host& h, const std::string& path, const json::value& resources) {
  if (resources.is_null()) return core::ok();
  if (!resources.is_object()) {
    return Error{Errc::invalid_argument, "linux.resources is not an object"};
  }
  const json::object& r = resources.as_object();
  const Target t{h, path};
  const std::string at = "linux.resources";
  BERTH_TRY(auto memory, detail::object_field(r, "memory", at));
  BERTH_TRY(auto cpu, detail::object_field(r, "cpu", at));
  BERTH_TRY(auto pids_obj, detail::object_field(r, "pids", at));
  BERTH_TRY(auto block_io, detail::object_field(r, "blockIO", at));
  BERTH_TRY(auto hugepages, detail::array_field(r, "hugepageLimits", at));
  BERTH_TRY(auto unified, detail::object_field(r, "unified", at));
  if (const json::value* devices = detail::field(r, "devices")) {
    BERTH_TRY(apply_devices(t, *devices));
  }
  if (memory != nullptr) {
    BERTH_TRY(apply_memory(t, *memory));
  }
  if (cpu != nullptr) {
    BERTH_TRY(apply_cpu(t, *cpu));
  }
  if (pids_obj != nullptr) {
    BERTH_TRY(apply_pids(t, *pids_obj));
  }
  if (block_io != nullptr) {
    BERTH_TRY(apply_block_io(t, *block_io));
  }
  if (hugepages != nullptr) {
    BERTH_TRY(apply_hugetlb(t, *hugepages));
  }
  if (unified != nullptr) {
    BERTH_TRY(apply_unified(t, *unified));
  }
  return core::ok();
}

// --- directories -------------------------------------------------------------

bool needs_hugetlb(const json::value& resources) {
  if (!resources.is_object()) return false;
  const json::value* h = resources.as_object().if_contains("hugepageLimits");
  return h != nullptr && h->is_array() && !h->as_array().empty();
}

// Enables `wanted` controllers (those offered) in cgroup.subtree_control of
// every ancestor of `path` on the v2 mount. Best effort: a parent holding
// processes refuses (EBUSY), and the resource write names what is missing.
void enable_controllers(const Hierarchy& unified, const std::string& path,
                        const std::vector<std::string>& wanted) {
  std::string dir = unified.mount_point;
  const auto parts = split(path.substr(1), '/');
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto offered = words(try_read(dir + "/cgroup.controllers").value_or(""));
    const auto enabled = words(try_read(dir + "/cgroup.subtree_control").value_or(""));
    for (const std::string& c : wanted) {
      if (contains(offered, c) && !contains(enabled, c)) {
        (void)put(dir, "cgroup.subtree_control", "+" + c);
      }
    }
    dir += "/" + parts[i];
  }
}

// mkdir -p of `path` below `root`, recording what it made. A v1 cpuset
// cgroup starts with empty cpus/mems, where no task may join: each level
// gets its parent's.
Result<void> make_cgroup_dirs(const Hierarchy& h, const std::string& path,
                              std::vector<std::string>& made) {
  const bool cpuset = !h.unified && contains(h.controllers, "cpuset");
  std::string dir = h.mount_point;
  for (const std::string& part : split(path.substr(1), '/')) {
    const std::string parent = dir;
    dir += "/" + part;
    if (::mkdir(dir.c_str(), 0755) == 0) {
      made.push_back(dir);
    } else if (errno != EEXIST) {
      return sys_error("create cgroup " + dir);
    }
    if (cpuset) {
      for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        const std::string mine(trim(try_read(dir + "/" + file).value_or("")));
        if (!mine.empty()) continue;
        BERTH_TRY(auto inherited, read_file(parent + "/" + file));
        BERTH_TRY(put(dir, file, std::string(trim(inherited))));
      }
    }
  }
  return core::ok();
}

void remove_made(const std::vector<std::string>& made) {
  for (auto it = made.rbegin(); it != made.rend(); ++it) ::rmdir(it->c_str());
}

// Every directory of the cgroup that exists (one per hierarchy).
std::vector<std::string> existing_dirs(const Host& h, const std::string& path) {
  std::vector<std::string> out;
  for (const Hierarchy& hh : h.all) {
    std::string dir = hh.mount_point + path;
    if (exists(dir)) out.push_back(std::move(dir));
  }
  return out;
}

void collect_pids(const std::string& dir, std::vector<pid_t>& out) {
  if (auto text = try_read(dir + "/cgroup.procs")) {
    for (const std::string& w : words(*text)) {
      try {
        out.push_back(static_cast<pid_t>(std::stol(w)));
      } catch (...) {
      }
    }
  }
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) collect_pids(it->path().string(), out);
  }
}

// rmdir of `dir` after its sub-cgroups; false with errno kept on failure.
bool remove_tree(const std::string& dir, int& err) {
  std::error_code ec;
  std::vector<std::string> children;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) children.push_back(it->path().string());
  }
  bool ok = true;
  for (const std::string& c : children) ok = remove_tree(c, err) && ok;
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return ok;
  err = errno;
  return false;
}

}  // namespace

Layout detect_layout() { return host().layout; }

const std::vector<Hierarchy>& hierarchies() { return host().all; }

Result<void> create(const std::string& path, const json::value& resources, pid_t pid) {
  BERTH_TRY(const std::string p, clean_path(path));
  BERTH_TRY(const Host* h, checked_host());
  std::vector<std::string> made;
  auto failed = [&](Error e) {
    remove_made(made);
    return std::move(e).wrap("create cgroup " + p);
  };
  for (const Hierarchy& hh : h->all) {
    if (hh.unified) {
      if (h->layout == Layout::v2) {
        enable_controllers(hh, p,
                           {"cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"});
      } else if (needs_hugetlb(resources) && hierarchy_for(*h, "hugetlb") == &hh) {
        enable_controllers(hh, p, {"hugetlb"});
      }
    }
    auto r = make_cgroup_dirs(hh, p, made);
    if (!r && !(hh.unified && h->layout == Layout::hybrid)) return failed(std::move(r).error());
  }
  if (auto r = apply(*h, p, resources); !r) return failed(std::move(r).error());
  if (pid > 0) {
    if (auto r = join(p, pid); !r) return failed(std::move(r).error());
  }
  return core::ok();
}

Result<void> update(const std::string& path, const json::value& resources) {
  BERTH_TRY(const std::string p, clean_path(path));
  BERTH_TRY(const Host* h, checked_host());
  if (auto r = apply(*h, p, resources); !r) return std::move(r).error().wrap("update cgroup " + p);
  return core::ok();
}

Result<void> join(const std::string& path, pid_t pid) {
  BERTH_TRY(const std::string p, clean_path(path));
  BERTH_TRY(const Host* h, checked_host());
  for (const Hierarchy& hh : h->all) {
    auto r = put(hh.mount_point + p, "cgroup.procs", std::to_string(pid));
    if (!r && !(hh.unified && h->layout == Layout::hybrid)) {
      return std::move(r).error().wrap("join cgroup " + p);
    }
  }
  return core::ok();
}

Result<void> freeze(const std::string& path, bool frozen) {
  BERTH_TRY(const std::string p, clean_path(path));
  BERTH_TRY(const Host* h, checked_host());
  const Hierarchy* v1 = hierarchy_for(*h, "freezer");
  const Hierarchy* unified = h->unified();
  std::string file, want;
  if (v1 != nullptr && !v1->unified) {
    BERTH_TRY(put(v1->mount_point + p, "freezer.state", frozen ? "FROZEN" : "THAWED"));
    file = v1->mount_point + p + "/freezer.state";
    want = frozen ? "FROZEN" : "THAWED";
  } else if (unified != nullptr) {
    BERTH_TRY(put(unified->mount_point + p, "cgroup.freeze", frozen ? "1" : "0"));
    file = unified->mount_point + p + "/cgroup.events";
    want = frozen ? "frozen 1" : "frozen 0";
  } else {
    return Error{Errc::failed_precondition, "cgroup controller freezer is not available"};
  }
  // Freezing is asynchronous (FREEZING / frozen 0 until every task stopped).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    BERTH_TRY(auto text, read_file(file));
    if (text.find(want) != std::string::npos) return core::ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return Error{Errc::unavailable,
                   "cgroup " + p + " did not become " + (frozen ? "frozen" : "thawed")};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Result<std::vector<pid_t>> pids(const std::string& path) {
  BERTH_TRY(const std::string p, clean_path(path));
  BERTH_TRY(const Host* h, checked_host());
  const Hierarchy* pick = hierarchy_for(*h, "pids");
  if (pick == nullptr) pick = hierarchy_for(*h, "memory");
  if (pick == nullptr) pick = &h->all.front();
  const std::string dir = pick->mount_point + p;
  if (!exists(dir)) return Error{Errc::not_found, "cgroup " + p + " does not exist"};
  std::vector<pid_t> out;
  collect_pids(dir, out);
  return out;
}

Result<void> remove(const std::string& path) {
  BERTH_TRY(const std::string p, clean_path(path));
  BERTH_TRY(const Host* h, checked_host());
  const std::vector<std::string> dirs = existing_dirs(*h, p);
  if (dirs.empty()) return core::ok();
  // Frozen tasks cannot die.
  if (const Hierarchy* f = hierarchy_for(*h, "freezer"); f != nullptr && !f->unified) {
    (void)put(f->mount_point + p, "freezer.state", "THAWED");
  }
  if (const Hierarchy* u = h->unified();
      u != nullptr && exists(u->mount_point + p + "/cgroup.freeze")) {
    (void)put(u->mount_point + p, "cgroup.freeze", "0");
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    std::vector<pid_t> left;
    for (const std::string& dir : dirs) collect_pids(dir, left);
    if (const Hierarchy* u = h->unified();
        u != nullptr && !left.empty() && exists(u->mount_point + p + "/cgroup.kill")) {
      (void)put(u->mount_point + p, "cgroup.kill", "1");
    }
    for (pid_t pid : left) ::kill(pid, SIGKILL);
    int err = 0;
    bool ok = true;
    for (const std::string& dir : dirs) ok = remove_tree(dir, err) && ok;
    if (ok) return core::ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return sys_error("remove cgroup " + p, err);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

namespace {

// The memory controller's count of OOM kills in the cgroup at `dir` of `m`.
std::optional<std::uint64_t> oom_kill_count(const Hierarchy& m, const std::string& dir) {
  return keyed_file(dir + (m.unified ? "/memory.events" : "/memory.oom_control"), "oom_kill");
}

}  // namespace

Result<std::optional<std::uint64_t>> oom_kills(const std::string& path) {
  BERTH_TRY(const std::string p, clean_path(path));
  BERTH_TRY(const Host* h, checked_host());
  const Hierarchy* m = hierarchy_for(*h, "memory");
  if (m == nullptr) return std::optional<std::uint64_t>();
  return oom_kill_count(*m, m->mount_point + p);
}

Result<Stats> stats(const std::string& path) {
  BERTH_TRY(const std::string p, clean_path(path));
  BERTH_TRY(const Host* h, checked_host());
  Stats s;
  bool found = false;
  auto unlimited = [](std::uint64_t v) { return v >= (1ULL << 62) ? 0 : v; };

  if (const Hierarchy* c = hierarchy_for(*h, "cpuacct"); c != nullptr && !c->unified) {
    const std::string dir = c->mount_point + p;
    if (auto usage = read_number(dir + "/cpuacct.usage")) {
      found = true;
      s.cpu_usage_ns = *usage;
      if (auto text = try_read(dir + "/cpuacct.stat")) {
        const long hz = ::sysconf(_SC_CLK_TCK);
        const std::uint64_t tick =
            hz > 0 ? 1000000000ULL / static_cast<std::uint64_t>(hz) : 10000000ULL;
        s.cpu_user_ns = keyed(*text, "user").value_or(0) * tick;
        s.cpu_system_ns = keyed(*text, "system").value_or(0) * tick;
      }
    }
  } else if (const Hierarchy* u = h->unified()) {
    if (auto text = try_read(u->mount_point + p + "/cpu.stat")) {
      found = true;
      s.cpu_usage_ns = keyed(*text, "usage_usec").value_or(0) * 1000;
      s.cpu_user_ns = keyed(*text, "user_usec").value_or(0) * 1000;
      s.cpu_system_ns = keyed(*text, "system_usec").value_or(0) * 1000;
    }
  }

  if (const Hierarchy* m = hierarchy_for(*h, "memory")) {
    const std::string dir = m->mount_point + p;
    if (!m->unified) {
      if (auto usage = read_number(dir + "/memory.usage_in_bytes")) {
        found = true;
        s.memory_usage = *usage;
        s.memory_limit = unlimited(read_number(dir + "/memory.limit_in_bytes").value_or(0));
        s.memory_max_usage = read_number(dir + "/memory.max_usage_in_bytes").value_or(0);
        if (auto text = try_read(dir + "/memory.stat")) {
          s.memory_cache = keyed(*text, "total_cache").value_or(keyed(*text, "cache").value_or(0));
        }
        s.oom_kills = oom_kill_count(*m, dir).value_or(0);
      }
    } else if (auto usage = read_number(dir + "/memory.current")) {
      found = true;
      s.memory_usage = *usage;
      s.memory_limit = unlimited(read_number(dir + "/memory.max").value_or(0));
      s.memory_max_usage = read_number(dir + "/memory.peak").value_or(0);
      s.memory_cache = keyed_file(dir + "/memory.stat", "file").value_or(0);
      s.oom_kills = oom_kill_count(*m, dir).value_or(0);
    }
  }

  if (const Hierarchy* pc = hierarchy_for(*h, "pids")) {
    const std::string dir = pc->mount_point + p;
    if (auto current = read_number(dir + "/pids.current")) {
      found = true;
      s.pids_current = *current;
      const auto max = read_number(dir + "/pids.max").value_or(0);
      s.pids_limit = max == std::numeric_limits<std::uint64_t>::max() ? 0 : max;
    }
  }

  if (const Hierarchy* b = hierarchy_for(*h, "blkio"); b != nullptr && !b->unified) {
    const std::string dir = b->mount_point + p;
    auto text = try_read(dir + "/blkio.throttle.io_service_bytes_recursive");
    if (!text) text = try_read(dir + "/blkio.throttle.io_service_bytes");
    if (text) {
      for (const std::string& line : split(*text, '\n')) {
        const auto w = words(line);
        if (w.size() != 3) continue;
        const std::uint64_t n = std::strtoull(w[2].c_str(), nullptr, 10);
        if (w[1] == "Read") s.blkio_read += n;
        if (w[1] == "Write") s.blkio_write += n;
      }
    }
  } else if (const Hierarchy* io = hierarchy_for(*h, "io")) {
    if (auto text = try_read(io->mount_point + p + "/io.stat")) {
      for (const std::string& line : split(*text, '\n')) {
        for (const std::string& w : words(line)) {
          if (w.starts_with("rbytes=")) s.blkio_read += std::strtoull(w.c_str() + 7, nullptr, 10);
          if (w.starts_with("wbytes=")) s.blkio_write += std::strtoull(w.c_str() + 7, nullptr, 10);
        }
      }
    }
  }
  if (!found && existing_dirs(*h, p).empty()) {
    return Error{Errc::not_found, "cgroup " + p + " does not exist"};
  }
  return s;
}

Result<ControllerDir> controller_dir(const std::string& path, std::string_view controller) {
  BERTH_TRY(const std::string p, clean_path(path));
  BERTH_TRY(const Host* h, checked_host());
  const Hierarchy* hh = hierarchy_for(*h, controller);
  if (hh == nullptr) {
    return Error{Errc::not_found, "cgroup controller " + std::string(controller) + " is not available"};
  }
  return ControllerDir{hh->mount_point + p, hh->unified};
}

}  // namespace berth::runtime::cgroups
