"""rogue.py: a link client written by hand that holds an admitted host's
real key pair and then misbehaves, to show that the link server counts
and drops what it cannot use, says why it parts, and keeps serving. Each
scenario runs on a connection of its own:

    rogue.py ENDPOINT SERVER_KEY PUBLIC SECRET HOST SERVICE

  version   HELLO offering only versions 9..9        -> "goodbye version ..."
  no_hello  a REQUEST before any HELLO               -> "goodbye no_hello ..."
  garbage   HELLO, then one of each malformed message (random bytes, a
            truncated REQUEST, an unknown type, a raw body with a style,
            a REQUEST naming a bad service, a REQUEST and CANCEL of the
            wrong version), then a good REQUEST      -> "reply 0 BODY"
  flood     HELLO, then more malformed messages in a row than the server
            bears                                     -> "goodbye protocol ..."

Prints "SCENARIO: LINE" for every message received but PING and PONG
(poser.describe), and "SCENARIO: closed" if nothing more comes within
the wait. The
envelope layouts are docs/link-protocol.md's.
"""
import os
import struct
import sys

import zmq

from poser import WAIT_MS, connect, describe, hello

FLOOD = 101 + 5     # LINKIO_BAD_ROW_MAX (broker/linkio.h) and a margin


def request(service, rid=7, version=1, encoding=0, style=0, name_len=None):
    s = service.encode()
    n = len(s) if name_len is None else name_len
    return struct.pack(">BBQIBBB", version, 2, rid, 1000, encoding, style, n) + s


def malformed(service):
    """One of each kind of message the server must count and drop."""
    return [[os.urandom(64)],
            [request(service)[:9]],                       # truncated
            [struct.pack(">BB", 1, 99) + b"\0" * 16],     # unknown type
            [request(service, encoding=0, style=3), b"x"],  # raw with a style
            [request(service, name_len=200)],             # length past the end
            [request("bad name!")],                       # not a registry name
            [request(service, version=5), b"x"],          # not the session's
            [struct.pack(">BBQ", 7, 4, 7)]]               # CANCEL, wrong version


def drain(name, s, until):
    """Print what comes (PINGs and PONGs aside) until a message starting
    with UNTIL or a GOODBYE, or "closed" after WAIT_MS of silence."""
    while s.poll(WAIT_MS):
        frames = s.recv_multipart()
        line = describe(frames)
        if line in ("type 5", "type 6"):
            continue
        if line.startswith("reply 0"):
            line += " " + b"|".join(frames[1:]).decode(errors="replace")
        print(f"{name}: {line}", flush=True)
        if line.startswith((until, "goodbye")):
            return
    print(f"{name}: closed", flush=True)


def run(name, ctx, argv):
    endpoint, server, public, secret, host, service = argv
    s = connect(ctx, endpoint, server, public, secret)
    if name == "version":
        h = bytearray(hello(host))
        h[2] = h[3] = 9
        s.send(bytes(h))
        drain(name, s, "goodbye")
    elif name == "no_hello":
        s.send_multipart([request(service), b"too soon"])
        drain(name, s, "goodbye")
    else:
        s.send(hello(host))
        drain(name, s, "hello")
        bad = malformed(service)
        for i in range(FLOOD if name == "flood" else 1):
            for frames in (bad if name == "garbage" else [bad[i % len(bad)]]):
                s.send_multipart(frames)
        if name == "garbage":
            s.send_multipart([request(service, rid=8), b"still served"])
        drain(name, s, "reply")
    s.close()


def main(argv):
    ctx = zmq.Context()
    for name in ("version", "no_hello", "garbage", "flood"):
        run(name, ctx, argv)
    ctx.destroy(linger=0)


if __name__ == "__main__":
    main(sys.argv[1:])
