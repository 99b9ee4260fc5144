#include "seccomp.hpp"

#include <seccomp.h>

#include <boost/json.hpp>
#include <cerrno>
#include <set>
#include <string_view>

#include "json_fields.hpp"

namespace berth::runtime::detail {
namespace {

namespace json = boost::json;

Result<std::uint32_t> action_of(const std::string& name, std::optional<std::uint64_t> errno_ret,
                                const std::string& where) {
  const auto ret = static_cast<std::uint16_t>(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(ret);
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(ret);
  if (errno_ret) {
    return Error{Errc::invalid_argument,
                 where + ": errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE"};
  }
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") {
    return Error{Errc::unsupported, where + ": SCMP_ACT_NOTIFY is not supported"};
  }
  return Error{Errc::invalid_argument, where + ": unknown action \"" + name + "\""};
}

Result<scmp_compare> operator_of(const std::string& name) {
  static const std::pair<std::string_view, scmp_compare> ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (const auto& [n, op] : ops) {
    if (n == name) return op;
  }
  return Error{Errc::invalid_argument, "seccomp: unknown operator \"" + name + "\""};
}

Result<std::vector<scmp_arg_cmp>> conditions(const json::object& rule) {
  std::vector<scmp_arg_cmp> out;
  BERTH_TRY(const json::array* args, array_field(rule, "args", "linux.seccomp.syscalls[]"));
  if (args == nullptr) return out;
  for (const json::value& a : *args) {
    if (!a.is_object())
      return Error{Errc::invalid_argument, "seccomp: args entries must be objects"};
    const std::string where = "linux.seccomp.syscalls[].args[]";
    BERTH_TRY(auto index, uint_field(a.as_object(), "index", where));
    BERTH_TRY(auto value, uint_field(a.as_object(), "value", where));
    BERTH_TRY(auto value_two, uint_field(a.as_object(), "valueTwo", where));
    BERTH_TRY(auto op_name, string_field(a.as_object(), "op", where));
    if (!index || *index > 5)
      return Error{Errc::invalid_argument, "seccomp: args index must be 0-5"};
    BERTH_TRY(auto op, operator_of(op_name.value_or("")));
    scmp_arg_cmp cmp{};
    cmp.arg = static_cast<unsigned int>(*index);
    cmp.op = op;
    cmp.datum_a = value.value_or(0);
    cmp.datum_b = value_two.value_or(0);
    out.push_back(cmp);
  }
  return out;
}

Error libseccomp_error(const std::string& what, int rc) { return sys_error(what, -rc); }

}  // namespace

SeccompFilter::~SeccompFilter() {
  if (ctx_ != nullptr) seccomp_release(ctx_);
}

SeccompFilter& SeccompFilter::operator=(SeccompFilter&& other) noexcept {
  if (this != &other) {
    if (ctx_ != nullptr) seccomp_release(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

Result<void> SeccompFilter::load() const {
  if (ctx_ == nullptr) return core::ok();
  if (const int rc = seccomp_load(ctx_); rc != 0)
    return libseccomp_error("load seccomp filter", rc);
  return core::ok();
}

Result<SeccompFilter> build_seccomp(const json::value& value) {
  if (value.is_null()) return SeccompFilter();
  if (!value.is_object()) return Error{Errc::invalid_argument, "linux.seccomp: expected an object"};
  const json::object& o = value.as_object();
  const std::string at = "linux.seccomp";
  BERTH_TRY(auto default_name, string_field(o, "defaultAction", at));
  BERTH_TRY(auto default_errno, uint_field(o, "defaultErrnoRet", at));
  if (!default_name)
    return Error{Errc::invalid_argument, "linux.seccomp.defaultAction is required"};
  BERTH_TRY(const std::uint32_t default_action, action_of(*default_name, default_errno, at));

  scmp_filter_ctx raw = seccomp_init(default_action);
  if (raw == nullptr) return Error{Errc::internal, "seccomp: cannot create a filter"};
  SeccompFilter filter(raw);

  if (int rc = seccomp_attr_set(raw, SCMP_FLTATR_CTL_NNP, 0); rc != 0) {
    return libseccomp_error("seccomp: turn off no_new_privs", rc);
  }
  BERTH_TRY(const json::array* arches, array_field(o, "architectures", at));
  if (arches != nullptr) {
    for (const json::value& a : *arches) {
      if (!a.is_string())
        return Error{Errc::invalid_argument, "linux.seccomp.architectures: expected strings"};
      std::string name(a.as_string());
      if (name.starts_with("SCMP_ARCH_")) name = name.substr(10);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const std::uint32_t arch = seccomp_arch_resolve_name(name.c_str());
      if (arch == 0) {
        return Error{Errc::invalid_argument,
                     "seccomp: unknown architecture \"" + std::string(a.as_string()) + "\""};
      }
      if (int rc = seccomp_arch_add(raw, arch); rc != 0 && rc != -EEXIST) {
        return libseccomp_error("seccomp: add architecture " + name, rc);
      }
    }
  }
  BERTH_TRY(const json::array* flags, array_field(o, "flags", at));
  if (flags != nullptr) {
    for (const json::value& f : *flags) {
      const std::string name = f.is_string() ? std::string(f.as_string()) : std::string();
      enum scmp_filter_attr attr;
      if (name == "SECCOMP_FILTER_FLAG_TSYNC") {
        attr = SCMP_FLTATR_CTL_TSYNC;
      } else if (name == "SECCOMP_FILTER_FLAG_LOG") {
        attr = SCMP_FLTATR_CTL_LOG;
      } else if (name == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
        attr = SCMP_FLTATR_CTL_SSB;
      } else {
        return Error{Errc::unsupported, "seccomp: flag \"" + name + "\" is not supported"};
      }
      if (int rc = seccomp_attr_set(raw, attr, 1); rc != 0) {
        return libseccomp_error("seccomp: set " + name, rc);
      }
    }
  }

  BERTH_TRY(const json::array* syscalls, array_field(o, "syscalls", at));
  if (syscalls == nullptr) return filter;
  for (const json::value& entry : *syscalls) {
    if (!entry.is_object())
      return Error{Errc::invalid_argument, "linux.seccomp.syscalls: expected objects"};
    const json::object& rule = entry.as_object();
    const std::string where = "linux.seccomp.syscalls[]";
    BERTH_TRY(auto action_name, string_field(rule, "action", where));
    BERTH_TRY(auto errno_ret, uint_field(rule, "errnoRet", where));
    BERTH_TRY(const json::array* names, array_field(rule, "names", where));
    if (!action_name || names == nullptr || names->empty()) {
      return Error{Errc::invalid_argument, "linux.seccomp.syscalls: names and action are required"};
    }
    BERTH_TRY(const std::uint32_t action, action_of(*action_name, errno_ret, where));
    BERTH_TRY(auto conds, conditions(rule));
    if (action == default_action) continue;
    std::set<unsigned int> indexes;
    for (const scmp_arg_cmp& c : conds) indexes.insert(c.arg);
    const bool one_rule = indexes.size() == conds.size();
    for (const json::value& n : *names) {
      if (!n.is_string())
        return Error{Errc::invalid_argument, "linux.seccomp: names must be strings"};
      const std::string name(n.as_string());
      const int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;
      auto add = [&](unsigned int count, const scmp_arg_cmp* c) -> Result<void> {
        if (int rc = seccomp_rule_add_array(raw, action, nr, count, c); rc != 0) {
          return libseccomp_error("seccomp: add rule for " + name, rc);
        }
        return core::ok();
      };
      if (one_rule) {
        BERTH_TRY(add(static_cast<unsigned int>(conds.size()), conds.data()));
      } else {
        for (const scmp_arg_cmp& c : conds) {
          BERTH_TRY(add(1, &c));
        }
      }
    }
  }
  return filter;
}

}  // namespace berth::runtime::detail
