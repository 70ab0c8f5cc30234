#!/usr/bin/env bash
# run.sh: the one command that runs the agentbus benchmarks.
#
# Usage: bench/run.sh [broker|codec|stats|all] [bench_broker options...]
#   broker  agentbusd against direct REQ->REP and zmq_proxy, and with its
#           statistics on and off (bench_broker)
#   codec   the codec benchmark (bench/codec/run.sh)
#   stats   what recording a latency costs, in ns (bench_hist)
#   all     all three (default)
# Options after the first word go to bench_broker (see bench_broker --help).
# Builds a Release tree first, in build-bench/ or $AGENTBUS_BENCH_BUILD.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${AGENTBUS_BENCH_BUILD:-$root/build-bench}
what=${1:-all}
shift $(( $# > 0 ))

usage() {
  sed -n '4,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
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

case "$what" in
  broker) run_broker "$@" ;;
  codec)  run_codec ;;
  stats)  run_stats ;;
  all)    run_broker "$@"; echo; run_stats; echo; run_codec ;;
  -h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
