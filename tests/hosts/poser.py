"""poser.py: a broker's link client written by hand, to show that a host
the link server admits cannot pose as another one. It holds host A's
real key pair (the server admits it), says HELLO as host B, then sends a
REQUEST anyway, and reports what came back.

    poser.py ENDPOINT SERVER_KEY PUBLIC SECRET HELLO_HOST SERVICE

Prints one line per message received: "goodbye REASON TEXT", "hello HOST"
or "reply STATUS", then "closed" once nothing more comes within the
wait. The envelope layouts are docs/link-protocol.md's.
"""
import struct
import sys

import zmq

WAIT_MS = 2000
BYES = {1: "shutdown", 2: "version", 3: "no_hello", 4: "protocol", 5: "removed"}


def hello(host):
    h = host.encode()
    return struct.pack(">BBBBQIIB", 1, 1, 1, 1, 0x1234, 1, 1000, len(h)) + h


def request(service):
    s = service.encode()
    return struct.pack(">BBQIBBB", 1, 2, 7, 1000, 0, 0, len(s)) + s


def describe(frames):
    env = frames[0]
    kind = env[1]
    if kind == 7:
        reason, tlen = env[4], struct.unpack(">H", env[5:7])[0]
        return f"goodbye {BYES.get(reason, reason)} {env[7:7 + tlen].decode()}"
    if kind == 1:
        return f"hello {env[21:].decode()}"
    if kind == 3:
        return f"reply {env[10]}"
    return f"type {kind}"


def connect(ctx, endpoint, server, public, secret):
    """A DEALER to the link server at endpoint, as the holder of the key
    pair (public, secret)."""
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.curve_serverkey = server.encode()
    s.curve_publickey = public.encode()
    s.curve_secretkey = secret.encode()
    s.connect(endpoint)
    return s


def main(argv):
    endpoint, server, public, secret, host, service = argv
    ctx = zmq.Context()
    s = connect(ctx, endpoint, server, public, secret)
    s.send(hello(host))
    s.send_multipart([request(service), b"posing"])
    while s.poll(WAIT_MS):
        print(describe(s.recv_multipart()), flush=True)
    print("closed", flush=True)
    ctx.destroy(linger=0)


if __name__ == "__main__":
    main(sys.argv[1:])
