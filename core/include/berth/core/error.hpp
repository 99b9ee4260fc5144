// Errors in the core: one error class (shared with the plugin ABI, see
// berth/sdk/status.hpp) plus a message that grows context at every hop,
// "outer: inner", and a result type for fallible calls.
//
// Exceptions are for start-up misconfiguration and bugs only; everything a
// request or a plugin can cause travels as a Result.
#pragma once

#include <berth/sdk/status.hpp>

#include <boost/outcome/result.hpp>
#include <boost/outcome/try.hpp>
#include <string>
#include <string_view>
#include <utility>

namespace berth::core {

using Errc = berth::sdk::Errc;

// An error class and a human message, lower-case without a trailing period,
// naming the object that failed.
struct Error {
  Errc code = Errc::internal;
  std::string message;

  // Prefixes the message with `context`: "context: message".
  [[nodiscard]] Error wrap(std::string_view context) && {
    message = std::string(context) + ": " + message;
    return std::move(*this);
  }
  [[nodiscard]] Error wrap(std::string_view context) const& { return Error(*this).wrap(context); }
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

// The error's message with errno's text, e.g. "open /x: No such file or directory".
Error errno_error(Errc code, std::string_view what, int err);

// Result<T> holds a T or an Error; `.value()` on an error is a bug and
// terminates.
template <class T>
using Result = boost::outcome_v2::basic_result<T, Error, boost::outcome_v2::policy::terminate>;

inline auto ok() { return boost::outcome_v2::success(); }

}  // namespace berth::core

// BERTH_TRY(auto x, expr) / BERTH_TRY(expr): returns the error of a failed
// Result from the enclosing function. It expands to several statements: put
// braces around it under an if.
#define BERTH_TRY BOOST_OUTCOME_TRY
