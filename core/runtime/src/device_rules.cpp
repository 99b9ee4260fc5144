#include "device_rules.hpp"

#include <fcntl.h>
#include <sys/syscall.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>

namespace berth::runtime::detail {
namespace {

namespace json = boost::json;

Result<std::int64_t> device_number(const json::object& rule, const char* key) {
  const json::value* v = rule.if_contains(key);
  if (v == nullptr || v->is_null()) return std::int64_t{-1};
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= 0xffffffffULL) {
    return static_cast<std::int64_t>(v->as_uint64());
  }
  return Error{Errc::invalid_argument, std::string("device rule: ") + key + " is not a number"};
}

// --- eBPF encoding -------------------------------------------------------

bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off,
              std::int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

// Registers after the prologue: r2 device type, r3 requested access,
// r4 major, r5 minor (struct bpf_cgroup_dev_ctx).
constexpr std::uint8_t r0 = 0, r1 = 1, r2 = 2, r3 = 3, r4 = 4, r5 = 5;

bpf_insn load_word(std::uint8_t dst, std::int16_t off) {
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, r1, off, 0);
}
bpf_insn jump32_imm(std::uint8_t op, std::uint8_t reg, std::int32_t imm) {
  return insn(BPF_JMP32 | op | BPF_K, reg, 0, 0, imm);  // offset patched later
}

std::int32_t access_bits(const std::string& access) {
  std::int32_t bits = 0;
  for (char c : access) {
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
  }
  return bits;
}

constexpr std::int32_t all_access = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

long bpf(int cmd, bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof attr); }

}  // namespace

Result<std::vector<DeviceRule>> parse_device_rules(const json::value& devices) {
  std::vector<DeviceRule> rules;
  if (devices.is_null()) return rules;
  if (!devices.is_array()) {
    return Error{Errc::invalid_argument, "linux.resources.devices is not an array"};
  }
  for (const json::value& v : devices.as_array()) {
    if (!v.is_object()) return Error{Errc::invalid_argument, "device rule is not an object"};
    const json::object& o = v.as_object();
    DeviceRule rule;
    const json::value* allow = o.if_contains("allow");
    if (allow == nullptr || !allow->is_bool()) {
      return Error{Errc::invalid_argument, "device rule: allow is required"};
    }
    rule.allow = allow->as_bool();
    if (const json::value* t = o.if_contains("type"); t != nullptr && t->is_string()) {
      const json::string& s = t->as_string();
      if (s.size() != 1 || (s[0] != 'a' && s[0] != 'c' && s[0] != 'b')) {
        return Error{Errc::invalid_argument,
                     "device rule: invalid type \"" + std::string(s) + "\""};
      }
      rule.type = s[0];
    }
    BERTH_TRY(rule.major, device_number(o, "major"));
    BERTH_TRY(rule.minor, device_number(o, "minor"));
    if (const json::value* a = o.if_contains("access"); a != nullptr && a->is_string()) {
      rule.access = std::string(a->as_string());
      if (rule.access.empty() || rule.access.find_first_not_of("rwm") != std::string::npos) {
        return Error{Errc::invalid_argument, "device rule: invalid access \"" + rule.access + "\""};
      }
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

std::vector<DeviceRule> with_runtime_devices(std::vector<DeviceRule> rules) {
  static const DeviceRule defaults[] = {
      {true, 'c', 1, 3, "rwm"}, {true, 'c', 1, 5, "rwm"}, {true, 'c', 1, 7, "rwm"},
      {true, 'c', 1, 8, "rwm"}, {true, 'c', 1, 9, "rwm"}, {true, 'c', 5, 0, "rwm"},
      {true, 'c', 5, 1, "rwm"}, {true, 'c', 5, 2, "rwm"}, {true, 'c', 136, -1, "rwm"},
  };
  for (const DeviceRule& d : defaults) rules.push_back(d);
  return rules;
}

std::string v1_rule_line(const DeviceRule& rule) {
  if (rule.type == 'a') return "a";
  auto number = [](std::int64_t n) { return n < 0 ? std::string("*") : std::to_string(n); };
  return std::string(1, rule.type) + " " + number(rule.major) + ":" + number(rule.minor) + " " +
         rule.access;
}

std::vector<bpf_insn> device_filter_program(const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> prog = {
      load_word(r2, 0), insn(BPF_ALU | BPF_AND | BPF_K, r2, 0, 0, 0xffff),
      load_word(r3, 0), insn(BPF_ALU | BPF_RSH | BPF_K, r3, 0, 0, 16),
      load_word(r4, 4), load_word(r5, 8),
  };
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const DeviceRule& rule = *it;
    std::vector<bpf_insn> block;
    if (rule.type != 'a') {
      block.push_back(
          jump32_imm(BPF_JNE, r2, rule.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
    }
    const std::int32_t bits = access_bits(rule.access);
    if (bits != all_access) {
      block.push_back(insn(BPF_ALU | BPF_MOV | BPF_X, r1, r3, 0, 0));
      block.push_back(insn(BPF_ALU | BPF_AND | BPF_K, r1, 0, 0, bits));
      if (rule.allow) {
        block.push_back(insn(BPF_JMP32 | BPF_JNE | BPF_X, r1, r3, 0, 0));  // not within
      } else {
        block.push_back(jump32_imm(BPF_JEQ, r1, 0));  // no overlap
      }
    }
    if (rule.type != 'a' && rule.major >= 0) {
      block.push_back(jump32_imm(BPF_JNE, r4, static_cast<std::int32_t>(rule.major)));
    }
    if (rule.type != 'a' && rule.minor >= 0) {
      block.push_back(jump32_imm(BPF_JNE, r5, static_cast<std::int32_t>(rule.minor)));
    }
    block.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, r0, 0, 0, rule.allow ? 1 : 0));
    block.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    // Every conditional jump goes to the next rule's block (ALU
    // instructions must keep off = 0: it selects signed variants).
    for (std::size_t i = 0; i + 2 < block.size(); ++i) {
      if (BPF_CLASS(block[i].code) == BPF_JMP32) {
        block[i].off = static_cast<std::int16_t>(block.size() - i - 1);
      }
    }
    prog.insert(prog.end(), block.begin(), block.end());
    // A rule matching everything decides alone; the verifier refuses the
    // unreachable code after it.
    if (block.size() == 2) return prog;
  }
  prog.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, r0, 0, 0, 1));
  prog.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return prog;
}

Result<void> attach_device_filter(const std::string& dir, const std::vector<DeviceRule>& rules) {
  const std::vector<bpf_insn> prog = device_filter_program(rules);
  static const char license[] = "Apache-2.0";
  std::string log(16384, '\0');
  bpf_attr load{};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<std::uintptr_t>(prog.data());
  load.insn_cnt = static_cast<std::uint32_t>(prog.size());
  load.license = reinterpret_cast<std::uintptr_t>(license);
  load.log_buf = reinterpret_cast<std::uintptr_t>(log.data());
  load.log_size = static_cast<std::uint32_t>(log.size());
  load.log_level = 1;
  Fd prog_fd(static_cast<int>(bpf(BPF_PROG_LOAD, load)));
  if (!prog_fd) {
    const int err = errno;
    log.resize(std::strlen(log.c_str()));
    return sys_error("load device filter for " + dir + (log.empty() ? "" : " (" + log + ")"), err);
  }
  Fd cgroup(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup) return sys_error("open " + dir);

  // The programs attached before, detached once the new one is in place so
  // that no moment is without a filter.
  std::uint32_t ids[64] = {};
  bpf_attr query{};
  query.query.target_fd = static_cast<std::uint32_t>(cgroup.get());
  query.query.attach_type = BPF_CGROUP_DEVICE;
  query.query.prog_ids = reinterpret_cast<std::uintptr_t>(ids);
  query.query.prog_cnt = 64;
  std::uint32_t old_count = 0;
  if (bpf(BPF_PROG_QUERY, query) == 0) old_count = query.query.prog_cnt;

  bpf_attr attach{};
  attach.target_fd = static_cast<std::uint32_t>(cgroup.get());
  attach.attach_bpf_fd = static_cast<std::uint32_t>(prog_fd.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, attach) != 0) return sys_error("attach device filter to " + dir);

  for (std::uint32_t i = 0; i < old_count && i < 64; ++i) {
    bpf_attr by_id{};
    by_id.prog_id = ids[i];
    Fd old(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, by_id)));
    if (!old) continue;
    bpf_attr detach{};
    detach.target_fd = static_cast<std::uint32_t>(cgroup.get());
    detach.attach_bpf_fd = static_cast<std::uint32_t>(old.get());
    detach.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, detach) != 0) {
      return sys_error("detach old device filter from " + dir);
    }
  }
  return core::ok();
}

}  // namespace berth::runtime::detail
