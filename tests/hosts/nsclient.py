"""nsclient.py: a client as users write it (a plain pyzmq REQ), run inside
a namespace by the multi-host tests.

    nsclient.py ENDPOINT BODY [--hold]

Connects, sends BODY, prints each reply frame on its own line prefixed
with "reply ", then with --hold keeps the connection open until its stdin
closes (so a test can count connections). Exits 1 if no reply comes within
the hang guard.
"""
import sys

import zmq

HANG_GUARD_MS = 30000


def main(argv):
    endpoint, body = argv[0], argv[1].encode()
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    sock.send(body)
    if not sock.poll(HANG_GUARD_MS):
        print("no reply", flush=True)
        return 1
    for frame in sock.recv_multipart():
        print("reply " + frame.decode(errors="replace"), flush=True)
    if "--hold" in argv:
        sys.stdin.read()
    ctx.destroy(linger=0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
