#include "berth/core/container/stats.hpp"

#include "berth/core/time_format.hpp"
#include "berth/runtime/cgroups.hpp"

#include <boost/json.hpp>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace berth::core::container {
namespace json = boost::json;
namespace cgroups = berth::runtime::cgroups;

namespace {

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The whitespace-separated words of each line.
std::vector<std::vector<std::string>> lines_of(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (!w.empty()) out.push_back(std::move(w));
  }
  return out;
}

std::uint64_t number(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 10); }

// A "key value" per line file (memory.stat, cpu.stat) as a JSON object.
json::object keyed(const std::string& path) {
  json::object out;
  if (auto text = read_text(path)) {
    for (const auto& w : lines_of(*text)) {
      if (w.size() == 2) out[w[0]] = number(w[1]);
    }
  }
  return out;
}

std::uint64_t at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_uint64() ? v->get_uint64() : 0;
}

// Docker's getSystemCPUUsage: the first seven fields of /proc/stat's "cpu"
// line (user to softirq), in nanoseconds.
std::uint64_t system_cpu_usage() {
  auto text = read_text("/proc/stat");
  if (!text) return 0;
  for (const auto& w : lines_of(*text)) {
    if (w[0] != "cpu" || w.size() < 8) continue;
    std::uint64_t ticks = 0;
    for (std::size_t i = 1; i < 8; ++i) ticks += number(w[i]);
    const long hz = ::sysconf(_SC_CLK_TCK);
    return ticks * (1000000000ULL / static_cast<std::uint64_t>(hz > 0 ? hz : 100));
  }
  return 0;
}

std::uint64_t machine_memory() {
  struct sysinfo si {};
  if (::sysinfo(&si) != 0) return 0;
  return static_cast<std::uint64_t>(si.totalram) * si.mem_unit;
}

json::value entry(const std::string& device, const std::string& op, std::uint64_t value) {
  const auto colon = device.find(':');
  return json::object{{"major", number(device.substr(0, colon))},
                      {"minor", colon == std::string::npos ? 0 : number(device.substr(colon + 1))},
                      {"op", op},
                      {"value", value}};
}

// A v1 blkio list ("8:0 Read 4096" lines, a "Total" line last), from the
// first of `files` that the kernel provides (runc's order: CFQ, BFQ, then
// the throttle policy's counters, which every kernel keeps).
json::value blkio_list(const std::string& dir, std::initializer_list<const char*> files) {
  for (const char* f : files) {
    auto text = read_text(dir + "/" + f);
    if (!text) continue;
    json::array out;
    for (const auto& w : lines_of(*text)) {
      if (w.size() == 3) out.push_back(entry(w[0], w[1], number(w[2])));
    }
    return out.empty() ? json::value(nullptr) : json::value(std::move(out));
  }
  return nullptr;
}

json::object empty_blkio() {
  json::object out;
  for (const char* k : {"io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
                        "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
                        "io_time_recursive", "sectors_recursive"}) {
    out[k] = nullptr;
  }
  return out;
}

json::object empty_cpu() {
  return json::object{
      {"cpu_usage", json::object{{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
      {"throttling_data", json::object{{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}},
  };
}

json::object cpu_stats(const std::string& path, const cgroups::Stats& s) {
  json::object usage{{"total_usage", s.cpu_usage_ns}};
  json::object throttling{{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}};
  if (auto acct = cgroups::controller_dir(path, "cpuacct"); acct && !acct.value().v2) {
    if (auto text = read_text(acct.value().dir + "/cpuacct.usage_percpu")) {
      json::array percpu;
      for (const auto& w : lines_of(*text)) {
        for (const auto& n : w) percpu.emplace_back(number(n));
      }
      if (!percpu.empty()) usage["percpu_usage"] = std::move(percpu);
    }
  }
  usage["usage_in_kernelmode"] = s.cpu_system_ns;
  usage["usage_in_usermode"] = s.cpu_user_ns;
  auto cpu = cgroups::controller_dir(path, "cpu");
  // On v2 cpu.stat is there whether or not the cpu controller is enabled.
  if (!cpu && cgroups::detect_layout() == cgroups::Layout::v2) {
    cpu = cgroups::ControllerDir{cgroups::hierarchies().back().mount_point + path, true};
  }
  if (cpu) {
    const json::object stat = keyed(cpu.value().dir + "/cpu.stat");
    throttling["periods"] = at(stat, "nr_periods");
    throttling["throttled_periods"] = at(stat, "nr_throttled");
    throttling["throttled_time"] =
        cpu.value().v2 ? at(stat, "throttled_usec") * 1000 : at(stat, "throttled_time");
  }
  json::object out{{"cpu_usage", std::move(usage)}, {"system_cpu_usage", system_cpu_usage()}};
  if (long n = ::sysconf(_SC_NPROCESSORS_ONLN); n > 0) out["online_cpus"] = n;
  out["throttling_data"] = std::move(throttling);
  return out;
}

json::object memory_stats(const std::string& path, const cgroups::Stats& s) {
  json::object out;
  auto memory = cgroups::controller_dir(path, "memory");
  if (!memory) return out;
  const std::string& dir = memory.value().dir;
  if (s.memory_usage != 0) out["usage"] = s.memory_usage;
  if (!memory.value().v2 && s.memory_max_usage != 0) out["max_usage"] = s.memory_max_usage;
  if (json::object stat = keyed(dir + "/memory.stat"); !stat.empty()) out["stats"] = std::move(stat);
  if (!memory.value().v2) {
    if (auto failcnt = read_text(dir + "/memory.failcnt"); failcnt && number(*failcnt) != 0) {
      out["failcnt"] = number(*failcnt);
    }
  }
  std::uint64_t limit = s.memory_limit;
  const std::uint64_t host = machine_memory();
  if (host != 0 && (limit == 0 || limit > host)) limit = host;
  if (limit != 0) out["limit"] = limit;
  return out;
}

json::object blkio_stats(const std::string& path) {
  json::object out = empty_blkio();
  if (auto blkio = cgroups::controller_dir(path, "blkio"); blkio && !blkio.value().v2) {
    const std::string& dir = blkio.value().dir;
    out["io_service_bytes_recursive"] =
        blkio_list(dir, {"blkio.io_service_bytes_recursive", "blkio.bfq.io_service_bytes_recursive",
                         "blkio.throttle.io_service_bytes_recursive"});
    out["io_serviced_recursive"] = blkio_list(
        dir, {"blkio.io_serviced_recursive", "blkio.bfq.io_serviced_recursive", "blkio.throttle.io_serviced_recursive"});
  } else if (auto io = cgroups::controller_dir(path, "io"); io && io.value().v2) {
    json::array bytes;
    if (auto text = read_text(io.value().dir + "/io.stat")) {
      for (const auto& w : lines_of(*text)) {
        std::uint64_t read = 0, written = 0;
        for (std::size_t i = 1; i < w.size(); ++i) {
          if (w[i].starts_with("rbytes=")) read = number(w[i].substr(7));
          if (w[i].starts_with("wbytes=")) written = number(w[i].substr(7));
        }
        bytes.push_back(entry(w[0], "read", read));
        bytes.push_back(entry(w[0], "write", written));
      }
    }
    if (!bytes.empty()) out["io_service_bytes_recursive"] = std::move(bytes);
  }
  return out;
}

}  // namespace

Result<StatsSample> sample_stats(const std::string& cgroup_path) {
  BERTH_TRY(auto s, cgroups::stats(cgroup_path));
  StatsSample out;
  out.read = rfc3339_now();
  if (s.pids_current != 0) out.pids_stats["current"] = s.pids_current;
  if (s.pids_limit != 0) out.pids_stats["limit"] = s.pids_limit;
  out.blkio_stats = blkio_stats(cgroup_path);
  out.cpu_stats = cpu_stats(cgroup_path, s);
  out.memory_stats = memory_stats(cgroup_path, s);
  return out;
}

json::object stats_json(const StatsSample* now, const StatsSample* before, const std::string& name,
                        const std::string& id) {
  constexpr const char* kZeroTime = "0001-01-01T00:00:00Z";
  return json::object{
      {"read", now != nullptr ? now->read : kZeroTime},
      {"preread", before != nullptr ? before->read : kZeroTime},
      {"pids_stats", now != nullptr ? now->pids_stats : json::object{}},
      {"blkio_stats", now != nullptr ? now->blkio_stats : empty_blkio()},
      {"num_procs", 0},
      {"storage_stats", json::object{}},
      {"cpu_stats", now != nullptr ? now->cpu_stats : empty_cpu()},
      {"precpu_stats", before != nullptr ? before->cpu_stats : empty_cpu()},
      {"memory_stats", now != nullptr ? now->memory_stats : json::object{}},
      {"name", name},
      {"id", id},
  };
}

}  // namespace berth::core::container
