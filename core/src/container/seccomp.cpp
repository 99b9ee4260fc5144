#include "berth/core/container/seccomp.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cstdio>
#include <map>

#include "spec_json.hpp"

namespace berth::core::container {
namespace json = boost::json;

// Generated at build time from core/data/seccomp/docker-default.json.
extern const char* const kDefaultSeccompProfile;

namespace {

// Go's GOARCH -> libseccomp's native name, which the profile's arches use.
const std::map<std::string, std::string, std::less<>> kGoToNative = {
    {"386", "x86"},       {"amd64", "amd64"},       {"arm", "arm"},         {"arm64", "arm64"},
    {"mips64", "mips64"}, {"mips64le", "mipsel64"}, {"mipsle", "mipsel"},   {"ppc64le", "ppc64le"},
    {"s390x", "s390x"},   {"riscv64", "riscv64"},   {"loong64", "loong64"},
};

const std::map<std::string, std::string, std::less<>> kNativeToScmp = {
    {"x86", "SCMP_ARCH_X86"},
    {"amd64", "SCMP_ARCH_X86_64"},
    {"arm", "SCMP_ARCH_ARM"},
    {"arm64", "SCMP_ARCH_AARCH64"},
    {"mips64", "SCMP_ARCH_MIPS64"},
    {"mipsel64", "SCMP_ARCH_MIPSEL64"},
    {"mipsel", "SCMP_ARCH_MIPSEL"},
    {"ppc64le", "SCMP_ARCH_PPC64LE"},
    {"s390x", "SCMP_ARCH_S390X"},
    {"riscv64", "SCMP_ARCH_RISCV64"},
    {"loong64", "SCMP_ARCH_LOONGARCH64"},
};

struct KernelVersion {
  int kernel = 0, major = 0;
};

// Only "kernel.major" counts, as Docker: 4.8.0-1-amd64 equals 4.8.
Result<KernelVersion> parse_kernel(std::string_view release) {
  KernelVersion v;
  const std::string s(release);
  if (std::sscanf(s.c_str(), "%d.%d", &v.kernel, &v.major) != 2) {
    return detail::invalid("failed to parse kernel version " + detail::go_quote(release));
  }
  return v;
}

Result<bool> kernel_at_least(std::string_view min, std::string_view release) {
  BERTH_TRY(KernelVersion want, parse_kernel(min));
  BERTH_TRY(KernelVersion have, parse_kernel(release));
  return have.kernel > want.kernel || (have.kernel == want.kernel && have.major >= want.major);
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

struct Filter {
  std::vector<std::string> caps, arches;
  std::string min_kernel;
};

Result<Filter> read_filter(const json::object& call, std::string_view key) {
  BERTH_TRY(json::object o, detail::get_object(call, key, "syscalls[]"));
  Filter f;
  BERTH_TRY(f.caps, detail::get_strings(o, "caps", key));
  BERTH_TRY(f.arches, detail::get_strings(o, "arches", key));
  BERTH_TRY(f.min_kernel, detail::get_string(o, "minKernel", key));
  return f;
}

// Whether a syscalls entry applies to this container on this host.
Result<bool> applies(const json::object& call, const std::vector<std::string>& caps,
                     std::string_view native, const SeccompTarget& target) {
  BERTH_TRY(Filter ex, read_filter(call, "excludes"));
  BERTH_TRY(Filter in, read_filter(call, "includes"));
  if (contains(ex.arches, native)) return false;
  for (const auto& c : ex.caps) {
    if (contains(caps, c)) return false;
  }
  if (!ex.min_kernel.empty()) {
    BERTH_TRY(bool newer, kernel_at_least(ex.min_kernel, target.kernel_release));
    if (newer) return false;
  }
  if (!in.arches.empty() && !contains(in.arches, native)) return false;
  for (const auto& c : in.caps) {
    if (!contains(caps, c)) return false;
  }
  if (!in.min_kernel.empty()) {
    BERTH_TRY(bool newer, kernel_at_least(in.min_kernel, target.kernel_release));
    if (!newer) return false;
  }
  return true;
}

// Argument values are uint64 (masks such as 2114060288 and 4294967295).
Result<std::uint64_t> arg_value(const json::object& arg, std::string_view key) {
  auto it = arg.find(key);
  if (it == arg.end() || it->value().is_null()) return std::uint64_t{0};
  if (it->value().is_uint64()) return it->value().get_uint64();
  if (it->value().is_int64()) return static_cast<std::uint64_t>(it->value().get_int64());
  return detail::invalid("args[]." + std::string(key) + ": expected an integer");
}

Result<json::object> convert_call(const json::object& call) {
  BERTH_TRY(std::string name, detail::get_string(call, "name", "syscalls[]"));
  BERTH_TRY(auto names, detail::get_strings(call, "names", "syscalls[]"));
  if (!name.empty() && !names.empty()) {
    return detail::invalid(
        "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'");
  }
  if (!name.empty()) names = {name};
  BERTH_TRY(std::string action, detail::get_string(call, "action", "syscalls[]"));
  json::object out{{"names", detail::to_json_array(names)}, {"action", action}};
  if (detail::has(call, "errnoRet")) {
    BERTH_TRY(std::int64_t errno_ret, detail::get_int(call, "errnoRet", "syscalls[]"));
    out["errnoRet"] = errno_ret;
  }
  BERTH_TRY(json::array args, detail::get_array(call, "args", "syscalls[]"));
  if (!args.empty()) {
    json::array converted;
    for (const auto& a : args) {
      if (!a.is_object()) return detail::invalid("syscalls[].args: expected objects");
      const auto& ao = a.get_object();
      BERTH_TRY(std::int64_t index, detail::get_int(ao, "index", "args[]"));
      BERTH_TRY(std::string op, detail::get_string(ao, "op", "args[]"));
      json::object arg{{"index", index}};
      BERTH_TRY(std::uint64_t value, arg_value(ao, "value"));
      arg["value"] = value;
      BERTH_TRY(std::uint64_t value_two, arg_value(ao, "valueTwo"));
      if (value_two != 0) arg["valueTwo"] = value_two;
      arg["op"] = op;
      converted.push_back(std::move(arg));
    }
    out["args"] = std::move(converted);
  }
  return out;
}

}  // namespace

std::string_view default_seccomp_profile() { return kDefaultSeccompProfile; }

Result<std::optional<json::object>> seccomp_to_oci(std::string_view profile_json,
                                                   const std::vector<std::string>& caps,
                                                   const SeccompTarget& target) {
  boost::system::error_code ec;
  json::value parsed = json::parse(profile_json, ec);
  if (ec) return detail::invalid("Decoding seccomp profile failed: " + ec.message());
  if (!parsed.is_object()) {
    return detail::invalid("Decoding seccomp profile failed: the profile must be a JSON object");
  }
  const json::object& profile = parsed.get_object();
  BERTH_TRY(std::string default_action, detail::get_string(profile, "defaultAction", "profile"));
  BERTH_TRY(json::array syscalls, detail::get_array(profile, "syscalls", "profile"));
  if (default_action.empty() && syscalls.empty()) return std::optional<json::object>();

  BERTH_TRY(auto architectures, detail::get_strings(profile, "architectures", "profile"));
  BERTH_TRY(json::array arch_map, detail::get_array(profile, "archMap", "profile"));
  if (!architectures.empty() && !arch_map.empty()) {
    return detail::invalid(
        "'architectures' and 'archMap' were specified in the seccomp profile, use either "
        "'architectures' or 'archMap'");
  }
  auto native_it = kGoToNative.find(target.go_arch);
  const std::string native = native_it == kGoToNative.end() ? target.go_arch : native_it->second;
  if (auto scmp = kNativeToScmp.find(native); scmp != kNativeToScmp.end()) {
    for (const auto& entry : arch_map) {
      if (!entry.is_object()) return detail::invalid("archMap: expected objects");
      BERTH_TRY(std::string arch,
                detail::get_string(entry.get_object(), "architecture", "archMap[]"));
      if (arch != scmp->second) continue;
      architectures.push_back(arch);
      BERTH_TRY(auto subs,
                detail::get_strings(entry.get_object(), "subArchitectures", "archMap[]"));
      architectures.insert(architectures.end(), subs.begin(), subs.end());
      break;
    }
  }

  json::object out{{"defaultAction", default_action}};
  if (detail::has(profile, "defaultErrnoRet")) {
    BERTH_TRY(std::int64_t ret, detail::get_int(profile, "defaultErrnoRet", "profile"));
    out["defaultErrnoRet"] = ret;
  }
  if (!architectures.empty()) out["architectures"] = detail::to_json_array(architectures);
  BERTH_TRY(auto flags, detail::get_strings(profile, "flags", "profile"));
  if (!flags.empty()) out["flags"] = detail::to_json_array(flags);
  for (const char* key : {"listenerPath", "listenerMetadata"}) {
    BERTH_TRY(std::string v, detail::get_string(profile, key, "profile"));
    if (!v.empty()) out[key] = v;
  }
  json::array converted;
  for (const auto& call : syscalls) {
    if (!call.is_object()) return detail::invalid("syscalls: expected objects");
    BERTH_TRY(bool use, applies(call.get_object(), caps, native, target));
    if (!use) continue;
    BERTH_TRY(json::object c, convert_call(call.get_object()));
    converted.push_back(std::move(c));
  }
  out["syscalls"] = std::move(converted);
  return std::optional<json::object>(std::move(out));
}

}  // namespace berth::core::container
