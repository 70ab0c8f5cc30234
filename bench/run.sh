#!/usr/bin/env bash
# run.sh: the one command that runs the agentbus benchmarks.
#
# Usage: bench/run.sh [broker|codec|stats|links|all] [options...]
#   broker  agentbusd against direct REQ->REP and zmq_proxy, and with its
#           statistics on and off (bench_broker)
#   codec   the codec benchmark (bench/codec/run.sh)
#   stats   what recording a latency costs, in ns (bench_hist)
#   links   two hosts in network namespaces: a CURVE socket per request,
#           a persistent CURVE connection, and both brokers over the pooled
#           link (bench/links.py; needs root)
#   all     broker, stats and codec (default); links too when run as root
# Options after the first word go to bench_broker or bench/links.py
# (see their --help).
# Builds a Release tree first, in build-bench/ or $AGENTBUS_BENCH_BUILD.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${AGENTBUS_BENCH_BUILD:-$root/build-bench}
what=${1:-all}
shift $(( $# > 0 ))

usage() {
  sed -n '4,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# Configure (always Release, whatever the cache held) and build targets.
build_targets() {
  "$root/deploy/install-deps.sh"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DAB_BENCH=ON >/dev/null
  cmake --build "$build" -j"$(nproc)" --target "$@"
}

run_broker() {
  build_targets bench_broker agentbusd
  "$build/bench/bench_broker" --agentbusd "$build/broker/agentbusd" "$@"
}

run_stats() {
  build_targets bench_hist
  "$build/bench/bench_hist"
}

run_codec() {
  AGENTBUS_BUILD="$build" "$root/bench/codec/run.sh"
}

run_links() {
  build_targets bench_links agentbusd
  /usr/bin/python3 "$root/bench/links.py" --build "$build" "$@"
}

case "$what" in
  broker) run_broker "$@" ;;
  codec)  run_codec ;;
  stats)  run_stats ;;
  links)  run_links "$@" ;;
  all)    run_broker "$@"; echo; run_stats; echo; run_codec
          if [ "$(id -u)" -eq 0 ]; then echo; run_links; fi ;;
  -h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
