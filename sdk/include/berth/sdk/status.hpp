// Status codes and the exception that carries one, for C++ plugin code.
//
// A driver written against the C++ layer (plugin.hpp) reports failure by
// throwing berth::sdk::Error; the layer's adapters turn it into the
// berth_status and message the host sees. Messages follow the ABI's rule:
// lower-case, no trailing period, naming the object that failed, with context
// prepended at every hop ("open log of container 3f2a…: /var/x: No such file
// or directory").
#ifndef BERTH_SDK_STATUS_HPP
#define BERTH_SDK_STATUS_HPP

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "berth/sdk/abi.h"

namespace berth::sdk {

// The ABI's status codes, one to one (BERTH_OK, BERTH_E_*).
enum class Errc : std::int32_t {
  ok = BERTH_OK,
  not_found = BERTH_E_NOT_FOUND,
  already_exists = BERTH_E_ALREADY_EXISTS,
  invalid_argument = BERTH_E_INVALID_ARGUMENT,
  conflict = BERTH_E_CONFLICT,
  failed_precondition = BERTH_E_FAILED_PRECONDITION,
  unavailable = BERTH_E_UNAVAILABLE,
  unsupported = BERTH_E_UNSUPPORTED,
  permission_denied = BERTH_E_PERMISSION_DENIED,
  internal = BERTH_E_INTERNAL,
};

static_assert(static_cast<berth_status>(Errc::ok) == BERTH_OK);
static_assert(static_cast<berth_status>(Errc::not_found) == BERTH_E_NOT_FOUND);
static_assert(static_cast<berth_status>(Errc::already_exists) == BERTH_E_ALREADY_EXISTS);
static_assert(static_cast<berth_status>(Errc::invalid_argument) == BERTH_E_INVALID_ARGUMENT);
static_assert(static_cast<berth_status>(Errc::conflict) == BERTH_E_CONFLICT);
static_assert(static_cast<berth_status>(Errc::failed_precondition) == BERTH_E_FAILED_PRECONDITION);
static_assert(static_cast<berth_status>(Errc::unavailable) == BERTH_E_UNAVAILABLE);
static_assert(static_cast<berth_status>(Errc::unsupported) == BERTH_E_UNSUPPORTED);
static_assert(static_cast<berth_status>(Errc::permission_denied) == BERTH_E_PERMISSION_DENIED);
static_assert(static_cast<berth_status>(Errc::internal) == BERTH_E_INTERNAL);

constexpr berth_status to_status(Errc code) noexcept { return static_cast<berth_status>(code); }

// Maps a status received over the ABI; unknown values (a newer peer's codes)
// become Errc::internal.
constexpr Errc to_errc(berth_status status) noexcept {
  return status >= BERTH_OK && status <= BERTH_E_INTERNAL ? static_cast<Errc>(status)
                                                          : Errc::internal;
}

// "not found", "already exists", ... — for messages and logs.
constexpr std::string_view errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::ok:
      return "ok";
    case Errc::not_found:
      return "not found";
    case Errc::already_exists:
      return "already exists";
    case Errc::invalid_argument:
      return "invalid argument";
    case Errc::conflict:
      return "conflict";
    case Errc::failed_precondition:
      return "failed precondition";
    case Errc::unavailable:
      return "unavailable";
    case Errc::unsupported:
      return "unsupported";
    case Errc::permission_denied:
      return "permission denied";
    case Errc::internal:
      return "internal";
  }
  return "unknown";
}

// The error class of an errno value, for errors from system calls.
constexpr Errc errc_from_errno(int err) noexcept {
  switch (static_cast<std::errc>(err)) {
    case std::errc::no_such_file_or_directory:
    case std::errc::no_such_device:
    case std::errc::no_such_process:
      return Errc::not_found;
    case std::errc::file_exists:
      return Errc::already_exists;
    case std::errc::invalid_argument:
    case std::errc::filename_too_long:
    case std::errc::not_a_directory:
    case std::errc::is_a_directory:
      return Errc::invalid_argument;
    case std::errc::device_or_resource_busy:
    case std::errc::directory_not_empty:
    case std::errc::text_file_busy:
      return Errc::conflict;
    case std::errc::permission_denied:
    case std::errc::operation_not_permitted:
    case std::errc::read_only_file_system:
      return Errc::permission_denied;
    case std::errc::resource_unavailable_try_again:
    case std::errc::interrupted:
    case std::errc::timed_out:
      return Errc::unavailable;
    case std::errc::function_not_supported:
    case std::errc::operation_not_supported:  // == ENOTSUP on Linux
      return Errc::unsupported;
    default:
      return Errc::internal;
  }
}

// A failure with its error class. what() is the message the host receives.
class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Error(Errc code, const char* message) : std::runtime_error(message), code_(code) {}

  // "<context>: <strerror(err)>" with the error class errc_from_errno(err).
  static Error from_errno(int err, std::string_view context) {
    std::string message(context);
    message += ": ";
    message += std::generic_category().message(err);
    return Error(errc_from_errno(err), message);
  }

  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

}  // namespace berth::sdk

#endif  // BERTH_SDK_STATUS_HPP
