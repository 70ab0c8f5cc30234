#!/usr/bin/env bash
# run.sh: the one command for the codec benchmark. Builds a Release tree if
# needed, generates the corpus (deterministic), runs bench_codec on it.
#
# Usage: bench/codec/run.sh [bench_codec options...]
#   e.g. --rounds 7 --min-seconds 1 --clock cpu   (see bench_codec --help)
# Environment:
#   AGENTBUS_BUILD  build directory (default: build-bench/ in the repo)
#   CORPUS_SEED     corpus generator seed (default 1)
#   CORPUS_COUNT    messages in the corpus (default 2000)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${AGENTBUS_BUILD:-$root/build-bench}
seed=${CORPUS_SEED:-1}
count=${CORPUS_COUNT:-2000}
corpus=$build/bench/codec/corpus-seed$seed-n$count.txt

# Installs only what is missing (libjansson-dev is the baseline's library).
"$root/deploy/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DAB_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target bench_codec

# The corpus is a build artifact: regenerated only when the generator changed.
if [ ! "$corpus" -nt "$here/gen_corpus.py" ]; then
  /usr/bin/python3 "$here/gen_corpus.py" --seed "$seed" --count "$count" \
    --out "$corpus"
fi
"$build/bench/codec/bench_codec" "$@" "$corpus"
