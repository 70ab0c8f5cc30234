#!/usr/bin/env python3
"""demo_agents.py: the two halves of the demo around agentbusd, both plain
pyzmq code that knows nothing of the broker.

  demo_agents.py agents --registry FILE --host NAME
      one REP agent per backend of every service that lives on NAME; each
      answers a JSON request with a JSON reply saying who served it.
  demo_agents.py client --registry FILE --host NAME [--address ADDR]
      sends a few JSON requests to every service port of this host's broker
      (at ADDR, default 127.0.0.1) and prints request -> reply; the
      services of other hosts are served there, over the link.
"""
import argparse
import json
import sys
import threading

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


def run_agent(ctx, service, endpoint):
    """A plain REP agent: bind, then receive and reply forever."""
    sock = ctx.socket(zmq.REP)
    sock.bind(endpoint)
    while True:
        request = json.loads(sock.recv())
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


def ask(ctx, address, port, timeout_ms, request):
    """One REQ round trip to a service port of this host's broker; the
    reply text."""
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, timeout_ms + REPLY_GRACE_MS)
    sock.connect(f"tcp://{address}:{port}")
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
            print(f"  <- {ask(ctx, args.address, svc['port'], svc['timeout_ms'], request)}")
    ctx.term()


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    agents = sub.add_parser("agents", help="run the demo REP agents of one host")
    client = sub.add_parser("client", help="send demo requests through the broker")
    for sp in (agents, client):
        sp.add_argument("--registry", required=True)
        sp.add_argument("--host", required=True, help="the host this runs on")
    client.add_argument("--address", default="127.0.0.1",
                        help="where this host's broker binds the service ports")
    args = p.parse_args(argv)
    (cmd_agents if args.cmd == "agents" else cmd_client)(args)


if __name__ == "__main__":
    main(sys.argv[1:])
