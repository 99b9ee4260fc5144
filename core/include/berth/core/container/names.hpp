// Random container names as Docker makes them: "<adjective>_<surname>",
// e.g. "focused_turing"; with `retry` > 0 a number is appended
// ("focused_turing3") as Docker does after a collision.
#pragma once

#include <string>

namespace berth::core::container {

std::string random_name(int retry = 0);

}  // namespace berth::core::container
