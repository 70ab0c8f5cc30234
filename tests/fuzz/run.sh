#!/usr/bin/env bash
# run.sh: runs each fuzz target (codec both ways, link envelopes, registry
# loader, the agentbus.h client's readers) for SECONDS under ASan + UBSan, from
# the committed seed corpus and every saved regression case, and fails if
# any target crashes, leaks, times out or breaks the codec's contract.
#
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS
#   BUILD_DIR: configured with -DCMAKE_C_COMPILER=clang -DAB_FUZZ=ON
#              (the targets are built here if needed)
# Environment: FUZZ_MAX_LEN    largest input tried (default 65536 bytes)
#              FUZZ_RSS_MB     memory bound per target (default 2048 MB)
# A crashing input is saved as tests/fuzz/artifacts/<target>-crash-<hash>:
# copy it into regressions/<target>/ so it is replayed from then on (here
# and by tests/proto/test_fuzz_regressions.py in every CI run).
set -euo pipefail

if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -eq 0 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$1
seconds=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
max_len=${FUZZ_MAX_LEN:-65536}
rss_mb=${FUZZ_RSS_MB:-2048}
artifacts=$here/artifacts
mkdir -p "$artifacts"
cmake --build "$build" -j2 --target fuzz_json2mp fuzz_mp2json fuzz_link fuzz_registry \
  fuzz_client >/dev/null

failed=0
summary=""
for target in json2mp mp2json link registry client; do
  # New inputs go to a scratch corpus so the committed one stays small.
  scratch=$(mktemp -d)
  log=$scratch/log
  mkdir -p "$here/regressions/$target"
  set +e
  "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" \
    -max_len="$max_len" -rss_limit_mb="$rss_mb" -timeout=10 \
    -artifact_prefix="$artifacts/$target-" -print_final_stats=1 \
    "$scratch" "$here/corpus/$target" "$here/regressions/$target" \
    >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  if [ "$rc" -eq 0 ]; then
    summary+="$target ok (${runs:-?} runs in ${seconds}s); "
  else
    failed=1
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    tail -n 40 "$log" >&2
    summary+="$target FAILED (exit $rc, input: ${crash:-see log above}); "
  fi
  rm -rf "$scratch"
done
echo "fuzz: ${summary%; }"
exit "$failed"
