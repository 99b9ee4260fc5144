#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine, as root:
#   installs what is missing, builds the test preset (the dev preset without
#   debug info: warnings are errors),
#   runs every test through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
# The --userns-remap tests bind-mount their own ranges over these; shadow's
# useradd creates them (empty) on most hosts, so make sure they exist.
for f in /etc/subuid /etc/subgid; do [ -e "$f" ] || install -m 0644 /dev/null "$f"; done
cmake --preset test >/dev/null
cmake --build --preset test -j "$(nproc)"
ctest --preset test -j "$(nproc)" "$@"
