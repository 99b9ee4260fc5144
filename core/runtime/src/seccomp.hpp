// linux.seccomp (the OCI form: defaultAction, defaultErrnoRet,
// architectures, flags, syscalls with names/action/errnoRet/args) as a
// libseccomp filter. It is built in the caller, so a bad profile is an error
// before any process exists; the child only loads it.
//
// As runc: syscall names this libseccomp or architecture does not know are
// skipped, rules whose action equals the default are dropped, several
// conditions on one argument index make one rule per condition (OR) and
// conditions on different indexes one rule (AND). libseccomp's own
// no_new_privs is turned off: the spec's noNewPrivileges decides alone.
// SCMP_ACT_NOTIFY is not supported.
#pragma once

#include <boost/json/value.hpp>

#include "sys.hpp"

namespace berth::runtime::detail {

class SeccompFilter {
 public:
  SeccompFilter() = default;
  explicit SeccompFilter(void* ctx) : ctx_(ctx) {}
  ~SeccompFilter();
  SeccompFilter(SeccompFilter&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}
  SeccompFilter& operator=(SeccompFilter&& other) noexcept;
  SeccompFilter(const SeccompFilter&) = delete;
  SeccompFilter& operator=(const SeccompFilter&) = delete;

  bool empty() const { return ctx_ == nullptr; }
  // Installs the filter on the calling process (no-op when empty).
  Result<void> load() const;

 private:
  void* ctx_ = nullptr;  // scmp_filter_ctx
};

// `seccomp` is linux.seccomp; null gives an empty filter.
Result<SeccompFilter> build_seccomp(const boost::json::value& seccomp);

}  // namespace berth::runtime::detail
