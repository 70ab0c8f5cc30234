#!/usr/bin/env bash
# demo.sh: the guided tour. Installs what is missing, builds (Release), starts
# demo REP agents for this host's services, runs agentbusd on the example
# registry, sends a few requests through it and prints request -> reply, then
# keeps the broker running until Ctrl-C.
#
# Usage: deploy/demo.sh [--once]
#   --once   stop after the demo requests (non-interactive check of the tour)
# Environment: BUILD_DIR (default build), PYTHON (default /usr/bin/python3)
set -euo pipefail

cd "$(dirname "$0")/.."
REGISTRY=deploy/registry.example.yaml
HOST=mainpc
BUILD_DIR=${BUILD_DIR:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
RUN_DIR=$(mktemp -d)                 # logs of this run
START_WAIT_TENTHS=100                # how long agents and broker may take to start (10 s)

once=0
case "${1:-}" in
  "") ;;
  --once) once=1 ;;
  *) echo "usage: $0 [--once]" >&2; exit 2 ;;
esac

# Section titles, bold on a terminal.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

agents_pid=""
broker_pid=""
# Stop every child: the broker drains and exits 0, the agents just go, and
# the log tail ends with the broker. Waiting for all leaves nothing behind.
cleanup() {
  [ -z "$broker_pid" ] || kill -TERM "$broker_pid" 2>/dev/null || true
  [ -z "$agents_pid" ] || kill -TERM "$agents_pid" 2>/dev/null || true
  wait || true
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_line FILE REGEX PID WHAT: wait until process PID writes a line
# matching REGEX to FILE, then show FILE; fail with FILE if PID exits first.
wait_line() {
  local file=$1 regex=$2 pid=$3 what=$4
  for _ in $(seq "$START_WAIT_TENTHS"); do
    if grep -qE "$regex" "$file"; then
      sed 's/^/  /' "$file"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$file" >&2
      echo "demo: $what exited (are ports 5581-5583 and 15581-15584 free?)" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "demo: $what not started after $((START_WAIT_TENTHS / 10)) s" >&2
  return 1
}

say "Dependencies"
deploy/install-deps.sh

say "Build ($BUILD_DIR, Release)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DAB_BENCH=OFF >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target agentbusd agentbus >/dev/null
echo "built $BUILD_DIR/broker/agentbusd"

say "Registry $REGISTRY"
"$BUILD_DIR/broker/agentbus" check "$REGISTRY"

say "Demo agents of host $HOST (plain zmq.REP, unchanged)"
"$PYTHON" deploy/demo_agents.py agents --registry "$REGISTRY" --host "$HOST" \
  >"$RUN_DIR/agents.log" 2>&1 &
agents_pid=$!
wait_line "$RUN_DIR/agents.log" '^agents ready' "$agents_pid" "the demo agents"

say "agentbusd --registry $REGISTRY --host $HOST"
"$BUILD_DIR/broker/agentbusd" --registry "$REGISTRY" --host "$HOST" \
  2>"$RUN_DIR/agentbusd.log" &
broker_pid=$!
wait_line "$RUN_DIR/agentbusd.log" ' ready host=' "$broker_pid" "agentbusd"

say "Requests through the broker (plain zmq.REQ clients)"
"$PYTHON" deploy/demo_agents.py client --registry "$REGISTRY" --host "$HOST"

if [ "$once" -eq 1 ]; then
  say "Stopping (SIGTERM drains, then exits 0)"
  kill -TERM "$broker_pid"
  rc=0
  wait "$broker_pid" || rc=$?
  broker_pid=""
  grep -E ' (shutdown|exit) ' "$RUN_DIR/agentbusd.log" | sed 's/^/  /'
  [ "$rc" -eq 0 ] || { echo "demo: agentbusd exited $rc" >&2; exit 1; }
  echo "demo complete"
  exit 0
fi

say "Broker running. Try it yourself:"
cat <<EOF
  $PYTHON -c 'import zmq; s = zmq.Context().socket(zmq.REQ); s.connect("tcp://127.0.0.1:5581"); s.send(b"{\"text\": \"hello\"}"); print(s.recv())'
  kill -USR1 $broker_pid    # statistics (in the log below)
Ctrl-C stops everything. Broker log:
EOF
# In the background, so that `wait` (unlike a foreground command) lets the
# INT/TERM trap run at once.
tail -n 0 -f "$RUN_DIR/agentbusd.log" --pid "$broker_pid" | sed 's/^/  /' &
wait $!
