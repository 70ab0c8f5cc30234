#!/usr/bin/env bash
# tests/run.sh: THE test command (README, CI). On a fresh Debian machine it
# installs what is missing, builds everything with clang under ASan+UBSan,
# checks that a gcc build is warning-free too, then runs:
#   1. C unit tests (ctest)
#   2. the fuzzers, each for a bounded time (FUZZ_SECONDS, default 45)
#   3. the Python suites against real agents and the real broker, the codec
#      against the real JSON producers, the multi-host harness in network
#      namespaces (tests/hosts is skipped unless root), and the container
#      tests (tests/container: podman, installed and configured by
#      tests/container/engine.sh; skipped, saying why, where no container
#      engine can run)
# Tests that wait for a feature another part of the work is still building
# run and are reported as xfailed with the reason (pytest -rx).
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

deploy/install-deps.sh

BUILD=${AGENTBUS_BUILD:-$ROOT/build-test}
FUZZ_SECONDS=${FUZZ_SECONDS:-45}
JOBS=$(nproc)

echo "== build (clang, ASan+UBSan, fuzzers) in $BUILD"
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
      -DAB_SANITIZE=ON -DAB_FUZZ=ON >/dev/null
cmake --build "$BUILD" -j"$JOBS"

echo "== build (gcc, release, warnings are errors) in $ROOT/build-gcc"
cmake -S . -B "$ROOT/build-gcc" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$ROOT/build-gcc" -j"$JOBS"

# Sanitizer reports must fail the run, not scroll by.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export AGENTBUS_BUILD=$BUILD

echo "== unit tests"
ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS"

echo "== fuzzers (${FUZZ_SECONDS}s each)"
tests/fuzz/run.sh "$BUILD" "$FUZZ_SECONDS"

echo "== integration, codec, hosts, migrate, container and docs tests"
/usr/bin/python3 -m pytest -q -rsx -p no:cacheprovider tests/integration tests/proto \
  tests/hosts tests/migrate tests/container tests/docs
