#!/usr/bin/env bash
# engine.sh: makes this machine ready for the container tests (tests/container)
# and prints the local base images they build from. Idempotent: a re-run
# on a ready machine only checks, in a second or two.
#
#   1. installs podman and friends (deploy/install-deps.sh container);
#   2. writes /etc/containers/containers.conf (below) if it does not exist,
#      before podman ever runs: podman stores state shaped by it (runtime,
#      network backend) on first use. An existing file with other content
#      is never changed: the script says so and stops;
#   3. builds, once, a local base image per Dockerfile stage with mmdebstrap
#      from this machine's apt sources, holding the packages that stage
#      installs (its *_PACKAGES argument), so the image builds need no
#      registry and no network. The bases are bootstrapped in parallel and
#      cached as tarballs in BUILD_DIR/container-cache (a re-run imports
#      instead of bootstrapping again).
#
# Usage: tests/container/engine.sh [BUILD_DIR]   (default $AGENTBUS_BUILD,
#                                                 else build-test)
# Environment: AGENTBUS_APT_SOURCES  apt sources files for mmdebstrap
#              (default: the machine's enabled Debian sources)
# Output (stdout, one per line): AGENTBUS_BASE_<NAME>=IMAGE for BUILD, RUN
#   (deploy/Dockerfile), AGENT (the demo agent), REDIS and SYSTEMD (test
#   images). Progress and timings go to stderr.
# Exit: 0 ready; 3 no container engine can run here (the tests skip, with
#   this script's last line as the reason); 1 anything else (the tests fail).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${1:-${AGENTBUS_BUILD:-$ROOT/build-test}}
CACHE=$BUILD_DIR/container-cache
CONF=/etc/containers/containers.conf
LOCK=/run/lock/agentbus-container-engine.lock
SUITE=bookworm
# Bumped when the way bases are built changes, so old ones are not reused.
BASE_FORMAT=1

# The engine configuration the tests need. The default network and every
# network podman allocates stay inside 198.18.0.0/15 (benchmarking space,
# never routed): 198.19.200.0/24 is the default network, 198.19.201-207 are
# for networks the tests create with an explicit --subnet, and
# 198.19.208.0/20 is the pool compose networks are allocated from.
# netavark (with aardvark-dns) resolves container names on compose networks.
read -r -d '' CONF_TEXT <<'EOF' || true
# Container engine settings for the agentbus container tests. Written once,
# before podman first ran, and never changed afterwards.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"

[network]
network_backend = "netavark"
default_subnet = "198.19.200.0/24"
default_subnet_pools = [{"base" = "198.19.208.0/20", "size" = 24}]
EOF

say() { echo "engine: $*" >&2; }
unavailable() { echo "container engine unavailable: $*" >&2; exit 3; }
die() { echo "engine: error: $*" >&2; exit 1; }

# Seconds since the script started, for the timings it reports.
elapsed() { echo $(( $(date +%s) - START )); }
START=$(date +%s)

preflight() {
  [ "$(uname -s)" = Linux ] || unavailable "not Linux"
  [ "$(id -u)" -eq 0 ] || unavailable "not root (rootful podman is what CI runs)"
  command -v apt-get >/dev/null || command -v podman >/dev/null ||
    unavailable "no podman and no apt-get to install it"
}

# Step 2. Compared byte for byte: "almost the same" is still someone else's
# configuration, and podman may already hold state made under it.
write_conf() {
  local want
  want=$(mktemp)
  printf '%s\n' "$CONF_TEXT" >"$want"
  if [ -e "$CONF" ]; then
    if cmp -s "$want" "$CONF"; then
      rm -f "$want"
      return 0
    fi
    say "$CONF exists with other content; it is left alone. Differences"
    say "(- what is there, + what the container tests need):"
    diff -u "$CONF" "$want" | tail -n +3 >&2 || true
    rm -f "$want"
    die "$CONF is not the configuration the container tests were written for; reconcile it by hand (see docs/deploy.md, 'Container tests')"
  fi
  install -D -m 0644 "$want" "$CONF"
  rm -f "$want"
  say "wrote $CONF"
}

# The package list a Dockerfile declares as ARG NAME="...".
dockerfile_packages() {
  local file=$1 name=$2 line
  line=$(grep -E "^ARG $name=\"[^\"]*\"$" "$file") ||
    die "$file: no line ARG $name=\"...\""
  line=${line#*=\"}
  echo "${line%\"}"
}

# apt sources for mmdebstrap: $AGENTBUS_APT_SOURCES, else every enabled
# sources file of this machine that points at a Debian archive.
apt_sources() {
  if [ -n "${AGENTBUS_APT_SOURCES:-}" ]; then
    echo "$AGENTBUS_APT_SOURCES"
    return
  fi
  local f found=""
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
           /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -Eq '^[^#]*debian' "$f" && found="$found $f"
  done
  [ -n "$found" ] || die "no Debian apt sources found; set AGENTBUS_APT_SOURCES"
  echo "$found"
}

# How every base is made: merged /usr set up as the official Debian images
# have it (the usrmerge package would pull in perl), and what
# debian:bookworm-slim leaves out (dpkg path excludes): smaller and faster.
MMDEBSTRAP_OPTS=(
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --aptopt='Acquire::Languages "none"'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-include=/usr/share/locale/locale.alias'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
)

# Image name and cache tarball of base NAME holding PACKAGES; the key
# changes with anything that changes the base's content.
base_image() {
  local name=$1 packages=$2 key
  key=$(printf '%s\n' "$BASE_FORMAT" "$SUITE" "$packages" "${MMDEBSTRAP_OPTS[@]}" |
        sha256sum | cut -c1-12)
  echo "localhost/agentbus-base:${name,,}-$key $CACHE/$SUITE-${name,,}-$key.tar.zst"
}

# bootstrap TARBALL PACKAGES: a minbase $SUITE with PACKAGES, as TARBALL.
# mmdebstrap's chatter is kept in TARBALL.log, shown if it fails.
bootstrap() {
  local tarball=$1 packages=$2 t0
  t0=$(date +%s)
  # shellcheck disable=SC2046 # apt_sources prints a list of files
  if ! mmdebstrap --quiet --variant=minbase "${MMDEBSTRAP_OPTS[@]}" \
         --include="$packages" "$SUITE" "$tarball.tmp.tar.zst" $(apt_sources) \
         >"$tarball.log" 2>&1; then
    tail -n 20 "$tarball.log" >&2
    rm -f "$tarball.tmp.tar.zst"
    say "mmdebstrap failed for $tarball (log: $tarball.log)"
    return 1
  fi
  mv "$tarball.tmp.tar.zst" "$tarball"
  say "$(basename "$tarball"): $(( $(date +%s) - t0 ))s, $(du -h "$tarball" | cut -f1)"
}

# make_bases NAME=PACKAGES...: prints NAME=IMAGE for each, making what is
# missing: tarballs not in the cache are bootstrapped in parallel (mostly
# download and unpack time), then imported.
make_bases() {
  local spec name packages image tarball pids=() failed=0
  mkdir -p "$CACHE"
  for spec in "$@"; do
    name=${spec%%=*} packages=${spec#*=}
    read -r image tarball < <(base_image "$name" "$packages")
    if ! podman image exists "$image" && [ ! -s "$tarball" ]; then
      say "bootstrapping base '$name': $SUITE minbase + $packages"
      bootstrap "$tarball" "$packages" & pids+=($!)
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" -eq 0 ] || die "a base image could not be bootstrapped (see above)"
  for spec in "$@"; do
    name=${spec%%=*} packages=${spec#*=}
    read -r image tarball < <(base_image "$name" "$packages")
    if ! podman image exists "$image"; then
      podman import --quiet \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        "$tarball" "$image" >/dev/null || die "podman import $tarball failed"
      say "imported $image"
    fi
    echo "$name=$image"
  done
}

main() {
  preflight
  "$ROOT/deploy/install-deps.sh" container >&2 ||
    die "deploy/install-deps.sh container failed"
  mkdir -p "$(dirname "$LOCK")"
  exec 9>"$LOCK"
  flock 9   # other checkouts on this machine may be here at the same time
  write_conf
  podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.NetworkBackend}}' \
    >/dev/null 2>&1 || die "podman does not work: $(podman info 2>&1 | tail -n 3)"
  local bases
  bases=$(make_bases \
    "BUILD=$(dockerfile_packages "$ROOT/deploy/Dockerfile" BUILD_PACKAGES)" \
    "RUN=$(dockerfile_packages "$ROOT/deploy/Dockerfile" RUNTIME_PACKAGES)" \
    "AGENT=$(dockerfile_packages "$ROOT/deploy/compose/demo-agent.Dockerfile" AGENT_PACKAGES)" \
    "REDIS=$(dockerfile_packages "$ROOT/tests/container/redis.Dockerfile" REDIS_PACKAGES)" \
    "SYSTEMD=$(dockerfile_packages "$ROOT/tests/container/systemd.Dockerfile" SYSTEMD_PACKAGES)")
  say "ready in $(elapsed)s"
  sed 's/^/AGENTBUS_BASE_/' <<<"$bases"
}

main
