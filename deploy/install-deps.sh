#!/usr/bin/env bash
# install-deps.sh: install the Debian packages agentbus needs to build,
# test and benchmark, but only those missing (so it is fast when re-run).
# Usage: deploy/install-deps.sh            (needs root, or sudo)
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libzmq3-dev libuv1-dev libyaml-dev libmsgpack-dev libsodium-dev
  libhiredis-dev libjansson-dev libmicrohttpd-dev
  python3 python3-zmq python3-pytest python3-pytest-timeout python3-msgpack
  python3-redis python3-yaml python3-prometheus-client python3-websocket
  redis-server iproute2 procps tcpdump nodejs
  chromium fonts-dejavu-core tmux   # the live page and `agentbus top` tests
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
