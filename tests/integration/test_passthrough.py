"""test_passthrough.py: bodies cross the broker byte for byte, both ways,
and the reply envelope is what the client would get from the REP itself."""
import os

import pytest

from harness import dealer_roundtrip, dealer_socket, free_port, req_socket, roundtrip, service

BODIES = {
    "single": [b"hello agent"],
    "multi": [b"first", b"", b"third", b"", b"fifth"],
    "empty": [b""],
    "binary": [bytes(range(256))],
    "one_mib": [os.urandom(1 << 20)],
}


@pytest.fixture
def echo_port(make_agent, make_broker):
    """The port of a service with one plain echo backend."""
    agent = make_agent()
    port = free_port()
    make_broker({"echo": service(port, [agent.endpoint])})
    return port


@pytest.mark.parametrize("name", BODIES)
def test_req_body_passes_unchanged(zctx, echo_port, name):
    sock = req_socket(zctx, echo_port)
    assert roundtrip(sock, BODIES[name]) == BODIES[name]


def test_dealer_client_gets_rep_envelope(zctx, echo_port):
    sock = dealer_socket(zctx, echo_port)
    for body in BODIES.values():
        assert dealer_roundtrip(sock, body) == body


def test_requests_in_sequence_on_one_socket(zctx, echo_port):
    sock = req_socket(zctx, echo_port)
    for i in range(50):
        body = [b"seq", str(i).encode()]
        assert roundtrip(sock, body) == body
