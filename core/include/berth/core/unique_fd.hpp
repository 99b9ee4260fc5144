// An owned file descriptor, closed when the owner goes away: the SDK's.
#pragma once

#include "berth/sdk/unique_fd.hpp"

namespace berth::core {

using UniqueFd = sdk::UniqueFd;

}  // namespace berth::core
