"""test_hostile_input.py: raw TCP peers that do not speak ZMTP, or speak it
with absurd frame sizes, must neither crash the broker nor make it allocate
what they claim; a normal client is served all along."""
import random
import socket
import struct

import pytest

from harness import HANG_GUARD_S, free_port, req_socket, roundtrip, service

GARBAGE_ROUNDS = 20
GARBAGE_BYTES = 4096


def zmtp_greeting():
    """A ZMTP 3.0 greeting: signature, version, NULL mechanism, as-client."""
    return (b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00")
            + b"\x00" + b"\x00" * 31)


def zmtp_ready(socket_type=b"DEALER"):
    """The READY command frame announcing our socket type."""
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", len(socket_type)) + socket_type
    return b"\x04" + bytes([len(body)]) + body


def huge_frame_header(size):
    """A message frame header with a 64-bit size (LONG flag)."""
    return b"\x02" + struct.pack(">Q", size)


def raw_peer(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD_S)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return s


def read_until_closed(s):
    """Read until the broker closes the connection; fails if it never does."""
    try:
        while s.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        pytest.fail("the broker kept a connection that announced an oversized frame")


@pytest.fixture
def echo_port(make_agent, make_broker):
    agent = make_agent()
    port = free_port()
    make_broker({"echo": service(port, [agent.endpoint], max_msg_bytes=65536)})
    return port


def test_random_garbage_does_not_hurt(zctx, echo_port):
    rng = random.Random(1)  # fixed seed: a failure reproduces
    client = req_socket(zctx, echo_port)
    for i in range(GARBAGE_ROUNDS):
        with raw_peer(echo_port) as s:
            prefix = zmtp_greeting() + zmtp_ready() if i % 2 else b""
            s.sendall(prefix + rng.randbytes(GARBAGE_BYTES))
        assert roundtrip(client, [b"round-%d" % i]) == [b"round-%d" % i]


def test_stuck_half_greeting_does_not_block_others(zctx, echo_port):
    with raw_peer(echo_port) as stuck:
        stuck.sendall(zmtp_greeting()[:11])
        assert roundtrip(req_socket(zctx, echo_port), [b"served"]) == [b"served"]


@pytest.mark.parametrize("size", [1 << 40, (1 << 63) - 1], ids=["2^40", "2^63-1"])
def test_huge_frame_declaration_is_refused(zctx, echo_port, size):
    with raw_peer(echo_port) as s:
        s.sendall(zmtp_greeting() + zmtp_ready() + huge_frame_header(size) + b"x" * 1024)
        read_until_closed(s)
    assert roundtrip(req_socket(zctx, echo_port), [b"alive"]) == [b"alive"]
