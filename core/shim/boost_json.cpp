// Boost.JSON compiled into berth-shim (its header-only mode), so the shim
// does not map libboost_json.so and, through it, the shared libstdc++.
#include <boost/json/src.hpp>
