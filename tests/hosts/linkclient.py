"""linkclient.py: the clients of the link tests, run inside a host's
namespace: plain pyzmq REQ sockets, as users write them, talking to their
own host's broker.

    linkclient.py SPEC.json OUT.json

SPEC is {"endpoint": ..., "mode": ..., ...}; the result is written to OUT
as JSON. Frames travel as base64 in both files. Modes:

  calls   {"requests": [[frame, ...], ...]}: one REQ socket, one request
          after the other -> {"replies": [[frame, ...], ...]}
  many    {"clients": C, "per_client": R}: C REQ sockets on threads, each
          sending R requests whose bodies no other request carries; every
          reply must be the echo of its request -> {"ok": n, "bad": [...]}
          Prints "running" once every client has its first reply, then
          waits for a line on stdin before the clients carry on (so a test
          can look at the connections while the clients are connected).
  load    {"clients": C}: C REQ sockets on threads sending echo requests
          without pause until stdin closes -> {"outcomes": {"ok": n,
          "unavailable": n, ...}, "hung": n, "bad": [...], "max_ms": ...}.
          Prints "running" after the first reply of every client, and
          "tick N" after each 50 replies in all.

No wait is unbounded: a request without a reply within HANG_GUARD_MS
counts as hung (and fails the test that started it).
"""
import base64
import json
import os
import sys
import threading
import time

import zmq

HANG_GUARD_MS = 30000



def run_clients(client, n, first, wait_stdin, release):
    """client(i) on n threads; once each has had its first reply (the
    `first` barrier) print "running", wait for stdin, set `release`, and
    join them."""
    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    meet(first)
    print("running", flush=True)
    wait_stdin()
    release.set()
    for t in threads:
        t.join()

def b64(frames):
    return [base64.b64encode(f).decode() for f in frames]


def unb64(frames):
    return [base64.b64decode(f) for f in frames]


def req_socket(ctx, endpoint):
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, HANG_GUARD_MS)
    s.connect(endpoint)
    return s


def meet(barrier):
    """Wait at barrier; a client that failed early breaks it for all,
    which must not become an exception in every thread."""
    try:
        barrier.wait(HANG_GUARD_MS / 1000)
    except threading.BrokenBarrierError:
        pass


def error_code(reply):
    """The broker error code of a reply, or None for an agent's reply."""
    if len(reply) != 1 or not reply[0].startswith(b'{"status":"error"'):
        return None
    return json.loads(reply[0])["error"]


def calls(ctx, spec):
    s = req_socket(ctx, spec["endpoint"])
    replies = []
    for frames in spec["requests"]:
        s.send_multipart(unb64(frames))
        try:
            replies.append(b64(s.recv_multipart()))
        except zmq.Again:
            replies.append(None)
            s.close()
            s = req_socket(ctx, spec["endpoint"])
    return {"replies": replies}


def many(ctx, spec):
    n, per = spec["clients"], spec["per_client"]
    ok, bad = [0] * n, []
    first = threading.Barrier(n + 1)
    go = threading.Event()

    def client(i):
        s = req_socket(ctx, spec["endpoint"])
        for k in range(per):
            body = [b"client-%d" % i, b"request-%d" % k, os.urandom(8)]
            s.send_multipart(body)
            try:
                reply = s.recv_multipart()
            except zmq.Again:
                bad.append(f"client {i} request {k}: no reply")
                first.abort()
                break
            if reply[-len(body):] != body:
                bad.append(f"client {i} request {k}: {reply!r}")
            else:
                ok[i] += 1
            if k == 0:
                meet(first)
                go.wait(HANG_GUARD_MS / 1000)
        s.close()

    run_clients(client, n, first, sys.stdin.readline, go)
    return {"ok": sum(ok), "bad": bad}


def load(ctx, spec):
    n = spec["clients"]
    outcomes, bad, hung = {}, [], [0]
    lock = threading.Lock()
    stop = threading.Event()
    first = threading.Barrier(n + 1)
    worst = [0.0]
    done = [0]

    def record(outcome, ms):
        with lock:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            worst[0] = max(worst[0], ms)
            done[0] += 1
            if done[0] % 50 == 0:
                print(f"tick {done[0]}", flush=True)

    def client(i):
        s = req_socket(ctx, spec["endpoint"])
        k = 0
        while not stop.is_set():
            body = [b"load-%d-%d" % (i, k), os.urandom(8)]
            t0 = time.monotonic()
            s.send_multipart(body)
            try:
                reply = s.recv_multipart()
            except zmq.Again:
                with lock:
                    hung[0] += 1
                s.close()
                s = req_socket(ctx, spec["endpoint"])
                continue
            code = error_code(reply)
            if code is None and reply[-len(body):] != body:
                with lock:
                    bad.append(repr(reply))
            record(code or "ok", (time.monotonic() - t0) * 1000)
            if k == 0:
                meet(first)
            k += 1
        s.close()

    run_clients(client, n, first, sys.stdin.read, stop)
    return {"outcomes": outcomes, "hung": hung[0], "bad": bad, "max_ms": worst[0]}


def main(argv):
    spec = json.loads(open(argv[0]).read())
    ctx = zmq.Context()
    result = {"calls": calls, "many": many, "load": load}[spec["mode"]](ctx, spec)
    ctx.destroy(linger=0)
    with open(argv[1], "w") as out:
        json.dump(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
