// Device access rules of linux.resources.devices, for both cgroup versions:
// v1 takes them as devices.allow/devices.deny lines, v2 as an eBPF program of
// type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup.
//
// The program checks the rules from the last to the first and the first
// match decides, so a later rule overrides an earlier one as on v1 (Docker's
// "deny all, then allow these" becomes: these allowed, everything else
// denied). No match: allowed, the state of a cgroup without rules. Allow
// rules match a request whose access is within the rule's; deny rules match
// any overlap (v1's deny of "w" also refuses "rw").
#pragma once

#include <linux/bpf.h>

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "sys.hpp"

namespace berth::runtime::detail {

struct DeviceRule {
  bool allow = false;
  char type = 'a';          // 'a' all, 'c' char, 'b' block
  std::int64_t major = -1;  // -1: any
  std::int64_t minor = -1;
  std::string access = "rwm";
};

// Parses linux.resources.devices (null: no rules). invalid_argument on a
// malformed rule.
Result<std::vector<DeviceRule>> parse_device_rules(const boost::json::value& devices);
// `rules` followed by allow rules for the devices the runtime creates.
std::vector<DeviceRule> with_runtime_devices(std::vector<DeviceRule> rules);
// The v1 devices.allow/deny line: "a", "c 1:3 rwm", "b *:* m".
std::string v1_rule_line(const DeviceRule& rule);
// The eBPF program for `rules` (pure; exposed for tests).
std::vector<bpf_insn> device_filter_program(const std::vector<DeviceRule>& rules);
// Loads the program and attaches it to the v2 cgroup directory `dir`,
// replacing device programs attached there before.
Result<void> attach_device_filter(const std::string& dir, const std::vector<DeviceRule>& rules);

}  // namespace berth::runtime::detail
