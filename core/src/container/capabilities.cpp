#include "berth/core/container/capabilities.hpp"

#include <algorithm>
#include <cctype>

#include "spec_json.hpp"

namespace berth::core::container {
namespace {

constexpr std::array<std::string_view, 14> kDefault = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::span<const std::string_view> default_capabilities() { return kDefault; }

std::vector<std::string> all_capabilities(CapabilityMask available) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kCapabilityNames.size(); ++i) {
    if ((available >> i) & 1U) out.emplace_back(kCapabilityNames[i]);
  }
  return out;
}

Result<std::vector<std::string>> normalize_capabilities(const std::vector<std::string>& caps,
                                                        CapabilityMask available) {
  std::vector<std::string> out;
  for (std::string c : caps) {
    std::transform(c.begin(), c.end(), c.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    if (c == "ALL") {
      out.push_back(c);
      continue;
    }
    if (!c.starts_with("CAP_")) c = "CAP_" + c;
    auto n = capability_number(c);
    if (!n) return detail::invalid("unknown capability: " + detail::go_quote(c));
    if (((available >> *n) & 1U) == 0) {
      return detail::invalid(
          "capability not supported by your kernel or not available in the current environment: " +
          detail::go_quote(c));
    }
    out.push_back(c);
  }
  return out;
}

Result<std::vector<std::string>> tweak_capabilities(const std::vector<std::string>& add,
                                                    const std::vector<std::string>& drop,
                                                    bool privileged, CapabilityMask available) {
  // Validated even when privileged, as Docker does at create.
  auto cap_drop = normalize_capabilities(drop, available);
  if (!cap_drop) return std::move(cap_drop).error().wrap("invalid CapDrop");
  auto cap_add = normalize_capabilities(add, available);
  if (!cap_add) return std::move(cap_add).error().wrap("invalid CapAdd");
  if (privileged) return all_capabilities(available);

  std::vector<std::string> caps;
  auto push = [&caps](const std::string& c) {
    if (!contains(caps, c)) caps.push_back(c);
  };
  if (contains(cap_add.value(), "ALL")) {
    for (const auto& c : all_capabilities(available)) {
      if (!contains(cap_drop.value(), c)) push(c);
    }
  } else if (contains(cap_drop.value(), "ALL")) {
    for (const auto& c : cap_add.value()) push(c);
  } else {
    for (auto c : kDefault) {
      if (!contains(cap_drop.value(), c)) push(std::string(c));
    }
    for (const auto& c : cap_add.value()) push(c);
  }
  return caps;
}

}  // namespace berth::core::container
