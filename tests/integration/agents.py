"""agents.py: the REP agents the broker integration tests put behind the
broker, written the way users write agents today: a plain zmq.REP that binds
its endpoint, receives a request and sends a reply, knowing nothing of the
broker. Each runs as its own process so a test can SIGKILL and restart it.

Protocol with the test harness, on stdout (one line each, flushed):
  ready                  the REP is bound
  event accepted|disconnected   a peer connected / went away (--monitor)
"""
import argparse
import resource
import sys
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

# Monitor events reported on stdout, by the name the harness reads.
EVENT_NAMES = {zmq.EVENT_ACCEPTED: "accepted", zmq.EVENT_DISCONNECTED: "disconnected"}


def parse_args(argv):
    p = argparse.ArgumentParser(description="echo REP agent for the broker tests")
    p.add_argument("--bind", required=True, help="endpoint to bind, e.g. tcp://127.0.0.1:15581")
    p.add_argument("--tag", help="prefix every reply with this frame, so tests see who answered")
    p.add_argument("--delay-ms", type=int, default=0, help="sleep this long before replying")
    p.add_argument("--slow-prefix",
                   help="apply --delay-ms only to requests whose first frame starts with this")
    p.add_argument("--monitor", action="store_true", help="report connection events on stdout")
    return p.parse_args(argv)


def say(line):
    print(line, flush=True)


def delay_for(args, frames):
    """Seconds to sleep before answering `frames`."""
    if args.slow_prefix is not None:
        first = frames[0] if frames else b""
        if not first.startswith(args.slow_prefix.encode()):
            return 0.0
    return args.delay_ms / 1000.0


def serve_one(sock, args):
    """Answer one request: the request frames, unchanged, after the tag."""
    frames = sock.recv_multipart()
    time.sleep(delay_for(args, frames))
    reply = ([args.tag.encode()] if args.tag else []) + frames
    sock.send_multipart(reply)


def report_events(mon):
    """Print every monitor event queued now."""
    while mon.poll(0):
        name = EVENT_NAMES.get(recv_monitor_message(mon)["event"])
        if name:
            say("event " + name)


def main(argv):
    args = parse_args(argv)
    # One agent may be the backend of many services (one connection each).
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REP)
    mon = sock.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED) \
        if args.monitor else None
    sock.bind(args.bind)
    say("ready")
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    if mon is not None:
        poller.register(mon, zmq.POLLIN)
    while True:
        ready = dict(poller.poll())
        # Events first: a connection is accepted before it can carry a request.
        if mon is not None:
            report_events(mon)
        if sock in ready:
            serve_one(sock, args)


if __name__ == "__main__":
    main(sys.argv[1:])
