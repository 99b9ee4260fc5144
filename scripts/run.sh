#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, as root: installs what is
# missing, builds berth, starts berthd in the background and talks to it.
#
#   BERTH_ROOT   where berthd keeps its state (default /var/lib/berth)
#   BERTH_SOCK   the API socket (default /run/berth/berth.sock)
set -euo pipefail
cd "$(dirname "$0")/.."

root=${BERTH_ROOT:-/var/lib/berth}
sock=${BERTH_SOCK:-/run/berth/berth.sock}
exec_root=$(dirname "$sock")

./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
bin=build/release/bin

if "$bin/berth" -H "unix://$sock" version >/dev/null 2>&1; then
  echo "berthd is already serving unix://$sock"
else
  mkdir -p "$exec_root"
  log="$exec_root/berthd.log"
  # Detached from this shell: berthd keeps running after the script ends.
  setsid "$bin/berthd" --data-root "$root" --exec-root "$exec_root" -H "unix://$sock" \
    --plugin-dir "$PWD/build/release/plugins" >>"$log" 2>&1 </dev/null &
  for _ in $(seq 1 100); do
    "$bin/berth" -H "unix://$sock" version >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "berthd started (pid $(cat "$exec_root/berthd.pid")), log in $log"
fi

export BERTH_HOST="unix://$sock"
"$bin/berth" version
echo

# A first image made here, from Debian's busybox-static (nothing is
# downloaded): the busybox binary and its applet links, imported as
# busybox:latest, so `berth run -it busybox sh` works offline.
if ! "$bin/berth" image inspect busybox:latest >/dev/null 2>&1; then
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root"
  cp /bin/busybox "$rootfs/bin/busybox"
  "$rootfs/bin/busybox" --install -s "$rootfs/bin"
  # Absolute links would point at the host's /bin/busybox path: make them relative.
  for link in "$rootfs"/bin/*; do [ -L "$link" ] && ln -sf busybox "$link"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  tar -C "$rootfs" -cf - . | "$bin/berth" import -c 'CMD ["sh"]' - busybox:latest
fi

echo "A first container:"
"$bin/berth" run --rm busybox:latest echo "hello from a berth container"
echo
echo "Try: $bin/berth run -it busybox sh    (BERTH_HOST=$BERTH_HOST)"
echo "     docker -H $BERTH_HOST ps -a"
