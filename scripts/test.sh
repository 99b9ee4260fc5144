#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine, as root:
#   installs what is missing, builds the dev preset (warnings are errors),
#   runs every test through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)"
ctest --preset dev -j "$(nproc)" "$@"
