#!/usr/bin/env python3
"""demo_agents.py: the agents and the client of the demo around agentbusd,
all plain pyzmq code that knows nothing of the broker.

  demo_agents.py agents --registry FILE --host NAME
      one REP agent per backend of every service that lives on NAME; each
      answers a JSON request with a JSON reply saying who served it.
  demo_agents.py agent --service NAME --bind ENDPOINT [--delay-ms N]
      one REP agent, as it runs in its own container (deploy/compose/):
      binds ENDPOINT (e.g. tcp://*:15581) and answers like the above,
      after N ms of simulated work.
  demo_agents.py client --registry FILE --host NAME [--broker ADDR]
      sends a few JSON requests to every service port through the broker at
      ADDR (default 127.0.0.1; in compose, the broker's service name) and
      prints request -> reply; the services of other hosts are served by
      their own host's broker, over the link.
"""
import argparse
import json
import signal
import sys
import threading
import time

import yaml
import zmq

BUILTIN_TIMEOUT_MS = 5000      # the broker's default when the registry sets none
REQUESTS_PER_SERVICE = 2       # sequential, so a pool shows more than one agent
REPLY_GRACE_MS = 2000          # the client waits this much past the service timeout
SAMPLE_TEXTS = ["the quick brown fox jumps over the lazy dog",
                "agents keep their plain REQ and REP sockets"]


def load_services(path):
    """name -> service entry, with timeout_ms resolved from defaults."""
    with open(path) as f:
        doc = yaml.safe_load(f)
    default_timeout = (doc.get("defaults") or {}).get("timeout_ms", BUILTIN_TIMEOUT_MS)
    services = doc.get("services") or {}
    for svc in services.values():
        svc.setdefault("timeout_ms", default_timeout)
    return services


def answer(service, endpoint, request):
    """What a demo agent replies: the work done, and who did it."""
    words = request.get("text", "").split()
    return {"status": "ok", "served_by": f"{service} agent at {endpoint}",
            "result": {"words": len(words), "shout": " ".join(words).upper()}}


def run_agent(ctx, service, endpoint, delay_s=0.0, on_bound=None):
    """A plain REP agent: bind, then receive and reply forever."""
    sock = ctx.socket(zmq.REP)
    sock.bind(endpoint)
    if on_bound:
        on_bound()
    while True:
        request = json.loads(sock.recv())
        time.sleep(delay_s)
        sock.send(json.dumps(answer(service, endpoint, request)).encode())


def cmd_agents(args):
    ctx = zmq.Context()
    local = [(name, ep) for name, svc in load_services(args.registry).items()
             if svc["host"] == args.host for ep in svc["backends"]]
    if not local:
        sys.exit(f"no service of host {args.host} in {args.registry}")
    for name, ep in local:
        threading.Thread(target=run_agent, args=(ctx, name, ep), daemon=True).start()
        print(f"agent for {name:<12} on {ep}", flush=True)
    print("agents ready", flush=True)  # demo.sh waits for this line
    threading.Event().wait()  # until killed


def cmd_agent(args):
    print(f"agent for {args.service} on {args.bind}", flush=True)
    run_agent(zmq.Context(), args.service, args.bind, args.delay_ms / 1000.0,
              on_bound=lambda: print("agent ready", flush=True))


def ask(ctx, broker, port, timeout_ms, request):
    """One REQ round trip to a service port of the broker; the reply text."""
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, timeout_ms + REPLY_GRACE_MS)
    sock.connect(f"tcp://{broker}:{port}")
    try:
        sock.send(json.dumps(request).encode())
        return sock.recv().decode()
    except zmq.Again:
        return "(no reply: is agentbusd running?)"
    finally:
        sock.close()


def cmd_client(args):
    ctx = zmq.Context()
    for name, svc in load_services(args.registry).items():
        where = "here" if svc["host"] == args.host else \
            f"on host {svc['host']}, over the link to its broker"
        print(f"\n{name} (port {svc['port']}, served {where})")
        for text in SAMPLE_TEXTS[:REQUESTS_PER_SERVICE]:
            request = {"text": text}
            print(f"  -> {json.dumps(request)}")
            print(f"  <- {ask(ctx, args.broker, svc['port'], svc['timeout_ms'], request)}")
    ctx.term()


def main(argv):
    # As a container's first process, SIGTERM would otherwise be ignored and
    # every stop would wait for SIGKILL.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    agents = sub.add_parser("agents", help="run the demo REP agents of one host")
    agent = sub.add_parser("agent", help="run one demo REP agent (a container)")
    client = sub.add_parser("client", help="send demo requests through the broker")
    for sp in (agents, client):
        sp.add_argument("--registry", required=True)
        sp.add_argument("--host", required=True, help="the host this runs on")
    agent.add_argument("--service", required=True, help="the service it serves")
    agent.add_argument("--bind", required=True, help="endpoint, e.g. tcp://*:15581")
    agent.add_argument("--delay-ms", type=int, default=0,
                       help="simulated work time before each reply")
    client.add_argument("--broker", default="127.0.0.1",
                        help="address of this host's broker (default 127.0.0.1)")
    args = p.parse_args(argv)
    {"agents": cmd_agents, "agent": cmd_agent, "client": cmd_client}[args.cmd](args)


if __name__ == "__main__":
    main(sys.argv[1:])
