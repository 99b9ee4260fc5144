#include "berth/core/error.hpp"

#include <cstring>

namespace berth::core {

Error errno_error(Errc code, std::string_view what, int err) {
  return Error{code, std::string(what) + ": " + std::strerror(err)};
}

}  // namespace berth::core
