#!/usr/bin/env bash
# install-deps.sh: install the Debian packages agentbus needs to build,
# test and benchmark, but only those missing (so it is fast when re-run).
# Usage: deploy/install-deps.sh             build, test and bench packages
#        deploy/install-deps.sh container   the container engine the
#                                           container tests use (podman and
#                                           friends; see docs/deploy.md)
# Needs root, or sudo.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libzmq3-dev libuv1-dev libyaml-dev libmsgpack-dev libsodium-dev
  libhiredis-dev libjansson-dev libmicrohttpd-dev
  python3 python3-zmq python3-pytest python3-pytest-timeout python3-msgpack
  python3-redis python3-yaml python3-prometheus-client python3-websocket
  redis-server iproute2 procps tcpdump nodejs systemd
  chromium fonts-dejavu-core tmux   # the live page and `agentbus top` tests
)

# runc, not crun; netavark + aardvark-dns give compose networks name
# resolution (service names), which the CNI plugins in Debian do not;
# mmdebstrap + zstd build the local base images; docker-compose talks to
# `podman system service`.
CONTAINER_PACKAGES=(
  podman runc conmon netavark aardvark-dns iptables uidmap
  mmdebstrap zstd docker-compose
)

case "${1:-}" in
  "") ;;
  container) PACKAGES=("${CONTAINER_PACKAGES[@]}") ;;
  *) echo "usage: $0 [container]" >&2; exit 2 ;;
esac

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
