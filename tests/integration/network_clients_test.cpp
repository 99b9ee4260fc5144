// Networking through real clients (docker 20.10 and 28, and berth's own CLI)
// and at scale.
#include "network_fixture.hpp"
