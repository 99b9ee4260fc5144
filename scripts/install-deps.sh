#!/usr/bin/env bash
# Installs every Debian 12 package berth needs to build, test and run.
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # libraries (see README "Dependencies")
  libboost1.81-dev libboost-json1.81-dev libboost-filesystem1.81-dev
  libpoco-dev libspdlog-dev libfmt-dev libcli11-dev
  libmount-dev libnftnl-dev libmnl-dev libsqlite3-dev libsqlitecpp-dev
  libarchive-dev zlib1g-dev libseccomp-dev libssl-dev libldns-dev
  libgtest-dev libgmock-dev
  # test tools: real clients, certificates, kernel plumbing
  docker.io openssl iproute2 nftables procps curl python3 sqlite3
  # registry tests: a local registry, an image copier, htpasswd, a static busybox
  docker-registry skopeo apache2-utils busybox-static
  # shim and runtime tests: an external OCI runtime driven through its CLI
  crun
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
# docker.io is installed for its client only: keep its maintainer scripts from
# starting dockerd/containerd (which would rewrite the host firewall).
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  own_policy=1
fi
trap '[ "$own_policy" = 1 ] && rm -f "$policy"' EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
