#!/usr/bin/env bash
# demo.sh: the guided tour, two hosts for real. Installs what is missing,
# builds (Release), makes a key pair per host, starts the demo REP agents of
# each host and one agentbusd per host on the example registry, then sends
# requests from each host to the services of both, the other host's over
# the encrypted, pooled link between the two brokers, and prints
# request -> reply. Keeps both brokers running until Ctrl-C.
#
# The hosts are network namespaces (mainpc 198.18.0.1, gpubox 198.18.0.2,
# as in the example registry) when run as root; otherwise two brokers on
# this machine's loopback (mainpc on 127.0.0.1, gpubox on 127.0.0.2).
#
# Usage: deploy/demo.sh [--once]
#   --once   stop after the demo requests (non-interactive check of the tour)
# Environment: BUILD_DIR (default build), PYTHON (default /usr/bin/python3),
#              AGENTBUS_BIN (a directory holding agentbusd and agentbus
#              already built: no build then), AGENTBUS_DEMO_MODE=loopback
#              (the loopback hosts even as root)
set -euo pipefail

cd "$(dirname "$0")/.."
EXAMPLE=deploy/registry.example.yaml
HOSTS=(mainpc gpubox)
BUILD_DIR=${BUILD_DIR:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
RUN_DIR=$(mktemp -d)                 # keys, registry and logs of this run
START_WAIT_TENTHS=150                # how long agents, brokers and links may take (15 s)

once=0
case "${1:-}" in
  "") ;;
  --once) once=1 ;;
  *) echo "usage: $0 [--once]" >&2; exit 2 ;;
esac

# Section titles, bold on a terminal.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

# ---- the two hosts: namespaces (root) or loopback addresses -------------------
declare -A ADDR NS
if [ "${AGENTBUS_DEMO_MODE:-}" != loopback ] && [ "$(id -u)" -eq 0 ] &&
   ip netns list >/dev/null 2>&1; then
  MODE=namespaces
  TAG=abdemo$$
  HUB=${TAG}hub
  ADDR=([mainpc]=198.18.0.1 [gpubox]=198.18.0.2)
  NS=([mainpc]=${TAG}m [gpubox]=${TAG}g)
else
  MODE=loopback
  ADDR=([mainpc]=127.0.0.1 [gpubox]=127.0.0.2)
fi

# on HOST CMD...: run CMD on that host.
on() {
  local host=$1; shift
  if [ "$MODE" = namespaces ]; then ip netns exec "${NS[$host]}" "$@"; else "$@"; fi
}

# spawn HOST LOG CMD...: start CMD on HOST in the background, its output in
# LOG; $! is then CMD's own pid (ip netns exec execs it), which is what
# signals must reach.
spawn() {
  local host=$1 log=$2; shift 2
  if [ "$MODE" = namespaces ]; then
    ip netns exec "${NS[$host]}" "$@" >"$log" 2>&1 &
  else
    "$@" >"$log" 2>&1 &
  fi
}

make_namespaces() {
  ip netns add "$HUB"
  ip -n "$HUB" link add br0 type bridge
  ip -n "$HUB" link set br0 up
  local i=0
  for h in "${HOSTS[@]}"; do
    i=$((i + 1))
    ip netns add "${NS[$h]}"
    ip -n "$HUB" link add "vh$i" type veth peer name eth0 netns "${NS[$h]}"
    ip -n "$HUB" link set "vh$i" master br0 up
    ip -n "${NS[$h]}" addr add "${ADDR[$h]}/24" dev eth0
    ip -n "${NS[$h]}" link set eth0 up
    ip -n "${NS[$h]}" link set lo up
  done
}

pids=()
# Stop every child: the brokers drain and exit 0, the agents just go; then
# the namespaces go too. Waiting for all leaves nothing behind.
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait || true
  if [ "$MODE" = namespaces ]; then
    for ns in "${NS[@]}" "$HUB"; do ip netns del "$ns" 2>/dev/null || true; done
  fi
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_line FILE REGEX PID WHAT: wait until process PID writes a line
# matching REGEX to FILE, then show those lines; fail with FILE if PID
# exits first.
wait_line() {
  local file=$1 regex=$2 pid=$3 what=$4
  for _ in $(seq "$START_WAIT_TENTHS"); do
    if grep -qE "$regex" "$file"; then
      grep -E "$regex" "$file" | sed 's/^/  /'
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$file" >&2
      echo "demo: $what exited (are ports 5581-5583, 7700 and 15581-15584 free?)" >&2
      return 1
    fi
    sleep 0.1
  done
  cat "$file" >&2
  echo "demo: $what not started after $((START_WAIT_TENTHS / 10)) s" >&2
  return 1
}

say "Dependencies"
deploy/install-deps.sh

if [ -n "${AGENTBUS_BIN:-}" ]; then
  BIN=$AGENTBUS_BIN
  say "Using the binaries in $BIN"
else
  say "Build ($BUILD_DIR, Release)"
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DAB_BENCH=OFF >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target agentbusd agentbus >/dev/null
  BIN=$BUILD_DIR/broker
  echo "built $BIN/agentbusd"
fi

say "Two hosts: $MODE (mainpc ${ADDR[mainpc]}, gpubox ${ADDR[gpubox]})"
if [ "$MODE" = namespaces ]; then
  make_namespaces
  echo "  network namespaces ${NS[mainpc]} and ${NS[gpubox]} on a bridge"
else
  echo "  not root: both brokers on this machine, each on its own loopback address"
fi

say "A key pair per host (agentbus keygen)"
REGISTRY=$RUN_DIR/registry.yaml
cp "$EXAMPLE" "$REGISTRY"
for h in "${HOSTS[@]}"; do
  "$BIN/agentbus" keygen "$h" --out "$RUN_DIR/$h.key" >"$RUN_DIR/$h.keygen"
  sed -n '1p;/^public key/p' "$RUN_DIR/$h.keygen" | sed 's/^/  /'
  pub=$(sed -n 's/^public key: *//p' "$RUN_DIR/$h.keygen")
  # The example's placeholder key and link address of host h become this
  # run's (keys are Z85: no character sed would take for a delimiter '|').
  "$PYTHON" - "$REGISTRY" "$h" "$pub" "${ADDR[$h]}" <<'EOF'
import sys, yaml
path, host, pub, addr = sys.argv[1:]
doc = yaml.safe_load(open(path))
doc["hosts"][host]["public_key"] = pub
doc["hosts"][host]["link"] = f"tcp://{addr}:7700"
yaml.safe_dump(doc, open(path, "w"), sort_keys=False)
EOF
done

say "Registry (the example's, with these keys and addresses)"
"$BIN/agentbus" check "$REGISTRY" | sed 's/^/  /'

say "Demo agents (plain zmq.REP, unchanged), each on its own host"
for h in "${HOSTS[@]}"; do
  spawn "$h" "$RUN_DIR/$h-agents.log" \
    "$PYTHON" deploy/demo_agents.py agents --registry "$REGISTRY" --host "$h"
  pids+=($!)
  wait_line "$RUN_DIR/$h-agents.log" '^agent for' "$!" "the agents of $h"
done

say "agentbusd on each host (--secret-key: its own key only)"
declare -A BROKER
for h in "${HOSTS[@]}"; do
  bind=()
  [ "$MODE" = loopback ] && bind=(--bind "${ADDR[$h]}" --link-bind "${ADDR[$h]}" --http "${ADDR[$h]}:7780")
  spawn "$h" "$RUN_DIR/$h-agentbusd.log" "$BIN/agentbusd" --registry "$REGISTRY" \
    --host "$h" --secret-key "$RUN_DIR/$h.key" "${bind[@]}"
  BROKER[$h]=$!
  pids+=($!)
  wait_line "$RUN_DIR/$h-agentbusd.log" ' ready host=' "$!" "agentbusd on $h"
done
for h in "${HOSTS[@]}"; do
  wait_line "$RUN_DIR/$h-agentbusd.log" ' link up .*side=out' "${BROKER[$h]}" \
    "the links of $h"
done

for h in "${HOSTS[@]}"; do
  say "Requests from $h (plain zmq.REQ clients to their own host's broker)"
  local_addr=127.0.0.1
  [ "$MODE" = loopback ] && local_addr=${ADDR[$h]}
  on "$h" "$PYTHON" deploy/demo_agents.py client --registry "$REGISTRY" --host "$h" \
    --broker "$local_addr"
done

say "Link statistics (kill -USR1)"
for h in "${HOSTS[@]}"; do
  kill -USR1 "${BROKER[$h]}"
done
for h in "${HOSTS[@]}"; do
  wait_line "$RUN_DIR/$h-agentbusd.log" ' stats link=.* side=out ' "${BROKER[$h]}" \
    "agentbusd on $h"
done

if [ "$once" -eq 1 ]; then
  say "Stopping (SIGTERM drains, then exits 0)"
  rc=0
  for h in "${HOSTS[@]}"; do
    kill -TERM "${BROKER[$h]}"
    wait "${BROKER[$h]}" || rc=$?
    grep -E ' (shutdown|exit) ' "$RUN_DIR/$h-agentbusd.log" | sed "s/^/  $h: /"
  done
  [ "$rc" -eq 0 ] || { echo "demo: an agentbusd exited $rc" >&2; exit 1; }
  echo "demo complete"
  exit 0
fi

say "Both brokers running. Try it yourself:"
cat <<EOF
  $( [ "$MODE" = namespaces ] && echo "ip netns exec ${NS[mainpc]} ")$PYTHON -c 'import zmq; s = zmq.Context().socket(zmq.REQ); s.connect("tcp://${ADDR[mainpc]}:5583"); s.send(b"{\"text\": \"hello\"}"); print(s.recv())'
  kill -USR1 ${BROKER[mainpc]}    # statistics of mainpc's services and links (in the log below)
Ctrl-C stops everything. mainpc's broker log:
EOF
# In the background, so that `wait` (unlike a foreground command) lets the
# INT/TERM trap run at once.
tail -n 0 -f "$RUN_DIR/mainpc-agentbusd.log" --pid "${BROKER[mainpc]}" | sed 's/^/  /' &
wait $!
